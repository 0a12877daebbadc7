import { DependencyError, TransientError } from '../commons/errors.js';

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'InternalServerError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'TransactionInProgressException',
]);

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
]);

export function isTransientAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as SdkLikeError;
  if (e.$retryable) return true;
  if (e.name && TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code && TRANSIENT_NETWORK_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && (status >= 500 || status === 429);
}

export const errorName = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null ? (error as SdkLikeError).name : undefined;

/**
 * Turns an SDK failure into the pipeline's error names: TransientError (the state machine retries
 * it with backoff) or DependencyError (it does not). The message names the operation only.
 */
export function toPipelineError(operation: string, error: unknown): Error {
  const name = errorName(error) ?? 'UnknownError';
  return isTransientAwsError(error)
    ? new TransientError(`${operation} failed transiently (${name}).`, { cause: error })
    : new DependencyError(`${operation} failed (${name}).`, { cause: error });
}

/**
 * A response body that broke off while it was read: a reset or closed connection, a socket
 * timeout, a premature end. The request itself succeeded and object versions never change, so
 * whatever stops the bytes midway is the transport, and reading again from the start can work:
 * always TransientError. The message names the operation and the error's code only.
 */
export function toBodyReadError(operation: string, error: unknown): TransientError {
  const code = typeof error === 'object' && error !== null ? (error as SdkLikeError).code : undefined;
  return new TransientError(
    `${operation} body read failed transiently (${code ?? errorName(error) ?? 'UnknownError'}).`,
    { cause: error },
  );
}
