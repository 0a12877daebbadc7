import { lazy } from './commons/config.js';
import { InvalidCursorError, InvalidRequestError } from './domain/errors.js';
import { intEnv } from './commons/env.js';
import { logger } from './commons/logger.js';
import { maintenanceAdapters, runDeadline, workInRotation } from './commons/maintenance.js';
import { DEPLOYED_REDRIVE_BUDGET_MS, DEPLOYED_SWEEP, REDRIVE_BUDGET_ENV } from './commons/sweep-settings.js';
import type { ExecutionGateway } from './adapters/execution-gateway.js';
import type { ObjectStore } from './adapters/object-store.js';
import { decodeStatusCursor, encodeStatusCursor } from './adapters/sweep-state.js';
import { statusIndexKey, type UploadStore } from './adapters/upload-store.js';
import { canRedrive } from './domain/audit-trail.js';
import { quarantineKey, type UploadRecord } from './domain/model.js';
import { objectCreatedEvent } from './domain/object-event.js';

export interface RedriveDeps {
  store: UploadStore;
  objects: ObjectStore;
  executions: ExecutionGateway;
  bucket: string;
  now: () => Date;
  /** FAILED records per query page. */
  pageSize: number;
  /** Records of a page redriven at the same time. */
  concurrency: number;
  /** How long one invocation may work before it answers with a cursor to continue from. */
  budgetMs: number;
}

export interface RedriveReport {
  /** FAILED uploads whose claimed version is still in quarantine: an execution was started. */
  redriven: string[];
  /**
   * FAILED uploads that cannot be redriven (no claimed version, its bytes are gone, or its trail
   * has no room for another redrive: `redrive limit reached`), or whose redrive failed this time (`failed: <error name>`: name them in a later invocation).
   */
  skipped: Array<{ uploadId: string; why: string }>;
  /**
   * Present when the budget ran out before the last FAILED upload: invoke again with
   * `{"cursor": "<this>"}` to go on from there.
   */
  cursor?: string;
  /** Named uploads the budget did not reach: invoke again with these as `uploadIds`. */
  remaining?: string[];
}

/** Uploads one invocation may name; more are refused (never silently dropped). */
export const MAX_NAMED_UPLOADS = 1000;
/** Margin kept from the function's own timeout for the page in progress and the answer. */
const REDRIVE_MARGIN_MS = 3_000;

/**
 * Redrive: starts a new execution for each FAILED upload, on the very version it claimed (or, if
 * it failed before any claim, the first version in quarantine). A FAILED upload keeps its
 * quarantine version (the release runs only after an outcome), and Claim accepts FAILED →
 * PROCESSING for the same version, so the pipeline resumes from the start and every step is
 * idempotent. One execution per failure: the execution name derives from the version and the
 * time the upload failed, so running the redrive twice starts nothing more. An operator action:
 * run it once the cause (an outage, a bad deployment) is gone.
 *
 * Without ids it pages through every FAILED upload, oldest first, from `cursor` (or the start),
 * until the end or its time budget; then it answers `cursor` to continue from. Uploads it skips
 * stay FAILED, and the cursor moves past them, so that they never hold the rest back.
 */
