import { createHash } from 'node:crypto';
import { DomainError } from './errors.js';
import type { CreateUploadRequest } from './upload-request.js';

/**
 * Idempotent issuance (issue 13 item 9): a client that retries POST /uploads with the same
 * `Idempotency-Key` gets the same upload. Keys are scoped per owner and kept for a day.
 */

/** How long a key keeps its upload. */
export const IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 3600;

/**
 * The key of an `Idempotency-Key` header: 1–255 visible ASCII characters, given bare or as a
 * Structured Field string (`"…"`, as the IETF draft writes it). Undefined when there is none.
 */
export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  const key = /^"(.*)"$/s.exec(text)?.[1] ?? text;
  if (!/^[\x21-\x7e]{1,255}$/.test(key) || key.includes('"') || key.includes('\\')) {
    throw new InvalidIdempotencyKeyError();
  }
  return key;
}

/** What a retry must repeat to be the same request: the request as parsed (type normalized). */
export function requestFingerprint(request: CreateUploadRequest): string {
  const canonical = JSON.stringify([
    request.fileName,
    request.contentType,
    request.size,
    request.sha256 ?? null,
    request.method,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export class InvalidIdempotencyKeyError extends DomainError {
  override readonly name = 'InvalidIdempotencyKeyError';
  constructor() {
    super(
      'INVALID_IDEMPOTENCY_KEY',
      'Idempotency-Key must be 1 to 255 visible ASCII characters (no quotes or backslashes).',
    );
  }
}

/** The key was used for another request (a different body) by this owner. */
export class IdempotencyKeyMismatchError extends DomainError {
  override readonly name = 'IdempotencyKeyMismatchError';
  constructor() {
    super(
      'IDEMPOTENCY_KEY_MISMATCH',
      'This Idempotency-Key was used with a different request. Use a new key for a new upload.',
    );
  }
}

/** The key's upload is past the point where a retry can be answered with a grant. */
export class IdempotencyKeyUsedError extends DomainError {
  override readonly name = 'IdempotencyKeyUsedError';
  constructor(uploadId: string, status: string) {
    super(
      'IDEMPOTENCY_KEY_USED',
      'This Idempotency-Key made an upload whose grant can no longer be used; its status is at details.uploadId.',
      { uploadId, status },
    );
  }
}
