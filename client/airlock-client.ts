import {
  isAuditDigestItem,
  isAuditPublicKey,
  isAuditUploadView,
  isCreatedUpload,
  isPageOf,
  isSignedDownload,
  isUploadEvents,
  isUploadView,
} from './decoders.js';
import { AirlockApiError, AirlockNetworkError, AirlockTimeoutError } from './errors.js';
import { uploadFile } from './s3-upload.js';
import { isTerminal } from './statuses.js';
import { invalidResponse, parseRetryAfter, Transport, type Guard } from './transport.js';
import type {
  AirlockClientOptions,
  AuditDigestItem,
  AuditDigestsOptions,
  AuditEvent,
  AuditPublicKey,
  AuditUploadsOptions,
  AuditUploadView,
  CreatedUpload,
  EventPagesOptions,
  CreateUploadOptions,
  CreateUploadRequest,
  ListUploadsOptions,
  Page,
  RequestOptions,
  SignedDownload,
  UploadFileOptions,
  UploadEvents,
  UploadGrant,
  UploadResult,
  UploadSnapshot,
  UploadSource,
  UploadView,
  WaitOptions,
} from './types.js';

/** First and largest pause between polls when the API sends no Retry-After. */
export const BACKOFF_INITIAL_MS = 250;
export const BACKOFF_MAX_MS = 5_000;
const DEFAULT_WAIT_TIMEOUT_MS = 5 * 60_000;

/** The typed client of the HTTP API v1 and of the presigned S3 uploads it hands out. */
export class AirlockClient {
  readonly baseUrl: string;
  private readonly transport: Transport;

  constructor(options: AirlockClientOptions) {
    this.transport = new Transport(options);
    this.baseUrl = this.transport.baseUrl;
  }

