import { lazy, makeDynamoDbClient, makeS3Client, readConfig } from './commons/config.js';
import { InvalidTaskInputError, TransitionConflictError } from './commons/errors.js';
import { logger } from './commons/logger.js';
import { ObjectStore } from './adapters/object-store.js';
import { ScanResultStore } from './adapters/scan-result-store.js';
import { UploadStore } from './adapters/upload-store.js';
import {
  CLEAN_PREFIX,
  QUARANTINED_OBJECT_TAG,
  rejectedKey,
  type ObjectRef,
  type Reason,
  type UploadRecord,
} from './domain/model.js';
import { nextEventTime } from './domain/audit-trail.js';
import { quarantinedEvent } from './domain/transition-events.js';
import { objectScanResultEvent, resultOfEvent, scannedObject } from './domain/scan-result-event.js';
import { decideScan, summarizeScan, type MalwareScanResult } from './domain/scan-verdict.js';
import { uploadIdFromKey } from './domain/task-contract.js';
import { isUploadId } from './domain/upload-id.js';

/** Lost races to retry (another version's discard appended to the trail meanwhile). */
const MAX_QUARANTINE_ATTEMPTS = 3;

export interface ScanResultDeps {
  results: ScanResultStore;
  store: UploadStore;
  objects: ObjectStore;
  bucket: string;
  now: () => Date;
}

export type ScanResultHandling =
  /** A result for a quarantine version, kept for the Scan step (or already kept: a duplicate). */
  | 'stored'
  | 'duplicate'
  /** A rescan of a promoted copy: nothing found, or it was quarantined. */
  | 'rescanned'
  | 'quarantined'
  /** Not about one of this pipeline's objects. */
  | 'ignored';

/**
 * The intake of "Object Scan Result" events: GuardDuty's on AWS (through the EventBridge rule),
 * the ClamAV engine's locally, a custom engine's. A result for a quarantine version is stored by
 * that exact version for the Scan step, which reads it whenever it runs: before or after the
 * result, the outcome is the same. A result for a promoted copy under clean/ comes from a rescan:
 * a threat found there quarantines the upload.
 */
export function makeScanResultHandler(deps: () => ScanResultDeps) {
  return async (event: unknown): Promise<{ handled: ScanResultHandling }> => {
    const parsed = objectScanResultEvent.safeParse(event);
    if (!parsed.success) {
      logger.error('scan result event rejected', {
        issues: parsed.error.issues.map((i) => i.path.join('.')),
      });
      throw new InvalidTaskInputError('The scan result event does not match the Object Scan Result shape.');
    }
    const { results, store, objects, bucket, now } = deps();
    const object = scannedObject(parsed.data);
    const result = resultOfEvent(parsed.data);
    if (object.bucket !== bucket) return ignored('another bucket', object);
    const quarantined = uploadIdFromKey(object.key);
    const promoted = object.key.startsWith(CLEAN_PREFIX) ? object.key.slice(CLEAN_PREFIX.length) : undefined;
    const uploadId = quarantined ?? promoted;
    if (uploadId === undefined || !isUploadId(uploadId)) return ignored('not an upload', object);
    logger.appendKeys({ uploadId });
    try {
      const at = now().toISOString();
      if (quarantined !== undefined) {
        const written = await results.putResult(uploadId, object.versionId, result, at);
        logger.info('scan result', { status: result.scanResultDetails.scanResultStatus, written });
        return { handled: written ? 'stored' : 'duplicate' };
      }
      await results.putRescan(uploadId, object.versionId, result, at);
      const decision = decideScan(result);
      if (decision.kind === 'REJECT' && decision.reason.code === 'MALWARE_DETECTED') {
        await quarantine({ store, objects, now }, uploadId, object, result, decision.reason);
        return { handled: 'quarantined' };
      }
      // Not found again, or not fully scanned / failed this time: the promoted file stays.
      logger.info('rescan result', { status: result.scanResultDetails.scanResultStatus });
      return { handled: 'rescanned' };
    } finally {
      logger.removeKeys(['uploadId']);
    }
  };
}

function ignored(why: string, object: ObjectRef): { handled: 'ignored' } {
  logger.warn('scan result ignored', { why, key: object.key.slice(0, 100) });
  return { handled: 'ignored' };
}

/**
 * A promoted file found infected: its download stops at once (the tag, which the bucket policy
 * denies reading, then the status, for which the status API signs nothing), it is kept under
 * rejected/ for forensics and removed from clean/. Each step is idempotent, so a repeated
 * detection, or a retry after a crash, finishes what is left.
 */
async function quarantine(
  { store, objects, now }: Pick<ScanResultDeps, 'store' | 'objects' | 'now'>,
  uploadId: string,
  promoted: ObjectRef,
  result: MalwareScanResult,
  reason: Reason,
): Promise<void> {
  let record: UploadRecord | undefined = await store.get(uploadId);
  if (record === undefined || (record.status !== 'PROCESSED' && record.status !== 'QUARANTINED')) {
    logger.warn('threat found in a promoted copy of an upload that is not PROCESSED', {
      status: record?.status,
    });
    return;
  }
  await objects.tagVersion(promoted, { [QUARANTINED_OBJECT_TAG.key]: QUARANTINED_OBJECT_TAG.value });
  for (let attempt = 1; record?.status === 'PROCESSED' && attempt <= MAX_QUARANTINE_ATTEMPTS; attempt++) {
    const scan = summarizeScan(result);
    const written = await store.quarantine({
      record,
      event: quarantinedEvent({
        record,
        at: nextEventTime(now(), record.trailHead),
        reasons: [reason],
        scan,
      }),
      reasons: [reason],
      scan,
      storedKey: rejectedKey(uploadId),
    });
    // Not written: the trail moved on (a discard appended meanwhile) or another detection won.
    record = written.written ? written.record : await store.get(uploadId);
  }
  if (record?.status !== 'QUARANTINED') {
    throw new TransitionConflictError(
      `Could not record QUARANTINED: the upload is ${record?.status ?? 'missing'}.`,
    );
  }
  await objects.copyVersionOnce(promoted, rejectedKey(uploadId), {
    contentType: 'application/octet-stream',
    metadata: { 'upload-id': uploadId },
    dropTags: true,
  });
  await objects.deleteVersion(promoted);
  logger.warn('promoted file quarantined', { threats: result.scanResultDetails.threats?.length ?? 0 });
}

const defaultDeps = lazy((): ScanResultDeps => {
  const config = readConfig();
  const dynamoDb = makeDynamoDbClient(config);
  return {
    results: new ScanResultStore(config.tableName, dynamoDb),
    store: new UploadStore(config.tableName, dynamoDb),
    objects: new ObjectStore(makeS3Client(config)),
    bucket: config.bucketName,
    now: () => new Date(),
  };
});

export const handler = makeScanResultHandler(defaultDeps);
