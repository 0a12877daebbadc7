import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { TransientError } from './errors.js';
import { BadRequestError, HttpError, RequestTooLargeError, UnauthorizedError } from './http-errors.js';
import { logger } from './logger.js';
import { DomainError, type DomainErrorName } from '../domain/errors.js';
import type { Caller } from '../domain/status-view.js';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiResult = APIGatewayProxyStructuredResultV2;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): ApiResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** The only place a domain error gets a status: a new DomainErrorName without one fails tsc. */
export const DOMAIN_ERROR_STATUS: Record<DomainErrorName, number> = {
  InvalidRequestError: 400,
  InvalidCursorError: 400,
  FileTooLargeError: 413,
  TypeNotAllowedError: 415,
  QuotaExceededError: 429,
  InvalidIdempotencyKeyError: 400,
  IdempotencyKeyMismatchError: 422,
  IdempotencyKeyUsedError: 409,
};

/** A refusal the client may be told of: a domain error or one of the edge's own. */
export type RefusalError = DomainError | HttpError;

export function isRefusal(error: unknown): error is RefusalError {
  return error instanceof DomainError || error instanceof HttpError;
}

export function statusOf(error: RefusalError): number {
  return error instanceof DomainError ? DOMAIN_ERROR_STATUS[error.name] : error.status;
}

/** The single error shape: `{"error":{"code","message","details"?}}`. */
export function errorResponse(error: unknown): ApiResult {
  if (isRefusal(error)) {
    const { code, message, details } = error;
    const retryAfter = error instanceof DomainError ? error.retryAfterSeconds : undefined;
    return jsonResponse(
      statusOf(error),
      { error: { code, message, ...(details ? { details } : {}) } },
      retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {},
    );
  }
  if (error instanceof TransientError) {
    return jsonResponse(
      503,
      { error: { code: 'SERVICE_UNAVAILABLE', message: 'The service is busy. Try again shortly.' } },
      { 'retry-after': '2' },
    );
  }
  return jsonResponse(500, { error: { code: 'INTERNAL_ERROR', message: 'An internal error occurred.' } });
}

/**
 * The caller from the JWT authorizer's claims: `sub` is the owner; groups come from
 * `cognito:groups` (see `groupsFrom`).
 */
export function callerFrom(event: ApiEvent): Caller {
  const claims = event.requestContext.authorizer?.jwt?.claims ?? {};
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub.trim() === '' || isFlattenedClaim(sub)) throw new UnauthorizedError();
  return {
    sub,
    groups: groupsFrom(claims[GROUPS_CLAIM], bearerPayload(header(event, 'authorization'), sub)),
  };
}

const GROUPS_CLAIM = 'cognito:groups';

/**
 * True for a claim the authorizer flattened from an array (`[a b]`) or an object (`{...}`).
 * `sub` must be a string (RFC 7519); once flattened, a list or object sub would become an owner
 * named by its text, so it is refused like a missing one.
 */
function isFlattenedClaim(value: string): boolean {
  return /^\[.*\]$/s.test(value) || /^\{.*\}$/s.test(value);
}

/**
 * The caller's groups, from exactly the shapes API Gateway hands a Lambda:
 * - an array (a REST API's or a direct invocation's claims): its string elements;
 * - `[a b]`, the HTTP API JWT authorizer's rendering of an array claim: elements joined by one
 *   space, without quotes. That text cannot tell the group `x auditors` from the groups `x` and
 *   `auditors`, so it is read back through the token the authorizer verified (`verified`, the
 *   Authorization header's payload): its claim must render to exactly this text, and then its own
 *   elements are the groups. Without such a token the bracketed text grants nothing;
 * - any other string: one group of that exact name (a single-valued claim), never split, so
 *   `x,auditors` is one group.
 */
export function groupsFrom(value: unknown, verified?: Record<string, unknown>): string[] {
  if (Array.isArray(value)) return value.filter((group): group is string => typeof group === 'string');
  if (typeof value !== 'string' || value === '') return [];
  if (!/^\[.*\]$/s.test(value)) return [value];
  const original = verified?.[GROUPS_CLAIM];
  if (Array.isArray(original) && renderArrayClaim(original) === value) {
    return original.filter((group): group is string => typeof group === 'string');
  }
  if (original === value) return [value]; // a string claim that merely looks bracketed
  return [];
}

/** How API Gateway's HTTP API renders an array claim: `[` + elements joined by spaces + `]`. */
function renderArrayClaim(items: unknown[]): string {
  return `[${items.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join(' ')}]`;
}

/**
 * The payload of the bearer token in `authorization`, when it decodes and names the same `sub` as
 * the authorizer's claims. API Gateway verified this very header before invoking the function;
 * the payload is only used to read back what the authorizer flattened, never on its own.
 */
function bearerPayload(authorization: string | undefined, sub: string): Record<string, unknown> | undefined {
  const match = /^Bearer\s+[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/i.exec(
    authorization?.trim() ?? '',
  );
  if (!match?.[1]) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(match[1], 'base64url').toString('utf8'));
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
    return (payload as Record<string, unknown>).sub === sub
      ? (payload as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Largest request body the API reads; real requests are a few hundred bytes. */
export const MAX_REQUEST_BODY_BYTES = 16 * 1024;

/**
 * Decodes a JSON body (base64 when API Gateway says so) with a byte bound; throws 400 INVALID_JSON
 * or 413 REQUEST_TOO_LARGE. Sizes above every type's limit are the domain's to refuse, later.
 */
export function decodeJsonBody(body: string | undefined, isBase64Encoded: boolean): unknown {
  if (body === undefined || body === '') {
    throw new BadRequestError('INVALID_JSON', 'A JSON request body is required.');
  }
  const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  if (Buffer.byteLength(text, 'utf8') > MAX_REQUEST_BODY_BYTES) {
    throw new RequestTooLargeError(MAX_REQUEST_BODY_BYTES);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BadRequestError('INVALID_JSON', 'The request body is not valid JSON.', undefined, {
      cause: error,
    });
  }
}

export function header(event: ApiEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** The API's own origin, as the client addressed it (API Gateway sets domainName and stage). */
export function apiBaseUrl(event: ApiEvent): string {
  const forwarded = header(event, 'x-forwarded-proto');
  const proto = forwarded === 'http' ? 'http' : 'https'; // never echo anything else into a URL
  const stage =
    event.requestContext.stage && event.requestContext.stage !== '$default'
      ? `/${event.requestContext.stage}`
      : '';
  return `${proto}://${event.requestContext.domainName}${stage}`;
}

/** Whether the client's Accept header names `application/json` (a media range, not `*` alone). */
export function acceptsJson(event: ApiEvent): boolean {
  return (header(event, 'accept') ?? '')
    .split(',')
    .some((range) => range.split(';')[0]?.trim().toLowerCase() === 'application/json');
}

/**
 * Wraps an API handler: structured logging with the request id, typed errors mapped to the
 * error shape at this edge only. Internal details are logged, never returned.
 */
export function apiHandler(
  route: (event: ApiEvent) => Promise<ApiResult>,
): (event: ApiEvent, context?: Context) => Promise<ApiResult> {
  return async (event, context) => {
    if (context) logger.addContext(context);
    logger.appendKeys({ routeKey: event.routeKey, requestId: event.requestContext.requestId });
    try {
      return await route(event);
    } catch (error) {
      if (isRefusal(error)) {
        logger.info('request refused', { status: statusOf(error), code: error.code });
      } else {
        logger.error('request failed', error as Error);
      }
      return errorResponse(error);
    } finally {
      logger.removeKeys(['routeKey', 'requestId', 'uploadId']);
    }
  };
}
