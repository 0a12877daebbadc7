import { MAX_DOWNLOAD_URL_TTL_SECONDS, MAX_UPLOAD_URL_TTL_SECONDS } from '../domain/upload-grant.js';

/**
 * The range and the default of each setting a deployer chooses, defined once: the CDK construct
 * (infra/pipeline/settings.ts), the configuration file's schema (config/) and the functions' env
 * reader (commons/config.ts) all check against these.
 */
export interface IntBounds {
  readonly min: number;
  /** @default no upper bound */
  readonly max?: number;
  readonly default: number;
}

/** Lifetime of upload grants (presigned POST policy or PUT URL), seconds. */
export const UPLOAD_URL_TTL_BOUNDS = {
  min: 1,
  max: MAX_UPLOAD_URL_TTL_SECONDS,
  default: MAX_UPLOAD_URL_TTL_SECONDS,
} as const satisfies IntBounds;

/** Lifetime of download URLs handed out by the status API, seconds. */
export const DOWNLOAD_URL_TTL_BOUNDS = {
  min: 1,
  max: MAX_DOWNLOAD_URL_TTL_SECONDS,
  default: MAX_DOWNLOAD_URL_TTL_SECONDS,
} as const satisfies IntBounds;

/**
 * A PROCESSING upload whose execution has ended without an outcome is marked FAILED after this,
 * seconds. The floor is 20 minutes because the deployed Validate step alone may run 15 minutes
 * (its Lambda and Task timeout), and the sweeper starts at most one execution per object version
 * per window of this length: a shorter window would start another execution while the first is
 * still validating (harmless, Claim lets one through, but wasted work). The local runtime's
 * shorter test timeouts (AIRLOCK_PROCESSING_TIMEOUT_MS) are handed to its sweeper directly.
 */
export const PROCESSING_TIMEOUT_BOUNDS = {
  min: 20 * 60,
  max: 24 * 3600,
  default: 3600,
} as const satisfies IntBounds;

/** How often the sweeper runs, whole minutes (EventBridge's rate schedules count minutes). */
export const SWEEP_INTERVAL_MINUTES_BOUNDS = { min: 1, default: 5 } as const satisfies IntBounds;

/** Per owner: uploads that may wait for their bytes (PENDING_UPLOAD) at once. */
export const QUOTA_OPEN_GRANTS_BOUNDS = { min: 1, max: 5000, default: 1000 } as const satisfies IntBounds;

/** Per owner: declared bytes granted per UTC day (10 GiB by default). */
export const QUOTA_BYTES_PER_DAY_BOUNDS = {
  min: 1,
  max: Number.MAX_SAFE_INTEGER,
  default: 10 * 1024 ** 3,
} as const satisfies IntBounds;

/** Uploads the sweeper handles per status per run. */
export const SWEEP_BATCH_SIZE_BOUNDS = { min: 1, max: 1000, default: 100 } as const satisfies IntBounds;

/** Days after which lifecycle removes anything left in quarantine/. */
export const QUARANTINE_RETENTION_DAYS_BOUNDS = { min: 1, default: 7 } as const satisfies IntBounds;

/** Days after which noncurrent (overwritten or deleted) object versions are removed. */
export const NONCURRENT_VERSION_RETENTION_DAYS_BOUNDS = { min: 1, default: 30 } as const satisfies IntBounds;

/**
 * What is promised of abandoned uploads (a grant never used, or expired): their record and audit
 * trail are kept at least this many days after the grant expired. Only then may DynamoDB's TTL
 * delete them (abandonedRecordRetentionDays, never less than this).
 */
export const ABANDONED_TRAIL_RETENTION_PROMISE_DAYS = 30;

/** Days an abandoned record (PENDING_UPLOAD, EXPIRED) is kept before DynamoDB's TTL may delete it. */
export const ABANDONED_RECORD_RETENTION_DAYS_BOUNDS = {
  min: ABANDONED_TRAIL_RETENTION_PROMISE_DAYS,
  max: 3650,
  default: 90,
} as const satisfies IntBounds;

/** Days rejected files are kept under rejected/ for forensics. */
export const REJECTED_RETENTION_DAYS_BOUNDS = { min: 1, default: 90 } as const satisfies IntBounds;

/** Throttling of the HTTP API's stage: steady requests per second and burst, both positive. */
export const API_THROTTLE_DEFAULTS = { rateLimit: 50, burstLimit: 100 } as const;

/** The retentions CloudWatch Logs accepts, in days (9999: never expire, CDK's INFINITE). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
  9999,
] as const;
export const LOG_RETENTION_DAYS_DEFAULT = 365;

/**
 * A browser origin allowed by CORS: `https://host[:port]`, or plain http for localhost during
 * development; no path, no wildcard.
 */
export const ALLOWED_ORIGIN = /^(https:\/\/[a-z0-9.-]+(:\d+)?|http:\/\/(localhost|127\.0\.0\.1)(:\d+)?)$/i;

/**
 * Quarantine's lifecycle must outlive an upload grant plus the processing bound, or the bytes of a
 * FAILED upload could expire before a redrive.
 */
export function quarantineOutlivesProcessing(
  quarantineRetentionSeconds: number,
  uploadUrlTtlSeconds: number,
  processingTimeoutSeconds: number,
): boolean {
  return quarantineRetentionSeconds > uploadUrlTtlSeconds + processingTimeoutSeconds;
}

/** "1 second", "15 minutes", "24 hours": a bound as people say it. */
export function describeSeconds(seconds: number): string {
  const [count, unit] =
    seconds % 3600 === 0
      ? [seconds / 3600, 'hour']
      : seconds % 60 === 0
        ? [seconds / 60, 'minute']
        : [seconds, 'second'];
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** Webhook deliveries: attempts in all, the first included, before a delivery is dead-lettered. */
export const WEBHOOK_MAX_ATTEMPTS_BOUNDS = { min: 1, max: 50, default: 10 } as const satisfies IntBounds;
/** Webhook deliveries: the pause after the first failure, seconds. */
export const WEBHOOK_INITIAL_DELAY_SECONDS_BOUNDS = {
  min: 1,
  max: 3600,
  default: 10,
} as const satisfies IntBounds;
/**
 * Webhook deliveries: the longest pause between attempts, seconds. At most 12 hours, the longest
 * an SQS message can be hidden (ChangeMessageVisibility), which is how AWS waits between attempts.
 */
export const WEBHOOK_MAX_DELAY_SECONDS_BOUNDS = {
  min: 1,
  max: 12 * 3600,
  default: 3600,
} as const satisfies IntBounds;

/** How often an audit digest is written, whole minutes (EventBridge's rate schedules count minutes). */
export const AUDIT_DIGEST_INTERVAL_MINUTES_BOUNDS = {
  min: 1,
  max: 24 * 60,
  default: 15,
} as const satisfies IntBounds;

/** How long S3 Object Lock keeps each audit digest from being deleted or overwritten, days. */
export const AUDIT_DIGEST_RETENTION_DAYS_BOUNDS = {
  min: 1,
  max: 36_500,
  default: 365,
} as const satisfies IntBounds;

/**
 * The Object Lock mode of the digest bucket's default retention: COMPLIANCE (no one, root
 * included, can delete a digest or shorten its retention) or GOVERNANCE (a principal granted
 * s3:BypassGovernanceRetention can).
 */
export const AUDIT_DIGEST_LOCK_MODES = ['COMPLIANCE', 'GOVERNANCE'] as const;
export type AuditDigestLockMode = (typeof AUDIT_DIGEST_LOCK_MODES)[number];
