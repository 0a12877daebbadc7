import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { SweepStateStore } from '../../functions/adapters/sweep-state.js';
import { TABLE_KEYS, type NewUpload } from '../../functions/adapters/upload-store.js';
import { ABANDONED_RECORD_RETENTION_DAYS_BOUNDS } from '../../functions/commons/setting-bounds.js';
import { abandonedRecordExpiry } from '../../functions/domain/audit-trail.js';
import {
  DEPLOYED_PROCESSING_TIMEOUT_MS,
  DEPLOYED_SWEEP,
  scaleSweep,
  type SweepSettings,
} from '../../functions/commons/sweep-settings.js';
import { issuedEvent } from '../../functions/domain/transition-events.js';
import { MAX_UPLOAD_URL_TTL_SECONDS } from '../../functions/domain/upload-grant.js';
import { newUploadId } from '../../functions/domain/upload-id.js';
import { issueToken } from '../../local/auth.js';
import { runPart, type PartResult, type RuntimeTarget, type SuiteOptions } from './part.js';
import { pollUntil } from '../support/index.js';
import { logMark, mapLimit } from './probes.js';
import {
  backends,
  drain,
  makeJobs,
  sendJob,
  trailProblems,
  verifyUploads,
  type Job,
  type SentJob,
} from './workload.js';

/** The deployed cadence with every duration divided by `factor`, every count kept. */
export interface ScaledCadence {
  factor: number;
  sweep: SweepSettings;
  ttlSeconds: number;
  processingTimeoutMs: number;
}

export function scaledCadence(factor: number): ScaledCadence {
  const ttlSeconds = MAX_UPLOAD_URL_TTL_SECONDS / factor;
  if (!Number.isInteger(ttlSeconds)) throw new Error(`${factor} does not divide the grant TTL.`);
  return {
    factor,
    sweep: scaleSweep(DEPLOYED_SWEEP, factor),
    ttlSeconds,
    processingTimeoutMs: DEPLOYED_PROCESSING_TIMEOUT_MS / factor,
  };
}

/** The runtime settings that make a local runtime run `cadence` (local/sweep-settings.ts). */
export function cadenceEnv(cadence: ScaledCadence): Record<string, string> {
  return {
    AIRLOCK_SWEEP_CADENCE: `aws/${cadence.factor}`,
    AIRLOCK_UPLOAD_URL_TTL_SECONDS: String(cadence.ttlSeconds),
    AIRLOCK_PROCESSING_TIMEOUT_MS: String(cadence.processingTimeoutMs),
  };
}

