/**
 * What the domain refuses, named for what went wrong; nothing here knows HTTP. The HTTP edge
 * (commons/http.ts) gives each DomainErrorName its status in a table that does not compile while a
 * name lacks one. Names are string literals, so they survive esbuild's minify.
 */

/** Detail attached to a refusal, returned under `error.details`. */
export type ErrorDetails = Record<string, unknown>;

export type DomainErrorName =
  | 'InvalidRequestError'
  | 'InvalidCursorError'
  | 'FileTooLargeError'
  | 'TypeNotAllowedError'
  | 'QuotaExceededError'
  | 'InvalidIdempotencyKeyError'
  | 'IdempotencyKeyMismatchError'
  | 'IdempotencyKeyUsedError';

/** A request the domain refuses. Its message is safe to show to the client who sent it. */
export abstract class DomainError extends Error {
  abstract override readonly name: DomainErrorName;
  /** `code` is the contract's UPPER_SNAKE error code; `options` keeps the `cause`. */
  constructor(
    readonly code: string,
    message: string,
    readonly details?: ErrorDetails,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** Seconds after which the same request may succeed (a quota frees), if it ever may. */
  readonly retryAfterSeconds?: number;
}

/** The body of a request breaks the request's rules; `details.issues` says where. */
export class InvalidRequestError extends DomainError {
  override readonly name = 'InvalidRequestError';
  constructor(details: ErrorDetails, options?: ErrorOptions) {
    super('INVALID_REQUEST', 'The request body is invalid.', details, options);
  }
}

/** A listing cursor this query could not have produced. */
export class InvalidCursorError extends DomainError {
  override readonly name = 'InvalidCursorError';
  constructor(options?: ErrorOptions) {
    super('INVALID_CURSOR', 'The cursor is not valid for this query.', undefined, options);
  }
}

/** A declared size over its type's limit. */
export class FileTooLargeError extends DomainError {
  override readonly name = 'FileTooLargeError';
  constructor(message: string, details?: ErrorDetails, options?: ErrorOptions) {
    super('FILE_TOO_LARGE', message, details, options);
  }
}

/** A declared content type the type policy does not allow. */
export class TypeNotAllowedError extends DomainError {
  override readonly name = 'TypeNotAllowedError';
  constructor(message: string, details?: ErrorDetails, options?: ErrorOptions) {
    super('UNSUPPORTED_MEDIA_TYPE', message, details, options);
  }
}

/**
 * A required setting is missing or malformed (the type policy, an environment variable). Not a
 * DomainError: no client caused it, so the edge answers 500 and logs it. Raised at cold start.
 */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}
