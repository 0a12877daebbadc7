/** The upload lifecycle, its records and its audit events. Pure data: no SDK types here. */

export const UPLOAD_STATUSES = [
  'PENDING_UPLOAD',
  'PROCESSING',
  'PROCESSED',
  'REJECTED',
  'FAILED',
  'EXPIRED',
  'QUARANTINED',
] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

/** Statuses a poller may stop at. FAILED is terminal for clients, though a redrive may resume it. */
export const TERMINAL_STATUSES: ReadonlySet<UploadStatus> = new Set([
  'PROCESSED',
  'REJECTED',
  'FAILED',
  'EXPIRED',
  'QUARANTINED',
]);

/**
 * Statuses that no execution may ever change again. PROCESSED is final for the pipeline; only a
 * rescan that finds a threat in the promoted file moves it on, to QUARANTINED. EXPIRED is not one
 * of them: the first version of a grant that S3 accepted (its transfer started before the grant
 * expired) is still processed.
 */
export const FINAL_STATUSES: ReadonlySet<UploadStatus> = new Set(['PROCESSED', 'REJECTED', 'QUARANTINED']);

export const REASON_CODES = [
  'SIZE_MISMATCH',
  'TYPE_MISMATCH',
  'TYPE_NOT_ALLOWED',
  'CHECKSUM_MISMATCH',
  'EMPTY_FILE',
  'UNSOLICITED',
  'ALREADY_PROCESSED',
  'UPLOAD_EXPIRED',
  'PROCESSING_FAILED',
  'ACTIVE_CONTENT',
  /** The malware scan found a threat (its name is in the audit trail, shown to auditors). */
  'MALWARE_DETECTED',
  /** The malware scan could not look at all of the file: encrypted, over its limits, unsupported. */
  'NOT_FULLY_SCANNED',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface Reason {
  code: ReasonCode;
  message: string;
}

export type UploadMethod = 'POST' | 'PUT';

/**
 * What the malware scan of an upload concluded, as recorded with its outcome. `SKIPPED` only when
 * the deployment turned scanning off (`scanner: none`): every record then says so.
 */
export interface ScanSummary {
  status: 'NO_THREATS_FOUND' | 'THREATS_FOUND' | 'NOT_FULLY_SCANNED' | 'SKIPPED';
  /** The engine that judged (absent when skipped). */
  engine?: { name: string; version: string };
  /** Its signature database: version and, when the engine says, publication time. */
  database?: { name: string; version: string; publishedAt?: string };
  scannedAt?: string;
  /** Threat names, as the engine reports them (THREATS_FOUND only). */
  threats?: string[];
  /** Why it was not fully scanned, or skipped, in words. */
  detail?: string;
}

/** Who caused a change: an authenticated caller, or a step of the pipeline. */
export interface Actor {
  type: 'user' | 'system';
  id: string;
}

/** The stored state of one upload. */
export interface UploadRecord {
  uploadId: string;
  owner: string;
  status: UploadStatus;
  /** The status before the last transition (for the audit trail of retried steps). */
  previousStatus?: UploadStatus;
  fileName: string;
  contentType: string;
  size: number;
  /** The client's declared SHA-256, if any. */
  declaredSha256?: string;
  method: UploadMethod;
  createdAt: string;
  /** The time of the trail's last event (a status change or a listed discard). */
  updatedAt: string;
  expiresAt: string;
  /** Set by the claim: the one S3 object version this upload stands for. */
  versionId?: string;
  sequencer?: string;
  executionId?: string;
  /** Facts measured by validation. */
  sha256?: string;
  detectedType?: string;
  /** Key of the promoted (clean/) or kept (rejected/) copy. */
  storedKey?: string;
  reasons?: Reason[];
  /** The malware scan's verdict (set with PROCESSED or REJECTED after the Scan step, and by a rescan). */
  scan?: ScanSummary;
  /** Internal failure detail (never returned to clients). */
  failure?: { error: string; cause: string };
  /** The trail's last event: where the next one is appended (functions/domain/audit-trail.ts). */
  trailHead: TrailHead;
  /** Versions of this upload's key discarded and listed in its trail (at most MAX_LISTED_DISCARDS). */
  discardedVersions?: string[];
  /** Discards past that bound: counted, not listed. */
  unlistedDiscards?: number;
  /** The outcome event last published: its transition's number and time (the record is its outbox). */
  publishedSeq?: number;
  publishedAt?: string;
}

/** The last event of a trail: its number, time and hash (functions/domain/audit-chain.ts). */
export interface TrailHead {
  seq: number;
  at: string;
  hash: string;
}

/** One immutable entry of an upload's audit trail. Never holds a URL, signature or token. */
export interface AuditEvent {
  uploadId: string;
  at: string;
  actor: Actor;
  action: AuditAction;
  from: UploadStatus | null;
  to: UploadStatus | null;
  reasons: Reason[];
  versionId?: string;
  executionId?: string;
  /** The scan verdict behind the transition (outcomes after the Scan step, a quarantine). */
  scan?: ScanSummary;
}

/**
 * An event as the trail holds it: numbered from 1 within its upload, without a gap, and chained
 * to the event before it by hash (functions/domain/audit-chain.ts).
 */
export interface RecordedEvent extends AuditEvent {
  seq: number;
  /** The hash of the event before it; null for the first. */
  prevHash: string | null;
  /** SHA-256 (hex) of this event's canonical JSON without `hash`. */
  hash: string;
}

export type AuditAction =
  | 'ISSUED'
  | 'CLAIMED'
  | 'REDRIVEN'
  | 'LATE_UPLOAD'
  | 'PROCESSED'
  | 'REJECTED'
  | 'FAILED'
  | 'EXPIRED'
  | 'DISCARDED'
  | 'QUARANTINED';

/** The object an S3 "Object Created" event names. */
export interface ObjectRef {
  bucket: string;
  key: string;
  versionId: string;
}

export const QUARANTINE_PREFIX = 'quarantine/';
export const CLEAN_PREFIX = 'clean/';
export const REJECTED_PREFIX = 'rejected/';

/**
 * The tag a promoted copy gets the moment a rescan finds a threat in it: the bucket policy denies
 * reading an object that carries it, so download URLs already handed out stop working at once.
 */
export const QUARANTINED_OBJECT_TAG = { key: 'airlock-status', value: 'quarantined' } as const;

export const quarantineKey = (uploadId: string): string => `${QUARANTINE_PREFIX}${uploadId}`;
export const cleanKey = (uploadId: string): string => `${CLEAN_PREFIX}${uploadId}`;
export const rejectedKey = (uploadId: string): string => `${REJECTED_PREFIX}${uploadId}`;
