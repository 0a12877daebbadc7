import { lazy, readSweeperConfig } from './commons/config.js';
import {
  maintenanceAdapters,
  runDeadline,
  workInRotation,
  type Lane,
  type PageKey,
} from './commons/maintenance.js';
import { intEnv } from './commons/env.js';
import { logger } from './commons/logger.js';
import {
  outcomePublicationFromEnv,
  publishCurrentOutcome,
  type OutcomePublicationDeps,
} from './commons/outcome-publication.js';
import {
  DEPLOYED_SWEEP,
  SWEEP_ENV,
  SWEEP_SAFETY_MARGIN_MS,
  type SweepSettings,
} from './commons/sweep-settings.js';
import type { ExecutionGateway } from './adapters/execution-gateway.js';
import type { ObjectStore } from './adapters/object-store.js';
import type { SweepStateStore } from './adapters/sweep-state.js';
import { statusIndexKey, statusSortKey, TABLE_KEYS, type UploadStore } from './adapters/upload-store.js';
import { abandonedRecordExpiry, nextEventTime } from './domain/audit-trail.js';
import { quarantineKey, type UploadRecord, type UploadStatus } from './domain/model.js';
import { objectCreatedEvent } from './domain/object-event.js';
import { expiredEvent, outcomeEvent, SWEEPER_ACTOR } from './domain/transition-events.js';

export interface SweeperDeps {
  store: UploadStore;
  /** The lease and the cursors one run leaves the next. */
  sweepState: SweepStateStore;
  objects: ObjectStore;
  executions: ExecutionGateway;
  bucket: string;
  now: () => Date;
  /** A PROCESSING upload whose execution is gone after this long is marked FAILED. */
  processingTimeoutMs: number;
  /**
   * Lifetime of upload grants. A terminal upload is checked for stray versions of its key (sent
   * again by a client, or whose event was lost) until its grant can no longer be used.
   */
  uploadTtlMs: number;
  /** An EXPIRED record may be deleted (DynamoDB TTL) this long after it expired. */
  abandonedRecordRetentionSeconds: number;
  /** Budget, page size, concurrency, lost-event delay and expiry grace (the schedule is the caller's). */
  sweep: SweepSettings;
  /**
   * Publishes outcome events: of the transitions the sweeper records (EXPIRED, a stalled FAILED),
   * and of recent terminal uploads whose event is still pending (a crash between record and
   * publish, a bus that was away). Absent: the sweeper publishes nothing.
   */
  publication?: OutcomePublicationDeps;
}

export interface SweepReport {
  expired: number;
  restarted: number;
  failed: number;
  stillRunning: number;
  /** Versions of terminal uploads' keys with no execution, started so that Claim discards them. */
  strays: number;
  /** Records whose handling threw: logged, and met again on a later pass. */
  errors: number;
  /** Query pages read. */
  pages: number;
  /** Every query reached its end within the budget; otherwise the next run goes on from here. */
  complete: boolean;
  /** Another run held the lease, so this one did nothing. */
  leaseHeld: boolean;
  /** Outcome events published (its own transitions' and pending ones). */
  published: number;
}

/** Lambda's context, of which only the remaining time matters here. */
export interface RunContext {
  getRemainingTimeInMillis?: () => number;
}

/** Below every `updatedKey` ("<ISO time>#<id>"). */
const EARLIEST = '0000';

/**
 * The sweeper (the local runtime runs it as the reconciler): moves every upload towards a
 * terminal status so that none is ever stuck.
 * - PENDING_UPLOAD past the lost-event delay: if its quarantine object exists, the event was
 *   lost, so the execution is started (idempotently); else, once its grant expired → EXPIRED.
 * - PROCESSING past the bound whose execution no longer runs → FAILED (kept for a redrive).
 * - PROCESSED or REJECTED while the grant may still be used: a stray second version is started,
 *   and Claim discards it.
 * Every status change and its audit event are one write.
 *
 * Paging: each of these queries is a lane, read a page at a time in rotation (one page of each in
 * turn) until the time budget is spent or every lane reached its end, so that no status waits for
 * another. PENDING_UPLOAD is read from both ends at once: newest first from the top on every run
 * (lost events of recent uploads, grants that just expired: found within a run or two, however
 * large the backlog beneath them) and oldest first from where the previous run stopped (the
 * backlog drains), until the two meet. The oldest-first lanes keep their cursor in the table for
 * the next run, under a lease that keeps runs from overlapping.
 */
