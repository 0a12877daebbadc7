import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configPath, loadAirlockConfig, type AirlockSettings } from '../config/airlock-config.js';
import { settingsEnvironment } from '../functions/commons/env-names.js';
import { UPLOAD_URL_TTL_BOUNDS } from '../functions/commons/setting-bounds.js';
import type { SweepSettings } from '../functions/commons/sweep-settings.js';
import { defaultDigestBucket } from './iam/roles.js';
import { readSweepSettings } from './sweep-settings.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Settings of the local runtime. What a user chooses (origins, type policy, TTLs, retention,
 * processing timeout, sweeper batch size, throttling) comes from airlock.config.json, the file the
 * deployment reads too (AIRLOCK_CONFIG names another one). Facts of this machine stay AIRLOCK_*
 * environment variables with fixed defaults:
 *
 * | variable                         | default                 |
 * |----------------------------------|-------------------------|
 * | AIRLOCK_CONFIG                   | <repo>/airlock.config.json |
 * | AIRLOCK_DATA_DIR                 | <repo>/.airlock         |
 * | AIRLOCK_PORT (HTTP API, console) | 3000                    |
 * | AIRLOCK_ROUTER_PORT (events in)  | 3001                    |
 * | AIRLOCK_DYNAMODB_PORT            | 4567                    |
 * | AIRLOCK_S3_PORT (RadosGW)        | 7480                    |
 * | AIRLOCK_CEPH_MON_PORT            | 16789                   |
 * | AIRLOCK_S3_ENDPOINT              | (RadosGW started here)  |
 * | AIRLOCK_S3_ACCESS_KEY_ID / AIRLOCK_S3_SECRET_ACCESS_KEY | local RGW user |
 * | AIRLOCK_SWEEP_CADENCE and the reconciler's other settings | see local/sweep-settings.ts |
 * | AIRLOCK_MAX_CONCURRENT_EXECUTIONS| 16                      |
 * | AIRLOCK_TTL_SCAN_INTERVAL_MS (DynamoDB TTL emulation: expired items deleted within about this) | 60000 |
 * | AIRLOCK_FAULTS                   | off (see functions/commons/faults.ts) |
 *
 * Test overrides of the file (tests use short values to make expiry and stalls observable):
 *
 * | variable                         | overrides                                   |
 * |----------------------------------|---------------------------------------------|
 * | AIRLOCK_UPLOAD_URL_TTL_SECONDS   | uploadUrlTtlSeconds (1–900)                  |
 * | AIRLOCK_PROCESSING_TIMEOUT_MS    | processingTimeoutSeconds, for the local sweeper only; may be shorter than the deployed floor of 20 minutes |
 */
export interface LocalSettings {
  dataDir: string;
  apiPort: number;
  routerPort: number;
  dynamoDbPort: number;
  s3Port: number;
  cephMonPort: number;
  /** An S3-compatible server to use instead of starting RadosGW. */
  externalS3Endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  bucket: string;
  table: string;
  /**
   * The reconciler (the sweeper on a timer): interval, budget, page size, lost-event delay. Debian's
   * RadosGW (Ceph 16) sends no notification for POST uploads, so locally the lost-event path is
   * how POST uploads are picked up.
   */
  sweep: SweepSettings;
  maxConcurrentExecutions: number;
  /**
   * dynalite has no TTL: the runtime deletes expired items itself (local/ttl-reaper.ts), with a
   * scan this often. DynamoDB takes up to a few days; only "eventually" is promised either way.
   */
  ttlScanIntervalMs: number;
  /** The validated configuration file, every default applied. */
  config: AirlockSettings;
  /** The audit digests: their Object Lock bucket, and the writer's cadence (test knobs). */
  auditDigests: {
    bucket: string;
    intervalSeconds: number;
    /** Undefined: the template's longest function timeout plus a minute, as deployed. */
    settleSeconds?: number;
  };
  /** Upload grants' lifetime (seconds): the file's, or its test override. */
  uploadUrlTtlSeconds: number;
  /** A PROCESSING upload whose execution ended without an outcome is marked FAILED after this. */
  processingTimeoutMs: number;
  /** Browser origins allowed by CORS besides the runtime's own (the file's allowedOrigins). */
  allowedOrigins: string[];
  /**
   * The functions' environment variables that carry the settings (upload and download TTLs, type
   * policy, processing timeout, batch size), as the CDK construct sets them on AWS.
   */
  functionEnvironment: Record<string, string>;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name} must be a TCP port (1-65535), got "${raw}".`);
  }
  return value;
}

function positiveInt(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer from 1 to ${max}`;
    throw new Error(`${name} must be ${range}, got "${raw}".`);
  }
  return value;
}

