/**
 * Typed errors. Each has a stable `name`: Step Functions `Retry`/`Catch` match on it, and the HTTP
 * edge maps it to a status code. Messages of client-facing errors are safe to return; anything
 * else is logged and replaced by a generic message.
 */

/** Detail attached to a client-facing error, returned under `error.details`. */
export type ErrorDetails = Record<string, unknown>;

/** Base of every error a client may see. `code` is the API's UPPER_SNAKE error code. */
export abstract class ClientError extends Error {
  abstract readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
  }
}

export class BadRequestError extends ClientError {
  override readonly name = 'BadRequestError';
  readonly status = 400;
}

export class UnauthorizedError extends ClientError {
  override readonly name = 'UnauthorizedError';
  readonly status = 401;
  constructor(message = 'A valid bearer token is required.') {
    super('UNAUTHORIZED', message);
  }
}

/** Also used for uploads the caller may not see, so that ids cannot be probed. */
export class NotFoundError extends ClientError {
  override readonly name = 'NotFoundError';
  readonly status = 404;
  constructor(message = 'No such upload.') {
    super('NOT_FOUND', message);
  }
}

/** For routes only some callers may use at all (never for a single upload: that is 404). */
export class ForbiddenError extends ClientError {
  override readonly name = 'ForbiddenError';
  readonly status = 403;
  constructor(message = 'This route is for auditors only.') {
    super('FORBIDDEN', message);
  }
}

export class PayloadTooLargeError extends ClientError {
  override readonly name = 'PayloadTooLargeError';
  readonly status = 413;
}

export class UnsupportedMediaTypeError extends ClientError {
  override readonly name = 'UnsupportedMediaTypeError';
  readonly status = 415;
}

/**
 * A dependency (S3, DynamoDB, the network) failed in a way that may pass: throttling, 5xx,
 * timeouts, refused connections. The state machine retries this name with backoff.
 */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** A dependency refused the request for a reason that retrying will not fix. */
export class DependencyError extends Error {
  override readonly name = 'DependencyError';
}

/** The event or task input is not what the state machine contract says. Not retried. */
export class InvalidTaskInputError extends Error {
  override readonly name = 'InvalidTaskInputError';
}

/** The quarantine version to work on no longer exists. Not retried. */
export class ObjectVersionMissingError extends Error {
  override readonly name = 'ObjectVersionMissingError';
}

/** A conditional write lost against a state that the step cannot accept. Not retried. */
export class TransitionConflictError extends Error {
  override readonly name = 'TransitionConflictError';
}

/** A required setting is missing or malformed. Raised at cold start. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}
