import { ENV_NAMES } from './env-names.js';

/**
 * The rescan function's paging on AWS (set by infra, read by functions/rescan.ts): a page of
 * PROCESSED uploads at a time, within a time budget under the function's timeout, answering a
 * cursor to continue from. Locally, each scan runs inside the invocation (ClamAV answers at once),
 * so the same budget bounds the scanning too.
 */
export const DEPLOYED_RESCAN_TIMEOUT_MS = 5 * 60_000;
export const DEPLOYED_RESCAN_BUDGET_MS = DEPLOYED_RESCAN_TIMEOUT_MS - 30_000;
export const RESCAN_BUDGET_ENV = ENV_NAMES.rescanTimeBudgetSeconds;
export const RESCAN_PAGE_SIZE = 100;
export const RESCAN_CONCURRENCY = 8;
