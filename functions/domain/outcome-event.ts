/**
 * Outcome events: one per terminal transition of an upload, published to consumers (an
 * EventBridge bus on AWS, the local feed and webhooks). The shape is the versioned JSON Schema
 * `schemas/outcome-event.v1.json`; a unit test checks that the two agree. Pure: no I/O.
 *
 * An event holds facts about the upload, never a URL, a token or a secret: consumers that want the
 * bytes ask the status API for a short-lived download link with their own credentials.
 */

/** The statuses that end a stretch of processing, each of which publishes one event. */
export const OUTCOME_STATUSES = ['PROCESSED', 'REJECTED', 'FAILED', 'EXPIRED', 'QUARANTINED'] as const;
export type OutcomeStatus = (typeof OUTCOME_STATUSES)[number];

/** The version of the event schema this module builds (`schemas/outcome-event.v<n>.json`). */
export const OUTCOME_EVENT_SCHEMA_VERSION = 1;
/** The schema's `$id`. */
export const OUTCOME_EVENT_SCHEMA_ID = 'urn:airlock:schema:outcome-event:v1';

/** EventBridge's `source` of every outcome event (rules match on it). */
export const OUTCOME_EVENT_SOURCE = 'airlock';

/** `airlock.upload.processed`, … */
export type OutcomeEventType = `airlock.upload.${Lowercase<OutcomeStatus>}`;

/** The object a PROCESSED upload was promoted to: where a consumer's own role may read it. */
export interface PromotedObject {
  bucket: string;
  key: string;
  versionId: string;
}

/** The event's payload: what happened to which upload. */
export interface OutcomeEventData {
  uploadId: string;
  owner: string;
  status: OutcomeStatus;
  /** Reason codes (REJECTED, FAILED, EXPIRED, QUARANTINED); empty when PROCESSED. */
  reasons: string[];
  /** Bytes: measured when validation ran, else as declared. */
  size: number;
  /** SHA-256 of the bytes (64 lowercase hex), once validation computed it. */
  sha256?: string;
  /** The type the bytes were recognised as, once validation ran. */
  detectedType?: string;
  /** Present when PROCESSED (and QUARANTINED: where the file was withdrawn from). */
  object?: PromotedObject;
  /** The transition's number in the upload's audit trail (1, 2, …). */
  sequence: number;
}

/** One outcome event (schema v1). Standard Webhooks' envelope: id, type, time, data. */
export interface OutcomeEvent {
  /** Derived from the transition (`evt_<uploadId>_<sequence>`): a redelivery carries the same id. */
  id: string;
  type: OutcomeEventType;
  schemaVersion: typeof OUTCOME_EVENT_SCHEMA_VERSION;
  /** When the transition was recorded (ISO 8601, UTC). */
  time: string;
  data: OutcomeEventData;
}

/** What the upload's record knows (a subset of UploadRecord). */
export interface OutcomeSubject {
  uploadId: string;
  owner: string;
  size: number;
  sha256?: string;
  detectedType?: string;
}

/** What the terminal transition knows. */
export interface TerminalTransition {
  status: OutcomeStatus;
  /** When it was recorded (the audit event's `at`). */
  at: string;
  /** Its number in the upload's audit trail, from 1. */
  seq: number;
  reasons?: ReadonlyArray<{ code: string }>;
  /** The promoted object: required when PROCESSED. */
  object?: PromotedObject;
}

/** A transition that cannot make an event (a programming error, never user input). */
export class OutcomeEventError extends Error {
  override readonly name = 'OutcomeEventError';
}

/** The reason a FAILED or EXPIRED transition stands for when it lists none. */
const IMPLIED_REASON: Partial<Record<OutcomeStatus, string>> = {
  FAILED: 'PROCESSING_FAILED',
  EXPIRED: 'UPLOAD_EXPIRED',
};

const UPLOAD_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** The event id of a transition: the same for every publication of it. */
export const outcomeEventId = (uploadId: string, seq: number): string => `evt_${uploadId}_${seq}`;

