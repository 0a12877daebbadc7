import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AirlockNetworkError } from '../client/index.js';
import { EXIT, UsageError, emit, type Context } from './context.js';

/**
 * `airlock download <uploadId> [--output <file>]`: asks GET /uploads/{id}/download for a fresh
 * URL right before fetching the bytes, so no link is ever kept. The file is saved under the name
 * the server made safe (Content-Disposition), or `--output`; an existing file is never replaced.
 */
export async function downloadCommand(
  ctx: Context,
  uploadId: string,
  options: { output?: string },
): Promise<number> {
  const { url } = await ctx.client.getDownload(uploadId);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new AirlockNetworkError(`Cannot fetch the file of ${uploadId}.`, new URL(url).origin, {
      cause: error,
    });
  }
  if (!response.ok || response.body === null) {
    throw new Error(`Storage answered ${response.status} for the file of ${uploadId}.`);
  }
  const path = options.output ?? safeName(response.headers.get('content-disposition')) ?? uploadId;
  try {
    await pipeline(Readable.fromWeb(response.body as never), createWriteStream(path, { flags: 'wx' }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UsageError(`${path} exists; pass --output <file>`, { hint: false });
    }
    throw error;
  }
  const size = Number(response.headers.get('content-length') ?? Number.NaN);
  const summary = { uploadId, file: path, ...(Number.isFinite(size) ? { size } : {}) };
  await emit(ctx.stdout, ctx.json ? `${JSON.stringify(summary, null, 2)}\n` : `${path}\n`);
  return EXIT.OK;
}

/** The ASCII `filename="…"` of an RFC 6266 attachment, as the server wrote it (already safe). */
function safeName(disposition: string | null): string | undefined {
  const name = /filename="([^"/\\]+)"/.exec(disposition ?? '')?.[1];
  return name === undefined || name === '.' || name === '..' ? undefined : name;
}
