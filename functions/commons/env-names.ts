import { FAULTS_ENV } from './faults.js';
import type { TypePolicy } from '../domain/type-policy.js';

/**
 * The environment variables of the functions, named once. The CDK construct and the local runtime
 * set them; `readConfig` (and the sweeper) read them.
 */
export const ENV_NAMES = {
  /** DynamoDB table of records and audit events (required). */
  tableName: 'TABLE_NAME',
  /** The bucket with quarantine/, clean/ and rejected/ (required). */
  bucketName: 'BUCKET_NAME',
  /** Lifetime of upload grants, seconds (UPLOAD_URL_TTL_BOUNDS). */
  uploadUrlTtlSeconds: 'UPLOAD_URL_TTL_SECONDS',
  /** Lifetime of download URLs, seconds (DOWNLOAD_URL_TTL_BOUNDS). */
  downloadUrlTtlSeconds: 'DOWNLOAD_URL_TTL_SECONDS',
  /** The type policy as JSON, replacing the built-in one. */
  typePolicy: 'TYPE_POLICY',
  /** create-upload and sweeper: an abandoned record may be deleted (TTL) after this, days. */
  abandonedRecordRetentionDays: 'ABANDONED_RECORD_RETENTION_DAYS',
  /** create-upload: uploads an owner may have waiting for their bytes (QUOTA_OPEN_GRANTS_BOUNDS). */
  quotaOpenGrants: 'QUOTA_OPEN_GRANTS',
  /** create-upload: declared bytes per owner per UTC day (QUOTA_BYTES_PER_DAY_BOUNDS). */
  quotaBytesPerDay: 'QUOTA_BYTES_PER_DAY',
  /** Sweeper: a PROCESSING upload whose execution ended is FAILED after this, seconds. */
  processingTimeoutSeconds: 'PROCESSING_TIMEOUT_SECONDS',
  /** Sweeper: uploads handled per status per run (SWEEP_BATCH_SIZE_BOUNDS). */
  sweepBatchSize: 'SWEEP_BATCH_SIZE',
  /** Sweeper: how long one run may work, seconds (the deployment derives it from the interval and timeout). */
  sweepTimeBudgetSeconds: 'SWEEP_TIME_BUDGET_SECONDS',
  /** Sweeper: records of one page handled at the same time. */
  sweepConcurrency: 'SWEEP_CONCURRENCY',
  /** Redrive: how long one invocation may work before it answers a cursor, seconds. */
  redriveTimeBudgetSeconds: 'REDRIVE_TIME_BUDGET_SECONDS',
  /** Rescan: how long one invocation may work before it answers a cursor, seconds. */
  rescanTimeBudgetSeconds: 'RESCAN_TIME_BUDGET_SECONDS',
  /** Sweeper and redrive: the pipeline state machine they start executions of. */
  stateMachineArn: 'STATE_MACHINE_ARN',
  /** The malware scanner: guardduty, custom or none (the Scan step, the intake, the rescan). */
  scanner: 'SCANNER',
  /** Outcome events: the EventBridge bus they are published to. */
  eventBusName: 'EVENT_BUS_NAME',
  /** Webhook delivery: the endpoints as JSON, [{id, url, secretArn}] (no secret values). */
  webhookEndpoints: 'WEBHOOK_ENDPOINTS',
  /** Webhook delivery: the queue its deliveries wait in between attempts. */
  webhookQueueUrl: 'WEBHOOK_QUEUE_URL',
  /** Webhook delivery: attempts in all (WEBHOOK_MAX_ATTEMPTS_BOUNDS). */
  webhookMaxAttempts: 'WEBHOOK_MAX_ATTEMPTS',
  /** Webhook delivery: the first pause, seconds (WEBHOOK_INITIAL_DELAY_SECONDS_BOUNDS). */
  webhookInitialDelaySeconds: 'WEBHOOK_INITIAL_DELAY_SECONDS',
  /** Webhook delivery: the longest pause, seconds (WEBHOOK_MAX_DELAY_SECONDS_BOUNDS). */
  webhookMaxDelaySeconds: 'WEBHOOK_MAX_DELAY_SECONDS',
  /** Audit digests: the Object Lock bucket they are written to (writer, auditors' routes). */
  auditDigestBucket: 'AUDIT_DIGEST_BUCKET',
  /** Audit digests: the asymmetric KMS key (ARN) that signs them; absent, the local key file. */
  auditDigestKeyId: 'AUDIT_DIGEST_KEY_ID',
  /** Audit digests, local runtime: the P-256 private key (PEM) that signs them. */
  auditDigestKeyFile: 'AUDIT_DIGEST_KEY_FILE',
  /** Audit digests: one per period of this many seconds. */
  auditDigestIntervalSeconds: 'AUDIT_DIGEST_INTERVAL_SECONDS',
  /** Audit digests: a period is digested this long after it ends (the longest trail writer's timeout). */
  auditDigestSettleSeconds: 'AUDIT_DIGEST_SETTLE_SECONDS',
  /** Audit digests: how long one writer run may work, seconds (it leaves the rest to the next). */
  auditDigestTimeBudgetSeconds: 'AUDIT_DIGEST_TIME_BUDGET_SECONDS',
  /** An S3-compatible endpoint (local runtime). */
  s3Endpoint: 'S3_ENDPOINT',
  /** "true" for path-style S3 addressing (local runtime). */
  s3ForcePathStyle: 'S3_FORCE_PATH_STYLE',
  /** A DynamoDB-compatible endpoint (local runtime). */
  dynamoDbEndpoint: 'DYNAMODB_ENDPOINT',
  /** An EventBridge-compatible endpoint: the local runtime's router. */
  eventsEndpoint: 'EVENTS_ENDPOINT',
  /** `production` in a deployment: fault injection is refused (faults.ts). */
  deployment: 'AIRLOCK_ENV',
  /** Fault injection rates, for the local runtime's reliability suite only (faults.ts). */
  faults: FAULTS_ENV,
  /** The service name in Powertools' structured logs. */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  nodeOptions: 'NODE_OPTIONS',
} as const;

