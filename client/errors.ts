import type { ApiErrorCode, UploadView } from './types.js';

/** Codes the client names itself for answers that do not carry the API's error shape. */
export type ClientErrorCode =
  /** API Gateway's own `{message}` answers (throttling, integration failures, bad requests). */
  | 'BAD_REQUEST'
  | 'TOO_MANY_REQUESTS'
  | 'BAD_GATEWAY'
  | 'GATEWAY_TIMEOUT'
  /** A 2xx whose body is not what the document says. */
  | 'INVALID_RESPONSE'
  /** Any other status without the API's shape. */
  | `HTTP_${number}`;

/** Base class of every error this client throws (besides an AbortSignal's own reason). */
export class AirlockError extends Error {
  override name = 'AirlockError';
}

/** The API answered with an error: `code` is its UPPER_SNAKE code (e.g. `FILE_TOO_LARGE`). */
export class AirlockApiError extends AirlockError {
  override name = 'AirlockApiError';
  constructor(
    readonly status: number,
    /** The API's code, one the client names (ClientErrorCode), or a newer server's own. */
    readonly code: ApiErrorCode | ClientErrorCode | (string & {}),
    message: string,
    readonly details?: Record<string, unknown>,
    /** Seconds from a `Retry-After` header (e.g. with 503 SERVICE_UNAVAILABLE). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** A status worth retrying after a pause (throttling or a dependency briefly away). */
  get retryable(): boolean {
    return this.status === 429 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

/** The request never got an HTTP answer (connection refused, DNS, TLS, reset...). */
export class AirlockNetworkError extends AirlockError {
  override name = 'AirlockNetworkError';
  constructor(
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `waitForOutcome` reached its deadline; `last` is the last view seen, if any. */
export class AirlockTimeoutError extends AirlockError {
  override name = 'AirlockTimeoutError';
  constructor(
    readonly uploadId: string,
    readonly timeoutMs: number,
    readonly last?: UploadView,
  ) {
    super(
      `Upload ${uploadId} did not reach a terminal status within ${Math.round(timeoutMs / 1000)} s` +
        (last ? ` (last status: ${last.status}).` : '.'),
    );
  }
}

/**
 * S3 (or RadosGW) refused the bytes. `code` is S3's `<Code>` (e.g. `EntityTooLarge`,
 * `AccessDenied`, `SignatureDoesNotMatch`), or `HTTP_<status>` when the body had none.
 */
export class S3UploadError extends AirlockError {
  override name = 'S3UploadError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/** The bytes read from an upload source did not match its declared size. */
export class SourceSizeError extends AirlockError {
  override name = 'SourceSizeError';
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`The file's content changed while uploading: expected ${expected} bytes, read ${actual}.`);
  }
}
