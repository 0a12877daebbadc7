/* eslint-disable no-console -- the suite's own terminal output */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { REPO_ROOT } from '../../local/settings.js';
import { startSuiteRuntime, type IamTotals, type SuiteRuntime } from './harness.js';
import type { PartResult, SuiteOptions } from './part.js';
import { runAuditCompleteness } from './audit.js';
import { cadenceEnv, runBacklog, scaledCadence } from './backlog.js';
import { runDuplicates } from './duplicates.js';
import { runEvents } from './events.js';
import { runFaults } from './faults.js';
import { runHostileCorpus } from './hostile.js';
import { runInfrastructure } from './infrastructure.js';
import { runIsolation } from './isolation.js';
import { runLoad } from './load.js';
import type { SentJob } from './workload.js';

/**
 * `npm run test:reliability [-- --quick] [--only load,backlog,…] [--json <file>] [--no-docs]`
 *
 * Starts a local runtime (with fault injection switched on, rates at zero until a part raises
 * them) and tries to break Airlock: load, faults, duplicates, hostile input, isolation, the
 * infrastructure checks, outcome events to a failing webhook consumer (in a runtime of its own)
 * and the audit trail's completeness. Prints a summary table, writes a JSON report, and (a full
 * run of every part that passed) writes the figures into docs/reliability.md. `--only`
 * runs the parts named (infrastructure, events, load, duplicates, hostile, isolation, faults,
 * backlog, audit). Exits 1 on any failure.
 */
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    'no-docs': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const quick = values.quick ?? false;
const only = values.only?.split(',').map((name) => name.trim());
const wanted = (name: string) => only === undefined || only.includes(name);
const reportPath = resolve(
  values.json ?? join(REPO_ROOT, quick ? 'test-results' : 'reports', 'reliability.json'),
);
const started = Date.now();
const log = (message: string) =>
  console.log(`[reliability ${((Date.now() - started) / 1000).toFixed(0)}s] ${message}`);
const options: SuiteOptions = { quick, log };
const sizes = quick
  ? {
      loadUploads: 120,
      loadClients: 32,
      faultUploads: 24,
      duplicateUploads: 12,
      outageSeconds: 35,
      eventUploads: 60,
    }
  : {
      loadUploads: 1000,
      loadClients: 32,
      faultUploads: 120,
      duplicateUploads: 60,
      outageSeconds: 70,
      eventUploads: 1000,
    };
/** The main runtime's settings that the events part's own runtime shares (no fault injection). */
const runtimeSettings = {
  AIRLOCK_UPLOAD_URL_TTL_SECONDS: '60',
  AIRLOCK_PROCESSING_TIMEOUT_MS: '10000',
  // Step Functions runs thousands of executions at once; here every fault batch fits at once,
  // so that an outage meets every upload mid-pipeline rather than queued.
  AIRLOCK_MAX_CONCURRENT_EXECUTIONS: '128',
  AIRLOCK_LOG_LEVEL: 'INFO',
};
/** The parts that run against the main runtime (the others start their own, or none). */
const MAIN_RUNTIME_PARTS = ['load', 'duplicates', 'hostile', 'isolation', 'faults', 'backlog', 'audit'];
// The deployed sweep cadence ÷60 (5 min → 5 s, grants 15 min → 15 s, the same page size).
const cadence = scaledCadence(60);
const backlogSizes = quick
  ? { grants: 400, minUploads: 30, maxUploads: 30, untilDrained: false, paceMs: 100, clients: 8 }
  : { grants: 10_000, minUploads: 300, maxUploads: 3000, untilDrained: true, paceMs: 200, clients: 16 };

const results: PartResult[] = [];
const allSent: SentJob[] = [];
let runtime: SuiteRuntime | undefined;
/** What the local IAM checked against the synthesized policies while the suite ran (every runtime). */
let iam: IamTotals | undefined;
// The backlog part has its own runtime, at the deployed cadence: it starts beside the first part.
let cadenceRuntime: Promise<SuiteRuntime> | undefined;
/** The events part's own runtime, while that part runs. */
let eventsRuntime: SuiteRuntime | undefined;
const stopRuntime = async () => {
  const running = [eventsRuntime, runtime, await cadenceRuntime?.catch(() => undefined)];
  eventsRuntime = undefined;
  runtime = undefined;
  cadenceRuntime = undefined;
  for (const each of running) {
    const totals = await each?.stop();
    if (totals) iam = iam === undefined ? totals : addIamTotals(iam, totals);
  }
};
process.once('SIGINT', () => void stopRuntime().then(() => process.exit(130)));
process.once('SIGTERM', () => void stopRuntime().then(() => process.exit(143)));

