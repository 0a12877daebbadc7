import { ENV_NAMES } from './env-names.js';
import { PROCESSING_TIMEOUT_BOUNDS } from './setting-bounds.js';

/**
 * How the sweeper runs, in one object: the deployment (infra) and the local runtime both start
 * from `DEPLOYED_SWEEP`, so that a scaled local run keeps the deployed ratios. Pure data: no SDK.
 */
export interface SweepSettings {
  /** Time between two runs (the schedule's rate on AWS, the reconciler's timer locally). */
  intervalMs: number;
  /**
   * How long one run may work before it stops and leaves its cursors for the next run. Below the
   * interval and below the function's timeout (a page, once read, is finished: the margin between
   * the budget and the timeout must hold one).
   */
  budgetMs: number;
  /** Records per query page (DynamoDB `Limit`). */
  pageSize: number;
  /** Records of one page handled at the same time. */
  concurrency: number;
  /** A PENDING_UPLOAD this old is checked for a quarantine object whose event never came. */
  lostEventAfterMs: number;
  /** Events may arrive a little after a grant expired: an upload is expired this long after. */
  expiryGraceMs: number;
}

const MINUTE = 60_000;

/** The sweeper's Lambda timeout on AWS; the budget leaves it a margin of 30 s. */
export const DEPLOYED_SWEEPER_TIMEOUT_MS = 5 * MINUTE;
export const SWEEP_SAFETY_MARGIN_MS = 30_000;

/** A PROCESSING upload whose execution ended without an outcome is failed after this (infra's default). */
export const DEPLOYED_PROCESSING_TIMEOUT_MS = PROCESSING_TIMEOUT_BOUNDS.default * 1000;

/** What AWS runs: every 5 minutes, for at most 4.5 minutes, pages of 100. */
export const DEPLOYED_SWEEP: SweepSettings = {
  intervalMs: 5 * MINUTE,
  budgetMs: DEPLOYED_SWEEPER_TIMEOUT_MS - SWEEP_SAFETY_MARGIN_MS,
  pageSize: 100,
  concurrency: 8,
  lostEventAfterMs: 5 * MINUTE,
  expiryGraceMs: MINUTE,
};

/**
 * The local runtime's default: a fast reconciler, so that tests and `npm start` need not wait for
 * minutes (Debian's RadosGW sends no event for POST uploads; the reconciler finds them).
 */
export const FAST_SWEEP: SweepSettings = {
  intervalMs: 1_000,
  budgetMs: 900,
  pageSize: DEPLOYED_SWEEP.pageSize,
  concurrency: DEPLOYED_SWEEP.concurrency,
  lostEventAfterMs: 1_500,
  expiryGraceMs: 5_000,
};

/**
 * `settings` with every duration divided by `factor` and every count kept: the same ratios of
 * interval, budget, lost-event delay and grace, in less time.
 */
export function scaleSweep(settings: SweepSettings, factor: number): SweepSettings {
  if (!(factor >= 1)) throw new RangeError(`A sweep scale factor must be ≥ 1, got ${factor}.`);
  const scaled = (ms: number) => Math.max(1, Math.round(ms / factor));
  return {
    intervalMs: scaled(settings.intervalMs),
    budgetMs: scaled(settings.budgetMs),
    pageSize: settings.pageSize,
    concurrency: settings.concurrency,
    lostEventAfterMs: scaled(settings.lostEventAfterMs),
    expiryGraceMs: scaled(settings.expiryGraceMs),
  };
}

/**
 * Environment of the deployed sweeper (set by infra, read by `functions/sweeper.ts`): the budget
 * follows the function's timeout, which only the deployment knows. Page size is the
 * configuration's sweepBatchSize (SWEEP_BATCH_SIZE).
 */
export const SWEEP_ENV = {
  budgetSeconds: ENV_NAMES.sweepTimeBudgetSeconds,
  concurrency: ENV_NAMES.sweepConcurrency,
} as const;

/** The redrive function's time budget (its timeout minus a margin), set by infra. */
export const REDRIVE_BUDGET_ENV = ENV_NAMES.redriveTimeBudgetSeconds;

/** The redrive function's timeout on AWS (the construct's default), and its budget within it. */
export const DEPLOYED_REDRIVE_TIMEOUT_MS = 30_000;
export const DEPLOYED_REDRIVE_BUDGET_MS = DEPLOYED_REDRIVE_TIMEOUT_MS - 5_000;