export function readLocalSettings(env: NodeJS.ProcessEnv = process.env): LocalSettings {
  const external = env.AIRLOCK_S3_ENDPOINT?.trim();
  const config = loadAirlockConfig(configPath(env));
  const uploadUrlTtlSeconds = positiveInt(
    env,
    'AIRLOCK_UPLOAD_URL_TTL_SECONDS',
    config.uploadUrlTtlSeconds,
    UPLOAD_URL_TTL_BOUNDS.max,
  );
  // The functions read the configured processing timeout; only the local sweeper, which the
  // runtime builds itself, takes the test override (it may be shorter than the deployed floor).
  const environment = settingsEnvironment({ ...config, uploadUrlTtlSeconds });
  return {
    dataDir: resolve(env.AIRLOCK_DATA_DIR ?? resolve(REPO_ROOT, '.airlock')),
    apiPort: port(env, 'AIRLOCK_PORT', 3000),
    routerPort: port(env, 'AIRLOCK_ROUTER_PORT', 3001),
    dynamoDbPort: port(env, 'AIRLOCK_DYNAMODB_PORT', 4567),
    s3Port: port(env, 'AIRLOCK_S3_PORT', 7480),
    cephMonPort: port(env, 'AIRLOCK_CEPH_MON_PORT', 16789),
    ...(external ? { externalS3Endpoint: external } : {}),
    accessKeyId: env.AIRLOCK_S3_ACCESS_KEY_ID ?? 'AIRLOCKLOCALACCESSKEY',
    secretAccessKey: env.AIRLOCK_S3_SECRET_ACCESS_KEY ?? 'airlock-local-secret-key-not-for-production',
    region: 'us-east-1',
    bucket: env.AIRLOCK_BUCKET ?? 'airlock-local',
    table: env.AIRLOCK_TABLE ?? 'airlock-local',
    // The reconciler's cadence (AIRLOCK_SWEEP_*); its page size is the file's sweepBatchSize unless overridden.
    sweep: readSweepSettings(env, config.sweepBatchSize),
    maxConcurrentExecutions: positiveInt(env, 'AIRLOCK_MAX_CONCURRENT_EXECUTIONS', 16),
    ttlScanIntervalMs: positiveInt(env, 'AIRLOCK_TTL_SCAN_INTERVAL_MS', 60_000),
    config,
    auditDigests: {
      bucket: env.AIRLOCK_AUDIT_DIGEST_BUCKET ?? defaultDigestBucket(env.AIRLOCK_BUCKET ?? 'airlock-local'),
      intervalSeconds: positiveInt(
        env,
        'AIRLOCK_AUDIT_DIGEST_INTERVAL_SECONDS',
        config.auditDigestIntervalMinutes * 60,
      ),
      ...(env.AIRLOCK_AUDIT_DIGEST_SETTLE_SECONDS
        ? { settleSeconds: positiveInt(env, 'AIRLOCK_AUDIT_DIGEST_SETTLE_SECONDS', 1) }
        : {}),
    },
    uploadUrlTtlSeconds,
    processingTimeoutMs: positiveInt(
      env,
      'AIRLOCK_PROCESSING_TIMEOUT_MS',
      config.processingTimeoutSeconds * 1000,
    ),
    allowedOrigins: config.allowedOrigins,
    functionEnvironment: { ...environment.shared, ...environment.sweeper },
  };
}
