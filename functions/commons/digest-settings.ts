import { KMSClient } from '@aws-sdk/client-kms';
import { FileDigestSigner, KmsDigestSigner, type DigestSigner } from '../adapters/digest-signer.js';
import type { DigestSchedule } from '../domain/audit-digest-schedule.js';
import { ConfigurationError } from '../domain/errors.js';
import { intEnv, optionalEnv, requireEnv } from './env.js';
import { ENV_NAMES } from './env-names.js';
import { AUDIT_DIGEST_INTERVAL_MINUTES_BOUNDS } from './setting-bounds.js';

/** The writer's settings from its environment (set by the construct, or the local runtime). */
export function readDigestSchedule(
  env: NodeJS.ProcessEnv = process.env,
): DigestSchedule & { budgetMs: number } {
  const intervalSeconds = intEnv(
    ENV_NAMES.auditDigestIntervalSeconds,
    AUDIT_DIGEST_INTERVAL_MINUTES_BOUNDS.default * 60,
    { min: 1, max: (AUDIT_DIGEST_INTERVAL_MINUTES_BOUNDS.max ?? 1440) * 60 },
    env,
  );
  // No default: the settle time is the longest timeout of a trail writer, which only the
  // deployment (or the local runtime) knows.
  const settleSeconds = intEnv(ENV_NAMES.auditDigestSettleSeconds, -1, { min: 0 }, env);
  if (settleSeconds < 0) requireEnv(ENV_NAMES.auditDigestSettleSeconds, env);
  const budgetSeconds = intEnv(ENV_NAMES.auditDigestTimeBudgetSeconds, 60, { min: 1 }, env);
  return {
    intervalMs: intervalSeconds * 1000,
    settleMs: settleSeconds * 1000,
    budgetMs: budgetSeconds * 1000,
  };
}

/**
 * The signer of this deployment: the KMS key named (AWS only: locally the key file signs, outside
 * the local IAM check, so the KMS client is not instrumented).
 */
export function signerFromEnv(env: NodeJS.ProcessEnv = process.env): DigestSigner {
  const keyId = optionalEnv(ENV_NAMES.auditDigestKeyId, env);
  if (keyId !== undefined) return new KmsDigestSigner(keyId, new KMSClient({}));
  const file = optionalEnv(ENV_NAMES.auditDigestKeyFile, env);
  if (file === undefined) {
    throw new ConfigurationError(
      `Either ${ENV_NAMES.auditDigestKeyId} or ${ENV_NAMES.auditDigestKeyFile} must be set.`,
    );
  }
  return new FileDigestSigner(file);
}
