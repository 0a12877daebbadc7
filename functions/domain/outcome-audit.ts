import type { AuditEvent, Reason, UploadRecord } from './model.js';

const RECORD_ACTOR = { type: 'system', id: 'record' } as const;
const SWEEPER_ACTOR = { type: 'system', id: 'sweeper' } as const;
const RESCAN_ACTOR = { type: 'system', id: 'rescan' } as const;

/**
 * The audit event of a quarantine (PROCESSED → QUARANTINED after a rescan found a threat), from
 * the record alone, so that writing it again after a crash adds nothing.
 */
export function quarantineAuditOf(record: UploadRecord): AuditEvent | undefined {
  if (record.status !== 'QUARANTINED') return undefined;
  return {
    uploadId: record.uploadId,
    at: record.updatedAt,
    actor: RESCAN_ACTOR,
    action: 'QUARANTINED',
    from: record.previousStatus ?? 'PROCESSED',
    to: 'QUARANTINED',
    reasons: record.reasons ?? [],
    ...(record.versionId ? { versionId: record.versionId } : {}),
    ...(record.scan ? { scan: record.scan } : {}),
  };
}

/**
 * The audit event of the outcome a record holds (PROCESSED, REJECTED or FAILED), derived from the
 * record alone (or with what the writing step knows): its key (the record's `updatedAt` and the action) is the one the step that wrote
 * the outcome used, so writing it again is a no-op, and writing it after a crash between the
 * record's write and its audit event fills exactly that gap.
 */
export function outcomeAuditOf(
  record: UploadRecord,
  known: { versionId?: string; reasons?: Reason[] } = {},
): AuditEvent | undefined {
  const outcome = record.status;
  if (outcome !== 'PROCESSED' && outcome !== 'REJECTED' && outcome !== 'FAILED') return undefined;
  const failedReason: Reason = {
    code: 'PROCESSING_FAILED',
    message: record.failure?.error ?? 'Processing failed.',
  };
  const versionId = record.versionId ?? known.versionId;
  return {
    uploadId: record.uploadId,
    at: record.updatedAt,
    actor: record.failure?.error === 'ProcessingStalled' ? SWEEPER_ACTOR : RECORD_ACTOR,
    action: outcome,
    from: record.previousStatus ?? null,
    to: outcome,
    reasons: outcome === 'FAILED' ? [failedReason] : (known.reasons ?? record.reasons ?? []),
    ...(versionId ? { versionId } : {}),
    ...(record.executionId ? { executionId: record.executionId } : {}),
    ...(record.scan && outcome !== 'FAILED' ? { scan: record.scan } : {}),
  };
}
