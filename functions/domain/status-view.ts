import { createHash } from 'node:crypto';
import type { Reason, RecordedEvent, ScanSummary, UploadRecord, UploadStatus } from './model.js';
import { TERMINAL_STATUSES } from './model.js';
import { scrubForAuditors } from './redaction.js';

/** Seconds a poller should wait before asking again while an upload is not terminal. */
export const RETRY_AFTER_SECONDS: Partial<Record<UploadStatus, number>> = {
  PENDING_UPLOAD: 2,
  PROCESSING: 1,
};

/** The caller, as the JWT authorizer saw it. */
export interface Caller {
  sub: string;
  groups: string[];
}

export const AUDITORS_GROUP = 'auditors';

export const isAuditor = (caller: Caller): boolean => caller.groups.includes(AUDITORS_GROUP);

/** Owners see their uploads, auditors see all; everyone else must get 404, never 403. */
export function canRead(caller: Caller, record: Pick<UploadRecord, 'owner'>): boolean {
  return record.owner === caller.sub || isAuditor(caller);
}

/**
 * Who reads an upload or its trail: its owner, or an auditor, who also sees the threat names a
 * scan found and more of a failure.
 */
export type Audience = 'owner' | 'auditor';

export const audienceOf = (caller: Caller): Audience => (isAuditor(caller) ? 'auditor' : 'owner');

/**
 * The scan verdict as the API shows it: the engine, its signature database and when it judged;
 * the threat names only to auditors (an uploader need not learn which signature caught a file).
 */
export type ScanView = ScanSummary;

const MALWARE_MESSAGE_FOR_OWNERS = 'Malware was detected in the file.';

/** The public shape of an upload (API contract v1); internal fields never leave. */
export interface UploadView {
  uploadId: string;
  status: UploadStatus;
  fileName: string;
  contentType: string;
  size: number;
  sha256?: string;
  detectedType?: string;
  createdAt: string;
  updatedAt: string;
  expiresAt?: string;
  reasons?: Reason[];
  /** The malware scan's verdict, once there is one (PROCESSED, REJECTED after the scan, QUARANTINED). */
  scan?: ScanView;
  /** PROCESSED only: a stable link to GET /uploads/{id}/download (which signs on request). */
  download?: { url: string };
}

export function toUploadView(record: UploadRecord, audience: Audience = 'owner'): UploadView {
  // After validation only a measured digest is shown (none if the file was not read to its end);
  // before it, the client's declared one.
  const measured =
    record.status === 'PROCESSED' || record.status === 'REJECTED' || record.status === 'QUARANTINED';
  const sha256 = measured ? (record.sha256 ?? undefined) : record.declaredSha256;
  const reasons = publicReasons(record).map((reason) => disclosedReason(reason, audience));
  const scan = measured && record.scan ? scanFor(record.scan, audience) : undefined;
  return {
    uploadId: record.uploadId,
    status: record.status,
    fileName: record.fileName,
    contentType: record.contentType,
    size: record.size,
    ...(sha256 ? { sha256 } : {}),
    ...(record.detectedType ? { detectedType: record.detectedType } : {}),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.status === 'PENDING_UPLOAD' ? { expiresAt: record.expiresAt } : {}),
    ...(reasons.length > 0 ? { reasons } : {}),
    ...(scan ? { scan } : {}),
  };
}

/** What clients learn of a failure: that it failed and may be retried, never its cause. */
export const PROCESSING_FAILED: Reason = {
  code: 'PROCESSING_FAILED',
  message: 'Processing failed. The upload is kept for a retry.',
};

function scanFor(scan: ScanSummary, audience: Audience): ScanView {
  if (audience === 'auditor') return scan;
  const { threats: _threats, ...shown } = scan;
  return shown;
}

function publicReasons(record: UploadRecord): Reason[] {
  switch (record.status) {
    case 'REJECTED':
    case 'QUARANTINED':
      return record.reasons ?? [];
    case 'FAILED':
      return [PROCESSING_FAILED];
    case 'EXPIRED':
      return [{ code: 'UPLOAD_EXPIRED', message: 'No file was uploaded before the upload expired.' }];
    default:
      return [];
  }
}

/**
 * A validator for the record's state. The status body holds nothing that expires (downloads are
 * signed by their own route), so one ETag always stands for one body.
 */
export function entityTag(record: Pick<UploadRecord, 'uploadId' | 'status' | 'updatedAt'>): string {
  const digest = createHash('sha256')
    .update(`${record.uploadId}\n${record.status}\n${record.updatedAt}`)
    .digest('base64url')
    .slice(0, 27);
  return `"${digest}"`;
}

/** RFC 9110 If-None-Match with weak comparison: `*` or any listed tag matching. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => opaque(tag) === opaque(etag));
}

export function retryAfterSeconds(status: UploadStatus): number | undefined {
  return TERMINAL_STATUSES.has(status) ? undefined : RETRY_AFTER_SECONDS[status];
}

/** The public shape of an audit event: its number in the trail, and what happened. */
export type AuditEventView = Omit<RecordedEvent, 'uploadId'>;

/**
 * An audit event as its reader may see it. Auditors see it exactly as stored (and hashed: the
 * trail they export is the one they verify); the store already names the execution by its opaque
 * reference and a failure in scrubbed words. Owners see a generic PROCESSING_FAILED and no threat
 * names.
 */
export function toAuditEventView(event: RecordedEvent, audience: Audience = 'owner'): AuditEventView {
  const { uploadId: _uploadId, reasons, scan, ...rest } = event;
  return {
    ...rest,
    reasons: reasons.map((reason) => disclosedReason(reason, audience)),
    ...(scan !== undefined ? { scan: scanFor(scan, audience) } : {}),
  };
}

/**
 * A reason as its reader may see it: a failure's internal cause and a detection's threat name are
 * not for owners.
 */
function disclosedReason(reason: Reason, audience: Audience): Reason {
  switch (reason.code) {
    case 'PROCESSING_FAILED':
      // Stored in the auditors' words (transition-events.ts failureReason).
      return audience === 'owner' ? PROCESSING_FAILED : reason;
    case 'MALWARE_DETECTED':
      return audience === 'owner' ? { code: reason.code, message: MALWARE_MESSAGE_FOR_OWNERS } : reason;
    default:
      return reason;
  }
}

/** A failure as auditors may see it: the error name and its cause, scrubbed of internals. */
export function auditorFailureView(
  failure: UploadRecord['failure'],
): { error: string; cause: string } | undefined {
  if (failure === undefined) return undefined;
  return { error: scrubForAuditors(failure.error), cause: scrubForAuditors(failure.cause) };
}
