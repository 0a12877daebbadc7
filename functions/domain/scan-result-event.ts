import { z } from 'zod';
import type { ObjectRef } from './model.js';
import type { MalwareScanResult, ScanResultStatus, ScanStatus } from './scan-verdict.js';

/**
 * The "Object Scan Result" event: what GuardDuty Malware Protection for S3 publishes on the
 * default bus for each object it scans (detail-type below, source `aws.guardduty`), and the one
 * shape the pipeline consumes whichever engine ran. The local ClamAV path and a custom engine send
 * the same shape with their own `source`; they may add `engineDetails` (engine and database
 * versions, the engine's reply), which GuardDuty does not publish.
 */
export const SCAN_RESULT_DETAIL_TYPE = 'GuardDuty Malware Protection Object Scan Result';
export const GUARDDUTY_SOURCE = 'aws.guardduty';
/** The source of the local runtime's ClamAV results. */
export const LOCAL_CLAMAV_SOURCE = 'airlock.clamav';

/** What GuardDuty is known as in records: it publishes neither an engine nor a signature version. */
export const GUARDDUTY_ENGINE = { name: 'Amazon GuardDuty Malware Protection for S3', version: 'managed' };
export const GUARDDUTY_DATABASE = { name: 'GuardDuty', version: 'managed by AWS' };

const SCAN_STATUSES: readonly ScanStatus[] = ['COMPLETED', 'SKIPPED', 'FAILED'];
const RESULT_STATUSES: readonly ScanResultStatus[] = [
  'NO_THREATS_FOUND',
  'THREATS_FOUND',
  'UNSUPPORTED',
  'ACCESS_DENIED',
  'FAILED',
];

const label = z.object({ name: z.string().min(1), version: z.string().min(1) });

/** The event as the intake accepts it: unknown statuses are kept as FAILED (never clean). */
export const objectScanResultEvent = z.object({
  id: z.string().min(1),
  'detail-type': z.literal(SCAN_RESULT_DETAIL_TYPE),
  source: z.string().min(1),
  time: z.string().min(1),
  detail: z.object({
    scanStatus: z.string(),
    s3ObjectDetails: z.object({
      bucketName: z.string().min(1),
      objectKey: z.string().min(1).max(1024),
      // The exact version scanned: a result without one cannot be matched to an upload.
      versionId: z.string().min(1),
      eTag: z.string().optional(),
    }),
    scanResultDetails: z.object({
      scanResultStatus: z.string(),
      threats: z
        .array(z.object({ name: z.string() }))
        .nullable()
        .optional(),
    }),
    engineDetails: z
      .object({
        engine: label,
        database: label.extend({ publishedAt: z.string().optional() }),
        engineReply: z.string(),
        streamedBytes: z.number().int().min(0).optional(),
        scannedAt: z.string().min(1),
        unscannable: z
          .object({ reason: z.enum(['ENCRYPTED', 'LIMIT_EXCEEDED', 'UNSUPPORTED']), engineName: z.string() })
          .optional(),
      })
      .optional(),
  }),
});
export type ObjectScanResultEvent = z.infer<typeof objectScanResultEvent>;

/** The object version a result is about. */
export function scannedObject(event: ObjectScanResultEvent): ObjectRef {
  const { bucketName, objectKey, versionId } = event.detail.s3ObjectDetails;
  return { bucket: bucketName, key: objectKey, versionId };
}

/** The result an event carries, in the pipeline's one shape. */
export function resultOfEvent(event: ObjectScanResultEvent): MalwareScanResult {
  const { detail } = event;
  const known = <T extends string>(values: readonly T[], value: string): T | 'FAILED' =>
    (values as readonly string[]).includes(value) ? (value as T) : 'FAILED';
  const threats = detail.scanResultDetails.threats;
  const engine = detail.engineDetails;
  return {
    scanStatus: known(SCAN_STATUSES, detail.scanStatus),
    scanResultDetails: {
      scanResultStatus: known(RESULT_STATUSES, detail.scanResultDetails.scanResultStatus),
      threats: threats === undefined || threats === null ? null : threats,
    },
    ...(engine?.unscannable ? { unscannable: engine.unscannable } : {}),
    engine: engine?.engine ?? GUARDDUTY_ENGINE,
    database: engine?.database ?? GUARDDUTY_DATABASE,
    engineReply: engine?.engineReply ?? JSON.stringify(detail.scanResultDetails),
    ...(engine?.streamedBytes === undefined ? {} : { streamedBytes: engine.streamedBytes }),
    scannedAt: engine?.scannedAt ?? event.time,
  };
}

/** The event of a result the local ClamAV engine produced for one object version. */
export function scanResultEvent(params: {
  id: string;
  object: ObjectRef;
  result: MalwareScanResult;
  etag?: string;
  source?: string;
}): ObjectScanResultEvent & { version: '0'; resources: string[] } {
  const { object, result } = params;
  return {
    version: '0',
    id: params.id,
    'detail-type': SCAN_RESULT_DETAIL_TYPE,
    source: params.source ?? LOCAL_CLAMAV_SOURCE,
    time: result.scannedAt.replace(/\.\d{3}Z$/, 'Z'),
    resources: [],
    detail: {
      scanStatus: result.scanStatus,
      s3ObjectDetails: {
        bucketName: object.bucket,
        objectKey: object.key,
        versionId: object.versionId,
        ...(params.etag ? { eTag: params.etag } : {}),
      },
      scanResultDetails: result.scanResultDetails,
      engineDetails: {
        engine: result.engine,
        database: result.database,
        engineReply: result.engineReply,
        ...(result.streamedBytes === undefined ? {} : { streamedBytes: result.streamedBytes }),
        scannedAt: result.scannedAt,
        ...(result.unscannable ? { unscannable: result.unscannable } : {}),
      },
    },
  };
}
