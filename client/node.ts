import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { contentTypeFor } from './statuses.js';

/**
 * Node-only helpers for the client: open a file on disk as a Blob that streams from disk (it is
 * never read into memory), with its size, name, guessed content type and SHA-256.
 */

export interface LocalFile {
  path: string;
  /** The base name, as declared to the API. */
  name: string;
  size: number;
  /** Lowercase hex, as `sha256sum` prints; computed by streaming the same Blob that is uploaded. */
  sha256: string;
  /** From the extension (see `contentTypeFor`); undefined when unknown. */
  contentType: string | undefined;
  /** Reads from disk on demand; reading fails if the file changes after it was opened. */
  blob: Blob;
}

export class LocalFileError extends Error {
  override name = 'LocalFileError';
}

/** Opens `path` for upload. Throws LocalFileError when it is missing or not a regular file. */
export async function openFile(path: string, options: { signal?: AbortSignal } = {}): Promise<LocalFile> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LocalFileError(
      code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${code ?? String(error)})`,
    );
  }
  if (!info.isFile()) throw new LocalFileError(`${path}: not a regular file`);
  const blob = await openAsBlob(path);
  const name = basename(path);
  return {
    path,
    name,
    size: blob.size,
    sha256: await sha256Of(blob, options.signal),
    contentType: contentTypeFor(name),
    blob,
  };
}

/** SHA-256 (lowercase hex) of a Blob's bytes, streamed in constant memory. */
export async function sha256Of(blob: Blob, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const reader = (blob.stream() as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  }
  return hash.digest('hex');
}
