import { lazy, makeDynamoDbClient, readConfig } from './commons/config.js';
import { TransitionConflictError } from './commons/errors.js';
import { logger } from './commons/logger.js';
import { taskHandler } from './commons/task.js';
import { QuotaStore } from './adapters/quota-store.js';
import { UploadStore } from './adapters/upload-store.js';
import type { AuditEvent, Reason, UploadRecord } from './domain/model.js';
import { claimInput, uploadIdFromKey, type ClaimResult } from './domain/task-contract.js';
import { decideClaim, transitionTime } from './domain/transitions.js';
import { isUploadId } from './domain/upload-id.js';
import { outcomeAuditOf } from './domain/outcome-audit.js';

export interface ClaimDeps {
  store: UploadStore;
  now: () => Date;
  /** Gives the owner's open grant back once its upload leaves PENDING_UPLOAD. */
  quotas: Pick<QuotaStore, 'release'>;
}

const CLAIM_ACTOR = { type: 'system', id: 'claim' } as const;
/** Lost races to retry before giving up; each loss means another writer changed the record. */
const MAX_CLAIM_ATTEMPTS = 3;

/**
 * Claim: one conditional write PENDING_UPLOAD|FAILED → PROCESSING for the event's object version.
 * Duplicates end quietly; objects with no record, and other versions of a claimed upload, are
 * audited and routed to Discard.
 */
export function makeClaimHandler(deps: () => ClaimDeps) {
  return taskHandler(
    'Claim',
    claimInput,
    async ({ detail, eventTime, executionId }): Promise<ClaimResult> => {
      const { store, now, quotas } = deps();
      const object = {
        bucket: detail.bucket.name,
        key: detail.object.key,
        versionId: detail.object['version-id'],
      };
      const sequencer = detail.object.sequencer;
      const keyId = uploadIdFromKey(object.key);
      const uploadId = keyId ?? object.key;
      logger.appendKeys({ uploadId });

      const discard = async (reason: Reason, record: UploadRecord | undefined): Promise<ClaimResult> => {
        await store.appendAudit({
          uploadId,
          at: discardTime(eventTime, record),
          actor: CLAIM_ACTOR,
          action: 'DISCARDED',
          from: record?.status ?? null,
          to: record?.status ?? null,
          reasons: [reason],
          versionId: object.versionId,
          executionId,
        });
        logger.info('object discarded', { reason: reason.code });
        return { outcome: 'DISCARD', uploadId, object, reason };
      };

      if (keyId === undefined || !isUploadId(keyId)) {
        return discard(
          { code: 'UNSOLICITED', message: 'No upload was issued for this object key.' },
          undefined,
        );
      }

      for (let attempt = 1; attempt <= MAX_CLAIM_ATTEMPTS; attempt++) {
        const record = await store.get(uploadId);
        const decision = decideClaim(
          record,
          { versionId: object.versionId, ...(sequencer ? { sequencer } : {}) },
          executionId,
        );
        switch (decision.kind) {
          case 'DISCARD':
            return discard(decision.reason, record);
          case 'RELEASE': {
            logger.info('resumed after the outcome was recorded: releasing quarantine', {
              status: record?.status,
            });
            // The run that wrote the outcome may have stopped before its audit event.
            const audit = outcomeAuditOf(record as UploadRecord);
            if (audit !== undefined) await store.appendAudit(audit);
            return { outcome: 'RELEASE', uploadId, object };
          }
          case 'DUPLICATE':
            logger.info('duplicate event ignored', { status: record?.status });
            return { outcome: 'DUPLICATE', uploadId, object };
          case 'ALREADY_CLAIMED':
            // A retried Claim task: the write happened; make sure its audit event did too.
            await store.appendAudit(claimAudit(record as UploadRecord, executionId));
            await releaseGrant(quotas, record as UploadRecord);
            return claimed(record as UploadRecord, object);
          case 'CLAIM': {
            // Redriving a FAILED upload: make sure its FAILED event is in the trail first (the
            // run that failed may have stopped between the record's write and its audit event).
            const failedAudit = record?.status === 'FAILED' ? outcomeAuditOf(record) : undefined;
            if (failedAudit !== undefined) await store.appendAudit(failedAudit);
            const result = await store.claim({
              uploadId,
              from: decision.from,
              versionId: object.versionId,
              ...(sequencer ? { sequencer } : {}),
              executionId,
              at: transitionTime(now(), record?.updatedAt),
            });
            if (!result.written) continue; // someone else moved the record: decide again
            await store.appendAudit(claimAudit(result.record, executionId));
            await releaseGrant(quotas, result.record);
            return claimed(result.record, object);
          }
        }
      }
      throw new TransitionConflictError(`The claim lost ${MAX_CLAIM_ATTEMPTS} races in a row.`);
    },
  );
}

/**
 * The owner's open grant ends with the claim. Best effort: a lost release only costs the owner a
 * heal at the quota limit (QuotaStore reads the record then), never the claim.
 */
async function releaseGrant(quotas: Pick<QuotaStore, 'release'>, record: UploadRecord): Promise<void> {
  if (record.previousStatus !== 'PENDING_UPLOAD') return;
  try {
    await quotas.release(record.owner, record.uploadId);
  } catch (error) {
    logger.warn('open grant not released; the quota heals it at its limit', { error: (error as Error).name });
  }
}

function claimAudit(record: UploadRecord, executionId: string): AuditEvent {
  return {
    uploadId: record.uploadId,
    at: record.updatedAt,
    actor: CLAIM_ACTOR,
    action: record.previousStatus === 'FAILED' ? 'REDRIVEN' : 'CLAIMED',
    from: record.previousStatus ?? 'PENDING_UPLOAD',
    to: 'PROCESSING',
    reasons: [],
    ...(record.versionId ? { versionId: record.versionId } : {}),
    executionId,
  };
}

function claimed(record: UploadRecord, object: ClaimResult['object']): ClaimResult {
  return {
    outcome: 'CLAIMED',
    uploadId: record.uploadId,
    object,
    claimedAt: record.updatedAt,
    declared: {
      contentType: record.contentType,
      size: record.size,
      ...(record.declaredSha256 ? { sha256: record.declaredSha256 } : {}),
    },
  };
}

/**
 * When a discard is audited: the event's time, but never before the record's last transition.
 * Event times have whole seconds only, so on their own they would sort a discard before the
 * ISSUED/CLAIMED/PROCESSED events of the same second, and the trail would not be oldest first.
 * Derived only from the event and the record (which a discard does not change), so a retried
 * Claim writes the same audit key again.
 */
function discardTime(eventTime: string, record: UploadRecord | undefined): string {
  const parsed = new Date(eventTime);
  if (Number.isNaN(parsed.getTime())) return eventTime;
  return transitionTime(parsed, record?.updatedAt);
}

const defaultDeps = lazy((): ClaimDeps => {
  const config = readConfig();
  const dynamoDb = makeDynamoDbClient(config);
  return {
    store: new UploadStore(config.tableName, dynamoDb),
    now: () => new Date(),
    quotas: new QuotaStore(config.tableName, dynamoDb),
  };
});

export const handler = makeClaimHandler(defaultDeps);