  /**
   * `POST /uploads`: records the upload and returns a presigned POST or PUT for its bytes. With
   * `idempotencyKey` (sent as `Idempotency-Key`), a request that got no answer (network error,
   * 502, 503, 504) is sent again with the same key, up to `retries` times (default 2), and the
   * API answers the retry with the same upload: never a second one. A refusal, 429
   * QUOTA_EXCEEDED included (its `retryAfterSeconds` says when), is thrown at once.
   */
  async createUpload(
    request: CreateUploadRequest,
    options: CreateUploadOptions = {},
  ): Promise<CreatedUpload> {
    const { idempotencyKey, signal } = options;
    const retries = idempotencyKey === undefined ? 0 : (options.retries ?? 2);
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.transport.request('POST', '/uploads', {
          body: request,
          signal,
          ...(idempotencyKey !== undefined ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
        });
        return await this.transport.decode(response, isCreatedUpload, 'a created upload');
      } catch (error) {
        const unanswered =
          error instanceof AirlockNetworkError ||
          (error instanceof AirlockApiError && [502, 503, 504].includes(error.status));
        if (!unanswered || attempt >= retries) throw error;
        const retryAfter = error instanceof AirlockApiError ? error.retryAfterSeconds : undefined;
        await this.transport.clock.sleep(
          retryAfter !== undefined ? retryAfter * 1000 : BACKOFF_INITIAL_MS * 2 ** attempt,
          signal,
        );
      }
    }
  }

  /**
   * Sends the bytes with a grant from `createUpload`, by the grant's method: POST builds the
   * multipart/form-data body (every returned field, then `file`) with an exact Content-Length;
   * PUT sends the signed headers. Throws S3UploadError when S3 refuses.
   */
  uploadFile(
    grant: UploadGrant,
    source: UploadSource,
    options: UploadFileOptions = {},
  ): Promise<UploadResult> {
    return uploadFile(this.transport.fetch, grant, source, options);
  }

  /** `createUpload` then `uploadFile`: the whole client side of one upload. */
  async upload(
    source: UploadSource,
    request: Omit<CreateUploadRequest, 'size'>,
    options: UploadFileOptions = {},
  ): Promise<CreatedUpload> {
    // A fresh key per upload: a retried request can only ever make this one upload.
    const created = await this.createUpload(
      { ...request, size: source.size },
      { idempotencyKey: newIdempotencyKey(), ...(options.signal ? { signal: options.signal } : {}) },
    );
    await this.uploadFile(created.upload, source, { fileName: request.fileName, ...options });
    return created;
  }

  /** `GET /uploads/{id}`. */
  async getUpload(uploadId: string, options: RequestOptions = {}): Promise<UploadView> {
    const response = await this.transport.request('GET', uploadPath(uploadId), options);
    return this.transport.decode(response, isUploadView, 'an upload');
  }

  /**
   * `GET /uploads/{id}/download` as JSON: a freshly signed, short-lived (at most 5 minutes) GET of
   * a PROCESSED upload's file. Ask right before fetching it: the URL is not meant to be kept.
   * 404 NOT_FOUND for any other status.
   */
  async getDownload(uploadId: string, options: RequestOptions = {}): Promise<SignedDownload> {
    const response = await this.transport.request('GET', `${uploadPath(uploadId)}/download`, options);
    return this.transport.decode(response, isSignedDownload, 'a signed download');
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
    const response = await this.transport.request('GET', uploadPath(uploadId), {
      signal: options.signal,
      headers: etag !== undefined ? { 'if-none-match': etag } : {},
      notModifiedOk: true,
    });
    const newEtag = response.headers.get('etag') ?? etag;
    const retryAfterSeconds = parseRetryAfter(
      response.headers.get('retry-after'),
      this.transport.clock.now(),
    );
    const common = {
      ...(newEtag !== undefined ? { etag: newEtag } : {}),
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    };
    if (response.status === 304) {
      await response.body?.cancel();
      return { modified: false, ...common };
    }
    return {
      modified: true,
      upload: await this.transport.decode(response, isUploadView, 'an upload'),
      ...common,
    };
  }

  /**
   * Polls until the upload is terminal (PROCESSED, REJECTED, FAILED, EXPIRED) and returns that
   * view. Conditional requests (ETag) keep polls cheap; the pause is the server's Retry-After,
   * else an exponential backoff from 250 ms capped at 5 s. Throttling (429/503) and network
   * errors are retried the same way; other API errors are thrown. At the deadline it throws
   * AirlockTimeoutError.
   */
  async waitForOutcome(uploadId: string, options: WaitOptions = {}): Promise<UploadView> {
    const clock = this.transport.clock;
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const deadline = clock.now() + timeoutMs;
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
      const remaining = deadline - clock.now();
      if (remaining <= 0) throw new AirlockTimeoutError(uploadId, timeoutMs, last);
      await clock.sleep(Math.min(pauseMs, remaining), options.signal);
    }
  }

  /**
   * `GET /uploads`, newest first: an async iterator over pages, following `cursor` until the
   * last page.
   */
  async *listUploads(options: ListUploadsOptions = {}): AsyncGenerator<Page<UploadView>, void, undefined> {
    yield* this.pages('/uploads', isPageOf(isUploadView), options.cursor, options.signal, {
      status: options.status,
      limit: options.limit,
      owner: options.owner,
    });
  }

  /**
   * `GET /uploads/{id}/events`, a page at a time (at most `limit` events, default and cap 100),
   * oldest first, following `cursor` until the last page. Auditors' pages also carry `failure`.
   */
  async *eventPages(
    uploadId: string,
    options: EventPagesOptions = {},
  ): AsyncGenerator<UploadEvents, void, undefined> {
    let cursor = options.cursor;
    const seen = new Set<string>();
    for (;;) {
      const params = new URLSearchParams();
      if (options.limit !== undefined) params.set('limit', String(options.limit));
      if (cursor !== undefined) params.set('cursor', cursor);
      const qs = params.toString();
      const path = `${uploadPath(uploadId)}/events${qs ? `?${qs}` : ''}`;
      const response = await this.transport.request('GET', path, { signal: options.signal });
      const page = await this.transport.decode(response, isUploadEvents, 'an events list');
      yield page;
      if (page.cursor === undefined || page.cursor === '') return;
      if (seen.has(page.cursor)) throw invalidResponse(response.status, 'the same cursor came back twice');
      seen.add(page.cursor);
      cursor = page.cursor;
    }
  }

  /** `GET /uploads/{id}/events`: the whole audit trail, oldest first (every page). */
  async getEvents(uploadId: string, options: RequestOptions = {}): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    for await (const page of this.eventPages(uploadId, options)) events.push(...page.events);
    return events;
  }

  /**
   * `GET /audit/uploads` (auditors only; others get 403 FORBIDDEN): every upload whose last
   * change falls within [from, to], with its owner, as an async iterator over pages.
   */
  async *auditUploads(options: AuditUploadsOptions): AsyncGenerator<Page<AuditUploadView>, void, undefined> {
    yield* this.pages('/audit/uploads', isPageOf(isAuditUploadView), options.cursor, options.signal, {
      from: toIso(options.from, 'from'),
      to: toIso(options.to, 'to'),
      status: options.status,
      owner: options.owner,
      limit: options.limit,
    });
  }

  /**
   * `GET /audit/digests` (auditors only): the signed audit digests, oldest period first, each key
   * with its first stored version, its version count and whether a delete marker hides it.
   */
  async *auditDigests(
    options: AuditDigestsOptions = {},
  ): AsyncGenerator<Page<AuditDigestItem>, void, undefined> {
    yield* this.pages('/audit/digests', isPageOf(isAuditDigestItem), options.cursor, options.signal, {
      limit: options.limit,
    });
  }

  /** `GET /audit/public-key` (auditors only): the PEM key that verifies the audit digests. */
  async auditPublicKey(options: RequestOptions = {}): Promise<AuditPublicKey> {
    const response = await this.transport.request('GET', '/audit/public-key', options);
    return this.transport.decode(response, isAuditPublicKey, 'a public key');
  }

  private async *pages<T>(
    path: string,
    isPage: Guard<Page<T>>,
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
      const response = await this.transport.request('GET', qs ? `${path}?${qs}` : path, { signal });
      const page = await this.transport.decode(response, isPage, 'a page of uploads');
      yield page;
      if (page.cursor === undefined || page.cursor === '') return;
      if (seen.has(page.cursor)) throw invalidResponse(response.status, 'the same cursor came back twice');
      seen.add(page.cursor);
      cursor = page.cursor;
    }
  }
}

/**
 * A fresh Idempotency-Key: 128 random bits as 32 hex characters. From crypto.getRandomValues,
 * which (unlike crypto.randomUUID) pages served over plain http have too.
 */
export function newIdempotencyKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) =>
    byte.toString(16).padStart(2, '0'),
  ).join('');
}

const uploadPath = (uploadId: string): string => `/uploads/${encodeURIComponent(uploadId)}`;

function toIso(value: Date | string, name: string): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new TypeError(`${name} is not a valid date: "${String(value)}".`);
  return date.toISOString();
}
