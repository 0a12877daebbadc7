import type {
  Actor,
  AuditAction,
  AuditEvent,
  Reason,
  ScanSummary,
  UploadRecord,
  UploadStatus,
} from './model.js';
import { scrubForAuditors } from './redaction.js';
import type { Outcome } from './transitions.js';

/**
 * The audit event of each transition, built by the writer before its one write (the store appends
 * it to the record's trail in that same write: adapters/upload-store.ts, domain/audit-trail.ts).
 */

export const CLAIM_ACTOR = { type: 'system', id: 'claim' } as const satisfies Actor;
export const RECORD_ACTOR = { type: 'system', id: 'record' } as const satisfies Actor;
export const SWEEPER_ACTOR = { type: 'system', id: 'sweeper' } as const satisfies Actor;
export const RESCAN_ACTOR = { type: 'system', id: 'rescan' } as const satisfies Actor;

/** null → PENDING_UPLOAD: the grant was issued to `owner`. */
export function issuedEvent(uploadId: string, owner: string, at: string): AuditEvent {
  return {
    uploadId,
    at,
    actor: { type: 'user', id: owner },
    action: 'ISSUED',
    from: null,
    to: 'PENDING_UPLOAD',
    reasons: [],
  };
}

/** PENDING_UPLOAD (CLAIMED), FAILED (REDRIVEN) or EXPIRED (LATE_UPLOAD) → PROCESSING. */
export function claimEvent(params: {
  uploadId: string;
  at: string;
  from: UploadStatus;
  action: AuditAction;
  versionId: string;
  executionId: string;
}): AuditEvent {
  return {
    uploadId: params.uploadId,
    at: params.at,
    actor: CLAIM_ACTOR,
    action: params.action,
    from: params.from,
    to: 'PROCESSING',
    reasons: [],
    versionId: params.versionId,
    executionId: params.executionId,
  };
}

/**
 * PROCESSING (or PENDING_UPLOAD, for FAILED) → the outcome. A FAILED event holds the error's name
 * only (the cause stays in the record, never in the trail clients read).
 */
export function outcomeEvent(params: {
  record: UploadRecord;
  outcome: Outcome;
  at: string;
  executionId: string;
  versionId?: string;
  reasons?: Reason[];
  failure?: { error: string };
  actor?: Actor;
  /** The scan verdict behind a PROCESSED or REJECTED outcome (none for FAILED). */
  scan?: ScanSummary;
}): AuditEvent {
  const versionId = params.record.versionId ?? params.versionId;
  return {
    uploadId: params.record.uploadId,
    at: params.at,
    actor: params.actor ?? RECORD_ACTOR,
    action: params.outcome,
    from: params.record.status,
    to: params.outcome,
    reasons: params.outcome === 'FAILED' ? [failureReason(params.failure?.error)] : (params.reasons ?? []),
    ...(versionId ? { versionId } : {}),
    executionId: params.executionId,
    ...(params.scan && params.outcome !== 'FAILED' ? { scan: params.scan } : {}),
  };
}

/** PROCESSED → QUARANTINED: a rescan found a threat in the promoted file. */
export function quarantinedEvent(params: {
  record: UploadRecord;
  at: string;
  reasons: Reason[];
  scan: ScanSummary;
}): AuditEvent {
  return {
    uploadId: params.record.uploadId,
    at: params.at,
    actor: RESCAN_ACTOR,
    action: 'QUARANTINED',
    from: params.record.status,
    to: 'QUARANTINED',
    reasons: params.reasons,
    ...(params.record.versionId ? { versionId: params.record.versionId } : {}),
    scan: params.scan,
  };
}

/** PENDING_UPLOAD → EXPIRED: nothing was uploaded before the grant expired. */
export function expiredEvent(uploadId: string, at: string): AuditEvent {
  return {
    uploadId,
    at,
    actor: SWEEPER_ACTOR,
    action: 'EXPIRED',
    from: 'PENDING_UPLOAD',
    to: 'EXPIRED',
    reasons: [{ code: 'UPLOAD_EXPIRED', message: 'No file was uploaded before the upload expired.' }],
  };
}

/**
 * An object version that is not processed (another version of a claimed upload, or an object no
 * upload was issued for): no status changes (`status` is the record's, null without one).
 */
export function discardedEvent(params: {
  uploadId: string;
  at: string;
  status: UploadStatus | null;
  reason: Reason;
  versionId: string;
  executionId: string;
}): AuditEvent {
  return {
    uploadId: params.uploadId,
    at: params.at,
    actor: CLAIM_ACTOR,
    action: 'DISCARDED',
    from: params.status,
    to: params.status,
    reasons: [params.reason],
    versionId: params.versionId,
    executionId: params.executionId,
  };
}

/**
 * A failure's reason as the trail keeps it: in the words auditors read (the error's name, scrubbed
 * of ARNs, account ids and paths), so that the trail they export is the trail as stored and hashed.
 * Owners are shown the generic PROCESSING_FAILED instead (status-view.ts).
 */
export function failureReason(error: string | undefined): Reason {
  return {
    code: 'PROCESSING_FAILED',
    message: error === undefined ? 'Processing failed.' : `Processing failed (${scrubForAuditors(error)}).`,
  };
}