export type EnvName = (typeof ENV_NAMES)[keyof typeof ENV_NAMES];

/** The settings a deployer chooses that the functions read, in the functions' own units. */
export interface FunctionSettings {
  readonly uploadUrlTtlSeconds: number;
  readonly downloadUrlTtlSeconds: number;
  readonly typePolicy: TypePolicy;
  readonly processingTimeoutSeconds: number;
  readonly sweepBatchSize: number;
  readonly abandonedRecordRetentionDays: number;
  readonly quotaOpenGrants: number;
  readonly quotaBytesPerDay: number;
}

/** The functions' environment variables that carry the settings, by who reads them. */
export interface SettingsEnvironment {
  /** Read by every function (readConfig). */
  readonly shared: Readonly<Record<string, string>>;
  /** Read by the sweeper only (readSweeperConfig). */
  readonly sweeper: Readonly<Record<string, string>>;
}

/**
 * The settings as environment variables: what readConfig and readSweeperConfig read back. The
 * CDK construct sets `shared` on every function and `sweeper` on the sweeper; the local runtime,
 * which runs every handler in one process, sets both.
 */
export function settingsEnvironment(settings: FunctionSettings): SettingsEnvironment {
  return {
    shared: {
      [ENV_NAMES.uploadUrlTtlSeconds]: String(settings.uploadUrlTtlSeconds),
      [ENV_NAMES.downloadUrlTtlSeconds]: String(settings.downloadUrlTtlSeconds),
      [ENV_NAMES.typePolicy]: JSON.stringify(settings.typePolicy),
      [ENV_NAMES.abandonedRecordRetentionDays]: String(settings.abandonedRecordRetentionDays),
      [ENV_NAMES.quotaOpenGrants]: String(settings.quotaOpenGrants),
      [ENV_NAMES.quotaBytesPerDay]: String(settings.quotaBytesPerDay),
    },
    sweeper: {
      [ENV_NAMES.processingTimeoutSeconds]: String(settings.processingTimeoutSeconds),
      [ENV_NAMES.sweepBatchSize]: String(settings.sweepBatchSize),
    },
  };
}