export function makeRedriveHandler(deps: () => RedriveDeps) {
  return async (
    event?: { uploadIds?: unknown; cursor?: unknown },
    context?: { getRemainingTimeInMillis?: () => number },
  ): Promise<RedriveReport> => {
    const { store, objects, executions, bucket, now, pageSize, concurrency, budgetMs } = deps();
    const request = parseRequest(event);
    const report: RedriveReport = { redriven: [], skipped: [] };

    const redrive = async (record: UploadRecord) => {
      if (!canRedrive(record)) {
        // Claim would refuse it too: its trail has no room for another redrive and its outcome.
        report.skipped.push({ uploadId: record.uploadId, why: 'redrive limit reached' });
        return;
      }
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
        return;
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
    };

    const started = now().getTime();
    const upTo = now().toISOString();
    // Named uploads are read one by one, whatever their age; otherwise every FAILED one, by page.
    const lane =
      request.uploadIds !== undefined
        ? namedLane(store, request.uploadIds, pageSize, redrive)
        : {
            name: 'failed',
            ...(request.cursor !== undefined
              ? { startKey: decodeStatusCursor(request.cursor, 'FAILED') }
              : {}),
            read: (startKey?: Record<string, unknown>) =>
              store.pageByStatus({
                status: 'FAILED',
                from: '0000',
                to: upTo,
                limit: pageSize,
                ...(startKey ? { startKey } : {}),
              }),
            keyOf: (record: UploadRecord) => statusIndexKey(record, 'FAILED'),
            handle: redrive,
          };
    const rotation = await workInRotation([lane], {
      deadline: runDeadline(started, budgetMs, context, REDRIVE_MARGIN_MS),
      clock: () => now().getTime(),
      concurrency,
      onError: (record, _lane, error) => {
        logger.error('redrive: upload failed', { uploadId: record.uploadId, error: error as Error });
        report.skipped.push({ uploadId: record.uploadId, why: `failed: ${(error as Error).name}` });
      },
    });
    if (rotation.stoppedBy !== undefined) throw rotation.stoppedBy;
    const position = rotation.positions[lane.name];
    if (position !== undefined && request.uploadIds !== undefined)
      report.remaining = request.uploadIds.slice(Number(position.next));
    else if (position !== undefined) report.cursor = encodeStatusCursor(position);
    logger.info('redrive done', {
      redriven: report.redriven.length,
      skipped: report.skipped.length,
      errors: rotation.errors,
      more: report.cursor !== undefined || report.remaining !== undefined,
    });
    return report;
  };
}

function parseRequest(event: { uploadIds?: unknown; cursor?: unknown } | undefined): {
  uploadIds?: string[];
  cursor?: string;
} {
  const { uploadIds, cursor } = event ?? {};
  if (uploadIds !== undefined && cursor !== undefined)
    throw new InvalidRequestError({ issues: ['Give either uploadIds or a cursor, not both.'] });
  if (cursor !== undefined && typeof cursor !== 'string') throw new InvalidCursorError();
  if (uploadIds === undefined) return cursor === undefined ? {} : { cursor };
  if (
    !Array.isArray(uploadIds) ||
    uploadIds.length > MAX_NAMED_UPLOADS ||
    uploadIds.some((id) => typeof id !== 'string')
  ) {
    throw new InvalidRequestError({
      issues: [`uploadIds must be an array of at most ${MAX_NAMED_UPLOADS} upload ids.`],
    });
  }
  return { uploadIds: [...new Set(uploadIds as string[])] };
}

/** The named uploads, a page of ids at a time, keeping those that are FAILED. */
function namedLane(
  store: UploadStore,
  uploadIds: string[],
  pageSize: number,
  handle: (record: UploadRecord) => Promise<void>,
) {
  return {
    name: 'named',
    read: async (startKey?: Record<string, unknown>) => {
      const from = typeof startKey?.next === 'number' ? startKey.next : 0;
      const ids = uploadIds.slice(from, from + pageSize);
      const records = await Promise.all(ids.map((id) => store.get(id)));
      const next = from + ids.length;
      return {
        items: records.filter((record): record is UploadRecord => record?.status === 'FAILED'),
        ...(next < uploadIds.length ? { lastKey: { next } } : {}),
      };
    },
    keyOf: (record: UploadRecord) => ({ next: uploadIds.indexOf(record.uploadId) + 1 }),
    handle,
  };
}

const defaultDeps = lazy((): RedriveDeps => {
  const { store, objects, executions, bucket, now } = maintenanceAdapters();
  return {
    store,
    objects,
    executions,
    bucket,
    now,
    pageSize: DEPLOYED_SWEEP.pageSize,
    concurrency: DEPLOYED_SWEEP.concurrency,
    budgetMs: intEnv(REDRIVE_BUDGET_ENV, DEPLOYED_REDRIVE_BUDGET_MS / 1000, { min: 1, max: 900 }) * 1000,
  };
});

export const handler = makeRedriveHandler(defaultDeps);