/** `PROCESSED` → `airlock.upload.processed`. */
export const outcomeEventType = (status: OutcomeStatus): OutcomeEventType =>
  `airlock.upload.${status.toLowerCase() as Lowercase<OutcomeStatus>}`;

/** `PROCESSED` → `Upload Processed`: EventBridge's detail-type, which rules match on. */
export const outcomeDetailType = (status: OutcomeStatus): string =>
  `Upload ${status.charAt(0)}${status.slice(1).toLowerCase()}`;

export const isOutcomeStatus = (value: string): value is OutcomeStatus =>
  (OUTCOME_STATUSES as readonly string[]).includes(value);

/**
 * The event of one terminal transition. Only the listed fields are copied, so nothing else the
 * record holds (its file name, failure cause, execution id) can reach a consumer.
 */
export function outcomeEvent(record: OutcomeSubject, transition: TerminalTransition): OutcomeEvent {
  const { status, at, seq } = transition;
  if (!isOutcomeStatus(status)) throw new OutcomeEventError(`${String(status)} is not a terminal status.`);
  if (!UPLOAD_ID.test(record.uploadId))
    throw new OutcomeEventError(`"${record.uploadId}" is not an upload id.`);
  if (!Number.isInteger(seq) || seq < 1)
    throw new OutcomeEventError(`The transition's sequence number must be a whole number ≥ 1, got ${seq}.`);
  const time = new Date(at);
  if (Number.isNaN(time.getTime())) throw new OutcomeEventError(`"${at}" is not a time.`);
  const sha256 = record.sha256 !== undefined && SHA256.test(record.sha256) ? record.sha256 : undefined;
  if (status === 'PROCESSED' && (transition.object === undefined || !sha256 || !record.detectedType))
    throw new OutcomeEventError('A PROCESSED event names the promoted object, its SHA-256 and its type.');
  const object = transition.object;
  const reasons = [...new Set((transition.reasons ?? []).map((reason) => reason.code))];
  if (reasons.length === 0 && status !== 'PROCESSED') {
    const implied = IMPLIED_REASON[status];
    if (implied === undefined) throw new OutcomeEventError(`A ${status} event needs its reason codes.`);
    reasons.push(implied);
  }
  return {
    id: outcomeEventId(record.uploadId, seq),
    type: outcomeEventType(status),
    schemaVersion: OUTCOME_EVENT_SCHEMA_VERSION,
    time: time.toISOString(),
    data: {
      uploadId: record.uploadId,
      owner: record.owner,
      status,
      reasons: status === 'PROCESSED' ? [] : reasons,
      size: record.size,
      ...(sha256 ? { sha256 } : {}),
      ...(record.detectedType ? { detectedType: record.detectedType } : {}),
      ...(object && (status === 'PROCESSED' || status === 'QUARANTINED')
        ? { object: { bucket: object.bucket, key: object.key, versionId: object.versionId } }
        : {}),
      sequence: seq,
    },
  };
}

/** The part of an audit event the outcome needs. */
export interface TrailEvent {
  /** Its number in the trail, when the trail numbers its events; else its position, from 1. */
  seq?: number;
  action: string;
  to: string | null;
  at: string;
  reasons?: ReadonlyArray<{ code: string }>;
}

/**
 * The terminal transition a record stands at, from its trail (oldest first, numbered from 1):
 * the last event that moved it to its current status. Undefined when the status is not terminal
 * or its event is not in the trail yet (then nothing may be published: only recorded
 * transitions are).
 */
export function currentTransition(
  status: string,
  trail: readonly TrailEvent[],
): Omit<TerminalTransition, 'object'> | undefined {
  if (!isOutcomeStatus(status)) return undefined;
  for (let index = trail.length - 1; index >= 0; index--) {
    const event = trail[index];
    if (event === undefined || event.to !== status || event.action !== status) continue;
    return { status, at: event.at, seq: event.seq ?? index + 1, reasons: event.reasons ?? [] };
  }
  return undefined;
}
