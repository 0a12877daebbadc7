import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  AirlockApiError,
  AirlockTimeoutError,
  contentTypeFor,
  S3UploadError,
  type Reason,
  type UploadMethod,
  type UploadView,
} from '../client/index.js';
import { openFile } from '../client/node.js';
import {
  EXIT,
  UsageError,
  describeError,
  emit,
  errorLine,
  limiter,
  mapConcurrent,
  type Context,
} from './context.js';
import { cell, reasonCodes, table } from './format.js';
import { ProgressBoard, progressMode, type FileProgress } from './progress.js';

export interface UploadOptions {
  files: string[];
  concurrency: number;
  wait: boolean;
  timeoutSeconds: number;
  method?: UploadMethod;
  contentType?: string;
}

/**
 * What became of one file. `status` is the upload's status, or one of:
 * REFUSED (the API refused the declaration: type, size, name), UPLOAD_REFUSED (S3 refused the
 * bytes), TIMEOUT (no outcome before --timeout), ERROR (network or API error).
 */
export interface FileResult {
  file: string;
  uploadId?: string;
  status: string;
  reasons: Reason[];
  sha256?: string;
  size?: number;
  contentType?: string;
  detectedType?: string;
  /** PROCESSED only: the link to GET /uploads/{id}/download (`airlock download <uploadId>`). */
  download?: { url: string };
  error?: { code: string; message: string };
}

type Failure = 'refused' | 'error';

/** The API refused the declaration: bad request, too large, type not allowed, over a quota. */
const REFUSAL_STATUSES = new Set([400, 413, 415, 429]);

/** `airlock upload <files...>`: returns the exit code. */
export async function uploadCommand(ctx: Context, options: UploadOptions): Promise<number> {
  if (options.files.length === 0) throw new UsageError('upload needs at least one file');
  // Everything that can be checked before the first byte is sent, so a typo costs nothing.
  const contentTypes = await Promise.all(options.files.map((file) => checkFile(file, options.contentType)));

  const board = new ProgressBoard(
    progressMode(ctx.json, ctx.stderr, options.files.length),
    ctx.stderr,
    options.files,
  );
  const lines = options.files.map((file) => board.add(file)); // every file shows, queued ones too
  const waitSlot = limiter(Math.max(16, options.concurrency * 4));
  const failures: Array<Failure | undefined> = [];
  const raised: unknown[] = [];
  const failed = (index: number, result: FileResult, progress: FileProgress) => (error: unknown) => {
    failures[index] = fail(result, error, progress);
    raised[index] = error;
  };
  const waits: Array<Promise<void>> = [];
  const results = await mapConcurrent(options.files, options.concurrency, async (file, index) => {
    const progress = lines[index] as FileProgress;
    // Keys in the order --json shows them; undefined ones are left out.
    const result: FileResult = { file, uploadId: undefined, status: 'ERROR', reasons: [], sha256: undefined };
    try {
      const created = await send(ctx, file, contentTypes[index] as string, options.method, progress, result);
      result.uploadId = created;
      result.status = 'PENDING_UPLOAD';
      if (!options.wait) {
        progress.stage('uploaded (PENDING_UPLOAD)');
        return result;
      }
      progress.stage('waiting for the outcome');
      // Waiting does not hold an upload slot: the next file starts uploading meanwhile.
      waits.push(
        waitSlot(() => outcome(ctx, created, options.timeoutSeconds, progress, result)).catch(
          failed(index, result, progress),
        ),
      );
    } catch (error) {
      failed(index, result, progress)(error);
    }
    return result;
  });
  await Promise.all(waits);
  board.stop();

  if (ctx.json) {
    await emit(ctx.stdout, JSON.stringify(results, null, 2) + '\n');
  } else {
    const rows = results.map((result) => [
      cell(result.file),
      cell(result.uploadId),
      cell(result.status),
      cell(result.error ? result.error.code : reasonCodes(result.reasons)),
      cell(result.sha256),
      cell(result.download?.url),
    ]);
    await emit(ctx.stdout, table(['file', 'uploadId', 'status', 'reasons', 'sha256', 'download'], rows));
  }
  results.forEach((result, index) => {
    if (!result.error) return;
    ctx.stderr.write(errorLine(`${result.file}: ${result.error.message}`));
    const error = raised[index];
    if (ctx.debug && error instanceof Error && error.stack) ctx.stderr.write(`${error.stack}\n`);
  });

  if (failures.includes('error')) return EXIT.API;
  const ok = (result: FileResult) =>
    result.error === undefined && (options.wait ? result.status === 'PROCESSED' : true);
  return results.every(ok) ? EXIT.OK : EXIT.NOT_PROCESSED;
}

