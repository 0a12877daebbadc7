import { lazy, makeDynamoDbClient, readConfig } from './commons/config.js';
import { TransitionConflictError } from './commons/errors.js';
import { logger } from './commons/logger.js';
import { taskHandler } from './commons/task.js';
import { UploadStore } from './adapters/upload-store.js';
import { nextEventTime } from './domain/audit-trail.js';
import { summarizeCause } from './domain/redaction.js';
import { recordOutcomeInput, uploadIdFromKey } from './domain/task-contract.js';
import { outcomeEvent } from './domain/transition-events.js';
import { isOutcomeAlreadyRecorded, outcomeGuard, type Outcome } from './domain/transitions.js';
import { isUploadId } from './domain/upload-id.js';

export interface RecordOutcomeDeps {
  store: UploadStore;
  now: () => Date;
}

/** Lost races to retry (a discard of another version appended to the trail meanwhile). */
const MAX_RECORD_ATTEMPTS = 3;

/**
 * Record: writes PROCESSED, REJECTED or FAILED and its audit event with one conditional write
 * (with the scan verdict when the Scan step gave one).
 * A terminal status is never overwritten: a retried task that finds its own outcome written
 * succeeds without writing; FAILED never replaces another outcome and ends quietly instead.
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
    const guard = outcomeGuard(outcome, input.executionId);
    const failure = input.failure
      ? { error: input.failure.Error, cause: summarizeCause(input.failure.Cause) }
      : undefined;

    for (let attempt = 1; attempt <= MAX_RECORD_ATTEMPTS; attempt++) {
      const record = await store.get(uploadId);
      if (record !== undefined && isOutcomeAlreadyRecorded(record, outcome, input.executionId)) {
        return { recorded: true, status: outcome }; // a retried task: the write happened before
      }
      const heldByUs =
        record !== undefined &&
        guard.from.includes(record.status) &&
        (record.status !== 'PROCESSING' || record.executionId === input.executionId);
      if (!heldByUs) {
        if (outcome === 'FAILED') {
          logger.warn('failure not recorded: the upload is not held by this execution', {
            status: record?.status,
            error: failure?.error,
          });
          return { recorded: false, status: record?.status ?? null };
        }
        throw new TransitionConflictError(
          `Cannot record ${outcome}: the upload is ${record?.status ?? 'missing'} and not held by this execution.`,
        );
      }
      const event = outcomeEvent({
        record,
        outcome,
        at: nextEventTime(now(), record.trailHead),
        executionId: input.executionId,
        versionId,
        ...(input.reasons ? { reasons: input.reasons } : {}),
        ...(input.scan ? { scan: input.scan } : {}),
        ...(failure ? { failure } : {}),
      });
      const result = await store.recordOutcome({
        record,
        outcome,
        guard,
        event,
        ...(input.facts ? { facts: input.facts } : {}),
        ...(input.storedKey ? { storedKey: input.storedKey } : {}),
        ...(input.reasons ? { reasons: input.reasons } : {}),
        ...(input.scan ? { scan: input.scan } : {}),
        ...(failure ? { failure } : {}),
      });
      if (result.written) {
        logger.info('outcome recorded', { status: outcome, ...(failure ? { error: failure.error } : {}) });
        return { recorded: true, status: outcome };
      }
    }
    throw new TransitionConflictError(`Recording ${outcome} lost ${MAX_RECORD_ATTEMPTS} races in a row.`);
  });
}

const defaultDeps = lazy((): RecordOutcomeDeps => {
  const config = readConfig();
  return { store: new UploadStore(config.tableName, makeDynamoDbClient(config)), now: () => new Date() };
});

export const handler = makeRecordOutcomeHandler(defaultDeps);
