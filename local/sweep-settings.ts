import {
  DEPLOYED_SWEEP,
  FAST_SWEEP,
  scaleSweep,
  type SweepSettings,
} from '../functions/commons/sweep-settings.js';

/**
 * The local reconciler's cadence (it runs the sweeper handler on a timer):
 *
 * | variable                        | meaning                                                        | default |
 * |---------------------------------|----------------------------------------------------------------|---------|
 * | AIRLOCK_SWEEP_CADENCE           | `fast`, `aws` (the deployed settings) or `aws/<n>` (the deployed settings with every duration ÷ n, the same page size) | `fast` |
 * | AIRLOCK_RECONCILE_INTERVAL_MS   | time between runs                                              | 1000 (fast) |
 * | AIRLOCK_SWEEP_BUDGET_MS         | how long one run may work                                      | 900 (fast) |
 * | AIRLOCK_SWEEP_PAGE_SIZE         | records per query page                                         | the file's sweepBatchSize |
 * | AIRLOCK_SWEEP_CONCURRENCY       | records of a page handled at once                              | 8 |
 * | AIRLOCK_LOST_EVENT_AFTER_MS     | a PENDING upload this old is checked for a lost event          | 1500 (fast) |
 * | AIRLOCK_EXPIRY_GRACE_MS         | an upload is expired this long after its grant                 | 5000 (fast) |
 *
 * The variables after the first override single fields of the chosen cadence.
 */
export function readSweepSettings(
  env: NodeJS.ProcessEnv = process.env,
  pageSize: number = DEPLOYED_SWEEP.pageSize,
): SweepSettings {
  const base = cadence(env.AIRLOCK_SWEEP_CADENCE?.trim() || 'fast');
  return {
    intervalMs: positiveInt(env, 'AIRLOCK_RECONCILE_INTERVAL_MS', base.intervalMs),
    budgetMs: positiveInt(env, 'AIRLOCK_SWEEP_BUDGET_MS', base.budgetMs),
    pageSize: positiveInt(env, 'AIRLOCK_SWEEP_PAGE_SIZE', pageSize),
    concurrency: positiveInt(env, 'AIRLOCK_SWEEP_CONCURRENCY', base.concurrency),
    lostEventAfterMs: positiveInt(env, 'AIRLOCK_LOST_EVENT_AFTER_MS', base.lostEventAfterMs),
    expiryGraceMs: positiveInt(env, 'AIRLOCK_EXPIRY_GRACE_MS', base.expiryGraceMs),
  };
}

function cadence(name: string): SweepSettings {
  if (name === 'fast') return FAST_SWEEP;
  if (name === 'aws') return DEPLOYED_SWEEP;
  const scaled = /^aws\/(\d+)$/.exec(name);
  const factor = Number(scaled?.[1]);
  if (scaled && factor >= 1) return scaleSweep(DEPLOYED_SWEEP, factor);
  throw new Error(`AIRLOCK_SWEEP_CADENCE must be fast, aws or aws/<n> (e.g. aws/60), got "${name}".`);
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got "${raw}".`);
  return value;
}
