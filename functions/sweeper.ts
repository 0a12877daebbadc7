import { lazy, readSweeperConfig } from './commons/config.js';
import { maintenanceAdapters } from './commons/maintenance.js';
import { logger } from './commons/logger.js';
import type { ExecutionGateway } from './adapters/execution-gateway.js';
import type { ObjectStore } from './adapters/object-store.js';
import type { UploadStore } from './adapters/upload-store.js';
import { quarantineKey } from './domain/model.js';
import { objectCreatedEvent } from './domain/object-event.js';
import { transitionTime } from './domain/transitions.js';

export interface SweeperDeps {
  store: UploadStore;
  objects: ObjectStore;
  executions: ExecutionGateway;
  bucket: string;
  now: () => Date;
  /** A PROCESSING upload whose execution is gone after this long is marked FAILED. */
  processingTimeoutMs: number;
  /** Events may arrive a little after the grant expired; wait this long before expiring. */
  expiryGraceMs: number;
  /**
   * A PENDING_UPLOAD this old is checked for a quarantine object: if one exists, its event was
   * lost and the execution is started.
   */
  lostEventAfterMs: number;
  /** Records handled per status per run. */
  batchSize: number;
  /**
   * Lifetime of upload grants. A terminal upload is checked for stray versions of its key (sent
   * again by a client, or whose event was lost) until its grant can no longer be used.
   */
  uploadTtlMs: number;
}

export interface SweepReport {
  expired: number;
  restarted: number;
  failed: number;
  stillRunning: number;
  /** Versions of terminal uploads' keys with no execution, started so that Claim discards them. */
  strays: number;
}

const SWEEPER_ACTOR = { type: 'system', id: 'sweeper' } as const;

/**
 * The sweeper (the local runtime runs it as the reconciler): moves every upload towards a
 * terminal status so that none is ever stuck.
 * - PENDING_UPLOAD past expiry: if its quarantine object exists, the event was lost, so the
 *   execution is started (idempotently); otherwise → EXPIRED.
 * - PROCESSING past the bound whose execution no longer runs → FAILED (kept for a redrive).
 * Every status change is audited.
 */
export function makeSweeperHandler(deps: () => SweeperDeps) {
  return async (): Promise<SweepReport> => {
    const {
      store,
      objects,
      executions,
      bucket,
      now,
      processingTimeoutMs,
      expiryGraceMs,
      lostEventAfterMs,
      batchSize,
      uploadTtlMs,
    } = deps();
    const report: SweepReport = { expired: 0, restarted: 0, failed: 0, stillRunning: 0, strays: 0 };
    const started = now();

    const expiredBefore = new Date(started.getTime() - expiryGraceMs).toISOString();
    const pendingBefore = new Date(started.getTime() - lostEventAfterMs).toISOString();
    // One start per object version and processing window: if the execution started for it ended
    // without claiming it (e.g. DynamoDB was away through all its retries), the next window
    // starts another instead of finding the old name taken for good. A duplicate of one still
    // running is harmless: Claim lets only one through.
    const window = Math.floor(started.getTime() / processingTimeoutMs);
    const startFor = async (uploadId: string, version: { versionId: string; size: number }) => {
      const key = quarantineKey(uploadId);
      const event = objectCreatedEvent({
        id: `sweep-${uploadId}-${version.versionId}`,
        bucket,
        key,
        size: version.size,
        versionId: version.versionId,
        time: started,
        reason: 'Reconcile',
      });
      await executions.start(event, `${key}@${version.versionId}#${window}`);
    };
    for (const record of await store.listByStatus('PENDING_UPLOAD', pendingBefore, batchSize)) {
      const key = quarantineKey(record.uploadId);
      const versions = await objects.listVersions(bucket, key);
      const first = versions[0];
      if (first !== undefined) {
        await startFor(record.uploadId, first);
        logger.warn('lost event: execution started', { uploadId: record.uploadId });
        report.restarted++;
        continue;
      }
      if (record.expiresAt > expiredBefore) continue; // the client may still upload
      const at = transitionTime(started, record.updatedAt);
      const result = await store.expire(record.uploadId, at);
      if (!result.written) continue;
      await store.appendAudit({
        uploadId: record.uploadId,
        at,
        actor: SWEEPER_ACTOR,
        action: 'EXPIRED',
        from: 'PENDING_UPLOAD',
        to: 'EXPIRED',
        reasons: [{ code: 'UPLOAD_EXPIRED', message: 'No file was uploaded before the upload expired.' }],
      });
      report.expired++;
    }

    // PROCESSED or REJECTED uploads whose grant may still be (or was lately) usable: any version
    // of their key other than the claimed one is a second upload whose event never came (a
    // client retry whose first attempt did land, a delivery lost in an S3 restart). It gets an
    // execution like any lost event, and Claim discards it (ALREADY_PROCESSED, audited, deleted),
    // so nothing is left in quarantine. The claimed version itself is the release step's.
    const strayFrom = new Date(
      started.getTime() - uploadTtlMs - expiryGraceMs - lostEventAfterMs,
    ).toISOString();
    for (const status of ['PROCESSED', 'REJECTED'] as const) {
      const { items } = await store.listByStatusBetween({
        status,
        from: strayFrom,
        to: pendingBefore,
        limit: batchSize,
      });
      for (const record of items) {
        const key = quarantineKey(record.uploadId);
        for (const version of await objects.listVersions(bucket, key)) {
          if (version.versionId === record.versionId) continue;
          await startFor(record.uploadId, version);
          logger.warn('stray version of a finished upload: execution started', { uploadId: record.uploadId });
          report.strays++;
        }
      }
    }

    const processingBefore = new Date(started.getTime() - processingTimeoutMs).toISOString();
    for (const record of await store.listByStatus('PROCESSING', processingBefore, batchSize)) {
      if (record.executionId === undefined) continue;
      if (await executions.isRunning(record.executionId)) {
        report.stillRunning++;
        continue;
      }
      const at = transitionTime(started, record.updatedAt);
      const result = await store.recordOutcome({
        uploadId: record.uploadId,
        outcome: 'FAILED',
        guard: { from: ['PROCESSING'], executionId: record.executionId },
        at,
        failure: { error: 'ProcessingStalled', cause: 'The execution ended without recording an outcome.' },
      });
      if (!result.written) continue;
      await store.appendAudit({
        uploadId: record.uploadId,
        at,
        actor: SWEEPER_ACTOR,
        action: 'FAILED',
        from: 'PROCESSING',
        to: 'FAILED',
        reasons: [{ code: 'PROCESSING_FAILED', message: 'ProcessingStalled' }],
        ...(record.versionId ? { versionId: record.versionId } : {}),
        executionId: record.executionId,
      });
      report.failed++;
    }

    logger.info('sweep done', { ...report });
    return report;
  };
}

const defaultDeps = lazy((): SweeperDeps => {
  const { config, ...adapters } = maintenanceAdapters();
  const sweeper = readSweeperConfig();
  return {
    ...adapters,
    processingTimeoutMs: sweeper.processingTimeoutSeconds * 1000,
    expiryGraceMs: 60_000,
    lostEventAfterMs: 5 * 60_000,
    batchSize: sweeper.batchSize,
    uploadTtlMs: config.uploadUrlTtlSeconds * 1000,
  };
});

export const handler = makeSweeperHandler(defaultDeps);
