import { AirlockApiError, AirlockError, AirlockNetworkError, type ClientErrorCode } from './errors.js';
import type { AirlockClientOptions, ApiErrorCode, Clock } from './types.js';

/**
 * The JSON side of the API: the bearer token, fetch, decoding answers, `Retry-After`, and mapping
 * error answers to AirlockApiError.
 */

export const realClock: Clock = {
  now: () => Date.now(),
  /** Resolves after `ms`; on abort it stops early and throws the signal's reason. */
  sleep: async (ms, signal) => {
    signal?.throwIfAborted();
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    });
    signal?.throwIfAborted();
  },
};

/** Checks that a decoded body has the shape the client relies on, and so types it. */
export type Guard<T> = (value: unknown) => value is T;

export interface ApiRequest {
  body?: unknown;
  signal?: AbortSignal | undefined;
  headers?: Record<string, string>;
  /** A 304 is an answer, not an error (conditional GET). */
  notModifiedOk?: boolean;
}

export class Transport {
  readonly baseUrl: string;
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  private readonly token: () => Promise<string>;

  constructor(options: AirlockClientOptions) {
    if (!/^https?:\/\//i.test(options.baseUrl)) {
      throw new TypeError(`baseUrl must be an http(s) URL, got "${options.baseUrl}".`);
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const token = options.token;
    this.token = typeof token === 'string' ? () => Promise.resolve(token) : async () => token();
    // Called as a plain function: browsers refuse `fetch` invoked as a method of another object.
    const fetchImpl = options.fetch ?? globalThis.fetch;
    this.fetch = (input, init) => fetchImpl(input, init);
    this.clock = options.clock ?? realClock;
  }

  /** One API call; any answer but 2xx (and 304 when asked) is thrown as AirlockApiError. */
  async request(method: string, path: string, options: ApiRequest = {}): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    const headers = new Headers(options.headers);
    headers.set('authorization', `Bearer ${await this.token()}`);
    headers.set('accept', 'application/json');
    if (options.body !== undefined) headers.set('content-type', 'application/json');
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      throw networkError(error, url, options.signal);
    }
    if (response.ok || (options.notModifiedOk && response.status === 304)) return response;
    throw await apiError(response, this.clock.now());
  }

  /** The body as JSON, checked by `guard`; INVALID_RESPONSE when it is not JSON or not that shape. */
  async decode<T>(response: Response, guard: Guard<T>, expected: string): Promise<T> {
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw invalidResponse(response.status, 'the body is not JSON');
    }
    if (!guard(parsed)) throw invalidResponse(response.status, `not ${expected}`);
    return parsed;
  }
}

export function invalidResponse(status: number, why: string): AirlockApiError {
  return new AirlockApiError(status, 'INVALID_RESPONSE', `The API sent an unexpected answer (${why}).`);
}

/** `Retry-After` as seconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/** The code for an error answer without the API's shape (API Gateway's own `{message}`). */
const FALLBACK_CODES: Partial<Record<number, ApiErrorCode | ClientErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'REQUEST_TOO_LARGE',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

/** Maps an error answer to AirlockApiError, from the API's shape or (API Gateway's) `{message}`. */
async function apiError(response: Response, nowMs: number): Promise<AirlockApiError> {
  const text = await response.text().catch(() => '');
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'), nowMs);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const fallbackCode = FALLBACK_CODES[response.status] ?? `HTTP_${response.status}`;
  if (isRecord(parsed) && isRecord(parsed.error) && typeof parsed.error.code === 'string') {
    const { code, message, details } = parsed.error;
    return new AirlockApiError(
      response.status,
      code,
      typeof message === 'string' && message !== '' ? message : `${response.status} ${code}`,
      isRecord(details) ? details : undefined,
      retryAfter,
    );
  }
  const message =
    isRecord(parsed) && typeof parsed.message === 'string'
      ? parsed.message
      : `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return new AirlockApiError(response.status, fallbackCode, message, undefined, retryAfter);
}

/** Why a request got no answer, as AirlockNetworkError; an abort stays the signal's reason. */
export function networkError(error: unknown, url: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  if (error instanceof AirlockError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const cause = error instanceof Error && isRecord(error.cause) ? error.cause : undefined;
  const why =
    stringField(cause, 'code') ??
    stringField(cause, 'message') ??
    (error instanceof Error ? error.message : String(error));
  let origin = url;
  try {
    origin = new URL(url).origin;
  } catch {
    // keep the URL as given
  }
  return new AirlockNetworkError(`Cannot reach ${origin}: ${why}`, url, { cause: error });
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const stringField = (record: Record<string, unknown> | undefined, name: string): string | undefined => {
  const value = record?.[name];
  return typeof value === 'string' ? value : undefined;
};
