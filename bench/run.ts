/* eslint-disable no-console -- the benchmark's own terminal output */
import './quiet.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchClient, rejectedDocument, waitForExecutions, type ExecutionHistory } from './client.js';
import { computeCost, readPrices, synthesizeTemplate } from './cost.js';
import { runCostProbe } from './cost-probe.js';
import { runIssuanceBenchmark } from './issuance.js';
import { latencyBreakdown, runLatencyBenchmark } from './latency.js';
import { summarizeProfiles } from './profile.js';
import { auditRows, runAuditBenchmark, type AuditBenchPlan } from './audit.js';
import { goalsOf, renderReport, table, updateGeneratedBlock, type BenchReport } from './report.js';
import { attachRuntime, startBenchRuntime, type BenchRuntime } from './runtime.js';
import { MiB } from './stats.js';
import { runThroughputBenchmark } from './throughput.js';
import { runValidationBenchmark } from './validation.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

const USAGE = `npm run bench [-- options]

  --json <file>        write every figure (and the machine it ran on) as JSON
  --smoke              tiny sizes and counts: checks that every benchmark still runs
  --update-docs        rewrite docs/performance.md's generated table and reports/bench.json
  --runtime <file>     attach to a running local runtime ({apiUrl, dataDir, ports}) instead of starting one
  --profile <dir>      write V8 CPU profiles of the validation runs there, and summarise them
  --only audit         run only benchmark 6 (the audit trail's hash chain) and print its rows
  --only latency       run only benchmark 2 (end-to-end latency and the outcome events' webhook
                       latency); prints its figures (and --json), never touches the docs
  --help`;

interface Plan {
  validation: { sizes: number[]; rounds: number };
  latency: { putSamples: number; postSamples: number };
  throughput: Array<{ clients: number; documents: number }>;
  rejectedSamples: number;
  issuanceSeconds: number;
  issuanceConcurrency: number;
  probeTimingRepeats: number;
  audit: AuditBenchPlan;
}

const FULL: Plan = {
  validation: { sizes: [1 * MiB, 64 * MiB, 256 * MiB], rounds: 5 },
  latency: { putSamples: 50, postSamples: 50 },
  throughput: [
    { clients: 1, documents: 32 },
    { clients: 8, documents: 64 },
    { clients: 32, documents: 128 },
  ],
  rejectedSamples: 5,
  issuanceSeconds: 5,
  issuanceConcurrency: 8,
  probeTimingRepeats: 20,
  audit: { events: 100_000, sealRounds: 9, sealCallsPerRound: 20_000 },
};

const SMOKE: Plan = {
  validation: { sizes: [1 * MiB, 4 * MiB], rounds: 1 },
  latency: { putSamples: 3, postSamples: 1 },
  throughput: [{ clients: 1, documents: 3 }],
  rejectedSamples: 1,
  issuanceSeconds: 1,
  issuanceConcurrency: 4,
  probeTimingRepeats: 3,
  audit: { events: 2_000, sealRounds: 3, sealCallsPerRound: 1_000 },
};

