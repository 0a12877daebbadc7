import { lazy, makeDynamoDbClient, readConfig } from './commons/config.js';
import { TransitionConflictError } from './commons/errors.js';
import { logger } from './commons/logger.js';
import { taskHandler } from './commons/task.js';
import { QuotaStore } from './adapters/quota-store.js';
import { UploadStore } from './adapters/upload-store.js';
import { discardPlan, nextEventTime } from './domain/audit-trail.js';
import type { Reason, UploadRecord } from './domain/model.js';
import { claimInput, uploadIdFromKey, type ClaimResult } from './domain/task-contract.js';
import { claimEvent, discardedEvent } from './domain/transition-events.js';
import { decideClaim } from './domain/transitions.js';
import { isUploadId } from './domain/upload-id.js';

export interface ClaimDeps {
  store: UploadStore;
  now: () => Date;
  /** Gives the owner's open grant back once its upload is claimed. */
  quotas: Pick<QuotaStore, 'release'>;
}

/** Lost races to retry before giving up; each loss means another writer changed the record. */
const MAX_CLAIM_ATTEMPTS = 3;

/**
 * Claim: one conditional write PENDING_UPLOAD|FAILED|EXPIRED → PROCESSING for the event's object
 * version, holding its audit event. Duplicates end quietly; objects with no record, and other
 * versions of a claimed upload, are audited and routed to Discard.
 */
export function makeClaimHandler(deps: () => ClaimDeps) {
  return taskHandler('Claim', claimInput, async ({ detail, executionId }): Promise<ClaimResult> => {
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
    const discarded = (reason: Reason): ClaimResult => {
      logger.info('object discarded', { reason: reason.code });
      return { outcome: 'DISCARD', uploadId, object, reason };
    };
    const discardEvent = (reason: Reason, record: UploadRecord | undefined, at: string) =>
      discardedEvent({
        uploadId,
        at,
        status: record?.status ?? null,
        reason,
        versionId: object.versionId,
        executionId,
      });

    // An object no upload was issued for: audited under its key, in a trail of its own.
    const unsolicited = async (reason: Reason): Promise<ClaimResult> => {
      for (let attempt = 1; attempt <= MAX_CLAIM_ATTEMPTS; attempt++) {
        const trail = await store.getUnsolicited(uploadId);
        const plan = discardPlan(trail, object.versionId);
        if (plan === 'ALREADY_LISTED') return discarded(reason); // a retried step
        const event = discardEvent(reason, undefined, nextEventTime(now(), trail.trailHead));
        if ((await store.discardUnsolicited({ trail, event, plan })) !== 'TRAIL_MOVED')
          return discarded(reason);
      }
      throw new TransitionConflictError(`The discard lost ${MAX_CLAIM_ATTEMPTS} races in a row.`);
    };

    if (keyId === undefined || !isUploadId(keyId)) {
      return unsolicited({ code: 'UNSOLICITED', message: 'No upload was issued for this object key.' });
    }

    for (let attempt = 1; attempt <= MAX_CLAIM_ATTEMPTS; attempt++) {
      const record = await store.get(uploadId);
      const decision = decideClaim(
        record,
        { versionId: object.versionId, ...(sequencer ? { sequencer } : {}) },
        executionId,
      );
      if (record === undefined) {
        if (decision.kind !== 'DISCARD') throw new TransitionConflictError('No record to claim.');
        return unsolicited(decision.reason);
      }
      switch (decision.kind) {
        case 'DISCARD': {
          const plan = discardPlan(record, object.versionId);
          if (plan === 'ALREADY_LISTED') return discarded(decision.reason); // a retried step
          const event = discardEvent(decision.reason, record, nextEventTime(now(), record.trailHead));
          const result = await store.discard({ record, event, plan });
          if (result === 'TRAIL_MOVED') continue; // the record changed: decide again
          return discarded(decision.reason);
        }
        case 'RELEASE':
          logger.info('resumed after the outcome was recorded: releasing quarantine', {
            status: record.status,
          });
          return { outcome: 'RELEASE', uploadId, object };
        case 'DUPLICATE':
          logger.info('duplicate event ignored', { status: record.status });
          return { outcome: 'DUPLICATE', uploadId, object };
        case 'REDRIVE_LIMIT':
          logger.warn('not redriven: the trail has no room for another redrive', {
            events: record.trailHead.seq,
          });
          return { outcome: 'DUPLICATE', uploadId, object };
        case 'ALREADY_CLAIMED':
          // A retried Claim task: its write (the status and its event) happened.
          await releaseGrant(quotas, record);
          return claimed(record, object);
        case 'CLAIM': {
          const event = claimEvent({
            uploadId,
            at: nextEventTime(now(), record.trailHead),
            from: decision.from,
            action: decision.action,
            versionId: object.versionId,
            executionId,
          });
          const result = await store.claim({
            record,
            from: decision.from,
            versionId: object.versionId,
            ...(sequencer ? { sequencer } : {}),
            executionId,
            event,
          });
          if (!result.written) continue; // someone else moved the record: decide again
          if (decision.action === 'LATE_UPLOAD') logger.warn('late upload: claimed after its grant expired');
          await releaseGrant(quotas, result.record);
          return claimed(result.record, object);
        }
      }
    }
    throw new TransitionConflictError(`The claim lost ${MAX_CLAIM_ATTEMPTS} races in a row.`);
  });
}

/**
 * The owner's open grant ends with the claim, a late upload's too (its grant expired; the quota
 * would also heal it at its limit). Best effort: a lost release only costs the owner a heal at the
 * quota limit (QuotaStore reads the record then), never the claim.
 */
async function releaseGrant(quotas: Pick<QuotaStore, 'release'>, record: UploadRecord): Promise<void> {
  if (record.previousStatus !== 'PENDING_UPLOAD' && record.previousStatus !== 'EXPIRED') return;
  try {
    await quotas.release(record.owner, record.uploadId);
  } catch (error) {
    logger.warn('open grant not released; the quota heals it at its limit', { error: (error as Error).name });
  }
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
