import { lazy, makeDynamoDbClient, readConfig } from './commons/config.js';
import { TransitionConflictError } from './commons/errors.js';
import { logger } from './commons/logger.js';
import { taskHandler } from './commons/task.js';
import { UploadStore } from './adapters/upload-store.js';
import type { UploadRecord } from './domain/model.js';
import { outcomeAuditOf } from './domain/outcome-audit.js';
import { summarizeCause } from './domain/redaction.js';
import { recordOutcomeInput, uploadIdFromKey } from './domain/task-contract.js';
import {
  isOutcomeAlreadyRecorded,
  outcomeGuard,
  transitionTime,
  type Outcome,
} from './domain/transitions.js';
import { isUploadId } from './domain/upload-id.js';

export interface RecordOutcomeDeps {
  store: UploadStore;
  now: () => Date;
}

/**
 * Record: writes PROCESSED, REJECTED or FAILED with one conditional write (with the scan verdict
 * when the Scan step gave one), then its audit event.
 * A terminal status is never overwritten: a retried task that finds its own outcome written
 * succeeds; FAILED never replaces another outcome and ends quietly instead.
 */
export function makeRecordOutcomeHandler(deps: () => RecordOutcomeDeps) {
  return taskHandler('Record', recordOutcomeInput, async (input) => {
    const { store, now } = deps();
    const uploadId = uploadIdFromKey(input.detail.object.key);
    const versionId = input.detail.object['version-id'];
    if (uploadId === undefined || !isUploadId(uploadId)) {
      logger.warn('no upload record to mark', { outcome: input.outcome });
      return { recorded: false };
    }
    logger.appendKeys({ uploadId });
    const outcome: Outcome = input.outcome;
    const failure = input.failure
      ? { error: input.failure.Error, cause: summarizeCause(input.failure.Cause) }
      : undefined;
    const result = await store.recordOutcome({
      uploadId,
      outcome,
      guard: outcomeGuard(outcome, input.executionId),
      at: transitionTime(now(), input.claimedAt),
      ...(input.facts ? { facts: input.facts } : {}),
      ...(input.storedKey ? { storedKey: input.storedKey } : {}),
      ...(input.reasons ? { reasons: input.reasons } : {}),
      ...(input.scan ? { scan: input.scan } : {}),
      ...(failure ? { failure } : {}),
    });

    let record: UploadRecord | undefined = result.written ? result.record : undefined;
    if (record === undefined) {
      const current = await store.get(uploadId);
      if (current && isOutcomeAlreadyRecorded(current, outcome, input.executionId)) {
        record = current; // a retried task: the write happened before
      } else if (outcome === 'FAILED') {
        logger.warn('failure not recorded: the upload is not held by this execution', {
          status: current?.status,
          error: failure?.error,
        });
        return { recorded: false, status: current?.status ?? null };
      } else {
        throw new TransitionConflictError(
          `Cannot record ${outcome}: the upload is ${current?.status ?? 'missing'} and not held by this execution.`,
        );
      }
    }

    const audit = outcomeAuditOf(record, { versionId, ...(input.reasons ? { reasons: input.reasons } : {}) });
    if (audit !== undefined) await store.appendAudit(audit);
    logger.info('outcome recorded', { status: outcome, ...(failure ? { error: failure.error } : {}) });
    return { recorded: true, status: outcome };
  });
}

const defaultDeps = lazy((): RecordOutcomeDeps => {
  const config = readConfig();
  return { store: new UploadStore(config.tableName, makeDynamoDbClient(config)), now: () => new Date() };
});

export const handler = makeRecordOutcomeHandler(defaultDeps);
