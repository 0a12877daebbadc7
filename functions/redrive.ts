import { lazy } from './commons/config.js';
import { maintenanceAdapters } from './commons/maintenance.js';
import { logger } from './commons/logger.js';
import type { ExecutionGateway } from './adapters/execution-gateway.js';
import type { ObjectStore } from './adapters/object-store.js';
import type { UploadStore } from './adapters/upload-store.js';
import { quarantineKey } from './domain/model.js';
import { objectCreatedEvent } from './domain/object-event.js';

export interface RedriveDeps {
  store: UploadStore;
  objects: ObjectStore;
  executions: ExecutionGateway;
  bucket: string;
  now: () => Date;
  /** FAILED records handled per run. */
  batchSize: number;
}

export interface RedriveReport {
  /** FAILED uploads whose claimed version is still in quarantine: an execution was started. */
  redriven: string[];
  /** FAILED uploads that cannot be redriven (no claimed version, or its bytes are gone). */
  skipped: Array<{ uploadId: string; why: string }>;
}

/**
 * Redrive: starts a new execution for each FAILED upload, on the very version it claimed (or, if
 * it failed before any claim, the first version in quarantine). A
 * FAILED upload keeps its quarantine version (the release runs only after an outcome), and
 * Claim accepts FAILED → PROCESSING for the same version, so the pipeline resumes from the
 * start and every step is idempotent. One execution per failure: the execution name derives
 * from the version and the time the upload failed, so running the redrive twice starts nothing
 * more. An operator action: run it once the cause (an outage, a bad deployment) is gone.
 */
export function makeRedriveHandler(deps: () => RedriveDeps) {
  return async (event?: { uploadIds?: unknown }): Promise<RedriveReport> => {
    const { store, objects, executions, bucket, now, batchSize } = deps();
    const only = Array.isArray(event?.uploadIds)
      ? new Set(event.uploadIds.filter((id): id is string => typeof id === 'string'))
      : undefined;
    const report: RedriveReport = { redriven: [], skipped: [] };
    // Named uploads are read one by one (any age); otherwise the oldest FAILED, a batch per run.
    const failed =
      only === undefined
        ? await store.listByStatus('FAILED', now().toISOString(), batchSize)
        : (await Promise.all([...only].slice(0, batchSize).map((id) => store.get(id)))).filter(
            (record): record is NonNullable<typeof record> => record?.status === 'FAILED',
          );
    for (const record of failed) {
      const key = quarantineKey(record.uploadId);
      // An upload that failed before its claim (e.g. DynamoDB away through all of Claim's
      // retries) names no version: it is redriven on the first one in quarantine, as the
      // sweeper starts a lost event's.
      const versions = await objects.listVersions(bucket, key);
      const version =
        record.versionId === undefined ? versions[0] : versions.find((v) => v.versionId === record.versionId);
      if (version === undefined) {
        report.skipped.push({
          uploadId: record.uploadId,
          why: record.versionId === undefined ? 'nothing in quarantine' : 'the claimed version is gone',
        });
        continue;
      }
      const versionId = version.versionId;
      const input = objectCreatedEvent({
        id: `redrive-${record.uploadId}-${record.updatedAt}`,
        bucket,
        key,
        size: version.size,
        versionId,
        time: now(),
        ...(record.sequencer ? { sequencer: record.sequencer } : {}),
        reason: 'Redrive',
      });
      await executions.start(input, `${key}@${versionId}#redrive@${record.updatedAt}`);
      report.redriven.push(record.uploadId);
    }
    logger.info('redrive done', { redriven: report.redriven.length, skipped: report.skipped.length });
    return report;
  };
}

const defaultDeps = lazy((): RedriveDeps => {
  const { store, objects, executions, bucket, now } = maintenanceAdapters();
  return { store, objects, executions, bucket, now, batchSize: 100 };
});

export const handler = makeRedriveHandler(defaultDeps);