export interface BacklogOptions extends SuiteOptions {
  /** The cadence the runtime runs (it was started with `cadenceEnv(cadence)`). */
  cadence: ScaledCadence;
  /** Abandoned grants in the backlog. */
  grants: number;
  /**
   * New uploads: at least `minUploads`; with `untilDrained`, more keep arriving until the backlog
   * is drained (at most `maxUploads`).
   */
  minUploads: number;
  maxUploads: number;
  untilDrained: boolean;
  /** One new upload every `paceMs`, from `clients` clients. */
  paceMs: number;
  clients: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => Math.round(ms / 100) / 10;

/**
 * The deployed sweep cadence, scaled down in time but not in ratio (interval, budget, grant TTL,
 * lost-event delay and grace all ÷ factor; the same page size): a backlog of abandoned grants
 * (PENDING_UPLOAD records whose grants expired, written as create-upload writes them) while new
 * uploads, the load part's mix, keep arriving. Two results:
 * - `load.aws-cadence`: every new upload reaches its right outcome, and none waits on the backlog:
 *   whatever the sweeper owes it (its lost event found, its unused grant expired) is done by the
 *   first run that starts after it is due, whatever the size of the backlog;
 * - `backlog`: every grant of the backlog ends EXPIRED with a complete trail; how long the drain
 *   took and in how many sweeper runs (the figure).
 * It runs on a runtime of its own, started with `cadenceEnv(cadence)`: its uploads and trails are
 * checked here (verifyUploads checks each trail), not by the audit part.
 */
export async function runBacklog(target: RuntimeTarget, options: BacklogOptions): Promise<PartResult[]> {
  const { sweep, factor } = options.cadence;
  const { store, dynamo } = backends(target);
  const mark = logMark(target);
  const started = Date.now();
  const streamFailures: string[] = [];
  let streamFigures: Record<string, number | string> | undefined;

  const backlog = await runPart(
    'backlog',
    `${options.grants} abandoned grants at the deployed sweep cadence ÷${factor} while uploads arrive`,
    async (failures) => {
      // 1. The backlog, written while the suite holds the sweeper's lease, so that the drain
      //    starts at one instant: grants issued over the hour (÷ factor) before they expired.
      const sweepState = new SweepStateStore(target.table, dynamo);
      const holdUntil = new Date(Date.now() + 30 * 60_000).toISOString();
      await pollUntil(
        'the sweeper lease to be free',
        async () =>
          (await sweepState.takeLease({ at: new Date().toISOString(), until: holdUntil })).taken
            ? true
            : undefined,
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      const writeStarted = Date.now();
      const ttlMs = options.cadence.ttlSeconds * 1000;
      const lastIssuedAt = writeStarted - ttlMs - sweep.expiryGraceMs - 1000;
      const spreadMs = 3_600_000 / factor;
      const issuedAt = (index: number) =>
        lastIssuedAt - spreadMs + Math.floor((index * spreadMs) / options.grants);
      const ids = await mapLimit(
        Array.from({ length: options.grants }, (_, index) => index),
        16,
        (index) => writeAbandonedGrant(target, issuedAt(index), `backlog-owner-${index % 64}`, ttlMs),
      );
      const writeMs = Date.now() - writeStarted;
      options.log(`backlog: ${ids.length} abandoned grants written in ${seconds(writeMs)} s; draining…`);
      await sweepState.releaseLease({ until: holdUntil, at: new Date().toISOString(), cursors: {} });
      const drainStart = Date.now();

      // 2. New uploads keep arriving until the backlog is drained.
      const range = {
        from: new Date(issuedAt(0)).toISOString(),
        to: `${new Date(lastIssuedAt).toISOString()}#~`,
      };
      let drained = false;
      const watch = (async () => {
        const deadline = drainStart + (options.quick ? 3 : 15) * 60_000;
        while (Date.now() < deadline) {
          if ((await pendingIn(target, range)) === 0) return (drained = true);
          await pause(1000);
        }
        return false;
      })();
      const stream = await sendStream(target, options, () => drained);
      await watch;

      // 3. The backlog's verdict: every grant EXPIRED, each with the trail ISSUED → EXPIRED.
      const records = await mapLimit(ids, 16, (id) => store.get(id));
      const notExpired = records.filter((record) => record?.status !== 'EXPIRED');
      for (const record of notExpired.slice(0, 20))
        failures.push(`backlog grant ${record?.uploadId ?? '?'} is ${record?.status ?? 'missing'}`);
      if (notExpired.length > 0)
        failures.push(`${notExpired.length} backlog grants not EXPIRED at the deadline`);
      const trails = await mapLimit(ids, 16, (id) => store.listAudit(id));
      const badTrails = trails.filter((trail) => {
        const problems = trailProblems(trail, 'EXPIRED');
        return problems.length > 0 || trail.map((event) => event.action).join() !== 'ISSUED,EXPIRED';
      });
      if (badTrails.length > 0)
        failures.push(`${badTrails.length} backlog trails are not exactly ISSUED → EXPIRED`);
      const lastExpiredAt = Math.max(
        ...records
          .map((record) => (record ? Date.parse(record.updatedAt) : Number.NaN))
          .filter(Number.isFinite),
      );
      // Runs that ended after the drain began, up to the one that expired the last grant.
      const drainRuns = sweepRuns(logLines(target, mark)).filter(
        (run) => run.at >= drainStart && run.at <= lastExpiredAt + sweep.budgetMs + 1000,
      );

      // 4. The new uploads' verdict (load.aws-cadence).
      streamFigures = await judgeStream(target, options, stream, mark, streamFailures);
      return {
        grants: options.grants,
        written: 'through UploadStore, as create-upload writes them',
        writeSeconds: seconds(writeMs),
        drainSeconds: seconds(lastExpiredAt - drainStart),
        sweepRuns: drainRuns.length,
        maxExpiredPerRun: Math.max(0, ...drainRuns.map((run) => run.expired)),
        expiredBacklog: options.grants - notExpired.length,
        trailsChecked: trails.length,
        scale: `1/${factor}`,
        intervalSeconds: sweep.intervalMs / 1000,
        budgetSeconds: sweep.budgetMs / 1000,
        pageSize: sweep.pageSize,
        grantTtlSeconds: options.cadence.ttlSeconds,
        // The same number of runs at the deployed interval.
        deployedIntervalMinutes: (drainRuns.length * DEPLOYED_SWEEP.intervalMs) / 60_000,
        newUploadsDuringDrain: stream.sent.filter((job) => job.sentAt <= lastExpiredAt).length,
      };
    },
  );
  if (streamFigures === undefined) streamFailures.push('not judged: the backlog part broke off first');
  const load: PartResult = {
    id: 'load.aws-cadence',
    title: `uploads arriving during the backlog drain, at the deployed sweep cadence ÷${factor}`,
    passed: streamFailures.length === 0,
    figures: streamFigures ?? {},
    failures: streamFailures,
    durationMs: Date.now() - started,
  };
  return [load, backlog];
}

/** Writes one PENDING_UPLOAD record holding its ISSUED event as create-upload does; returns its id. */
async function writeAbandonedGrant(target: RuntimeTarget, issuedAtMs: number, owner: string, ttlMs: number) {
  const { store } = backends(target);
  const createdAt = new Date(issuedAtMs).toISOString();
  const uploadId = newUploadId(issuedAtMs);
  const pending: NewUpload = {
    uploadId,
    owner,
    status: 'PENDING_UPLOAD',
    fileName: 'abandoned.pdf',
    contentType: 'application/pdf',
    size: 1024,
    method: 'POST',
    createdAt,
    updatedAt: createdAt,
    expiresAt: new Date(issuedAtMs + ttlMs).toISOString(),
  };
  await store.createPending(
    pending,
    issuedEvent(uploadId, owner, createdAt),
    abandonedRecordExpiry(pending.expiresAt, ABANDONED_RECORD_RETENTION_DAYS_BOUNDS.default * 86_400),
  );
  return uploadId;
}

/** PENDING_UPLOAD records last changed within `range` (the backlog's), counted through the index. */
async function pendingIn(target: RuntimeTarget, range: { from: string; to: string }): Promise<number> {
  const { dynamo } = backends(target);
  const { indexName, partitionKey, sortKey } = TABLE_KEYS.byStatus;
  let count = 0;
  let startKey: Record<string, never> | undefined;
  do {
    const out = await dynamo.send(
      new QueryCommand({
        TableName: target.table,
        IndexName: indexName,
        KeyConditionExpression: `${partitionKey} = :status AND ${sortKey} BETWEEN :from AND :to`,
        ExpressionAttributeValues: {
          ':status': { S: 'PENDING_UPLOAD' },
          ':from': { S: range.from },
          ':to': { S: range.to },
        },
        Select: 'COUNT',
        ExclusiveStartKey: startKey,
      }),
    );
    count += out.Count ?? 0;
    startKey = out.LastEvaluatedKey as typeof startKey;
  } while (startKey !== undefined);
  return count;
}

/** One new upload every `paceMs` (the load part's mix) until `done()` and at least `minUploads`. */
async function sendStream(target: RuntimeTarget, options: BacklogOptions, done: () => boolean) {
  const jobs = makeJobs(options.maxUploads, { label: 'cadence' });
  const clients = await Promise.all(
    Array.from({ length: options.clients }, async (_, index) => {
      const owner = `cadence-client-${index}`;
      return { owner, token: await issueToken(target.dataDir, { sub: owner, groups: [], ttlSeconds: 3600 }) };
    }),
  );
  const sent: SentJob[] = [];
  const unsent: Array<{ job: Job; error: string }> = [];
  const inFlight = new Set<Promise<void>>();
  const deadline = Date.now() + (options.quick ? 3 : 15) * 60_000;
  for (let index = 0; index < jobs.length; index++) {
    const enough = index >= options.minUploads && (done() || !options.untilDrained);
    if (enough || Date.now() > deadline) break;
    const job = jobs[index]!;
    const client = clients[index % clients.length]!;
    const sending: Promise<void> = sendJob(target, client.token, client.owner, job, deadline).then(
      (result) => void sent.push(result),
      (error: unknown) => void unsent.push({ job, error: (error as Error).message }),
    );
    inFlight.add(sending);
    void sending.finally(() => inFlight.delete(sending));
    if (inFlight.size >= options.clients) await Promise.race(inFlight);
    await pause(options.paceMs);
  }
  await Promise.all(inFlight);
  return { sent, unsent };
}

/** Every new upload's outcome (as the load part checks it) and how long each took. */
async function judgeStream(
  target: RuntimeTarget,
  options: BacklogOptions,
  stream: { sent: SentJob[]; unsent: Array<{ job: Job; error: string }> },
  mark: number | undefined,
  failures: string[],
): Promise<Record<string, number | string>> {
  const { sweep } = options.cadence;
  for (const { job, error } of stream.unsent) failures.push(`not sent (${job.kind}): ${error}`);
  const drained = await drain(
    target,
    stream.sent.map((job) => job.uploadId),
    { deadlineMs: (options.quick ? 2 : 10) * 60_000 },
  );
  const verdicts = await verifyUploads(target, stream.sent, failures);
  // Fairness, counted in sweeper runs rather than seconds (a scaled cadence shrinks the interval,
  // not this machine's time per record): an upload is due once its lost-event delay (or its
  // grant's expiry and grace) has passed, and the first run that starts after that must handle it,
  // whatever the backlog. Runs are one at a time, so at most one run can end between the moment
  // it was due and the moment it was handled without having seen it: the one already running.
  const lines = logLines(target, mark);
  const runEnds = sweepRuns(lines).map((run) => run.at);
  const foundAt = new Map<string, number>();
  for (const line of lines) {
    const id = String(line.uploadId);
    if (line.message === 'lost event: execution started' && !foundAt.has(id))
      foundAt.set(id, Date.parse(String(line.timestamp)));
  }
  const runsMissed = (dueAt: number, handledAt: number) =>
    runEnds.filter((end) => end > dueAt && end < handledAt).length;
  const { store } = backends(target);
  const records = await mapLimit(stream.sent, 16, (job) => store.get(job.uploadId));
  const worst = { PUT: 0, POST: 0, expiry: 0, runs: 0 };
  let foundBySweeper = 0;
  stream.sent.forEach((job, index) => {
    const record = records[index];
    if (record === undefined || record.status === 'PENDING_UPLOAD' || record.status === 'PROCESSING') return;
    const doneAt = Date.parse(record.updatedAt);
    const judge = (what: string, dueAt: number, handledAt: number) => {
      const missed = runsMissed(dueAt, handledAt);
      worst.runs = Math.max(worst.runs, missed + 1);
      if (missed > 1)
        failures.push(
          `${job.uploadId} (${job.kind}, ${job.method}): ${what} by run ${missed + 1} after it was due`,
        );
    };
    if (job.kind === 'oversize') {
      worst.expiry = Math.max(worst.expiry, doneAt - Date.parse(record.expiresAt));
      if (record.status === 'EXPIRED')
        judge('expired', Date.parse(record.expiresAt) + sweep.expiryGraceMs, doneAt);
      return;
    }
    worst[job.method] = Math.max(worst[job.method], doneAt - job.sentAt);
    const found = foundAt.get(job.uploadId);
    if (found === undefined) return; // its event came
    foundBySweeper++;
    judge('lost event found', Date.parse(record.createdAt) + sweep.lostEventAfterMs, found);
  });
  return {
    uploads: stream.sent.length + stream.unsent.length,
    processed: verdicts.byStatus.PROCESSED ?? 0,
    rejected: verdicts.byStatus.REJECTED ?? 0,
    expired: verdicts.byStatus.EXPIRED ?? 0,
    lost: verdicts.lost + stream.unsent.length,
    stuck: verdicts.stuck + drained.stuck.length,
    promotedTwice: verdicts.promotedTwice,
    wrongOutcomes: verdicts.wrongOutcome + verdicts.wrongVersion,
    readableThatShouldNot: verdicts.readableThatShouldNot,
    foundBySweeper,
    // The first run that started after an upload was due handled it: 1 (at most 2 counting the
    // run that was already going on).
    worstSweeperRunsAfterDue: worst.runs,
    worstPutSeconds: seconds(worst.PUT),
    worstPostSeconds: seconds(worst.POST),
    worstExpiryAfterGrantSeconds: seconds(worst.expiry),
  };
}

/** The runtime's JSON log lines since `mark`. */
function logLines(target: RuntimeTarget, mark: number | undefined): Array<Record<string, unknown>> {
  if (mark === undefined) return [];
  const text = readFileSync(join(target.dataDir, 'runtime.log')).subarray(mark).toString('utf8');
  return text.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** The sweeper runs in the runtime's log lines, by their end (those that found the lease held excluded). */
function sweepRuns(lines: Array<Record<string, unknown>>): Array<{ at: number; expired: number }> {
  return lines
    .filter((line) => line.message === 'sweep done' && line.leaseHeld !== true)
    .map((line) => ({ at: Date.parse(String(line.timestamp)), expired: Number(line.expired) }));
}
