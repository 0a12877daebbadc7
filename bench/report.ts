import { readFileSync, writeFileSync } from 'node:fs';
import type { CostResult, PathCost } from './cost.js';
import type { IssuanceResult } from './issuance.js';
import { POST_TO_PUT_GOAL, type LatencyResult } from './latency.js';
import type { ThroughputResult } from './throughput.js';
import type { ValidationResult } from './validation.js';
import { MiB } from './stats.js';
import { auditGoals, auditRows, type AuditBenchResult } from './audit.js';

/** Everything one run measured; `--json` writes it. */
export interface BenchReport {
  version: 1;
  mode: 'full' | 'smoke';
  startedAt: string;
  durationMs: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    platform: string;
    arch: string;
    /** 1, 5 and 15 minute load averages when the run started and ended: a busy machine is noisy. */
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  runtime: { attached: boolean; startupMs: number; maxConcurrentExecutions: number };
  validation: ValidationResult;
  latency: LatencyResult;
  throughput: ThroughputResult;
  issuance: IssuanceResult;
  cost: CostResult;
  /** Benchmark 6 (absent from reports written before it). */
  audit?: AuditBenchResult;
  goals: Goal[];
}

export interface Goal {
  id: string;
  description: string;
  value: string;
  met: boolean;
}

export function goalsOf(report: Omit<BenchReport, 'goals'>): Goal[] {
  const { validation, throughput } = report;
  return [
    ...validation.sizes.map((size) => ({
      id: `validation.throughput.${size.label.replace(' ', '')}`,
      description: `validate ${size.label}: MB/s ≥ ${validation.throughputGoal} × raw GetObject`,
      value: size.ratio.toFixed(2),
      met: size.ratio >= validation.throughputGoal,
    })),
    {
      id: 'validation.memory',
      description: `validate peak RSS growth, ${validation.sizes[0]?.label} vs ${validation.sizes.at(-1)?.label}: within ${validation.memoryGoalBytes / MiB} MiB`,
      value: `${mib(validation.memoryDeltaBytes)} MiB`,
      met: validation.memoryMet,
    },
    ...throughput.levels.map((level) => ({
      id: `throughput.lost.${level.clients}`,
      description: `${level.clients} client(s): no document lost`,
      value: String(level.lost),
      met: level.lost === 0,
    })),
    {
      id: 'latency.post',
      description: `POST p50 ≤ ${POST_TO_PUT_GOAL} × PUT p50`,
      value: report.latency.postToPutRatio.toFixed(2),
      met: report.latency.postToPutRatio <= POST_TO_PUT_GOAL,
    },
    {
      id: 'latency.lost',
      description: 'latency samples: no document lost',
      value: String(report.latency.lost),
      met: report.latency.lost === 0,
    },
    ...(report.audit ? auditGoals(report.audit) : []),
    ...(report.latency.webhook
      ? [
          {
            id: 'latency.webhook',
            description: "latency samples: every PROCESSED sample's event received, verified",
            value: `${report.latency.webhook.missing} missing, ${report.latency.webhook.unverified} unverified`,
            met: report.latency.webhook.missing === 0 && report.latency.webhook.unverified === 0,
          },
        ]
      : []),
  ];
}

const mib = (bytes: number): string => (bytes / MiB).toFixed(1);
const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(value < 10 ? 1 : 0) : '–');
const mark = (met: boolean): string => (met ? '✓' : '✗');
const usd = (value: number): string => `$${value < 0.01 ? value.toFixed(4) : value.toFixed(3)}`;