try {
  if (wanted('backlog')) {
    cadenceRuntime = startSuiteRuntime(`${quick ? 'quick' : 'full'}-cadence`, {
      ...cadenceEnv(cadence),
      AIRLOCK_LOG_LEVEL: 'INFO',
    });
    cadenceRuntime.catch(() => undefined); // awaited (and reported) by the part
  }
  if (wanted('infrastructure')) {
    log('infrastructure: cdk-nag packs…');
    results.push(await runInfrastructure(options));
  }
  if (wanted('events')) {
    const result = await runEvents({
      ...options,
      uploads: sizes.eventUploads,
      clients: sizes.loadClients,
      runtimeEnv: runtimeSettings,
      onIam: (totals) => (iam = iam === undefined ? totals : addIamTotals(iam, totals)),
      onRuntime: (started) => (eventsRuntime = started),
    });
    results.push(result);
    log(`${result.passed ? 'PASS' : 'FAIL'} ${result.id} (${(result.durationMs / 1000).toFixed(1)} s)`);
    for (const line of result.failures.slice(0, 20)) log(`  ✗ ${line}`);
  }
  if (MAIN_RUNTIME_PARTS.some(wanted)) {
    log('starting the local runtime (fault injection on, all rates 0)…');
    runtime = await startSuiteRuntime(quick ? 'quick' : 'full', {
      AIRLOCK_FAULTS: 'steps=0,router=0',
      ...runtimeSettings,
    });
  }
  // Only the parts below that are wanted use it, and then it was started.
  const target = runtime!;
  const record = (sent: SentJob[]) => allSent.push(...sent);
  for (const [name, part] of [
    [
      'load',
      () => runLoad(target, { ...options, uploads: sizes.loadUploads, clients: sizes.loadClients, record }),
    ],
    ['duplicates', () => runDuplicates(target, { ...options, uploads: sizes.duplicateUploads, record })],
    ['hostile', () => runHostileCorpus(target, options)],
    ['isolation', () => runIsolation(target, options)],
    [
      'faults',
      () =>
        runFaults(target, {
          ...options,
          uploads: sizes.faultUploads,
          outageSeconds: sizes.outageSeconds,
          record,
        }),
    ],
    [
      'backlog',
      async () => {
        log(`backlog: its runtime runs the deployed sweep cadence ÷${cadence.factor}`);
        return runBacklog(await cadenceRuntime!, { ...options, ...backlogSizes, cadence });
      },
    ],
  ] as const) {
    if (!wanted(name)) continue;
    const produced: PartResult | PartResult[] = await part();
    for (const result of Array.isArray(produced) ? produced : [produced]) {
      results.push(result);
      log(`${result.passed ? 'PASS' : 'FAIL'} ${result.id} (${(result.durationMs / 1000).toFixed(1)} s)`);
      for (const line of result.failures.slice(0, 20)) log(`  ✗ ${line}`);
    }
  }
  if (wanted('audit')) {
    // The backlog's runtime too: its trails went through the sweeper at scale.
    const backlogRuntime = await cadenceRuntime?.catch(() => undefined);
    const alsoVerify = backlogRuntime ? [backlogRuntime] : [];
    results.push(await runAuditCompleteness(target, { ...options, sent: allSent, alsoVerify }));
  }
} catch (error) {
  results.push({
    id: 'suite',
    title: 'the suite itself',
    passed: false,
    figures: {},
    failures: [`crashed: ${(error as Error).stack ?? String(error)}`],
    durationMs: Date.now() - started,
  });
} finally {
  await stopRuntime();
}

