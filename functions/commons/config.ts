import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GuardDutyClient } from '@aws-sdk/client-guardduty';
import { intEnv, optionalEnv, requireEnv } from './env.js';
import { ENV_NAMES } from './env-names.js';
import { assertFaultsAllowed } from './faults.js';
import { instrumentClient } from './local-hooks.js';
import {
  ABANDONED_RECORD_RETENTION_DAYS_BOUNDS,
  DOWNLOAD_URL_TTL_BOUNDS,
  PROCESSING_TIMEOUT_BOUNDS,
  QUOTA_BYTES_PER_DAY_BOUNDS,
  QUOTA_OPEN_GRANTS_BOUNDS,
  SWEEP_BATCH_SIZE_BOUNDS,
  UPLOAD_URL_TTL_BOUNDS,
} from './setting-bounds.js';
import type { QuotaLimits } from '../domain/quota.js';
import { DEFAULT_TYPE_POLICY, parseTypePolicy, type TypePolicy } from '../domain/type-policy.js';
import { ConfigurationError } from '../domain/errors.js';
import { SCANNER_KINDS, type ScannerKind } from '../domain/scan-verdict.js';
import { CLAMD_ENV, clamdScannerOptionsFrom, type ClamdScannerOptions } from '../adapters/clamd-scanner.js';

/**
 * Settings shared by the functions. On AWS the CDK construct sets them; the local runtime sets
 * them too, plus the endpoints of its local servers. Names: ENV_NAMES; ranges: setting-bounds.ts.
 *
 * | variable                 | meaning                                             | default |
 * |--------------------------|-----------------------------------------------------|---------|
 * | TABLE_NAME               | DynamoDB table of records and audit events          | required |
 * | BUCKET_NAME              | the bucket with quarantine/, clean/, rejected/      | required |
 * | UPLOAD_URL_TTL_SECONDS   | lifetime of upload grants, 1–900                    | 900 |
 * | DOWNLOAD_URL_TTL_SECONDS | lifetime of download URLs, 1–300                    | 300 |
 * | TYPE_POLICY              | JSON type policy replacing the default              | built-in |
 * | ABANDONED_RECORD_RETENTION_DAYS | an abandoned record may be deleted (TTL) after, 30–3650 | 90 |
 * | S3_ENDPOINT              | S3-compatible endpoint (local runtime)              | AWS |
 * | S3_FORCE_PATH_STYLE      | "true" for path-style addressing                    | false |
 * | DYNAMODB_ENDPOINT        | DynamoDB-compatible endpoint (local runtime)        | AWS |
 *
 * The sweeper also reads (readSweeperConfig):
 * | PROCESSING_TIMEOUT_SECONDS | PROCESSING without an execution → FAILED after, 1200–86400 | 3600 |
 * | SWEEP_BATCH_SIZE           | uploads handled per status per run, 1–1000                 | 100 |
 * | QUOTA_OPEN_GRANTS        | uploads an owner may hold in PENDING_UPLOAD, 1–5000 | 1000 |
 * | QUOTA_BYTES_PER_DAY      | declared bytes granted per owner per UTC day, ≥ 1    | 10 GiB |
 */
export interface AirlockConfig {
  tableName: string;
  bucketName: string;
  uploadUrlTtlSeconds: number;
  downloadUrlTtlSeconds: number;
  typePolicy: TypePolicy;
  /** An abandoned record (PENDING_UPLOAD, EXPIRED) is kept this long before its TTL, seconds. */
  abandonedRecordRetentionSeconds: number;
  s3Endpoint?: string;
  s3ForcePathStyle: boolean;
  dynamoDbEndpoint?: string;
  quotas: QuotaLimits;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): AirlockConfig {
  assertFaultsAllowed(env); // fault injection is for the local runtime, never a deployment
  const policyJson = optionalEnv(ENV_NAMES.typePolicy, env);
  const s3Endpoint = optionalEnv(ENV_NAMES.s3Endpoint, env);
  const dynamoDbEndpoint = optionalEnv(ENV_NAMES.dynamoDbEndpoint, env);
  return {
    tableName: requireEnv(ENV_NAMES.tableName, env),
    bucketName: requireEnv(ENV_NAMES.bucketName, env),
    uploadUrlTtlSeconds: intEnv(
      ENV_NAMES.uploadUrlTtlSeconds,
      UPLOAD_URL_TTL_BOUNDS.default,
      UPLOAD_URL_TTL_BOUNDS,
      env,
    ),
    downloadUrlTtlSeconds: intEnv(
      ENV_NAMES.downloadUrlTtlSeconds,
      DOWNLOAD_URL_TTL_BOUNDS.default,
      DOWNLOAD_URL_TTL_BOUNDS,
      env,
    ),
    typePolicy: policyJson === undefined ? DEFAULT_TYPE_POLICY : parseTypePolicy(policyJson),
    abandonedRecordRetentionSeconds:
      intEnv(
        ENV_NAMES.abandonedRecordRetentionDays,
        ABANDONED_RECORD_RETENTION_DAYS_BOUNDS.default,
        ABANDONED_RECORD_RETENTION_DAYS_BOUNDS,
        env,
      ) * 86_400,
    ...(s3Endpoint ? { s3Endpoint } : {}),
    s3ForcePathStyle: optionalEnv(ENV_NAMES.s3ForcePathStyle, env) === 'true',
    ...(dynamoDbEndpoint ? { dynamoDbEndpoint } : {}),
    quotas: {
      openGrants: intEnv(
        ENV_NAMES.quotaOpenGrants,
        QUOTA_OPEN_GRANTS_BOUNDS.default,
        QUOTA_OPEN_GRANTS_BOUNDS,
        env,
      ),
      bytesPerDay: intEnv(
        ENV_NAMES.quotaBytesPerDay,
        QUOTA_BYTES_PER_DAY_BOUNDS.default,
        QUOTA_BYTES_PER_DAY_BOUNDS,
        env,
      ),
    },
  };
}

