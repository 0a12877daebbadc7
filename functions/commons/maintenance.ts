import {
  lazy,
  makeDynamoDbClient,
  makeS3Client,
  makeSfnClient,
  readConfig,
  type AirlockConfig,
} from './config.js';
import { requireEnv } from './env.js';
import { ENV_NAMES } from './env-names.js';
import { StepFunctionsGateway, type ExecutionGateway } from '../adapters/execution-gateway.js';
import { ObjectStore } from '../adapters/object-store.js';
import { SweepStateStore, type IndexKey } from '../adapters/sweep-state.js';
import { UploadStore } from '../adapters/upload-store.js';

/** What the functions that look after uploads outside an execution (sweeper, redrive) work with. */
export interface MaintenanceAdapters {
  config: AirlockConfig;
  store: UploadStore;
  sweepState: SweepStateStore;
  objects: ObjectStore;
  executions: ExecutionGateway;
  bucket: string;
  now: () => Date;
}

/** Built on first use, from the function's environment (STATE_MACHINE_ARN included). */
export const maintenanceAdapters = lazy((): MaintenanceAdapters => {
  const config = readConfig();
  const dynamoDb = makeDynamoDbClient(config);
  return {
    config,
    store: new UploadStore(config.tableName, dynamoDb),
    sweepState: new SweepStateStore(config.tableName, dynamoDb),
    objects: new ObjectStore(makeS3Client(config)),
    executions: new StepFunctionsGateway(requireEnv(ENV_NAMES.stateMachineArn), makeSfnClient()),
    bucket: config.bucketName,
    now: () => new Date(),
  };
});

/** A position in a query: DynamoDB's LastEvaluatedKey, given back as ExclusiveStartKey. */
export type PageKey = IndexKey;

/** One query that a run works through page by page, e.g. "PENDING_UPLOAD, oldest first". */
export interface Lane<T> {
  readonly name: string;
  /** Where this run starts: the position a previous run left, or undefined for the lane's start. */
  readonly startKey?: PageKey;
  /**
   * Reads the page after `startKey`; undefined when the lane knows it has nothing left without
   * asking (e.g. it met another lane working the same range from the other end).
   */
  read(startKey: PageKey | undefined): Promise<{ items: T[]; lastKey?: PageKey } | undefined>;
  /** The position just after `item`, for a run that stops within a page. */
  keyOf(item: T): PageKey;
  handle(item: T): Promise<void>;
}

export interface RotationResult {
  /** Where each lane stopped: the key to resume after, or undefined once it reached its end. */
  positions: Record<string, PageKey | undefined>;
  /** Every lane reached its end before the deadline. */
  complete: boolean;
  pages: number;
  /** Items handled (failed ones included). */
  handled: number;
  /** Items whose handling threw: logged, left for a later pass. */
  errors: number;
  /** Set when every item of a page failed (a dependency is down): the run stopped there. */
  stoppedBy?: Error;
}

/**
 * Works through `lanes` in rotation, one page of each in turn, until every lane reached its end
 * or the deadline passed, so that no lane (no status, no end of a range) waits for another to
 * finish. Items are taken in order, `concurrency` at a time, and none is started after the
 * deadline (but the run's first): a run ends within one item's time of its budget, and the lane
 * goes on after the last item it handled. One failing item is logged and skipped; a page whose
 * every item failed stops the run, its lane's position left before it for the next run.
 */
export async function workInRotation<T>(
  lanes: ReadonlyArray<Lane<T>>,
  options: {
    deadline: number;
    clock: () => number;
    concurrency: number;
    onError: (item: T, lane: string, error: unknown) => void;
  },
): Promise<RotationResult> {
  const result: RotationResult = { positions: {}, complete: false, pages: 0, handled: 0, errors: 0 };
  const open = new Set(lanes);
  const overdue = () => result.handled > 0 && options.clock() >= options.deadline;
  for (const lane of lanes) result.positions[lane.name] = lane.startKey;
  while (open.size > 0) {
    for (const lane of lanes) {
      if (!open.has(lane)) continue;
      if (overdue()) return result;
      const page = await lane.read(result.positions[lane.name]);
      if (page === undefined) {
        result.positions[lane.name] = undefined;
        open.delete(lane);
        continue;
      }
      result.pages++;
      const { done, failures } = await settleInOrder(page.items, options.concurrency, overdue, (item) => {
        result.handled++;
        return lane.handle(item);
      });
      result.errors += failures.length;
      for (const { item, error } of failures) options.onError(item, lane.name, error);
      // Every item failed, enough of them to tell: a dependency is down.
      if (done > 0 && done >= Math.min(page.items.length, options.concurrency) && failures.length === done) {
        const first = failures[0]?.error;
        result.stoppedBy = first instanceof Error ? first : new Error(String(first));
        return result;
      }
      if (done < page.items.length) {
        const last = page.items[done - 1];
        if (last !== undefined) result.positions[lane.name] = lane.keyOf(last);
        return result;
      }
      result.positions[lane.name] = page.lastKey;
      if (page.lastKey === undefined) open.delete(lane);
    }
  }
  result.complete = true;
  return result;
}

/**
 * Runs `work` over `items` in order, at most `limit` at a time, starting none once `stop()` says
 * so: the items done are always a prefix. Returns its length and the items that threw.
 */
async function settleInOrder<T>(
  items: readonly T[],
  limit: number,
  stop: () => boolean,
  work: (item: T) => Promise<void>,
): Promise<{ done: number; failures: Array<{ item: T; error: unknown }> }> {
  const failures: Array<{ item: T; error: unknown }> = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stop()) {
      const item = items[next++] as T;
      await work(item).catch((error: unknown) => failures.push({ item, error }));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return { done: next, failures };
}

/**
 * When a run must stop: `budgetMs` after it started, or earlier if the function's own timeout
 * (Lambda's context) comes first, less a margin for the page in progress and the last writes.
 */
export function runDeadline(
  startedMs: number,
  budgetMs: number,
  context: { getRemainingTimeInMillis?: () => number } | undefined,
  marginMs: number,
): number {
  const remaining = context?.getRemainingTimeInMillis?.();
  const byTimeout = remaining === undefined ? Number.POSITIVE_INFINITY : remaining - marginMs;
  return startedMs + Math.max(0, Math.min(budgetMs, byTimeout));
}
