import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { intEnv, optionalEnv, requireEnv } from './env.js';
import { assertFaultsAllowed } from './faults.js';
import type { QuotaLimits } from '../domain/quota.js';
import { DEFAULT_TYPE_POLICY, parseTypePolicy, type TypePolicy } from '../domain/type-policy.js';
import { MAX_DOWNLOAD_URL_TTL_SECONDS, MAX_UPLOAD_URL_TTL_SECONDS } from '../domain/upload-grant.js';

/**
 * Settings shared by the functions. On AWS the CDK construct sets them; the local runtime sets
 * them too, plus the endpoints of its local servers.
 *
 * | variable                 | meaning                                             | default |
 * |--------------------------|-----------------------------------------------------|---------|
 * | TABLE_NAME               | DynamoDB table of records and audit events          | required |
 * | BUCKET_NAME              | the bucket with quarantine/, clean/, rejected/      | required |
 * | UPLOAD_URL_TTL_SECONDS   | lifetime of upload grants, 1–900                    | 900 |
 * | DOWNLOAD_URL_TTL_SECONDS | lifetime of download URLs, 1–300                    | 300 |
 * | TYPE_POLICY              | JSON type policy replacing the default              | built-in |
 * | S3_ENDPOINT              | S3-compatible endpoint (local runtime)              | AWS |
 * | S3_FORCE_PATH_STYLE      | "true" for path-style addressing                    | false |
 * | DYNAMODB_ENDPOINT        | DynamoDB-compatible endpoint (local runtime)        | AWS |
 * | QUOTA_OPEN_GRANTS        | uploads an owner may hold in PENDING_UPLOAD, 1–5000 | 1000 |
 * | QUOTA_BYTES_PER_DAY      | declared bytes granted per owner per UTC day, ≥ 1    | 10 GiB |
 */
export interface AirlockConfig {
  tableName: string;
  bucketName: string;
  uploadUrlTtlSeconds: number;
  downloadUrlTtlSeconds: number;
  typePolicy: TypePolicy;
  s3Endpoint?: string;
  s3ForcePathStyle: boolean;
  dynamoDbEndpoint?: string;
  quotas: QuotaLimits;
}

/** Per-owner quota settings: name, default and bounds. */
export const QUOTA_SETTINGS = {
  openGrants: { env: 'QUOTA_OPEN_GRANTS', default: 1000, min: 1, max: 5000 },
  bytesPerDay: { env: 'QUOTA_BYTES_PER_DAY', default: 10 * 1024 ** 3, min: 1, max: Number.MAX_SAFE_INTEGER },
} as const;

export function readConfig(env: NodeJS.ProcessEnv = process.env): AirlockConfig {
  assertFaultsAllowed(env); // fault injection is for the local runtime, never a deployment
  const policyJson = optionalEnv('TYPE_POLICY', env);
  const s3Endpoint = optionalEnv('S3_ENDPOINT', env);
  const dynamoDbEndpoint = optionalEnv('DYNAMODB_ENDPOINT', env);
  return {
    tableName: requireEnv('TABLE_NAME', env),
    bucketName: requireEnv('BUCKET_NAME', env),
    uploadUrlTtlSeconds: intEnv(
      'UPLOAD_URL_TTL_SECONDS',
      MAX_UPLOAD_URL_TTL_SECONDS,
      {
        min: 1,
        max: MAX_UPLOAD_URL_TTL_SECONDS,
      },
      env,
    ),
    downloadUrlTtlSeconds: intEnv(
      'DOWNLOAD_URL_TTL_SECONDS',
      MAX_DOWNLOAD_URL_TTL_SECONDS,
      {
        min: 1,
        max: MAX_DOWNLOAD_URL_TTL_SECONDS,
      },
      env,
    ),
    typePolicy: policyJson === undefined ? DEFAULT_TYPE_POLICY : parseTypePolicy(policyJson),
    ...(s3Endpoint ? { s3Endpoint } : {}),
    s3ForcePathStyle: optionalEnv('S3_FORCE_PATH_STYLE', env) === 'true',
    ...(dynamoDbEndpoint ? { dynamoDbEndpoint } : {}),
    quotas: {
      openGrants: intEnv(
        QUOTA_SETTINGS.openGrants.env,
        QUOTA_SETTINGS.openGrants.default,
        QUOTA_SETTINGS.openGrants,
        env,
      ),
      bytesPerDay: intEnv(
        QUOTA_SETTINGS.bytesPerDay.env,
        QUOTA_SETTINGS.bytesPerDay.default,
        QUOTA_SETTINGS.bytesPerDay,
        env,
      ),
    },
  };
}

export function makeS3Client(config: AirlockConfig): S3Client {
  return new S3Client({
    ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
    forcePathStyle: config.s3ForcePathStyle,
    // Presigned URLs must not carry SDK-computed checksums of an empty body.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function makeDynamoDbClient(config: AirlockConfig): DynamoDBClient {
  return new DynamoDBClient(config.dynamoDbEndpoint ? { endpoint: config.dynamoDbEndpoint } : {});
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