/** The malware scan's settings: which engine, and (locally) where clamd listens. */
export interface ScanConfig {
  /** SCANNER: guardduty (default), custom or none. */
  scanner: ScannerKind;
  /** CLAMD_ADDRESS and the rest: set by the local runtime only, where ClamAV scans. */
  clamd?: ClamdScannerOptions;
}

export function readScanConfig(env: NodeJS.ProcessEnv = process.env): ScanConfig {
  const scanner = optionalEnv(ENV_NAMES.scanner, env) ?? 'guardduty';
  if (!(SCANNER_KINDS as readonly string[]).includes(scanner)) {
    throw new ConfigurationError(
      `Environment variable ${ENV_NAMES.scanner} must be one of ${SCANNER_KINDS.join(', ')}, got "${scanner}".`,
    );
  }
  const clamd = clamdScannerOptionsFrom({
    address: optionalEnv(CLAMD_ENV.address, env),
    streamMaxBytes: optionalEnv(CLAMD_ENV.streamMaxBytes, env),
    database: optionalEnv(CLAMD_ENV.database, env),
  });
  return { scanner: scanner as ScannerKind, ...(clamd ? { clamd } : {}) };
}

// The functions' SDK clients. instrumentClient does nothing on Lambda; in the local runtime it
// makes each call pass the function's own synthesized IAM policies first (local-hooks.ts).
/** The sweeper's own settings. */
export interface SweeperConfig {
  /** PROCESSING_TIMEOUT_SECONDS: a PROCESSING upload whose execution ended is FAILED after this. */
  processingTimeoutSeconds: number;
  /** SWEEP_BATCH_SIZE: uploads handled per status per run. */
  batchSize: number;
}

export function readSweeperConfig(env: NodeJS.ProcessEnv = process.env): SweeperConfig {
  return {
    processingTimeoutSeconds: intEnv(
      ENV_NAMES.processingTimeoutSeconds,
      PROCESSING_TIMEOUT_BOUNDS.default,
      PROCESSING_TIMEOUT_BOUNDS,
      env,
    ),
    batchSize: intEnv(
      ENV_NAMES.sweepBatchSize,
      SWEEP_BATCH_SIZE_BOUNDS.default,
      SWEEP_BATCH_SIZE_BOUNDS,
      env,
    ),
  };
}

export function makeS3Client(config: AirlockConfig): S3Client {
  return instrumentClient(
    new S3Client({
      ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
      forcePathStyle: config.s3ForcePathStyle,
      // Presigned URLs must not carry SDK-computed checksums of an empty body.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  );
}

export function makeDynamoDbClient(config: AirlockConfig): DynamoDBClient {
  return instrumentClient(
    new DynamoDBClient(config.dynamoDbEndpoint ? { endpoint: config.dynamoDbEndpoint } : {}),
  );
}

export function makeSfnClient(): SFNClient {
  return instrumentClient(new SFNClient({}));
}

/**
 * GuardDuty, for on-demand scans (AWS only: locally the ClamAV engine stands in for it, see
 * local-scan-engine.ts, so no local IAM check applies to this client).
 */
export function makeGuardDutyClient(): GuardDutyClient {
  return new GuardDutyClient({});
}

/** Builds a value on first use, so that importing a handler never reads the environment. */
export function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  let built = false;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}
