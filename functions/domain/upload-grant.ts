import type { UploadMethod } from './model.js';
import { quarantineKey } from './model.js';

/** Longest allowed lifetime of an upload grant (presigned POST policy or PUT URL). */
export const MAX_UPLOAD_URL_TTL_SECONDS = 900;
/**
 * Request headers a browser sends to S3 with an upload grant: what the bucket's CORS must allow
 * (CDK and the local runtime configure it from this one list).
 */
export const UPLOAD_REQUEST_HEADERS = [
  'content-type',
  'content-length',
  'x-amz-meta-upload-id',
  'x-amz-checksum-sha256',
  'x-amz-checksum-algorithm',
  'if-none-match',
] as const;

/** Longest allowed lifetime of a download URL. */
export const MAX_DOWNLOAD_URL_TTL_SECONDS = 300;

export interface GrantInput {
  uploadId: string;
  contentType: string;
  size: number;
  sha256?: string;
  ttlSeconds: number;
}

/** Everything a presigned POST policy pins. Each form field is also an exact-match condition. */
export interface PostGrant {
  key: string;
  fields: Record<string, string>;
  conditions: Array<['content-length-range', number, number]>;
  expiresSeconds: number;
}

/**
 * Everything a presigned PUT signs: the client must send exactly these headers. `If-None-Match: *`
 * makes S3 refuse (412) a second object at the key while one is there: a PUT grant stores one
 * object, not one per reuse, for as long as that object waits in quarantine.
 */
export interface PutGrant {
  key: string;
  ifNoneMatch: '*';
  contentType: string;
  contentLength: number;
  metadata: Record<string, string>;
  checksumSha256Base64?: string;
  expiresSeconds: number;
}

export const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/**
 * The POST policy: exact key (server-generated, no user input), exact Content-Type, a
 * content-length-range of exactly the declared size, the upload-id metadata, and the SHA-256
 * checksum when one was declared (S3 verifies it; RGW does not, so Validate always recomputes).
 */
export function postGrant(input: GrantInput): PostGrant {
  const fields: Record<string, string> = {
    'Content-Type': input.contentType,
    'x-amz-meta-upload-id': input.uploadId,
  };
  if (input.sha256 !== undefined) {
    fields['x-amz-checksum-algorithm'] = 'SHA256';
    fields['x-amz-checksum-sha256'] = hexToBase64(input.sha256);
  }
  return {
    key: quarantineKey(input.uploadId),
    fields,
    conditions: [['content-length-range', input.size, input.size]],
    expiresSeconds: clampTtl(input.ttlSeconds),
  };
}

export function putGrant(input: GrantInput): PutGrant {
  return {
    key: quarantineKey(input.uploadId),
    ifNoneMatch: '*',
    contentType: input.contentType,
    contentLength: input.size,
    metadata: { 'upload-id': input.uploadId },
    ...(input.sha256 !== undefined ? { checksumSha256Base64: hexToBase64(input.sha256) } : {}),
    expiresSeconds: clampTtl(input.ttlSeconds),
  };
}

/** The headers a client must send with a PUT grant, as returned by the API. */
export function putHeaders(grant: PutGrant): Record<string, string> {
  return {
    'content-type': grant.contentType,
    'content-length': String(grant.contentLength),
    'x-amz-meta-upload-id': grant.metadata['upload-id'] ?? '',
    'if-none-match': grant.ifNoneMatch,
    ...(grant.checksumSha256Base64 !== undefined
      ? { 'x-amz-checksum-sha256': grant.checksumSha256Base64 }
      : {}),
  };
}

/** The lifetime a download URL actually gets: the handler reports it, the presigner signs it. */
export function downloadTtlSeconds(requested: number): number {
  return Math.max(1, Math.min(requested, MAX_DOWNLOAD_URL_TTL_SECONDS));
}

function clampTtl(ttlSeconds: number): number {
  return Math.max(1, Math.min(ttlSeconds, MAX_UPLOAD_URL_TTL_SECONDS));
}

export type { UploadMethod };
