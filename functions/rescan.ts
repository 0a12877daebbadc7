import {
  lazy,
  makeDynamoDbClient,
  makeGuardDutyClient,
  makeS3Client,
  readConfig,
  readScanConfig,
} from './commons/config.js';
import { ConfigurationError, InvalidCursorError, InvalidRequestError } from './domain/errors.js';
import { intEnv } from './commons/env.js';
import { logger } from './commons/logger.js';
import { runDeadline, workInRotation } from './commons/maintenance.js';
import {
  DEPLOYED_RESCAN_BUDGET_MS,
  RESCAN_BUDGET_ENV,
  RESCAN_CONCURRENCY,
  RESCAN_PAGE_SIZE,
} from './commons/scan-settings.js';
import {
  GuardDutyOnDemandScanner,
  LocalEngineOnDemandScanner,
  type OnDemandScanner,
} from './adapters/on-demand-scanner.js';
import { ObjectStore } from './adapters/object-store.js';
import { decodeStatusCursor, encodeStatusCursor } from './adapters/sweep-state.js';
import { statusIndexKey, UploadStore } from './adapters/upload-store.js';
import { cleanKey, type UploadRecord } from './domain/model.js';

export interface RescanDeps {
  store: UploadStore;
  objects: ObjectStore;
  /** How to ask the engine to scan a promoted copy; its result comes back through the intake. */
  scanner: OnDemandScanner;
  bucket: string;
  now: () => Date;
  pageSize: number;
  concurrency: number;
  budgetMs: number;
}

export interface RescanReport {
  /** Uploads whose promoted copy was sent to the engine (locally: scanned, the result handled). */
  requested: string[];
  /** Uploads left alone this time, and why (no promoted copy, or `failed: <error>`). */
  skipped: Array<{ uploadId: string; why: string }>;
  /** Present when the budget ran out: invoke again with `{"cursor": "<this>"}` to go on. */
  cursor?: string;
}

/** Margin kept from the function's own timeout for the page in progress and the answer. */
const RESCAN_MARGIN_MS = 5_000;

/**
 * Rescan: asks the engine to scan every promoted file again (after a signature update, say),
 * oldest PROCESSED first, a page at a time within a time budget, answering a cursor to continue
 * from. GuardDuty's on-demand scan on AWS, the local ClamAV engine locally; either way the result
 * comes back through the intake, which quarantines an upload whose copy is now found infected.
 * An operator action: `npm run rescan` locally, `aws lambda invoke` on AWS.
 */
export function makeRescanHandler(deps: () => RescanDeps) {
  return async (
    event?: { cursor?: unknown },
    context?: { getRemainingTimeInMillis?: () => number },
  ): Promise<RescanReport> => {
    const { store, objects, scanner, bucket, now, pageSize, concurrency, budgetMs } = deps();
    const cursor = parseCursor(event);
    const report: RescanReport = { requested: [], skipped: [] };
    const rescan = async (record: UploadRecord) => {
      const key = cleanKey(record.uploadId);
      const head = await objects.head(bucket, key);
      if (head?.versionId === undefined) {
        report.skipped.push({ uploadId: record.uploadId, why: 'no promoted copy in clean/' });
        return;
      }
      await scanner.request({ bucket, key, versionId: head.versionId });
      report.requested.push(record.uploadId);
    };
    const started = now().getTime();
    const upTo = now().toISOString();
    const lane = {
      name: 'processed',
      ...(cursor !== undefined ? { startKey: decodeStatusCursor(cursor, 'PROCESSED') } : {}),
      read: (startKey?: Record<string, unknown>) =>
        store.pageByStatus({
          status: 'PROCESSED',
          from: '0000',
          to: upTo,
          limit: pageSize,
          ...(startKey ? { startKey } : {}),
        }),
      keyOf: (record: UploadRecord) => statusIndexKey(record, 'PROCESSED'),
      handle: rescan,
    };
    const rotation = await workInRotation([lane], {
      deadline: runDeadline(started, budgetMs, context, RESCAN_MARGIN_MS),
      clock: () => now().getTime(),
      concurrency,
      onError: (record, _lane, error) => {
        logger.error('rescan: upload failed', { uploadId: record.uploadId, error: error as Error });
        report.skipped.push({ uploadId: record.uploadId, why: `failed: ${(error as Error).name}` });
      },
    });
    if (rotation.stoppedBy !== undefined) throw rotation.stoppedBy;
    const position = rotation.positions[lane.name];
    if (position !== undefined) report.cursor = encodeStatusCursor(position);
    logger.info('rescan done', {
      engine: scanner.engine,
      requested: report.requested.length,
      skipped: report.skipped.length,
      more: report.cursor !== undefined,
    });
    return report;
  };
}

function parseCursor(event: { cursor?: unknown } | undefined): string | undefined {
  const extra = Object.keys(event ?? {}).filter((key) => key !== 'cursor');
  if (extra.length > 0) throw new InvalidRequestError({ issues: [`Unknown fields: ${extra.join(', ')}.`] });
  const cursor = event?.cursor;
  if (cursor !== undefined && typeof cursor !== 'string') throw new InvalidCursorError();
  return cursor;
}

const defaultDeps = lazy((): RescanDeps => {
  const config = readConfig();
  const { scanner, clamd } = readScanConfig();
  const onDemand =
    clamd !== undefined
      ? new LocalEngineOnDemandScanner()
      : scanner === 'guardduty'
        ? new GuardDutyOnDemandScanner(makeGuardDutyClient())
        : undefined;
  if (onDemand === undefined) {
    throw new ConfigurationError(
      `Rescans need an engine that can be asked to scan (GuardDuty, or ClamAV locally); the scanner is ${scanner}.`,
    );
  }
  return {
    store: new UploadStore(config.tableName, makeDynamoDbClient(config)),
    objects: new ObjectStore(makeS3Client(config)),
    scanner: onDemand,
    bucket: config.bucketName,
    now: () => new Date(),
    pageSize: RESCAN_PAGE_SIZE,
    concurrency: RESCAN_CONCURRENCY,
    budgetMs: intEnv(RESCAN_BUDGET_ENV, DEPLOYED_RESCAN_BUDGET_MS / 1000, { min: 1, max: 900 }) * 1000,
  };
});

export const handler = makeRescanHandler(defaultDeps);