const log = (message: string) => console.error(`[bench] ${message}`);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      'update-docs': { type: 'boolean', default: false },
      runtime: { type: 'string' },
      profile: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.only !== undefined && values.only !== 'latency' && values.only !== 'audit') {
    console.error(
      `--only takes "latency" or "audit" (the sections that run alone), got "${values.only}".\n\n${USAGE}`,
    );
    return 2;
  }
  if (values.only !== undefined && values['update-docs']) {
    console.error('--update-docs needs a run of every benchmark: leave out --only.');
    return 2;
  }
  const mode = values.smoke ? 'smoke' : 'full';
  const plan = values.smoke ? SMOKE : FULL;
  const startedAt = new Date();
  const started = performance.now();
  const loadAverageAtStart = loadavg();
  if (values.profile) mkdirSync(values.profile, { recursive: true });

  const runtime: BenchRuntime = values.runtime ? attachRuntime(values.runtime) : await startBenchRuntime(log);
  let interrupted = false;
  const onSignal = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping the runtime…`);
    void runtime.stop().finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  if (values.only === 'audit') {
    try {
      const audit = await runAuditBenchmark(runtime, plan.audit, log);
      console.log(
        `\n${table(['#', 'figure', 'value', 'baseline (same run)', 'ratio', 'goal'], auditRows(audit))}\n`,
      );
      if (values.json) writeJson(values.json, { mode, startedAt: startedAt.toISOString(), audit });
    } finally {
      await runtime.stop();
    }
    return 0;
  }
  if (values.only === 'latency') return runLatencyOnly(runtime, plan, values.smoke ?? false, values.json);

  let report: BenchReport;
  try {
    // Every object the benchmarks put directly in the runtime's bucket lives under this prefix.
    const prefix = `bench/${startedAt.toISOString().replace(/[:.]/g, '-')}/`;
    const timeoutMs = values.smoke ? 30_000 : 120_000;

    log('1/6 validation streaming');
    const validation = await runValidationBenchmark(
      runtime,
      { ...plan.validation, prefix, ...(values.profile ? { profileDir: values.profile } : {}) },
      log,
    );
    if (values.profile) {
      for (const summary of summarizeProfiles(values.profile)) {
        log(`profile ${summary.file} (${summary.windowMs} ms measured):`);
        for (const entry of summary.top)
          log(`  ${entry.selfMs.toFixed(1).padStart(8)} ms  ${entry.function}`);
      }
    }

    log('2/6 end-to-end latency');
    const latency = await runLatencyBenchmark(runtime, { ...plan.latency, prefix, timeoutMs }, log);

    log('3/6 throughput');
    const throughput = await runThroughputBenchmark(runtime, { levels: plan.throughput, timeoutMs }, log);

    // A few rejected documents through the runtime, for the reject path's transitions and durations.
    const rejecter = await BenchClient.create(runtime, 'bench-rejected');
    const rejectedIds: string[] = [];
    for (let i = 0; i < plan.rejectedSamples; i++) {
      const outcome = await rejecter.process(rejectedDocument(), 'PUT', { intervalMs: 50, timeoutMs });
      if (outcome.status !== 'REJECTED') throw new Error(`a spoofed document ended ${outcome.status}`);
      rejectedIds.push(outcome.uploadId);
    }

    log('4/6 issuance');
    const issuance = await runIssuanceBenchmark(
      runtime,
      { seconds: plan.issuanceSeconds, concurrency: plan.issuanceConcurrency },
      log,
    );

    log('5/6 cost model: synthesizing the CDK app, counting requests per document');
    // Durations from the sequential runs (2 and the rejected samples): under load (3) the one
    // local process time-slices up to 16 executions, which separate Lambda invocations do not.
    const histories = await waitForExecutions(runtime, new Set([...latency.uploadIds, ...rejectedIds]));
    const ended = (state: string) => (history: ExecutionHistory) =>
      history.events.some((event) => event.type === 'StateEntered' && event.state?.name === state);
    latency.breakdown = latencyBreakdown(latency.samples, histories);
    const template = await synthesizeTemplate();
    const probe = await runCostProbe(runtime, { timingRepeats: plan.probeTimingRepeats }, log);
    const cost = computeCost({
      template,
      prices: readPrices(),
      probe,
      processed: histories.filter(ended('RecordProcessed')),
      rejected: histories.filter(ended('RecordRejected')),
      validateBySize: validation.sizes
        .filter((size) => size.bytes >= 64 * MiB)
        .map((size) => ({ label: size.label, ms: size.validateMedianMs, bytes: size.bytes })),
    });

    log('6/6 audit chain: cost per transition, verify throughput');
    const audit = await runAuditBenchmark(runtime, plan.audit, log);

    const partial: Omit<BenchReport, 'goals'> = {
      version: 1,
      mode,
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(performance.now() - started),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 1024 ** 3),
        node: process.versions.node,
        platform: process.platform,
        arch: process.arch,
        loadAverageAtStart: loadAverageAtStart.map((value) => Math.round(value * 100) / 100),
        loadAverageAtEnd: loadavg().map((value) => Math.round(value * 100) / 100),
      },
      runtime: {
        attached: runtime.attached,
        startupMs: runtime.startupMs,
        maxConcurrentExecutions: runtime.maxConcurrentExecutions,
      },
      validation,
      latency,
      throughput,
      issuance,
      cost,
      audit,
    };
    report = { ...partial, goals: goalsOf(partial) };
  } finally {
    await runtime.stop();
  }

  const markdown = renderReport(report);
  console.log(`\n${markdown}\n`);
  if (values.json) writeJson(values.json, report);
  if (values['update-docs']) {
    await updateGeneratedBlock(join(REPO_ROOT, 'docs', 'performance.md'), markdown);
    const latest = join(REPO_ROOT, 'reports', 'bench.json');
    mkdirSync(dirname(latest), { recursive: true });
    // Committed, so formatted as `prettier --check .` wants it.
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(latest)) ?? {};
    writeFileSync(latest, await prettier.format(JSON.stringify(report), { ...options, parser: 'json' }));
    log('updated docs/performance.md and reports/bench.json');
  }
  return 0;
}

function writeJson(path: string, content: unknown): void {
  const file = resolve(path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`);
  log(`wrote ${file}`);
}

/** `--only latency`: benchmark 2 alone, its figures printed (and written with --json). */
async function runLatencyOnly(
  runtime: BenchRuntime,
  plan: Plan,
  smoke: boolean,
  json: string | undefined,
): Promise<number> {
  try {
    const prefix = `bench/${new Date().toISOString().replace(/[:.]/g, '-')}/`;
    log('2/6 end-to-end latency (alone: --only latency)');
    const latency = await runLatencyBenchmark(
      runtime,
      { ...plan.latency, prefix, timeoutMs: smoke ? 30_000 : 120_000 },
      log,
    );
    const { samples: _samples, postSamples: _postSamples, uploadIds: _uploadIds, ...figures } = latency;
    console.log(JSON.stringify(figures, null, 2));
    if (json) writeJson(json, { mode: smoke ? 'smoke' : 'full', only: 'latency', latency });
    const webhookMet =
      latency.webhook === undefined || (latency.webhook.missing === 0 && latency.webhook.unverified === 0);
    return latency.lost === 0 && webhookMet ? 0 : 1;
  } finally {
    await runtime.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