async function checkFile(file: string, contentType: string | undefined): Promise<string> {
  try {
    if (!(await stat(file)).isFile()) throw new UsageError(`${file}: not a regular file`, { hint: false });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : `cannot read (${code})`;
    throw new UsageError(`${file}: ${why}`, { hint: false });
  }
  const type = contentType ?? contentTypeFor(basename(file));
  if (type === undefined) {
    throw new UsageError(`${file}: unknown type for this extension; pass --type <content-type>`);
  }
  return type;
}

/** Hashes, declares and sends one file; returns the upload id. */
async function send(
  ctx: Context,
  file: string,
  contentType: string,
  method: UploadMethod | undefined,
  progress: FileProgress,
  result: FileResult,
): Promise<string> {
  progress.stage('hashing');
  const local = await openFile(file);
  Object.assign(result, { sha256: local.sha256, size: local.size, contentType });
  progress.stage('requesting an upload');
  const created = await ctx.client.createUpload(
    {
      fileName: local.name,
      contentType,
      size: local.size,
      sha256: local.sha256,
      ...(method ? { method } : {}),
    },
    { idempotencyKey: randomUUID() }, // a retry after a timeout gets this same upload
  );
  result.uploadId = created.uploadId;
  await ctx.client.uploadFile(created.upload, local.blob, {
    fileName: local.name,
    onProgress: ({ loaded, total }) => progress.bytes(loaded, total),
  });
  return created.uploadId;
}

async function outcome(
  ctx: Context,
  uploadId: string,
  timeoutSeconds: number,
  progress: FileProgress,
  result: FileResult,
): Promise<void> {
  const view: UploadView = await ctx.client.waitForOutcome(uploadId, {
    timeoutMs: timeoutSeconds * 1000,
    onUpdate: (update) => {
      result.status = update.status;
      if (update.status === 'PROCESSING') progress.stage('processing');
    },
  });
  result.status = view.status;
  result.reasons = view.reasons ?? [];
  if (view.sha256) result.sha256 = view.sha256;
  if (view.detectedType) result.detectedType = view.detectedType;
  if (view.download) result.download = view.download;
  const codes = reasonCodes(view.reasons);
  progress.stage(codes ? `${view.status} (${codes})` : view.status);
}

/** Records a failure on the result; `refused` exits 1 (like a rejection), `error` exits 3. */
function fail(result: FileResult, error: unknown, progress: FileProgress): Failure {
  if (error instanceof S3UploadError) {
    result.status = 'UPLOAD_REFUSED';
    result.error = { code: error.code, message: error.message };
    progress.stage(`UPLOAD_REFUSED (${error.code})`);
    return 'refused';
  }
  if (error instanceof AirlockApiError && REFUSAL_STATUSES.has(error.status)) {
    result.status = 'REFUSED';
    result.error = { code: error.code, message: describeError(error) };
    progress.stage(`REFUSED (${error.code})`);
    return 'refused';
  }
  if (error instanceof AirlockTimeoutError) {
    result.status = 'TIMEOUT';
    result.error = { code: 'TIMEOUT', message: error.message };
    progress.stage(result.status);
    return 'error';
  }
  result.status = 'ERROR';
  result.error = {
    code: error instanceof AirlockApiError ? error.code : error instanceof Error ? error.name : 'ERROR',
    message: describeError(error),
  };
  progress.stage(`ERROR (${result.error.code})`);
  return 'error';
}