export function makeSweeperHandler(deps: () => SweeperDeps) {
  return async (_event?: unknown, context?: RunContext): Promise<SweepReport> => {
    const {
      store,
      sweepState,
      objects,
      executions,
      bucket,
      now,
      processingTimeoutMs,
      uploadTtlMs,
      abandonedRecordRetentionSeconds,
      sweep,
      publication,
    } = deps();
    const report: SweepReport = {
      expired: 0,
      restarted: 0,
      failed: 0,
      stillRunning: 0,
      strays: 0,
      errors: 0,
      pages: 0,
      complete: false,
      leaseHeld: false,
      published: 0,
    };
    const started = now();
    const deadline = runDeadline(started.getTime(), sweep.budgetMs, context, SWEEP_SAFETY_MARGIN_MS);
    // The lease outlives the budget by a tenth (at least 1 s): the page in progress and the
    // release. A run that died leaves it to lapse; the next run is an interval later.
    const leaseUntil = new Date(deadline + Math.max(1_000, sweep.budgetMs / 10)).toISOString();
    const lease = await sweepState.takeLease({ at: started.toISOString(), until: leaseUntil });
    if (!lease.taken) {
      logger.info('sweep skipped: another run holds the lease', { leaseUntil });
      return { ...report, leaseHeld: true };
    }

    const iso = (ms: number) => new Date(ms).toISOString();
    const pendingBefore = iso(started.getTime() - sweep.lostEventAfterMs);
    const expiredBefore = iso(started.getTime() - sweep.expiryGraceMs);
    const processingBefore = iso(started.getTime() - processingTimeoutMs);
    const strayFrom = iso(started.getTime() - uploadTtlMs - sweep.expiryGraceMs - sweep.lostEventAfterMs);
    const strayTo = `${pendingBefore}#~`; // every id of that instant

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

    // Publishing is the record's outbox at work: a failure here leaves the event pending, and a
    // later pass (the outbox lanes below) publishes it; it never undoes or blocks a transition.
    const publish = async (uploadId: string) => {
      if (publication === undefined) return;
      try {
        const result = await publishCurrentOutcome(publication, uploadId);
        if (result.published) report.published++;
      } catch (error) {
        logger.warn('outcome event still pending', { uploadId, error: (error as Error).name });
      }
    };
    // A terminal record whose last transition is not marked published (publishedAt is the marked
    // transition's time, the record's updatedAt that of its trail's last event: after a listed
    // discard the check reads the record once more and finds its transition published).
    const publishIfPending = async (record: UploadRecord) => {
      if (record.publishedAt === undefined || record.publishedAt < record.updatedAt)
        await publish(record.uploadId);
    };

    const sweepPending = async (record: UploadRecord) => {
      const versions = await objects.listVersions(bucket, quarantineKey(record.uploadId));
      const first = versions[0];
      if (first !== undefined) {
        await startFor(record.uploadId, first);
        logger.warn('lost event: execution started', { uploadId: record.uploadId });
        report.restarted++;
        return;
      }
      if (record.expiresAt > expiredBefore) return; // the client may still upload
      const at = nextEventTime(now(), record.trailHead);
      const result = await store.expire({
        record,
        event: expiredEvent(record.uploadId, at),
        deleteAfter: abandonedRecordExpiry(at, abandonedRecordRetentionSeconds),
      });
      if (!result.written) return;
      report.expired++;
      await publish(record.uploadId);
    };

    // PROCESSED or REJECTED uploads whose grant may still be (or was lately) usable: any version
    // of their key other than the claimed one is a second upload whose event never came (a
    // client retry whose first attempt did land, a delivery lost in an S3 restart). It gets an
    // execution like any lost event, and Claim discards it (ALREADY_PROCESSED, audited, deleted),
    // so nothing is left in quarantine. The claimed version itself is the release step's.
    const sweepStrays = async (record: UploadRecord) => {
      await publishIfPending(record);
      for (const version of await objects.listVersions(bucket, quarantineKey(record.uploadId))) {
        if (version.versionId === record.versionId) continue;
        await startFor(record.uploadId, version);
        logger.warn('stray version of a finished upload: execution started', { uploadId: record.uploadId });
        report.strays++;
      }
    };

    const sweepStalled = async (record: UploadRecord) => {
      if (record.executionId === undefined) return;
      if (await executions.isRunning(record.executionId)) {
        report.stillRunning++;
        return;
      }
      const failure = {
        error: 'ProcessingStalled',
        cause: 'The execution ended without recording an outcome.',
      };
      const result = await store.recordOutcome({
        record,
        outcome: 'FAILED',
        guard: { from: ['PROCESSING'], executionId: record.executionId },
        event: outcomeEvent({
          record,
          outcome: 'FAILED',
          at: nextEventTime(now(), record.trailHead),
          executionId: record.executionId,
          failure,
          actor: SWEEPER_ACTOR,
        }),
        failure,
      });
      if (!result.written) return;
      report.failed++;
      await publish(record.uploadId);
    };

    const page =
      (status: UploadStatus, from: string, to: string, newestFirst: boolean) => (startKey?: PageKey) =>
        store.pageByStatus({
          status,
          from,
          to,
          newestFirst,
          limit: sweep.pageSize,
          ...(startKey ? { startKey } : {}),
        });
    // A cursor outside this run's range (the range moved on) would be refused: start afresh.
    const resumeWithin = (name: string, from: string, to: string): { startKey?: PageKey } => {
      const key = lease.cursors[name];
      const at = sortKeyOf(key);
      return key !== undefined && at !== undefined && at >= from && at <= to ? { startKey: key } : {};
    };

    // PENDING_UPLOAD from both ends. Each side reads up to where the other has been in this run
    // (bounds are inclusive, so the one record at the meeting point is left to the side that had
    // it first); the oldest-first side resumes where the previous run left it.
    const bottomStart = resumeWithin('pending:oldest', EARLIEST, pendingBefore);
    let topReached: string | undefined; // the lowest key the newest-first side handled
    let bottomReached: string | undefined; // the highest key the oldest-first side handled
    const pendingNewest: Lane<UploadRecord> = {
      name: 'pending:newest',
      read: async (startKey) => {
        const lower = bottomReached ?? sortKeyOf(bottomStart.startKey) ?? EARLIEST;
        if ((sortKeyOf(startKey) ?? pendingBefore) < lower) return undefined; // the sides met
        const found = await page('PENDING_UPLOAD', lower, pendingBefore, true)(startKey);
        const items = found.items.filter(
          (record) => bottomReached === undefined || statusSortKey(record) > bottomReached,
        );
        topReached = lastSortKey(items) ?? lower;
        return { ...found, items };
      },
      keyOf: (record) => statusIndexKey(record, 'PENDING_UPLOAD'),
      handle: sweepPending,
    };
    const pendingOldest: Lane<UploadRecord> = {
      name: 'pending:oldest',
      ...bottomStart,
      read: async (startKey) => {
        const upper = topReached ?? pendingBefore;
        if ((sortKeyOf(startKey) ?? EARLIEST) > upper) return undefined; // the sides met
        const found = await page('PENDING_UPLOAD', EARLIEST, upper, false)(startKey);
        const items = found.items.filter(
          (record) => topReached === undefined || statusSortKey(record) < topReached,
        );
        bottomReached = lastSortKey(items) ?? upper;
        return { ...found, items };
      },
      keyOf: (record) => statusIndexKey(record, 'PENDING_UPLOAD'),
      handle: sweepPending,
    };
    const lanes: Array<Lane<UploadRecord>> = [
      pendingNewest,
      pendingOldest,
      {
        name: 'processing',
        ...resumeWithin('processing', EARLIEST, processingBefore),
        read: page('PROCESSING', EARLIEST, processingBefore, false),
        keyOf: (record) => statusIndexKey(record, 'PROCESSING'),
        handle: sweepStalled,
      },
      ...(['PROCESSED', 'REJECTED'] as const).map((status) => ({
        name: `strays:${status}`,
        ...resumeWithin(`strays:${status}`, strayFrom, strayTo),
        read: page(status, strayFrom, strayTo, false),
        keyOf: (record: UploadRecord) => statusIndexKey(record, status),
        handle: sweepStrays,
      })),
      // The outbox of the other terminal statuses, over the same recent window (QUARANTINED is
      // written by the scan-result intake, which leaves its event to this lane).
      ...(publication === undefined ? [] : (['FAILED', 'EXPIRED', 'QUARANTINED'] as const)).map((status) => ({
        name: `outbox:${status}`,
        ...resumeWithin(`outbox:${status}`, strayFrom, strayTo),
        read: page(status, strayFrom, strayTo, false),
        keyOf: (record: UploadRecord) => statusIndexKey(record, status),
        handle: publishIfPending,
      })),
    ];

    let stoppedBy: Error | undefined;
    let cursors = lease.cursors; // kept as they were if the run breaks off
    try {
      const rotation = await workInRotation(lanes, {
        deadline,
        clock: () => now().getTime(),
        concurrency: sweep.concurrency,
        onError: (record, lane, error) =>
          logger.error('sweep: record failed; a later pass meets it again', {
            uploadId: record.uploadId,
            lane,
            error: error as Error,
          }),
      });
      Object.assign(report, { pages: rotation.pages, errors: rotation.errors, complete: rotation.complete });
      stoppedBy = rotation.stoppedBy;
      // The newest-first side starts from the top every run; the others go on where they stopped.
      cursors = {};
      for (const lane of lanes) {
        const position = rotation.positions[lane.name];
        if (lane !== pendingNewest && position !== undefined) cursors[lane.name] = position;
      }
    } finally {
      await sweepState
        .releaseLease({ until: leaseUntil, at: now().toISOString(), cursors })
        .catch((error: unknown) =>
          logger.error('sweep: lease not released; it lapses', { error: error as Error }),
        );
    }
    logger.info('sweep done', { ...report });
    if (stoppedBy !== undefined) throw stoppedBy;
    return report;
  };
}

