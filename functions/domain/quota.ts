import { decodeTime } from 'ulid';
import { DomainError } from './errors.js';
import type { UploadRecord } from './model.js';

/**
 * Per-owner quotas (issue 13 item 6): how many upload grants an owner may hold open at once, and
 * how many declared bytes an owner may be granted per UTC day. Pure rules; the counter item and
 * its conditional writes are the QuotaStore's (adapters/quota-store.ts).
 */
export interface QuotaLimits {
  /** Uploads in PENDING_UPLOAD with a live grant, per owner. */
  openGrants: number;
  /** Declared bytes granted per owner per UTC day (whether or not they are then sent). */
  bytesPerDay: number;
}

export type QuotaName = 'openGrants' | 'bytesPerDay';

/** How long an id without a record may be an issuance still under way (longer than any API call). */
export const ISSUANCE_SETTLE_MS = 60_000;

/** The UTC day an instant falls on, `YYYY-MM-DD`: the bytes counter's period. */
export const utcDay = (now: Date): string => now.toISOString().slice(0, 10);

/** Whole seconds from `now` until the next UTC midnight, at least 1. */
export function secondsUntilNextUtcDay(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

/**
 * Whether an id counted as an open grant no longer is one: its upload left PENDING_UPLOAD, its
 * grant expired, or it has no record although its issuance (the ULID's time) is long over.
 */
export function isReleasedGrant(
  uploadId: string,
  record: Pick<UploadRecord, 'status' | 'expiresAt'> | undefined,
  now: Date,
): boolean {
  if (record === undefined) return now.getTime() - issuedAt(uploadId) > ISSUANCE_SETTLE_MS;
  return record.status !== 'PENDING_UPLOAD' || Date.parse(record.expiresAt) <= now.getTime();
}

/** Seconds until the first of these open grants expires (at most one grant lifetime), at least 1. */
export function secondsUntilAGrantFrees(
  openIds: Iterable<string>,
  grantTtlSeconds: number,
  now: Date,
): number {
  let soonest = now.getTime() + grantTtlSeconds * 1000;
  for (const id of openIds) soonest = Math.min(soonest, issuedAt(id) + grantTtlSeconds * 1000);
  return Math.max(1, Math.ceil((soonest - now.getTime()) / 1000));
}

function issuedAt(uploadId: string): number {
  try {
    return decodeTime(uploadId);
  } catch {
    return 0; // not a ULID: as old as can be
  }
}

/** An owner is over a quota: retry after `retryAfterSeconds` (when a grant frees, or tomorrow). */
export class QuotaExceededError extends DomainError {
  override readonly name = 'QuotaExceededError';
  constructor(
    readonly quota: QuotaName,
    limit: number,
    override readonly retryAfterSeconds: number,
  ) {
    super(
      'QUOTA_EXCEEDED',
      quota === 'openGrants'
        ? `You have ${limit} uploads waiting for their bytes. Send or let some expire, then retry.`
        : `You were granted your ${limit} bytes for today (UTC). Retry tomorrow.`,
      { quota, limit, retryAfterSeconds },
    );
  }
}