/** A Markdown table with padded columns (readable as plain text too). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

function mainTable(report: Omit<BenchReport, 'goals'>): string {
  const { validation, latency, throughput, issuance, cost } = report;
  const rows: string[][] = [];
  for (const size of validation.sizes) {
    rows.push([
      '1',
      `validate ${size.label} (${validation.contentType}), best of ${size.rounds}`,
      `${size.bestValidateMiBps.toFixed(0)} MiB/s`,
      `raw GetObject ${size.bestRawMiBps.toFixed(0)} MiB/s`,
      `${size.ratio.toFixed(2)}`,
      `≥ ${validation.throughputGoal.toFixed(2)} ${mark(size.ratio >= validation.throughputGoal)}`,
    ]);
  }
  const first = validation.sizes[0];
  const last = validation.sizes.at(-1);
  if (first && last) {
    rows.push([
      '1',
      `validate peak RSS growth, ${validation.sizes.map((size) => size.label).join(' / ')} (median)`,
      `${validation.sizes.map((size) => mib(size.validateGrowthBytes)).join(' / ')} MiB (Δ ${mib(validation.memoryDeltaBytes)})`,
      `raw GetObject ${validation.sizes.map((size) => mib(size.rawGrowthBytes)).join(' / ')} MiB`,
      '–',
      `Δ ≤ ${validation.memoryGoalBytes / MiB} MiB ${mark(validation.memoryMet)}`,
    ]);
  }
  rows.push([
    '2',
    `100 KiB by PUT: 2xx → PROCESSED seen, p50 / p95 / p99 (n=${latency.put.n})`,
    `${ms(latency.put.p50)} / ${ms(latency.put.p95)} / ${ms(latency.put.p99)} ms`,
    `irreducible ${ms(latency.irreducible.totalMs)} ms`,
    `${latency.ratio.toFixed(1)}× (p50)`,
    '–',
  ]);
  rows.push([
    '2',
    `100 KiB by POST (event from RadosGW's ops log locally), p50 / p95 / p99 (n=${latency.post.n})`,
    `${ms(latency.post.p50)} / ${ms(latency.post.p95)} / ${ms(latency.post.p99)} ms`,
    `PUT p50 ${ms(latency.put.p50)} ms`,
    `${latency.postToPutRatio.toFixed(2)}× (p50)`,
    `≤ ${POST_TO_PUT_GOAL}× ${mark(latency.postToPutRatio <= POST_TO_PUT_GOAL)}`,
  ]);
  if (latency.webhook) {
    const { recordedToReceived: delay, ratioToEndToEnd } = latency.webhook;
    rows.push([
      '2',
      `outcome event: PROCESSED recorded → webhook received by a local consumer, p50 / p95 / p99 (n=${delay.n})`,
      `${ms(delay.p50)} / ${ms(delay.p95)} / ${ms(delay.p99)} ms`,
      `PUT p50 ${ms(latency.put.p50)} ms (2xx → PROCESSED seen)`,
      `${ratioToEndToEnd.toFixed(2)}× (p50)`,
      '–',
    ]);
  }
  for (const level of throughput.levels) {
    rows.push([
      '3',
      `${level.clients} concurrent client(s), ${level.documents} documents`,
      `${level.docsPerSecond.toFixed(1)} docs/s (p50 ${ms(level.latency.p50)} ms)`,
      '–',
      '–',
      `lost = 0 ${mark(level.lost === 0)} (${level.lost})`,
    ]);
  }
  rows.push([
    '4',
    `POST /uploads, ${issuance.concurrency} concurrent`,
    `${issuance.api.perSecond.toFixed(0)} req/s, p95 ${ms(issuance.api.p95Ms)} ms`,
    `createPresignedPost ${issuance.presign.perSecond.toFixed(0)}/s, p95 ${issuance.presign.p95Ms.toFixed(2)} ms`,
    issuance.ratio.toFixed(3),
    '–',
  ]);
  for (const path of cost.paths) {
    rows.push([
      '5',
      `AWS cost per 1,000 documents, ${path.path === 'processed' ? 'happy path' : 'reject path'}`,
      usd(path.usdPer1000.total),
      '–',
      '–',
      '–',
    ]);
  }
  if (report.audit) rows.push(...auditRows(report.audit));
  return table(['#', 'figure', 'value', 'baseline (same run)', 'ratio', 'goal'], rows);
}

function costTable(cost: CostResult): string {
  const rows = cost.paths.map((path: PathCost) => [
    path.path,
    String(path.stateTransitions),
    `${path.lambda.invocations} / ${path.lambda.gbSeconds.toFixed(3)}`,
    `${path.dynamo.wru} / ${path.dynamo.rru}`,
    `${path.s3.putCopyPostList} / ${path.s3.getHeadOther} / ${path.s3.free}`,
    usd(path.usdPer1000.scanner),
    usd(path.usdPer1000.stepFunctions),
    usd(path.usdPer1000.lambdaRequests + path.usdPer1000.lambdaDuration),
    usd(path.usdPer1000.dynamodb),
    usd(path.usdPer1000.s3),
    usd(path.usdPer1000.apiGateway),
    usd(path.usdPer1000.eventBridge),
    usd(path.usdPer1000.total),
  ]);
  return table(
    [
      'path',
      'state transitions',
      'Lambda invocations / GB-s',
      'DynamoDB WRU / RRU',
      'S3 PUT-class / GET-class / DELETE',
      'Scanner',
      'Step Functions',
      'Lambda',
      'DynamoDB',
      'S3',
      'API Gateway',
      'EventBridge',
      'total per 1,000',
    ],
    rows,
  );
}

/** The generated Markdown: what `--update-docs` puts between the markers, and what is printed. */
export function renderReport(report: BenchReport): string {
  const { machine, latency, cost, validation, throughput } = report;
  const components = Object.entries(latency.irreducible.components)
    .map(([name, value]) => `${name} ${ms(value)}`)
    .join(' + ');
  const missed = report.goals.filter((goal) => !goal.met);
  const steps = cost.paths[0]?.lambda.lines
    .map((line) => `${line.function} ${ms(line.durationMs)} ms × ${line.memoryMB} MB`)
    .join(', ');
  const breakdown = latency.breakdown
    ? ` Where a PUT sample's time goes (medians): upload 2xx → execution started ${ms(latency.breakdown.eventToExecutionMs)} ms ` +
      `(RadosGW's notification, the router, the fsynced execution record), → PROCESSED written ` +
      `${ms(latency.breakdown.executionToProcessedMs)} ms, → seen by the poller ${ms(latency.breakdown.processedToSeenMs)} ms.`
    : '';
  const lines = [
    `Generated by \`npm run bench${report.mode === 'smoke' ? ' -- --smoke' : ''}\` on ${report.startedAt.slice(0, 10)} ` +
      `(${report.mode} run, ${(report.durationMs / 1000).toFixed(0)} s): ${machine.cpus} × ${machine.cpuModel}, ` +
      `${machine.memoryGiB} GiB, Node ${machine.node}, load average ${machine.loadAverageAtStart.map((v) => v.toFixed(1)).join(' / ')} ` +
      `at the start. Local runtime: RadosGW, dynalite, executor concurrency ${report.runtime.maxConcurrentExecutions}.`,
    '',
    mainTable(report),
    '',
    `Irreducible work for one 100 KiB document (medians of ${latency.irreducible.samples} samples, same run): ${components} = ${ms(latency.irreducible.totalMs)} ms.${breakdown} ` +
      `Polling every ${latency.pollIntervalMs} ms in 2, ${throughput.pollIntervalMs} ms in 3 (where times are the records' own updatedAt). ` +
      `Validation on this CPU, in memory: SHA-256 ${validation.inspection.sha256MsPerMiB} ms/MiB, the whole inspection ` +
      `${validation.inspection.inspectMsPerMiB} ms/MiB; if none of it overlaps the stream, the ratio is at most ` +
      `${validation.sizes.map((size) => `${size.serialBound.toFixed(2)} (${size.label})`).join(', ')}. ` +
      `Process CPU per MiB at ${validation.sizes.at(-1)?.label}: ${validation.sizes.at(-1)?.validateCpuMsPerMiB} validating vs ` +
      `${validation.sizes.at(-1)?.rawCpuMsPerMiB} raw; machine CPU busy ${Math.round((validation.sizes.at(-1)?.machineBusy ?? 0) * 100)} %. ` +
      `Peak RSS growth at ${validation.sizes.at(-1)?.label} with a young-generation GC forced every 5 ms: ${mib(validation.largestGrowthWithGcBytes)} MiB.`,
    '',
    `Cost model (${cost.region} prices of ${cost.pricesDate}, ${cost.stateMachineType} state machine, ${cost.architecture} functions, ${cost.statusPollsPerDocument} status polls per document; USD per 1,000 documents):`,
    '',
    costTable(cost),
    '',
    `Happy-path Lambda durations: ${steps}.`,
    ...(cost.validateBySize.length > 0
      ? [
          '',
          `The validate step alone for bigger files (1,024 MB): ${cost.validateBySize
            .map((entry) => `${entry.size} ${usd(entry.usdPer1000)}`)
            .join(
              ', ',
            )} per 1,000 documents; the scanner's share (${cost.paths[0]?.scanner.engine ?? 'none'}, per object and GB): ${cost.validateBySize
            .map((entry) => `${entry.size} ${usd(entry.scannerUsdPer1000)}`)
            .join(', ')}.`,
        ]
      : []),
    '',
    missed.length === 0
      ? 'Every goal was met in this run.'
      : `Goals missed in this run: ${missed.map((goal) => `${goal.description} (${goal.value})`).join('; ')}. See the notes above for what bounds them.`,
  ];
  return lines.join('\n');
}

export const BEGIN_MARKER = '<!-- bench:begin -->';
export const END_MARKER = '<!-- bench:end -->';

/**
 * Replaces the generated block of a document (docs/performance.md) (between the markers) and formats it with prettier, so
 * that `prettier --check .` stays clean. Only the block changes.
 */
export async function updateGeneratedBlock(documentPath: string, markdown: string): Promise<void> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(documentPath)) ?? {};
  const formatted = (await prettier.format(markdown, { ...options, parser: 'markdown' })).trim();
  const text = readFileSync(documentPath, 'utf8');
  const begin = text.indexOf(BEGIN_MARKER);
  const end = text.indexOf(END_MARKER);
  if (begin === -1 || end === -1 || end < begin) {
    throw new Error(`${documentPath} has no ${BEGIN_MARKER} … ${END_MARKER} block to update.`);
  }
  const updated = `${text.slice(0, begin + BEGIN_MARKER.length)}\n\n${formatted}\n\n${text.slice(end)}`;
  writeFileSync(documentPath, updated);
}
