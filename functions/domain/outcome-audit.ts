import type { AuditEvent, Reason, UploadRecord } from './model.js';

const RECORD_ACTOR = { type: 'system', id: 'record' } as const;
const SWEEPER_ACTOR = { type: 'system', id: 'sweeper' } as const;

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
  };
}
