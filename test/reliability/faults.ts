import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RedriveReport } from '../../functions/redrive.js';
import { REPO_ROOT } from '../../local/settings.js';
import type { SuiteRuntime } from './harness.js';
import { runPart, type PartResult, type RuntimeTarget, type SuiteOptions } from './part.js';
import { backends, drain, makeJobs, runClients, verifyUploads, type SentJob } from './workload.js';
import { mapLimit } from './probes.js';

export interface FaultsOptions extends SuiteOptions {
  uploads: number;
  outageSeconds: number;
  record: (sent: SentJob[]) => void;
}

interface FaultReport {
  rates: Record<string, number>;
  injected: Record<string, number>;
  dynamodb: 'up' | 'down';
}

/** The runtime's fault control (only there when AIRLOCK_FAULTS is set). */
async function control(target: RuntimeTarget, command?: Record<string, unknown>): Promise<FaultReport> {
  const response = await fetch(`${target.routerUrl}/faults`, {
    method: command ? 'POST' : 'GET',
    ...(command ? { body: JSON.stringify(command) } : {}),
  });
  if (response.status !== 200)
    throw new Error(`fault control → ${response.status}: ${await response.text()}`);
  return (await response.json()) as FaultReport;
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((total, n) => total + n, 0);

/** Starts executions again for FAILED uploads until none is left (or the deadline passes). */
/** `npm run redrive -- <ids>` against the suite's runtime, as an operator runs it. */
async function runRedriveCommand(runtime: SuiteRuntime, uploadIds: string[]): Promise<RedriveReport> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'local/redrive.ts', ...uploadIds],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        AIRLOCK_DATA_DIR: runtime.dataDir,
        AIRLOCK_DYNAMODB_PORT: String(runtime.spec.ports.dynamodb),
        AIRLOCK_ROUTER_PORT: String(runtime.spec.ports.router),
      },
      timeout: 120_000,
    },
  );
  return JSON.parse(stdout) as RedriveReport;
}

/** Redrives FAILED uploads with `npm run redrive` until none is left (or the deadline passes). */
async function redriveUntilSettled(target: SuiteRuntime, ids: string[], deadlineMs: number) {
  const { store } = backends(target);
  const deadline = Date.now() + deadlineMs;
  let redriven = 0;
  let rounds = 0;
  for (;;) {
    const drained = await drain(target, ids, { deadlineMs: Math.max(1_000, deadline - Date.now()) });
    const records = await mapLimit(ids, 16, (id) => store.get(id));
    const failed = records.filter((record) => record?.status === 'FAILED').map((record) => record!.uploadId);
    if ((failed.length === 0 && drained.stuck.length === 0) || Date.now() > deadline)
      return { redriven, rounds };
    if (failed.length > 0) {
      const report = await runRedriveCommand(target, failed);
      redriven += report.redriven.length;
      rounds++;
    }
  }
}

