import { sealEvent } from './audit-chain.js';
import type { AuditEvent, Reason, RecordedEvent, ScanSummary, TrailHead, UploadRecord } from './model.js';
import { executionReference } from './redaction.js';

/**
 * An upload's audit trail lives in its record: each status change and its event are one
 * conditional write of that one item, so the trail is complete by construction. Every writer
 * appends through `appendEvent`, the one place that numbers an event and chains it to the one
 * before by hash. Chaining costs no read: the writer has read the record (its trailHead holds the
 * last hash) and conditions its write on that head.
 */

/** Listed DISCARDED events per trail; further discards are only counted (`unlistedDiscards`). */
export const MAX_LISTED_DISCARDS = 20;

/**
 * A FAILED upload is redriven (FAILED → PROCESSING) only while its trail holds at most this many
 * events, so that a trail never outgrows DynamoDB's item limit: with the outcome of the last
 * redrive and every listed discard, a trail holds at most MAX_TRAIL_EVENTS events.
 */
export const REDRIVE_CEILING = 40;

/** The most events a trail can hold: the last redrive and its outcome, plus every listed discard. */
export const MAX_TRAIL_EVENTS = REDRIVE_CEILING + 2 + MAX_LISTED_DISCARDS;

/** Reasons per event, and characters per reason message, kept in the trail. */
export const MAX_EVENT_REASONS = 16;
export const MAX_REASON_MESSAGE_LENGTH = 500;

/** What a write of one event changes in the trail: the event as stored, and the head after it. */
export interface Append {
  event: RecordedEvent;
  head: TrailHead;
  /** The head the write must still find (undefined: the trail must not exist yet). */
  expected: TrailHead | undefined;
}

/**
 * Appends `event` to the trail whose head is `head` (undefined for a new trail): numbers it one
 * after the head, bounds what it holds and chains it to the head's hash. Its time must be after
 * the head's (transitionTime gives such a time), so that the trail reads oldest first by time as
 * well as by number.
 */
export function appendEvent(head: TrailHead | undefined, event: AuditEvent): Append {
  if (head !== undefined && !(event.at > head.at)) {
    throw new RangeError(`An event at ${event.at} cannot follow the trail's last event at ${head.at}.`);
  }
  const seq = (head?.seq ?? 0) + 1;
  const recorded = sealEvent({
    uploadId: event.uploadId,
    at: event.at,
    actor: { type: event.actor.type, id: event.actor.id },
    action: event.action,
    from: event.from,
    to: event.to,
    reasons: boundReasons(event.reasons),
    // Stored as hashed: an absent field is absent, never undefined.
    ...(event.versionId === undefined ? {} : { versionId: event.versionId }),
    // The execution by its name, as auditors see it: the trail an auditor exports and verifies is
    // the trail as stored, and an ARN (account, region, state machine) is for no reader.
    ...(event.executionId === undefined ? {} : { executionId: executionReference(event.executionId) }),
    ...(event.scan === undefined ? {} : { scan: storedScan(event.scan) }),
    seq,
    prevHash: head?.hash ?? null,
  });
  return { event: recorded, head: { seq, at: event.at, hash: recorded.hash }, expected: head };
}

/** When the next event of a trail happens: now, but strictly after the trail's last event. */
export function nextEventTime(now: Date, head: TrailHead | undefined): string {
  const floor = head === undefined ? Number.NaN : Date.parse(head.at) + 1;
  return new Date(Number.isNaN(floor) ? now.getTime() : Math.max(now.getTime(), floor)).toISOString();
}

/**
 * What to do with a DISCARDED event for `versionId`: already in the trail (a retried step),
 * listed, or only counted once the trail lists MAX_LISTED_DISCARDS of them.
 */
export function discardPlan(
  record: Pick<UploadRecord, 'discardedVersions'>,
  versionId: string,
): 'ALREADY_LISTED' | 'LIST' | 'COUNT' {
  const listed = record.discardedVersions ?? [];
  if (listed.includes(versionId)) return 'ALREADY_LISTED';
  return listed.length < MAX_LISTED_DISCARDS ? 'LIST' : 'COUNT';
}

/** Whether a FAILED upload's trail has room for another redrive and its outcome. */
export function canRedrive(record: Pick<UploadRecord, 'trailHead'>): boolean {
  return record.trailHead.seq <= REDRIVE_CEILING;
}

/** A scan summary as DynamoDB stores it (and the hash covers it): no field left undefined. */
function storedScan(scan: ScanSummary): ScanSummary {
  return JSON.parse(JSON.stringify(scan)) as ScanSummary;
}

/** Reasons as stored: bounded, and well-formed text (RFC 8785 refuses a lone surrogate). */
function boundReasons(reasons: Reason[]): Reason[] {
  return reasons.slice(0, MAX_EVENT_REASONS).map((reason) => {
    const message = reason.message.toWellFormed();
    return {
      code: reason.code,
      message:
        message.length <= MAX_REASON_MESSAGE_LENGTH
          ? message
          : `${message.slice(0, MAX_REASON_MESSAGE_LENGTH - 1).replace(/[\ud800-\udbff]$/, '')}…`,
    };
  });
}

/** The retention of abandoned records: the epoch second at which DynamoDB's TTL may delete one. */
export function abandonedRecordExpiry(from: string, retentionSeconds: number): number {
  return Math.ceil(Date.parse(from) / 1000) + retentionSeconds;
}
