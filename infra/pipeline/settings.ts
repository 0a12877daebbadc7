import { Duration, Token } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import {
  ABANDONED_RECORD_RETENTION_DAYS_BOUNDS,
  ALLOWED_ORIGIN,
  API_THROTTLE_DEFAULTS,
  AUDIT_DIGEST_INTERVAL_MINUTES_BOUNDS,
  AUDIT_DIGEST_LOCK_MODES,
  AUDIT_DIGEST_RETENTION_DAYS_BOUNDS,
  type AuditDigestLockMode,
  DOWNLOAD_URL_TTL_BOUNDS,
  describeSeconds,
  LOG_RETENTION_DAYS_DEFAULT,
  NONCURRENT_VERSION_RETENTION_DAYS_BOUNDS,
  PROCESSING_TIMEOUT_BOUNDS,
  QUARANTINE_RETENTION_DAYS_BOUNDS,
  quarantineOutlivesProcessing,
  QUOTA_BYTES_PER_DAY_BOUNDS,
  QUOTA_OPEN_GRANTS_BOUNDS,
  REJECTED_RETENTION_DAYS_BOUNDS,
  SWEEP_BATCH_SIZE_BOUNDS,
  SWEEP_INTERVAL_MINUTES_BOUNDS,
  UPLOAD_URL_TTL_BOUNDS,
  type IntBounds,
} from '../../functions/commons/setting-bounds.js';
import { DEFAULT_TYPE_POLICY, parseTypePolicy, type TypePolicy } from '../../functions/domain/type-policy.js';
import { PIPELINE_FUNCTIONS, type PipelineFunction } from './function-names.js';
import type { ApiThrottleProps, ScannerProps, UploadPipelineProps } from './props.js';
import { resolveWebhookSettings, type WebhookSettings } from './webhook-settings.js';

/** The props with their defaults applied, checked. */
export interface PipelineSettings extends WebhookSettings {
  readonly allowedOrigins: string[];
  readonly typePolicy: TypePolicy;
  readonly uploadUrlTtlSeconds: number;
  readonly downloadUrlTtlSeconds: number;
  readonly quarantineRetention: Duration;
  readonly noncurrentVersionRetention: Duration;
  readonly rejectedRetention: Duration;
  readonly abandonedRecordRetentionDays: number;
  readonly logRetention: logs.RetentionDays;
  readonly processingTimeoutSeconds: number;
  readonly sweepInterval: Duration;
  readonly sweepBatchSize: number;
  readonly auditDigestInterval: Duration;
  readonly auditDigestRetentionDays: number;
  readonly auditDigestLockMode: AuditDigestLockMode;
  readonly quotaOpenGrants: number;
  readonly quotaBytesPerDay: number;
  readonly apiThrottle: ApiThrottleProps;
  readonly reservedConcurrency: Partial<Record<PipelineFunction, number>>;
  readonly scanner: ScannerProps;
}

/** `aws.*` sources are AWS services'; a custom engine's events cannot claim one. */
const CUSTOM_EVENT_SOURCE = /^(?!aws\.)[A-Za-z0-9][A-Za-z0-9._\-/]{0,255}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/;

/**
 * Applies defaults and refuses misconfiguration at synth time, with a message saying why. Pure:
 * it reads nothing but the props, so it is tested without synthesizing.
 */