const iamDenied = iam ? iam.sdkCalls.denied + iam.presignedGrants.denied + iam.serviceCalls.denied : 0;
// Every path the suite walks must be allowed by the deployed policies.
const passed = results.every((result) => result.passed) && iamDenied === 0;
const report = {
  suite: 'reliability',
  mode: quick ? 'quick' : 'full',
  passed,
  date: new Date().toISOString(),
  durationSeconds: Math.round((Date.now() - started) / 1000),
  machine: { cpus: cpus().length, node: process.version },
  parts: results,
  iam,
};
mkdirSync(dirname(reportPath), { recursive: true });
writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\n${summaryTable(results)}\n`);
if (iam) console.log(`${iamLine(iam)}\n`);
for (const denial of iam?.denials ?? []) console.log(`  ✗ IAM denied: ${JSON.stringify(denial)}`);
console.log(`${passed ? 'PASSED' : 'FAILED'} in ${report.durationSeconds} s; report: ${reportPath}`);
for (const result of results.filter((r) => !r.passed)) {
  console.log(`\n${result.id}:`);
  for (const line of result.failures.slice(0, 50)) console.log(`  ✗ ${line}`);
}
if (passed && !quick && only === undefined && !values['no-docs']) {
  await writeDocs(results, report.date, iam);
  console.log('docs/reliability.md: reliability figures updated');
}
process.exit(passed ? 0 : 1);

function addIamTotals(a: IamTotals, b: IamTotals): IamTotals {
  const sum = (x: { checked: number; denied: number }, y: { checked: number; denied: number }) => ({
    checked: x.checked + y.checked,
    denied: x.denied + y.denied,
  });
  return {
    runtimes: a.runtimes + b.runtimes,
    sdkCalls: sum(a.sdkCalls, b.sdkCalls),
    presignedGrants: sum(a.presignedGrants, b.presignedGrants),
    serviceCalls: sum(a.serviceCalls, b.serviceCalls),
    denials: [...a.denials, ...b.denials],
  };
}

/** One line per part: verdict, what it tried, its figures. */
function summaryTable(parts: PartResult[]): string {
  const rows = parts.map((part) => [
    part.passed ? 'pass' : 'FAIL',
    part.id,
    part.title,
    Object.entries(part.figures)
      .map(([name, value]) => `${name}=${value}`)
      .join(' '),
  ]);
  const header = ['result', 'part', 'what it tried', 'figures'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length).filter((width) => width < 70)),
  );
  return [header, ...rows]
    .map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  '))
    .join('\n');
}

/** The local IAM's counts, in one line. */
function iamLine(totals: IamTotals): string {
  const denied = totals.sdkCalls.denied + totals.presignedGrants.denied + totals.serviceCalls.denied;
  return (
    `Local IAM: ${totals.sdkCalls.checked} SDK calls, ${totals.presignedGrants.checked} presigned grants and ` +
    `${totals.serviceCalls.checked} service calls checked against the synthesized policies; ${denied} denied.`
  );
}

/** Replaces docs/reliability.md's generated section (between its markers) with this run's figures. */
async function writeDocs(parts: PartResult[], date: string, totals: IamTotals | undefined): Promise<void> {
  const path = join(REPO_ROOT, 'docs', 'reliability.md');
  const readme = readFileSync(path, 'utf8');
  const begin = '<!-- reliability:begin -->';
  const end = '<!-- reliability:end -->';
  const from = readme.indexOf(begin);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/reliability.md has no ${begin} … ${end} section.`);
  const rows = parts.map(
    (part) =>
      `| ${part.passed ? '✓' : '✗'} | ${part.id} | ${part.title} | ${Object.entries(part.figures)
        .map(([name, value]) => `${name} ${value}`)
        .join(', ')} |`,
  );
  const section = [
    begin,
    '',
    `_Generated by \`npm run test:reliability\` on ${date.slice(0, 10)} (${cpus().length} cores); the full report is [reports/reliability.json](reports/reliability.json)._`,
    '',
    '| ok | part | what it tried | figures |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    ...(totals ? [iamLine(totals), ''] : []),
    end,
  ].join('\n');
  const updated = `${readme.slice(0, from)}${section}${readme.slice(to + end.length)}`;
  writeFileSync(path, await format(updated, { ...(await resolveConfig(path)), filepath: path }));
}
