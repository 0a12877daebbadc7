import { canRedrive } from './audit-trail.js';
import type { AuditAction, Reason, UploadRecord, UploadStatus } from './model.js';

/** The S3 object version an event is about. */
export interface EventVersion {
  versionId: string;
  /** S3's per-key ordering token (hex); comparable only between events for the same key. */
  sequencer?: string;
}

export type ClaimDecision =
  /** Take the upload: write PROCESSING if the record is still in `from`. */
  | { kind: 'CLAIM'; from: UploadStatus; action: AuditAction }
  /** This execution already holds the claim (a retried Claim task): go on, write nothing new. */
  | { kind: 'ALREADY_CLAIMED' }
  /** Another delivery of an event for the version already taken: end quietly. */
  | { kind: 'DUPLICATE' }
  /**
   * A FAILED upload whose trail has no room for another redrive (REDRIVE_CEILING): it stays
   * FAILED with its bytes, for an operator to look at; nothing is written.
   */
  | { kind: 'REDRIVE_LIMIT' }
  /**
   * This same execution already recorded the outcome and is running again (resumed after a
   * restart): only the quarantine version may still need releasing.
   */
  | { kind: 'RELEASE' }
  /** Not to be processed: audit it, then remove this version from quarantine. */
  | { kind: 'DISCARD'; reason: Reason };

/**
 * Decides what an "Object Created" event means for the upload's record. Events arrive at least
 * once and out of order: only one version per upload is ever processed, and a terminal status is
 * never left again except FAILED, which a redrive of the same version may resume, and EXPIRED,
 * which the first version to arrive still leaves (LATE_UPLOAD): S3 accepted it, so its transfer
 * started before the grant expired (S3 checks a grant's expiry when the request starts), and it
 * merely finished after the sweeper had given up on it.
 */
export function decideClaim(
  record: UploadRecord | undefined,
  event: EventVersion,
  executionId: string,
): ClaimDecision {
  if (record === undefined) {
    return {
      kind: 'DISCARD',
      reason: { code: 'UNSOLICITED', message: 'No upload was issued for this object.' },
    };
  }
  const sameVersion = record.versionId === event.versionId;
  switch (record.status) {
    case 'PENDING_UPLOAD':
      return { kind: 'CLAIM', from: 'PENDING_UPLOAD', action: 'CLAIMED' };
    case 'FAILED':
      if (record.versionId === undefined || sameVersion) {
        return canRedrive(record)
          ? { kind: 'CLAIM', from: 'FAILED', action: 'REDRIVEN' }
          : { kind: 'REDRIVE_LIMIT' };
      }
      return { kind: 'DISCARD', reason: otherVersionReason(record, event) };
    case 'PROCESSING':
      if (!sameVersion) return { kind: 'DISCARD', reason: otherVersionReason(record, event) };
      return record.executionId === executionId ? { kind: 'ALREADY_CLAIMED' } : { kind: 'DUPLICATE' };
    case 'PROCESSED':
    case 'REJECTED':
    case 'QUARANTINED': // a PROCESSED upload a rescan found infected: as final as PROCESSED
      if (!sameVersion) return { kind: 'DISCARD', reason: otherVersionReason(record, event) };
      return record.executionId === executionId ? { kind: 'RELEASE' } : { kind: 'DUPLICATE' };
    case 'EXPIRED':
      // An EXPIRED record was never claimed: this is the first version to arrive.
      return { kind: 'CLAIM', from: 'EXPIRED', action: 'LATE_UPLOAD' };
  }
}

function otherVersionReason(record: UploadRecord, event: EventVersion): Reason {
  // The message is about the event's object, compared with the version the record holds.
  const order = compareSequencers(event.sequencer, record.sequencer);
  const message =
    order === undefined
      ? 'Another version of this upload was already taken for processing'
      : order < 0
        ? 'This object is older than the version already taken for processing'
        : 'This object is a later upload to the same key; an earlier version was already taken for processing';
  return { code: 'ALREADY_PROCESSED', message: `${message}; only one version of an upload is processed.` };
}

/**
 * Orders two S3 sequencers for the same key: hex strings of varying length, compared as numbers
 * (left-padded to equal length). Undefined when either is missing or malformed.
 */
export function compareSequencers(a: string | undefined, b: string | undefined): number | undefined {
  if (a === undefined || b === undefined || !/^[0-9a-fA-F]+$/.test(a) || !/^[0-9a-fA-F]+$/.test(b)) {
    return undefined;
  }
  const width = Math.max(a.length, b.length);
  const left = a.toUpperCase().padStart(width, '0');
  const right = b.toUpperCase().padStart(width, '0');
  return left === right ? 0 : left < right ? -1 : 1;
}

export type Outcome = 'PROCESSED' | 'REJECTED' | 'FAILED';

/** What the record must look like for `outcome` to be written by the execution holding `versionId`. */
export interface OutcomeGuard {
  /** Statuses from which the write is allowed. */
  from: UploadStatus[];
  /** The claim must be this execution's. Not required when leaving PENDING_UPLOAD (never claimed). */
  executionId: string;
}

export function outcomeGuard(outcome: Outcome, executionId: string): OutcomeGuard {
  return outcome === 'FAILED'
    ? { from: ['PENDING_UPLOAD', 'PROCESSING'], executionId }
    : { from: ['PROCESSING'], executionId };
}

/**
 * After a lost conditional write: was the outcome already written by this same execution (a
 * retried task), so that the step may succeed without writing again?
 */
export function isOutcomeAlreadyRecorded(
  record: UploadRecord,
  outcome: Outcome,
  executionId: string,
): boolean {
  return record.status === outcome && record.executionId === executionId;
}

/**
 * The time of a transition: now, but strictly after the previous event, so that the audit trail
 * reads oldest first by time as well as by its numbers (audit-trail.ts: nextEventTime).
 */
export function transitionTime(now: Date, previous: string | undefined): string {
  const floor = previous === undefined ? Number.NaN : Date.parse(previous) + 1;
  return new Date(Number.isNaN(floor) ? now.getTime() : Math.max(now.getTime(), floor)).toISOString();
}
