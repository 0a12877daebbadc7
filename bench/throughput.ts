import { BenchClient, csvDocument, type Outcome } from './client.js';
import type { BenchRuntime } from './runtime.js';
import { distribution, round, type Distribution } from './stats.js';
import { roundDistribution } from './latency.js';

/**
 * Benchmark 3: documents per second fully processed with N concurrent clients, each looping
 * create → upload (PUT) → poll until terminal. Wall time runs from the first create to the
 * last outcome written (the record's updatedAt, which the poll returns, so that the poll
 * interval does not blur it). An upload not PROCESSED by the deadline is lost.
 */

/** 32 clients polling every 25 ms would load the one local process themselves; 250 ms does not. */
export const THROUGHPUT_POLL_INTERVAL_MS = 250;

export interface ThroughputLevel {
  clients: number;
  documents: number;
  processed: number;
  /** Not PROCESSED by the deadline (any other status, an error, or still running): must be 0. */
  lost: number;
  wallMs: number;
  docsPerSecond: number;
  /** Upload 2xx → outcome written, under this load. */
  latency: Distribution;
  errors: string[];
}

export interface ThroughputResult {
  pollIntervalMs: number;
  /** The local executor's concurrency (AIRLOCK_MAX_CONCURRENT_EXECUTIONS). */
  maxConcurrentExecutions: number;
  levels: ThroughputLevel[];
  lost: number;
}

export async function runThroughputBenchmark(
  runtime: BenchRuntime,
  options: { levels: Array<{ clients: number; documents: number }>; timeoutMs: number },
  log: (message: string) => void,
): Promise<ThroughputResult> {
  const document = csvDocument();
  const levels: ThroughputLevel[] = [];
  for (const level of options.levels) {
    const clients = await Promise.all(
      Array.from({ length: level.clients }, (_, i) => BenchClient.create(runtime, `bench-throughput-${i}`)),
    );
    let next = 0;
    const outcomes: Outcome[] = [];
    const errors: string[] = [];
    const started = performance.timeOrigin + performance.now();
    let lastRecorded = started;
    await Promise.all(
      clients.map(async (client) => {
        while (next < level.documents) {
          next++;
          try {
            const outcome = await client.process(document, 'PUT', {
              intervalMs: THROUGHPUT_POLL_INTERVAL_MS,
              timeoutMs: options.timeoutMs,
            });
            outcomes.push(outcome);
            if (outcome.status === 'PROCESSED')
              lastRecorded = Math.max(lastRecorded, outcome.recordedAtEpochMs);
          } catch (error) {
            errors.push((error as Error).message.slice(0, 300));
          }
        }
      }),
    );
    const processed = outcomes.filter((outcome) => outcome.status === 'PROCESSED');
    const wallMs = lastRecorded - started;
    const result: ThroughputLevel = {
      clients: level.clients,
      documents: level.documents,
      processed: processed.length,
      lost: level.documents - processed.length,
      wallMs: round(wallMs, 0),
      docsPerSecond: round(processed.length / (wallMs / 1000), 2),
      latency: roundDistribution(
        distribution(processed.map((outcome) => outcome.recordedAtEpochMs - outcome.uploadedAtEpochMs)),
      ),
      errors: errors.slice(0, 5),
    };
    log(
      `throughput: ${level.clients} client(s): ${result.docsPerSecond} docs/s, ` +
        `${result.processed}/${level.documents} processed, lost ${result.lost}`,
    );
    levels.push(result);
  }
  return {
    pollIntervalMs: THROUGHPUT_POLL_INTERVAL_MS,
    maxConcurrentExecutions: runtime.maxConcurrentExecutions,
    levels,
    lost: levels.reduce((total, level) => total + level.lost, 0),
  };
}
