/**
 * The client's public types. The API's shapes are aliases of the types generated from
 * openapi/airlock.openapi.json (`npm run gen:api`), under the names the client has always used;
 * the option types below them are the client's own.
 */
import type { components, operations } from './generated/airlock-api.js';

type Schemas = components['schemas'];

export type UploadStatus = Schemas['UploadStatus'];
/** v1's reason codes. A newer server's codes still come through unchanged: decoding checks only shape. */
export type ReasonCode = Schemas['ReasonCode'];
export type Reason = Schemas['Reason'];
/**
 * `GET /uploads/{id}` (and the items of `GET /uploads`). `download` (a stable link to the
 * download route, not a signed URL) is present exactly when PROCESSED; the document says so with
 * if/then, which no TypeScript type can, so it stays optional.
 */
export type UploadView = Schemas['UploadStatusView'];
/** `GET /uploads/{id}/download` as JSON: a fresh presigned GET of the file and when it expires. */
export type SignedDownload = Schemas['SignedDownload'];
/** An item of `GET /audit/uploads`: the upload view with its owner. */
export type AuditUploadView = Schemas['AuditUpload'];
/** An item of `GET /audit/digests`: one digest key as stored, with its first version's content. */
export type AuditDigestItem = Schemas['AuditDigestItem'];
/** `GET /audit/public-key`: the PEM key that verifies the digests, and the key id they name. */
export type AuditPublicKey = Schemas['AuditPublicKey'];
export type Actor = Schemas['AuditActor'];
export type AuditAction = Schemas['AuditAction'];
/** One immutable entry of an upload's audit trail (`GET /uploads/{id}/events`). */
export type AuditEvent = Schemas['AuditEvent'];
/** A page of `GET /uploads/{id}/events`: events oldest first, `cursor` while more follow. */
export type UploadEvents = Schemas['UploadEvents'];
/** A presigned upload: POST (form fields, then the file) or PUT (exactly these headers). */
export type UploadGrant = Schemas['UploadGrant'];
export type PostUploadGrant = Schemas['PostUploadGrant'];
export type PutUploadGrant = Schemas['PutUploadGrant'];
export type UploadMethod = UploadGrant['method'];
/** `POST /uploads` body. */
export type CreateUploadRequest = Schemas['CreateUploadRequest'];
/** `POST /uploads` answer. */
export type CreatedUpload = Schemas['CreatedUpload'];
/** A page of `GET /uploads` (`Page<UploadView>`) or `GET /audit/uploads` (`Page<AuditUploadView>`). */
export interface Page<T> {
  items: T[];
  cursor?: string;
}
/** The API's one error shape. */
export type ApiErrorBody = Schemas['Error'];
/** Every code the API itself sends in its error shape. */
export type ApiErrorCode = Schemas['ErrorCode'];

/** The JSON body an operation answers with for a status, as the document types it. */
export type ResponseBody<Op extends keyof operations, Status extends number> =
  operations[Op]['responses'] extends Record<Status, { content: { 'application/json': infer Body } }>
    ? Body
    : never;

// ---------------------------------------------------------------------------------------------
// The client's own options and results

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

export interface EventPagesOptions {
  /** Events per page, 1-100 (the API defaults to 100). */
  limit?: number;
  /** Resume from a cursor of an earlier page. */
  cursor?: string;
  signal?: AbortSignal;
}

/** `GET /audit/digests`: a page size (1-100) and where to start. */
export interface AuditDigestsOptions {
  limit?: number;
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

export interface CreateUploadOptions extends RequestOptions {
  /**
   * Sent as `Idempotency-Key` (1-255 visible ASCII characters; a UUID, say): retries of this
   * request get the same upload. Keys are scoped to the caller and kept 24 hours.
   */
  idempotencyKey?: string;
  /** Retries of a request that got no answer, with the same key (default 2; only with a key). */
  retries?: number;
}
