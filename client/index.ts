/**
 * The typed Airlock client: the HTTP API v1 and the presigned S3 uploads it hands out.
 *
 * Only web-standard APIs are used here (fetch, Headers, Blob, ReadableStream, TextEncoder,
 * AbortSignal, crypto.getRandomValues), so that browsers can bundle this module as well as Node.
 * Node-only helpers (opening a file from disk with its size and SHA-256) are in `./node.ts`.
 */

import { contentTypeForFileName } from '../functions/domain/default-type-policy.js';
import {
  TERMINAL_STATUSES,
  type ReasonCode as DomainReasonCode,
  type UploadMethod,
  type UploadStatus,
} from '../functions/domain/model.js';

// ---------------------------------------------------------------------------------------------
// Types mirroring the API

// The status list and its terminal subset are the domain's own (functions/domain/model.ts is pure
// data, safe to bundle for browsers).
export {
  UPLOAD_STATUSES,
  TERMINAL_STATUSES,
  type UploadStatus,
  type UploadMethod,
} from '../functions/domain/model.js';

export const isTerminal = (status: UploadStatus): boolean => TERMINAL_STATUSES.has(status);

/**
 * Reason codes the API documents. The type stays open (`string & {}`) so a newer server's codes
 * are passed through rather than refused.
 */
export type ReasonCode = DomainReasonCode | (string & {});

export interface Reason {
  code: ReasonCode;
  message: string;
}

/** `GET /uploads/{id}` (and the items of `GET /uploads`). */
export interface UploadView {
  uploadId: string;
  status: UploadStatus;
  fileName: string;
  contentType: string;
  size: number;
  sha256?: string;
  detectedType?: string;
  createdAt: string;
  updatedAt: string;
  expiresAt?: string;
  reasons?: Reason[];
  /** Present only when PROCESSED: a short-lived URL of the clean copy. */
  download?: { url: string; expiresAt: string };
}

/** An item of `GET /audit/uploads`: the upload view with its owner. */
export interface AuditUploadView extends UploadView {
  owner: string;
}

export interface Actor {
  type: 'user' | 'system';
  id: string;
}

export type AuditAction =
  | 'ISSUED'
  | 'CLAIMED'
  | 'REDRIVEN'
  | 'PROCESSED'
  | 'REJECTED'
  | 'FAILED'
  | 'EXPIRED'
  | 'DISCARDED'
  | (string & {});

/** One immutable entry of an upload's audit trail (`GET /uploads/{id}/events`). */
export interface AuditEvent {
  at: string;
  actor: Actor;
  action: AuditAction;
  from: UploadStatus | null;
  to: UploadStatus | null;
  reasons: Reason[];
  versionId?: string;
  executionId?: string;
}

/** A presigned upload: POST (form fields, then the file) or PUT (exactly these headers). */
export interface UploadGrant {
  method: UploadMethod;
  url: string;
  fields?: Record<string, string>;
  headers?: Record<string, string>;
  expiresAt: string;
}

/** `POST /uploads` body. */
export interface CreateUploadRequest {
  fileName: string;
  contentType: string;
  size: number;
  /** 64 lowercase hex chars, as `sha256sum` prints. */
  sha256?: string;
  method?: UploadMethod;
}

/** `POST /uploads` answer. */
export interface CreatedUpload {
  uploadId: string;
  status: UploadStatus;
  upload: UploadGrant;
  statusUrl: string;
}

export interface Page<T> {
  items: T[];
  cursor?: string;
}

/** The API's one error shape. */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

// ---------------------------------------------------------------------------------------------
// Errors

/** Base class of every error this client throws (besides an AbortSignal's own reason). */
export class AirlockError extends Error {
  override name = 'AirlockError';
}