/** Polls until no upload is PENDING_UPLOAD any more; returns how many are PROCESSING. */
async function waitUntilClaimed(target: RuntimeTarget, uploadIds: string[]): Promise<number> {
  const { store } = backends(target);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const statuses = (await mapLimit(uploadIds, 16, (id) => store.get(id))).map((record) => record?.status);
    if (!statuses.includes('PENDING_UPLOAD') || Date.now() > deadline) {
      return statuses.filter((status) => status === 'PROCESSING').length;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * One fault scenario: clients send a mixed batch, `strike` breaks something once `strikeAt`
 * uploads have been handed over, `heal` mends it; then every upload must reach its right terminal
 * status with nothing readable that should not be.
 */
async function scenario(
  id: string,
  title: string,
  target: SuiteRuntime,
  options: FaultsOptions,
  fault: {
    method?: 'POST' | 'PUT';
    before?: () => Promise<void>;
    strikeAt?: number;
    strike?: () => Promise<void>;
    heal?: (uploadIds: string[]) => Promise<Record<string, number | string>>;
    /** Heal only once every upload is terminal (faults that the pipeline must ride through). */
    healAfterDrain?: boolean;
    betweenCreateAndSend?: () => Promise<void>;
    redrive?: boolean;
  },
): Promise<PartResult> {
  return runPart(id, title, async (failures) => {
    const jobs = makeJobs(options.uploads, {
      label: id,
      ...(fault.method ? { method: fault.method } : {}),
    }).filter(
      (job) => job.kind !== 'oversize', // those only end at expiry: the load part covers them
    );
    await fault.before?.();
    let struck: Promise<void> | undefined;
    const run = await runClients(target, jobs, 8, {
      label: id,
      deadlineMs: 5 * 60_000,
      ...(fault.betweenCreateAndSend ? { betweenCreateAndSend: fault.betweenCreateAndSend } : {}),
      onProgress: (done) => {
        if (fault.strike && struck === undefined && done >= (fault.strikeAt ?? Math.floor(jobs.length / 3))) {
          options.log(`${id}: fault strikes after ${done} uploads`);
          struck = fault.strike().catch((error: unknown) => {
            failures.push(`the fault itself failed: ${(error as Error).message}`);
          });
        }
      },
    });
    await struck;
    for (const { job, error } of run.unsent) failures.push(`not sent (${job.kind}): ${error}`);
    options.record(run.sent);
    const ids = run.sent.map((job) => job.uploadId);
    let healed = fault.healAfterDrain ? {} : ((await fault.heal?.(ids)) ?? {});
    const started = Date.now();
    const redrive = fault.redrive ? await redriveUntilSettled(target, ids, 5 * 60_000) : undefined;
    const drained = await drain(target, ids, { deadlineMs: 5 * 60_000 });
    if (fault.healAfterDrain) healed = (await fault.heal?.(ids)) ?? {};
    const verdicts = await verifyUploads(target, run.sent, failures);
    const { store } = backends(target);
    const trails = await mapLimit(ids, 16, (uploadId) => store.listAudit(uploadId));
    const failedOnTheWay = trails.filter((trail) => trail.some((event) => event.action === 'FAILED')).length;
    return {
      uploads: jobs.length,
      processed: verdicts.byStatus.PROCESSED ?? 0,
      rejected: verdicts.byStatus.REJECTED ?? 0,
      lost: verdicts.lost + run.unsent.length,
      stuck: verdicts.stuck + drained.stuck.length,
      wrongOutcomes: verdicts.wrongOutcome + verdicts.wrongVersion,
      promotedTwice: verdicts.promotedTwice,
      readableThatShouldNot: verdicts.readableThatShouldNot,
      clientRetries: run.clientRetries,
      ...(redrive ? { failedThenRecovered: failedOnTheWay, redrivesStarted: redrive.redriven } : {}),
      ...healed,
      recoverSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
  });
}

/**
 * Faults, each while clients upload: injected transient errors in every step, event deliveries
 * refused (RGW redelivers), a RadosGW restart, a clamd restart, DynamoDB unavailable (retries, then a redrive),
 * and SIGKILL of the whole runtime followed by a restart.
 */
export async function runFaults(runtime: SuiteRuntime, options: FaultsOptions): Promise<PartResult[]> {
  const results: PartResult[] = [];
  const injectedBefore = async () => (await control(runtime)).injected;

  let before: Record<string, number> = {};
  results.push(
    await scenario('faults.transient', 'transient errors injected in every step (20%)', runtime, options, {
      before: async () => {
        before = await injectedBefore();
        await control(runtime, { rates: 'steps=0.2' });
      },
      healAfterDrain: true,
      heal: async () => {
        const after = await control(runtime, { rates: 'steps=0,router=0' });
        const injected = Object.fromEntries(
          Object.entries(after.injected)
            .filter(([point]) => point !== 'router')
            .map(([point, n]) => [`injected ${point}`, n - (before[point] ?? 0)]),
        );
        return { injectedFaults: sum(injected), ...injected };
      },
    }),
  );
  results.push(
    await scenario(
      'faults.delivery',
      'event deliveries refused (router 500 on 30%), RGW redelivers',
      runtime,
      options,
      {
        method: 'PUT',
        before: async () => {
          before = await injectedBefore();
          await control(runtime, { rates: 'router=0.3' });
        },
        heal: async () => {
          // Keep refusing until every upload is in, so that redelivery (not the reconciler) starts them.
          const after = await control(runtime, { rates: 'steps=0,router=0' });
          return { deliveriesRefused: (after.injected.router ?? 0) - (before.router ?? 0) };
        },
      },
    ),
  );
  let restartMs = 0;
  results.push(
    await scenario('faults.rgw-restart', 'RadosGW restarted mid-load', runtime, options, {
      strike: async () => {
        const started = Date.now();
        await control(runtime, { restart: 'rgw' });
        restartMs = Date.now() - started;
      },
      heal: () => Promise.resolve({ rgwRestartSeconds: Math.round(restartMs / 100) / 10 }),
    }),
  );
  // The malware engine restarted while Validate feeds it: scans cut off fail transiently and are
  // retried against the new clamd; nothing is promoted without its verdict.
  let clamdRestartMs = 0;
  results.push(
    await scenario(
      'faults.clamd-restart',
      'clamd (the malware engine) restarted mid-load',
      runtime,
      options,
      {
        strike: async () => {
          const started = Date.now();
          await control(runtime, { restart: 'clamd' });
          clamdRestartMs = Date.now() - started;
        },
        heal: () => Promise.resolve({ clamdRestartSeconds: Math.round(clamdRestartMs / 100) / 10 }),
      },
    ),
  );
  // DynamoDB goes away once every upload is granted and before any byte is sent: every execution
  // meets the outage, retries through it, and those whose retries run out are restarted by the
  // sweeper (still PENDING) or redriven (FAILED).
  let outage: Promise<number> | undefined;
  results.push(
    await scenario(
      'faults.dynamodb-outage',
      `DynamoDB unavailable for ${options.outageSeconds} s while the uploads arrive`,
      runtime,
      options,
      {
        betweenCreateAndSend: async () => {
          await control(runtime, { dynamodb: 'down' });
          const downAt = Date.now();
          outage = new Promise((resolve) => setTimeout(resolve, options.outageSeconds * 1000)).then(
            async () => {
              await control(runtime, { dynamodb: 'up' });
              return Date.now() - downAt;
            },
          );
        },
        heal: async () => ({ outageSeconds: Math.round(((await outage) ?? 0) / 1000) }),
        redrive: true,
      },
    ),
  );
  // DynamoDB goes away while every upload is mid-pipeline (claimed, its copy under way): the
  // outcome writes retry until their retries run out, those uploads end FAILED (recorded once
  // DynamoDB is back, or by the sweeper), and the redrive brings them to their outcome.
  results.push(
    await scenario(
      'faults.dynamodb-outage-mid',
      `DynamoDB unavailable for ${options.outageSeconds} s with every upload mid-pipeline`,
      runtime,
      options,
      {
        // Copies fail (injected, retried) until every upload is claimed; then DynamoDB goes.
        betweenCreateAndSend: async () => {
          await control(runtime, { rates: 'promote=1,reject=1' });
        },
        heal: async (uploadIds) => {
          const claimed = await waitUntilClaimed(runtime, uploadIds);
          const downAt = Date.now();
          await control(runtime, { dynamodb: 'down' });
          await control(runtime, { rates: 'steps=0,router=0' });
          await new Promise((resolve) => setTimeout(resolve, options.outageSeconds * 1000));
          await control(runtime, { dynamodb: 'up' });
          return { claimedWhenItWent: claimed, outageSeconds: Math.round((Date.now() - downAt) / 1000) };
        },
        redrive: true,
      },
    ),
  );
  let downMs = 0;
  results.push(
    await scenario('faults.sigkill', 'the runtime SIGKILLed mid-load, then restarted', runtime, options, {
      strike: async () => {
        const started = Date.now();
        runtime.kill();
        await runtime.restart();
        downMs = Date.now() - started;
      },
      heal: () => Promise.resolve({ downSeconds: Math.round(downMs / 100) / 10 }),
    }),
  );
  return results;
}
