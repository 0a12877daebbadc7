import { createHash } from 'node:crypto';
import type { AuditEvent, Reason, ScanSummary, UploadRecord, UploadStatus } from './model.js';
import { TERMINAL_STATUSES } from './model.js';

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

/** Who is looking: auditors also see the threat names a scan found. */
export interface Viewer {
  auditor: boolean;
}

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
  download?: { url: string; expiresAt: string };
}

export function toUploadView(record: UploadRecord, viewer: Viewer = { auditor: false }): UploadView {
  // After validation only a measured digest is shown (none if the file was not read to its end);
  // before it, the client's declared one.
  const measured =
    record.status === 'PROCESSED' || record.status === 'REJECTED' || record.status === 'QUARANTINED';
  const sha256 = measured ? (record.sha256 ?? undefined) : record.declaredSha256;
  const reasons = publicReasons(record).map((reason) => reasonFor(reason, viewer));
  const scan = measured && record.scan ? scanFor(record.scan, viewer) : undefined;
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

function scanFor(scan: ScanSummary, viewer: Viewer): ScanView {
  if (viewer.auditor) return scan;
  const { threats: _threats, ...shown } = scan;
  return shown;
}

/** A detection's reason names the threat: auditors read it, everyone else a plain statement. */
function reasonFor(reason: Reason, viewer: Viewer): Reason {
  return reason.code === 'MALWARE_DETECTED' && !viewer.auditor
    ? { code: reason.code, message: MALWARE_MESSAGE_FOR_OWNERS }
    : reason;
}

function publicReasons(record: UploadRecord): Reason[] {
  switch (record.status) {
    case 'REJECTED':
    case 'QUARANTINED':
      return record.reasons ?? [];
    case 'FAILED':
      // The cause is internal; clients learn only that it failed and may be retried.
      return [{ code: 'PROCESSING_FAILED', message: 'Processing failed. The upload is kept for a retry.' }];
    case 'EXPIRED':
      return [{ code: 'UPLOAD_EXPIRED', message: 'No file was uploaded before the upload expired.' }];
    default:
      return [];
  }
}

/**
 * A validator for the record's state, stable across calls even though each PROCESSED response
 * carries a freshly signed download URL.
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

/** The public shape of an audit event. */
export type AuditEventView = Omit<AuditEvent, 'uploadId'>;

export function toAuditEventView(event: AuditEvent, viewer: Viewer = { auditor: false }): AuditEventView {
  const { uploadId: _uploadId, ...view } = event;
  if (viewer.auditor) return view;
  return {
    ...view,
    reasons: view.reasons.map((reason) => reasonFor(reason, viewer)),
    ...(view.scan ? { scan: scanFor(view.scan, viewer) } : {}),
  };
}