export function resolveSettings(props: UploadPipelineProps): PipelineSettings {
  const fail = (message: string): never => {
    throw new Error(`UploadPipeline: ${message}`);
  };
  /** A concrete duration in seconds within `bounds`, or the bounds' default. */
  const seconds = (duration: Duration | undefined, bounds: IntBounds, name: string): number => {
    const value = (duration ?? Duration.seconds(bounds.default)).toSeconds();
    if (Token.isUnresolved(value)) fail(`${name} must be a concrete duration.`);
    if (value < bounds.min || value > (bounds.max ?? Infinity)) {
      const max = bounds.max === undefined ? 'no upper bound' : describeSeconds(bounds.max);
      fail(`${name} must be between ${describeSeconds(bounds.min)} and ${max}, got ${value}s.`);
    }
    return value;
  };
  const days = (duration: Duration | undefined, bounds: IntBounds, name: string): Duration => {
    const value = duration ?? Duration.days(bounds.default);
    const count = value.toDays({ integral: false });
    if (!Number.isInteger(count) || count < bounds.min || count > (bounds.max ?? Infinity)) {
      const range =
        bounds.max === undefined ? `at least ${bounds.min}` : `from ${bounds.min} to ${bounds.max}`;
      fail(`${name} must be a whole number of days, ${range}.`);
    }
    return value;
  };

  const allowedOrigins = props.allowedOrigins ?? [];
  for (const origin of allowedOrigins) {
    if (!ALLOWED_ORIGIN.test(origin)) {
      fail(
        `allowedOrigins entry "${origin}" must be an https origin (or http://localhost) without path or wildcard.`,
      );
    }
  }
  const uploadUrlTtlSeconds = seconds(props.uploadUrlTtl, UPLOAD_URL_TTL_BOUNDS, 'uploadUrlTtl');
  const downloadUrlTtlSeconds = seconds(props.downloadUrlTtl, DOWNLOAD_URL_TTL_BOUNDS, 'downloadUrlTtl');
  const processingTimeoutSeconds = seconds(
    props.processingTimeout,
    PROCESSING_TIMEOUT_BOUNDS,
    'processingTimeout',
  );
  const sweepInterval = props.sweepInterval ?? Duration.minutes(SWEEP_INTERVAL_MINUTES_BOUNDS.default);
  const sweepSeconds = sweepInterval.toSeconds();
  if (Token.isUnresolved(sweepSeconds)) fail('sweepInterval must be a concrete duration.');
  if (sweepSeconds < SWEEP_INTERVAL_MINUTES_BOUNDS.min * 60 || sweepSeconds % 60 !== 0) {
    fail('sweepInterval must be a whole number of minutes.');
  }
  const auditDigestInterval =
    props.auditDigestInterval ?? Duration.minutes(AUDIT_DIGEST_INTERVAL_MINUTES_BOUNDS.default);
  const digestSeconds = auditDigestInterval.toSeconds();
  if (
    Token.isUnresolved(digestSeconds) ||
    digestSeconds % 60 !== 0 ||
    digestSeconds < AUDIT_DIGEST_INTERVAL_MINUTES_BOUNDS.min * 60 ||
    digestSeconds > AUDIT_DIGEST_INTERVAL_MINUTES_BOUNDS.max * 60
  ) {
    fail(
      `auditDigestInterval must be a whole number of minutes from ${AUDIT_DIGEST_INTERVAL_MINUTES_BOUNDS.min} to ${AUDIT_DIGEST_INTERVAL_MINUTES_BOUNDS.max}.`,
    );
  }
  const auditDigestLockMode = props.auditDigestLockMode ?? 'COMPLIANCE';
  if (!(AUDIT_DIGEST_LOCK_MODES as readonly string[]).includes(auditDigestLockMode)) {
    fail(
      `auditDigestLockMode must be one of ${AUDIT_DIGEST_LOCK_MODES.join(', ')}, got ${JSON.stringify(auditDigestLockMode)}.`,
    );
  }
  const sweepBatchSize = props.sweepBatchSize ?? SWEEP_BATCH_SIZE_BOUNDS.default;
  if (
    !Number.isInteger(sweepBatchSize) ||
    sweepBatchSize < SWEEP_BATCH_SIZE_BOUNDS.min ||
    sweepBatchSize > SWEEP_BATCH_SIZE_BOUNDS.max
  ) {
    fail(
      `sweepBatchSize must be a whole number from ${SWEEP_BATCH_SIZE_BOUNDS.min} to ${SWEEP_BATCH_SIZE_BOUNDS.max}, got ${sweepBatchSize}.`,
    );
  }
  const whole = (value: number | undefined, bounds: IntBounds, name: string): number => {
    const chosen = value ?? bounds.default;
    const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
    if (Token.isUnresolved(chosen) || !Number.isInteger(chosen) || chosen < bounds.min || chosen > max) {
      fail(`${name} must be a whole number from ${bounds.min} to ${max}, got ${chosen}.`);
    }
    return chosen;
  };
  const quotaOpenGrants = whole(props.quotas?.openGrants, QUOTA_OPEN_GRANTS_BOUNDS, 'quotas.openGrants');
  const quotaBytesPerDay = whole(props.quotas?.bytesPerDay, QUOTA_BYTES_PER_DAY_BOUNDS, 'quotas.bytesPerDay');
  const apiThrottle = props.apiThrottle ?? API_THROTTLE_DEFAULTS;
  if (!(apiThrottle.rateLimit > 0) || !(apiThrottle.burstLimit > 0))
    fail('apiThrottle limits must be positive.');
  if (!Number.isInteger(apiThrottle.burstLimit))
    fail('apiThrottle.burstLimit must be a whole number of requests.');
  const reservedConcurrency = props.reservedConcurrency ?? {};
  for (const [name, value] of Object.entries(reservedConcurrency)) {
    if (!(PIPELINE_FUNCTIONS as readonly string[]).includes(name)) {
      fail(`reservedConcurrency names an unknown function "${name}".`);
    }
    if (value === undefined) continue;
    if (Token.isUnresolved(value) || !Number.isInteger(value) || value < 1) {
      fail(`reservedConcurrency of ${name} must be a whole number, at least 1 (0 would stop the function).`);
    }
  }
  if (props.existingBucket && props.acceptExistingBucketRisks !== true) {
    fail(
      'existingBucket is refused unless acceptExistingBucketRisks is true: its owner must enable versioning, ' +
        'EventBridge notifications, Block Public Access and a TLS-only policy, which this construct cannot enforce.',
    );
  }
  if (props.jwtIssuer) {
    if (!/^https:\/\//.test(props.jwtIssuer.issuerUrl)) fail('jwtIssuer.issuerUrl must be an https URL.');
    if (props.jwtIssuer.audience.length === 0) fail('jwtIssuer.audience must name at least one audience.');
  }
  const scanner = props.scanner ?? 'guardduty';
  if (typeof scanner === 'object') {
    if (scanner.kind !== 'custom') fail('scanner must be "guardduty", "none" or { kind: "custom", … }.');
    if (!CUSTOM_EVENT_SOURCE.test(scanner.eventSource)) {
      fail(`scanner.eventSource "${scanner.eventSource}" must be an event source of your own (not aws.*).`);
    }
    for (const arn of scanner.readerRoleArns ?? []) {
      if (!ROLE_ARN.test(arn)) fail(`scanner.readerRoleArns entry "${arn}" must be an IAM role ARN.`);
    }
  } else if (scanner !== 'guardduty' && scanner !== 'none') {
    fail(`scanner must be "guardduty", "none" or { kind: "custom", … }, got ${JSON.stringify(scanner)}.`);
  }
  let typePolicy: TypePolicy;
  try {
    typePolicy = parseTypePolicy(JSON.stringify(props.typePolicy ?? DEFAULT_TYPE_POLICY));
  } catch (error) {
    return fail((error as Error).message);
  }
  const quarantineRetention = days(
    props.quarantineRetention,
    QUARANTINE_RETENTION_DAYS_BOUNDS,
    'quarantineRetention',
  );
  if (
    !quarantineOutlivesProcessing(
      quarantineRetention.toSeconds(),
      uploadUrlTtlSeconds,
      processingTimeoutSeconds,
    )
  ) {
    fail(
      'quarantineRetention must exceed uploadUrlTtl plus processingTimeout, or bytes could expire before a redrive.',
    );
  }

  return {
    allowedOrigins,
    typePolicy,
    uploadUrlTtlSeconds,
    downloadUrlTtlSeconds,
    quarantineRetention,
    noncurrentVersionRetention: days(
      props.noncurrentVersionRetention,
      NONCURRENT_VERSION_RETENTION_DAYS_BOUNDS,
      'noncurrentVersionRetention',
    ),
    rejectedRetention: days(props.rejectedRetention, REJECTED_RETENTION_DAYS_BOUNDS, 'rejectedRetention'),
    abandonedRecordRetentionDays: days(
      props.abandonedRecordRetention,
      ABANDONED_RECORD_RETENTION_DAYS_BOUNDS,
      'abandonedRecordRetention',
    ).toDays(),
    logRetention: props.logRetention ?? (LOG_RETENTION_DAYS_DEFAULT satisfies logs.RetentionDays),
    auditDigestInterval,
    auditDigestRetentionDays: days(
      props.auditDigestRetention,
      AUDIT_DIGEST_RETENTION_DAYS_BOUNDS,
      'auditDigestRetention',
    ).toDays(),
    auditDigestLockMode,
    processingTimeoutSeconds,
    sweepInterval,
    sweepBatchSize,
    quotaOpenGrants,
    quotaBytesPerDay,
    apiThrottle,
    reservedConcurrency,
    scanner,
    ...resolveWebhookSettings(props, fail),
  };
}

export { scannerKindOf } from '../../functions/domain/scan-verdict.js';
