import type { ErrorDetails } from '../domain/errors.js';

/**
 * What only the HTTP edge can say: who the caller is (401, 403), what they may see (404), and
 * whether the request's transport holds a JSON body at all (INVALID_JSON, REQUEST_TOO_LARGE,
 * INVALID_QUERY). Each error carries its status; the domain's errors do not (commons/http.ts).
 */
export abstract class HttpError extends Error {
  abstract readonly status: number;
  /** `code` is the contract's UPPER_SNAKE error code; `options` keeps the `cause`. */
  constructor(
    readonly code: string,
    message: string,
    readonly details?: ErrorDetails,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A request the edge cannot read: INVALID_JSON (body) or INVALID_QUERY (query string). */
export class BadRequestError extends HttpError {
  override readonly name = 'BadRequestError';
  readonly status = 400;
}

export class UnauthorizedError extends HttpError {
  override readonly name = 'UnauthorizedError';
  readonly status = 401;
  constructor(message = 'A valid bearer token is required.') {
    super('UNAUTHORIZED', message);
  }
}

/** For routes only some callers may use at all (never for a single upload: that is 404). */
export class ForbiddenError extends HttpError {
  override readonly name = 'ForbiddenError';
  readonly status = 403;
  constructor(message = 'This route is for auditors only.') {
    super('FORBIDDEN', message);
  }
}

/** Also used for uploads the caller may not see, so that ids cannot be probed. */
export class NotFoundError extends HttpError {
  override readonly name = 'NotFoundError';
  readonly status = 404;
  constructor(message = 'No such upload.') {
    super('NOT_FOUND', message);
  }
}

/** A request body over the edge's byte limit (a file over its type's limit is FileTooLargeError). */
export class RequestTooLargeError extends HttpError {
  override readonly name = 'RequestTooLargeError';
  readonly status = 413;
  constructor(maxBytes: number) {
    super('REQUEST_TOO_LARGE', `The request body may be at most ${maxBytes} bytes.`);
  }
}