/** The API answered with an error: `code` is its UPPER_SNAKE code (e.g. `FILE_TOO_LARGE`). */
export class AirlockApiError extends AirlockError {
  override name = 'AirlockApiError';
  constructor(
    readonly status: number,
    readonly code: string,
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

// ---------------------------------------------------------------------------------------------
// Client

/** Something that can be read as a stream of bytes, of a known size: a Blob or File qualifies. */
export interface UploadSource {
  readonly size: number;
  stream(): ReadableStream<Uint8Array>;
}

export interface UploadProgress {
  /** File bytes handed to the network so far. */
  loaded: number;
  /** The file's size. */
  total: number;
}

export interface UploadFileOptions {
  /** File name in the multipart `file` part (POST only; S3 ignores it). */
  fileName?: string;
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
  /**
   * `true`: the body is a ReadableStream that counts bytes as they are pulled, with an exact
   * Content-Length (Node, Deno, Bun). `false`: the body is a Blob, which every browser can send
   * over HTTP/1.1 (S3 speaks nothing else, and browsers cannot stream request bodies over it);
   * progress is then reported only at the start and the end. Needs a Blob source.
   * Default: `false` in a browser (page or worker) for a Blob source, `true` otherwise.
   */
  streaming?: boolean;
}

/** What S3 answered for the bytes. */
export interface UploadResult {
  status: number;
  etag?: string;
  versionId?: string;
}

/** The result of a conditional `GET /uploads/{id}` (If-None-Match). */
export type UploadSnapshot =
  | { modified: true; upload: UploadView; etag?: string; retryAfterSeconds?: number }
  | { modified: false; etag?: string; retryAfterSeconds?: number };

export interface WaitOptions {
  /** Give up after this long (default 5 minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with each new view (after a 200, never after a 304). */
  onUpdate?: (upload: UploadView) => void;
}

export interface ListUploadsOptions {
  status?: UploadStatus;
  /** Page size, 1-100 (the API defaults to 20). */
  limit?: number;
  /** Auditors only: another owner's uploads. */
  owner?: string;
  /** Resume from a cursor of an earlier page. */
  cursor?: string;
  signal?: AbortSignal;
}

export interface AuditUploadsOptions {
  /** Uploads whose last change is at or after this instant. */
  from: Date | string;
  /** ... and at or before this one. */
  to: Date | string;
  status?: UploadStatus;
  owner?: string;
  /** Page size, 1-100. */
  limit?: number;
  cursor?: string;
  signal?: AbortSignal;
}

/** Time source and sleeper; replaceable for tests or custom schedulers. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface AirlockClientOptions {
  /** The API's base URL, e.g. `http://localhost:3000` or the stack's `ApiUrl` output. */
  baseUrl: string;
  /** A bearer token, or a function returning one (called for every request, so it may refresh). */
  token: string | (() => string | Promise<string>);
  fetch?: typeof fetch;
  clock?: Clock;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** First and largest pause between polls when the API sends no Retry-After. */
export const BACKOFF_INITIAL_MS = 250;
export const BACKOFF_MAX_MS = 5_000;
const DEFAULT_WAIT_TIMEOUT_MS = 5 * 60_000;

export class AirlockClient {
  readonly baseUrl: string;
  private readonly token: () => Promise<string>;
  private readonly fetchImpl: typeof fetch;
  private readonly clock: Clock;

  constructor(options: AirlockClientOptions) {
    if (!/^https?:\/\//i.test(options.baseUrl)) {
      throw new TypeError(`baseUrl must be an http(s) URL, got "${options.baseUrl}".`);
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const token = options.token;
    this.token = typeof token === 'string' ? () => Promise.resolve(token) : async () => token();
    // Called as a plain function: browsers refuse `fetch` invoked as a method of another object.
    const fetchImpl = options.fetch ?? globalThis.fetch;
    this.fetchImpl = (input, init) => fetchImpl(input, init);
    this.clock = options.clock ?? realClock;
  }

  /** `POST /uploads`: records the upload and returns a presigned POST or PUT for its bytes. */
  async createUpload(request: CreateUploadRequest, options: RequestOptions = {}): Promise<CreatedUpload> {
    const response = await this.request('POST', '/uploads', { body: request, signal: options.signal });
    return (await this.json(response)) as CreatedUpload;
  }

  /**
   * Sends the bytes with a grant from `createUpload`, by the grant's method: POST builds the
   * multipart/form-data body (every returned field, then `file`) with an exact Content-Length;
   * PUT sends the signed headers. Throws S3UploadError when S3 refuses.
   */
  async uploadFile(
    grant: UploadGrant,
    source: UploadSource,
    options: UploadFileOptions = {},
  ): Promise<UploadResult> {
    const streaming = options.streaming ?? !(isBlob(source) && inBrowser());
    if (!streaming && !isBlob(source)) {
      throw new TypeError('uploadFile with streaming: false needs a Blob (or File) source.');
    }
    const total = source.size;
    const report = options.onProgress;
    const counter = { loaded: 0, sizeError: undefined as SourceSizeError | undefined };
    report?.({ loaded: 0, total });

    let body: NonNullable<RequestInit['body']>;
    const headers = new Headers();
    if (grant.method === 'PUT') {
      for (const [name, value] of Object.entries(grant.headers ?? {})) headers.set(name, value);
      if (streaming) {
        headers.set('content-length', String(total));
        body = countingStream(source, counter, report);
      } else {
        headers.delete('content-length'); // the browser sets it, and refuses it being set
        body = source as Blob;
      }
    } else {
      const multipart = multipartParts(grant.fields ?? {}, options.fileName ?? 'file');
      headers.set('content-type', `multipart/form-data; boundary=${multipart.boundary}`);
      if (streaming) {
        headers.set('content-length', String(multipart.head.byteLength + total + multipart.tail.byteLength));
        body = concatStreams(multipart.head, countingStream(source, counter, report), multipart.tail);
      } else {
        body = new Blob([multipart.head.slice(), source as Blob, multipart.tail.slice()]);
      }
    }

    let response: Response;
    try {
      response = await this.fetchImpl(grant.url, {
        method: grant.method,
        headers,
        body,
        ...(streaming ? { duplex: 'half' as const } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (counter.sizeError) throw counter.sizeError;
      throw networkError(error, grant.url, options.signal);
    }
    if (!response.ok) throw await s3Error(response);
    await response.body?.cancel();
    if (!streaming) report?.({ loaded: total, total });
    const etag = response.headers.get('etag') ?? undefined;
    const versionId = response.headers.get('x-amz-version-id') ?? undefined;
    return {
      status: response.status,
      ...(etag !== undefined ? { etag } : {}),
      ...(versionId !== undefined ? { versionId } : {}),
    };
  }

  /** `createUpload` then `uploadFile`: the whole client side of one upload. */
  async upload(
    source: UploadSource,
    request: Omit<CreateUploadRequest, 'size'>,
    options: UploadFileOptions = {},
  ): Promise<CreatedUpload> {
    const created = await this.createUpload(
      { ...request, size: source.size },
      options.signal ? { signal: options.signal } : {},
    );
    await this.uploadFile(created.upload, source, { fileName: request.fileName, ...options });
    return created;
  }

  /** `GET /uploads/{id}`. */
  async getUpload(uploadId: string, options: RequestOptions = {}): Promise<UploadView> {
    const response = await this.request('GET', `/uploads/${encodeURIComponent(uploadId)}`, options);
    return (await this.json(response)) as UploadView;
  }

  /**
   * `GET /uploads/{id}` with `If-None-Match: <etag>`: `modified: false` on 304, so pollers fetch
   * the body only when the upload has changed. Also returns the server's `Retry-After`.
   */
  async getUploadIfChanged(
    uploadId: string,
    etag: string | undefined,
    options: RequestOptions = {},
  ): Promise<UploadSnapshot> {
    const response = await this.request('GET', `/uploads/${encodeURIComponent(uploadId)}`, {
      signal: options.signal,
      headers: etag !== undefined ? { 'if-none-match': etag } : {},
      notModifiedOk: true,
    });
    const newEtag = response.headers.get('etag') ?? etag;
    const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'), this.clock.now());
    const common = {
      ...(newEtag !== undefined ? { etag: newEtag } : {}),
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    };
    if (response.status === 304) {
      await response.body?.cancel();
      return { modified: false, ...common };
    }
    return { modified: true, upload: (await this.json(response)) as UploadView, ...common };
  }

  /**
   * Polls until the upload is terminal (PROCESSED, REJECTED, FAILED, EXPIRED) and returns that
   * view. Conditional requests (ETag) keep polls cheap; the pause is the server's Retry-After,
   * else an exponential backoff from 250 ms capped at 5 s. Throttling (429/503) and network
   * errors are retried the same way; other API errors are thrown. At the deadline it throws
   * AirlockTimeoutError.
   */
  async waitForOutcome(uploadId: string, options: WaitOptions = {}): Promise<UploadView> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const deadline = this.clock.now() + timeoutMs;
    let etag: string | undefined;
    let last: UploadView | undefined;
    let backoff = BACKOFF_INITIAL_MS;
    for (;;) {
      let pauseMs: number;
      try {
        const snapshot = await this.getUploadIfChanged(uploadId, last ? etag : undefined, {
          ...(options.signal ? { signal: options.signal } : {}),
        });
        if (snapshot.modified) {
          last = snapshot.upload;
          etag = snapshot.etag;
          options.onUpdate?.(last);
          if (isTerminal(last.status)) return last;
        }
        pauseMs = snapshot.retryAfterSeconds !== undefined ? snapshot.retryAfterSeconds * 1000 : backoff;
      } catch (error) {
        const transient =
          error instanceof AirlockNetworkError || (error instanceof AirlockApiError && error.retryable);
        if (!transient) throw error;
        const retryAfter = error instanceof AirlockApiError ? error.retryAfterSeconds : undefined;
        pauseMs = retryAfter !== undefined ? retryAfter * 1000 : backoff;
      }
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) throw new AirlockTimeoutError(uploadId, timeoutMs, last);
      await this.clock.sleep(Math.min(pauseMs, remaining), options.signal);
    }
  }

  /**
   * `GET /uploads`, newest first: an async iterator over pages, following `cursor` until the
   * last page.
   */
  async *listUploads(options: ListUploadsOptions = {}): AsyncGenerator<Page<UploadView>, void, undefined> {
    yield* this.pages<UploadView>('/uploads', options.cursor, options.signal, {
      status: options.status,
      limit: options.limit,
      owner: options.owner,
    });
  }

  /** `GET /uploads/{id}/events`: the audit trail, oldest first. */
  async getEvents(uploadId: string, options: RequestOptions = {}): Promise<AuditEvent[]> {
    const response = await this.request('GET', `/uploads/${encodeURIComponent(uploadId)}/events`, options);
    const body = (await this.json(response)) as { events?: AuditEvent[] };
    if (!Array.isArray(body.events)) throw invalidResponse(response.status, 'no events array');
    return body.events;
  }

  /**
   * `GET /audit/uploads` (auditors only; others get 403 FORBIDDEN): every upload whose last
   * change falls within [from, to], with its owner, as an async iterator over pages.
   */
  async *auditUploads(options: AuditUploadsOptions): AsyncGenerator<Page<AuditUploadView>, void, undefined> {
    yield* this.pages<AuditUploadView>('/audit/uploads', options.cursor, options.signal, {
      from: toIso(options.from, 'from'),
      to: toIso(options.to, 'to'),
      status: options.status,
      owner: options.owner,
      limit: options.limit,
    });
  }

  // -------------------------------------------------------------------------------------------

  private async *pages<T>(
    path: string,
    startCursor: string | undefined,
    signal: AbortSignal | undefined,
    query: Record<string, string | number | undefined>,
  ): AsyncGenerator<Page<T>, void, undefined> {
    let cursor = startCursor;
    const seen = new Set<string>();
    for (;;) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries({ ...query, cursor })) {
        if (value !== undefined) params.set(name, String(value));
      }
      const qs = params.toString();
      const response = await this.request('GET', qs ? `${path}?${qs}` : path, { signal });
      const page = (await this.json(response)) as Page<T>;
      if (!Array.isArray(page.items)) throw invalidResponse(response.status, 'no items array');
      yield page;
      if (page.cursor === undefined || page.cursor === '') return;
      if (seen.has(page.cursor)) throw invalidResponse(response.status, 'the same cursor came back twice');
      seen.add(page.cursor);
      cursor = page.cursor;
    }
  }

  private async request(
    method: string,
    path: string,
    options: {
      body?: unknown;
      signal?: AbortSignal | undefined;
      headers?: Record<string, string>;
      notModifiedOk?: boolean;
    } = {},
  ): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    const headers = new Headers(options.headers);
    headers.set('authorization', `Bearer ${await this.token()}`);
    headers.set('accept', 'application/json');
    if (options.body !== undefined) headers.set('content-type', 'application/json');
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
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

  private async json(response: Response): Promise<unknown> {
    const text = await response.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw invalidResponse(response.status, 'the body is not JSON');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const isBlob = (value: unknown): value is Blob => typeof Blob !== 'undefined' && value instanceof Blob;

/** A browser page or worker (Node, Deno and Bun have neither global). */
const inBrowser = (): boolean => 'document' in globalThis || 'WorkerGlobalScope' in globalThis;

function toIso(value: Date | string, name: string): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new TypeError(`${name} is not a valid date: "${String(value)}".`);
  return date.toISOString();
}

function invalidResponse(status: number, why: string): AirlockApiError {
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

const FALLBACK_CODES: Record<number, string> = {
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

/** Maps S3's XML error (`<Error><Code>…</Code><Message>…</Message>`) to S3UploadError. */
async function s3Error(response: Response): Promise<S3UploadError> {
  const text = await response.text().catch(() => '');
  const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  const code = tag('Code') ?? `HTTP_${response.status}`;
  const detail = tag('Message');
  return new S3UploadError(
    response.status,
    code,
    `S3 refused the upload: ${response.status} ${code}${detail ? ` (${unescapeXml(detail)})` : ''}`,
    tag('RequestId'),
  );
}

const unescapeXml = (text: string): string =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

function networkError(error: unknown, url: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  if (error instanceof AirlockError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const why = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  let origin = url;
  try {
    origin = new URL(url).origin;
  } catch {
    // keep the URL as given
  }
  return new AirlockNetworkError(`Cannot reach ${origin}: ${why}`, url, { cause: error });
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Streams `source`, counting bytes as the consumer pulls them, and checking the total. */
function countingStream(
  source: UploadSource,
  counter: { loaded: number; sizeError: SourceSizeError | undefined },
  report: ((progress: UploadProgress) => void) | undefined,
): ReadableStream<Uint8Array> {
  const total = source.size;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= source.stream().getReader();
        const { done, value } = await reader.read();
        if (done) {
          if (counter.loaded !== total) {
            counter.sizeError = new SourceSizeError(total, counter.loaded);
            controller.error(counter.sizeError);
          } else controller.close();
          return;
        }
        counter.loaded += value.byteLength;
        if (counter.loaded > total) {
          counter.sizeError = new SourceSizeError(total, counter.loaded);
          controller.error(counter.sizeError);
          await reader.cancel();
          return;
        }
        controller.enqueue(value);
        report?.({ loaded: counter.loaded, total });
      },
      async cancel(reason) {
        await reader?.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** `head`, then every chunk of `middle`, then `tail`. */
function concatStreams(
  head: Uint8Array,
  middle: ReadableStream<Uint8Array>,
  tail: Uint8Array,
): ReadableStream<Uint8Array> {
  let stage: 'head' | 'middle' | 'tail' = 'head';
  const reader = middle.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (stage === 'head') {
          stage = 'middle';
          if (head.byteLength > 0) {
            controller.enqueue(head);
            return;
          }
        }
        if (stage === 'middle') {
          const { done, value } = await reader.read();
          if (!done) {
            controller.enqueue(value);
            return;
          }
          stage = 'tail';
        }
        controller.enqueue(tail);
        controller.close();
      },
      async cancel(reason) {
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Quotes a multipart name as the HTML standard does: `"` → %22, CR → %0D, LF → %0A. */
const quoteName = (name: string): string =>
  name
    .replace(/\r\n?|\n/g, '\r\n')
    .replace(/"/g, '%22')
    .replace(/\r/g, '%0D')
    .replace(/\n/g, '%0A');

/**
 * The bytes before and after the file in a multipart/form-data body: every field (in order),
 * then the `file` part's headers; the tail closes the file part and the body.
 */
export function multipartParts(
  fields: Record<string, string>,
  fileName: string,
  boundary: string = newBoundary(),
): { boundary: string; head: Uint8Array; tail: Uint8Array } {
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quoteName(name)}"\r\n\r\n${value}\r\n`;
  }
  head +=
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoteName(fileName)}"\r\n` +
    'Content-Type: application/octet-stream\r\n\r\n';
  const encoder = new TextEncoder();
  return { boundary, head: encoder.encode(head), tail: encoder.encode(`\r\n--${boundary}--\r\n`) };
}

function newBoundary(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `----AirlockFormBoundary${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The content type to declare for a file name, from its extension, among the types of the
 * default type policy; undefined when unknown. (The bytes decide anyway: a spoofed file is
 * rejected whatever it declares.)
 */
export function contentTypeFor(fileName: string): string | undefined {
  return contentTypeForFileName(fileName);
}