const sortKeyOf = (key: PageKey | undefined): string | undefined => {
  const value = key?.[TABLE_KEYS.byStatus.sortKey];
  return typeof value === 'string' ? value : undefined;
};

const lastSortKey = (records: UploadRecord[]): string | undefined => {
  const last = records.at(-1);
  return last === undefined ? undefined : statusSortKey(last);
};

const defaultDeps = lazy((): SweeperDeps => {
  const { config, ...adapters } = maintenanceAdapters();
  const sweeper = readSweeperConfig();
  return {
    ...adapters,
    publication: outcomePublicationFromEnv(adapters.objects, adapters.bucket),
    processingTimeoutMs: sweeper.processingTimeoutSeconds * 1000,
    uploadTtlMs: config.uploadUrlTtlSeconds * 1000,
    abandonedRecordRetentionSeconds: config.abandonedRecordRetentionSeconds,
    sweep: {
      ...DEPLOYED_SWEEP,
      budgetMs: intEnv(SWEEP_ENV.budgetSeconds, DEPLOYED_SWEEP.budgetMs / 1000, { min: 1, max: 900 }) * 1000,
      pageSize: sweeper.batchSize, // the configuration's sweepBatchSize (SWEEP_BATCH_SIZE)
      concurrency: intEnv(SWEEP_ENV.concurrency, DEPLOYED_SWEEP.concurrency, { min: 1, max: 64 }),
    },
  };
});

export const handler = makeSweeperHandler(defaultDeps);
