import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { AirlockClient } from '../client/index.js';
import { auditVerifyCommand, type VerificationSummary } from '../cli/audit-verify.js';
import type { appendEvent as AppendEvent } from '../functions/domain/audit-trail.js';
import type { AuditEvent, RecordedEvent, ScanSummary, UploadRecord } from '../functions/domain/model.js';
import { toAuditEventView, toUploadView } from '../functions/domain/status-view.js';
import {
  claimEvent,
  discardedEvent,
  issuedEvent,
  outcomeEvent,
} from '../functions/domain/transition-events.js';
import { newUploadId } from '../functions/domain/upload-id.js';
import type { ProbedPath, ProbeResult } from './cost-recording.js';
import type { BenchRuntime } from './runtime.js';
import { registerUnsealedImports } from './unsealed/register.js';
import { round, sum } from './stats.js';

/**
 * Benchmark 6: the audit trail's hash chain (issue 16).
 * (a) What chaining costs per transition: the cost probe's full lifecycle (real handlers, real
 *     ASL, instrumented DynamoDB client) run twice in this process, once as built and once with
 *     the chain taken out (bench/unsealed: the same modules, events appended without hashing),
 *     counting the reads and capacity units each step sends; and the CPU time of appendEvent with
 *     and without sealing, interleaved.
 * (b) What verifying costs: an NDJSON export of realistic trails (built with appendEvent, written
 *     as `airlock audit export --format ndjson` writes the auditor's view) verified by the CLI's
 *     offline path (`airlock audit verify --export`), against reading the same file and
 *     JSON.parse of each line.
 */

/** The steps of the lifecycle that append an event (ISSUED, CLAIMED, the outcome). */
const TRANSITION_STEPS = ['create-upload', 'claim', 'record-outcome'] as const;
/** The same module with the chain taken out (bench/unsealed/hooks.js). */
const unsealed = (specifier: string): string => `${specifier}?unsealed`;
const READ_COMMANDS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

/** The busy deployment a day of which is verified (the projection's assumption). */
export const BUSY_DAY = { uploads: 1_000_000 } as const;
/** The goal: a day of that deployment verifies in minutes, not hours. */
export const VERIFY_DAY_GOAL_MINUTES = 60;

export interface StepCost {
  step: string;
  readsChained: number;
  readsUnchained: number;
  rruChained: number;
  rruUnchained: number;
  wruChained: number;
  wruUnchained: number;
}

export interface AuditBenchResult {
  chaining: {
    /** The happy path, step by step (only steps that sent a DynamoDB request). */
    steps: StepCost[];
    transitions: number;
    readsChained: number;
    readsUnchained: number;
    /** (readsChained - readsUnchained) / transitions, over the happy and the reject path. */
    extraReadsPerTransition: number;
    rruChained: number;
    rruUnchained: number;
    wruChained: number;
    wruUnchained: number;
    /** CPU µs of one appendEvent, sealed and unsealed (medians of interleaved rounds). */
    sealUs: number;
    unsealedUs: number;
    sealRatio: number;
  };
  verify: {
    uploads: number;
    events: number;
    exportBytes: number;
    verdicts: VerificationSummary['verdicts'];
    result: VerificationSummary['result'];
    seconds: number;
    eventsPerSecond: number;
    /** Reading the same file line by line with JSON.parse of each line. */
    parseSeconds: number;
    parseEventsPerSecond: number;
    /** seconds / parseSeconds */
    ratio: number;
    busyDay: { uploads: number; eventsPerUpload: number; events: number; minutes: number };
    goalMinutes: number;
    met: boolean;
  };
}

export interface AuditBenchPlan {
  /** Events in the export (about, whole trails). */
  events: number;
  /** appendEvent calls per timed round. */
  sealRounds: number;
  sealCallsPerRound: number;
}

export async function runAuditBenchmark(
  runtime: BenchRuntime,
  plan: AuditBenchPlan,
  log: (message: string) => void,
): Promise<AuditBenchResult> {
  registerUnsealedImports();
  const chainedProbe = await import('./cost-probe.js');
  const unchainedProbe = (await import(unsealed('./cost-probe.js'))) as typeof chainedProbe;
  const chainedTrail = await import('../functions/domain/audit-trail.js');
  const unsealedTrail = (await import(unsealed('../functions/domain/audit-trail.js'))) as typeof chainedTrail;
  if ('hash' in { ...unsealedTrail.appendEvent(undefined, sampleEvents(newUploadId())[0]!).event }) {
    throw new Error('bench/unsealed did not take the chain out: its appendEvent still hashes');
  }

  log('audit chain: the lifecycle with and without the chain, DynamoDB requests counted');
  const chained = await chainedProbe.runCostProbe(runtime, { timingRepeats: 1 }, () => undefined);
  const unchained = await unchainedProbe.runCostProbe(runtime, { timingRepeats: 1 }, () => undefined);
  const seal = timeAppends(chainedTrail.appendEvent, unsealedTrail.appendEvent, plan);

  log(`audit chain: an export of ${plan.events} events, verified as \`airlock audit verify --export\``);
  const verify = await verifyThroughput(chainedTrail.appendEvent, plan.events);
  return { chaining: { ...chainingCost(chained, unchained), ...seal }, verify };
}

function chainingCost(chained: ProbeResult, unchained: ProbeResult) {
  const totals = (probe: ProbeResult) => {
    const operations = [...probe.processed.dynamo, ...probe.rejected.dynamo];
    return {
      reads: operations.filter((operation) => READ_COMMANDS.has(operation.command)).length,
      rru: sum(operations.map((operation) => operation.rru)),
      wru: sum(operations.map((operation) => operation.wru)),
    };
  };
  const withChain = totals(chained);
  const without = totals(unchained);
  const transitions = [chained.processed, chained.rejected].reduce(
    (count, path) => count + TRANSITION_STEPS.filter((step) => wrote(path, step)).length,
    0,
  );
  return {
    steps: stepCosts(chained.processed, unchained.processed),
    transitions,
    readsChained: withChain.reads,
    readsUnchained: without.reads,
    extraReadsPerTransition: round((withChain.reads - without.reads) / Math.max(1, transitions), 2),
    rruChained: withChain.rru,
    rruUnchained: without.rru,
    wruChained: withChain.wru,
    wruUnchained: without.wru,
  };
}

const wrote = (path: ProbedPath, step: string) =>
  path.dynamo.some(
    (operation) => operation.step === step && /^(PutItem|UpdateItem)$/.test(operation.command),
  );

function stepCosts(chained: ProbedPath, unchained: ProbedPath): StepCost[] {
  const steps = [...new Set([...chained.dynamo, ...unchained.dynamo].map((operation) => operation.step))];
  const of = (path: ProbedPath, step: string) => {
    const operations = path.dynamo.filter((operation) => operation.step === step);
    return {
      reads: operations.filter((operation) => READ_COMMANDS.has(operation.command)).length,
      rru: sum(operations.map((operation) => operation.rru)),
      wru: sum(operations.map((operation) => operation.wru)),
    };
  };
  return steps.map((step) => {
    const a = of(chained, step);
    const b = of(unchained, step);
    return {
      step,
      readsChained: a.reads,
      readsUnchained: b.reads,
      rruChained: a.rru,
      rruUnchained: b.rru,
      wruChained: a.wru,
      wruUnchained: b.wru,
    };
  });
}

/** CPU time of appendEvent over a realistic trail, sealed against unsealed, rounds interleaved. */
function timeAppends(
  sealed: typeof AppendEvent,
  unsealed: typeof AppendEvent,
  plan: AuditBenchPlan,
): { sealUs: number; unsealedUs: number; sealRatio: number } {
  const trail = sampleEvents(newUploadId());
  const round_ = (append: typeof AppendEvent): number => {
    const started = process.cpuUsage();
    let appended = 0;
    while (appended < plan.sealCallsPerRound) {
      let head: ReturnType<typeof AppendEvent>['head'] | undefined;
      for (const event of trail) {
        head = append(head, event).head;
        appended++;
      }
    }
    const used = process.cpuUsage(started);
    return (used.user + used.system) / appended;
  };
  round_(sealed); // warm-up: JIT
  round_(unsealed);
  const sealedUs: number[] = [];
  const unsealedUs: number[] = [];
  for (let i = 0; i < plan.sealRounds; i++) {
    sealedUs.push(round_(sealed));
    unsealedUs.push(round_(unsealed));
  }
  const sealUs = medianOf(sealedUs);
  const unsealedUs_ = medianOf(unsealedUs);
  return {
    sealUs: round(sealUs, 2),
    unsealedUs: round(unsealedUs_, 2),
    sealRatio: round(sealUs / unsealedUs_, 2),
  };
}

const medianOf = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

const SCAN: ScanSummary = {
  status: 'NO_THREATS_FOUND',
  engine: { name: 'ClamAV', version: '1.4.3' },
  database: { name: 'daily', version: '27841', publishedAt: '2026-11-28T08:21:00.000Z' },
  scannedAt: '2026-11-29T10:00:00.000Z',
};

/**
 * A trail as the pipeline writes them, 5 to 8 events: issued, claimed, sometimes a failure and
 * its redrive, sometimes other versions discarded, and the outcome with its scan verdict.
 */
function sampleEvents(uploadId: string, variant = 0): AuditEvent[] {
  const base = Date.parse('2026-11-29T10:00:00.000Z') + variant * 1000;
  let tick = 0;
  const at = () => new Date(base + ++tick * 37).toISOString();
  const execution = (n: number) => `${uploadId}-${n}-4f1c2a9e`;
  const record = (status: UploadRecord['status']) =>
    ({ uploadId, status, versionId: `v-${uploadId.slice(-8)}` }) as UploadRecord;
  const events: AuditEvent[] = [issuedEvent(uploadId, `user-${variant % 977}`, at())];
  const claim = (action: 'CLAIMED' | 'REDRIVEN', from: UploadRecord['status'], n: number) =>
    claimEvent({
      uploadId,
      at: at(),
      from,
      action,
      versionId: `v-${uploadId.slice(-8)}`,
      executionId: execution(n),
    });
  events.push(claim('CLAIMED', 'PENDING_UPLOAD', 1));
  const total = 5 + (variant % 4); // 5 to 8 events, 6.5 on average
  const redriven = variant % 4 >= 2;
  if (redriven) {
    events.push(
      outcomeEvent({
        record: record('PROCESSING'),
        outcome: 'FAILED',
        at: at(),
        executionId: execution(1),
        failure: { error: 'States.Timeout' },
      }),
      claim('REDRIVEN', 'FAILED', 2),
    );
  }
  // Other versions of the key, discarded while it was processed: the rest of the trail.
  const discards = total - events.length - 1;
  for (let i = 0; i < discards; i++) {
    events.push(
      discardedEvent({
        uploadId,
        at: at(),
        status: 'PROCESSING',
        reason: {
          code: 'ALREADY_PROCESSED',
          message:
            'This object is a later upload to the same key; an earlier version was already taken for processing; only one version of an upload is processed.',
        },
        versionId: `v-other-${i}`,
        executionId: execution(10 + i),
      }),
    );
  }
  events.push(
    outcomeEvent({
      record: record('PROCESSING'),
      outcome: 'PROCESSED',
      at: at(),
      executionId: execution(redriven ? 2 : 1),
      scan: SCAN,
    }),
  );
  return events;
}

/** Writes an export of about `events` events as `airlock audit export --format ndjson` does. */
async function writeExport(
  append: typeof AppendEvent,
  path: string,
  events: number,
): Promise<{ uploads: number; events: number; bytes: number }> {
  const file = await open(path, 'w');
  let uploads = 0;
  let written = 0;
  let bytes = 0;
  try {
    let chunk = '';
    while (written < events) {
      const uploadId = newUploadId();
      const trail: RecordedEvent[] = [];
      let head: ReturnType<typeof AppendEvent>['head'] | undefined;
      for (const event of sampleEvents(uploadId, uploads)) {
        const appended = append(head, event);
        trail.push(appended.event);
        head = appended.head;
      }
      const last = trail.at(-1)!;
      const record: UploadRecord = {
        uploadId,
        owner: `user-${uploads % 977}`,
        status: 'PROCESSED',
        previousStatus: 'PROCESSING',
        fileName: `invoice-${uploads}.pdf`,
        contentType: 'application/pdf',
        size: 48_213 + uploads,
        method: 'POST',
        createdAt: trail[0]!.at,
        updatedAt: last.at,
        expiresAt: trail[0]!.at,
        versionId: last.versionId,
        executionId: last.executionId,
        sha256: 'a'.repeat(64),
        detectedType: 'application/pdf',
        storedKey: `clean/${uploadId}`,
        reasons: [],
        scan: SCAN,
        trailHead: head!,
      };
      const view = { ...toUploadView(record, 'auditor'), owner: record.owner };
      chunk += `${JSON.stringify({ ...view, events: trail.map((event) => toAuditEventView(event, 'auditor')) })}\n`;
      uploads++;
      written += trail.length;
      if (chunk.length > 1 << 20) {
        bytes += Buffer.byteLength(chunk);
        await file.write(chunk);
        chunk = '';
      }
    }
    bytes += Buffer.byteLength(chunk);
    await file.write(chunk);
  } finally {
    await file.close();
  }
  return { uploads, events: written, bytes };
}

async function verifyThroughput(append: typeof AppendEvent, events: number) {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-audit-'));
  try {
    const path = join(dir, 'export.ndjson');
    const written = await writeExport(append, path, events);

    // The baseline: the same file read line by line, each line parsed.
    let started = performance.now();
    let parsedEvents = 0;
    for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      if (line !== '') parsedEvents += (JSON.parse(line) as { events: unknown[] }).events.length;
    }
    const parseSeconds = (performance.now() - started) / 1000;

    // `airlock audit verify --export <file> --json`, as cli/main.ts runs it offline.
    let output = '';
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    const offline = {
      client: new AirlockClient({
        baseUrl: 'http://127.0.0.1:9',
        token: () => Promise.reject(new Error('offline')),
      }),
      apiUrl: 'http://127.0.0.1:9',
      stdout,
      stderr: stdout,
      json: true,
      debug: false,
    };
    started = performance.now();
    await auditVerifyCommand(offline, { kind: 'export', path });
    const seconds = (performance.now() - started) / 1000;
    const summary = JSON.parse(output) as VerificationSummary;
    if (summary.events !== written.events || parsedEvents !== written.events) {
      throw new Error(
        `audit bench: wrote ${written.events} events, verify read ${summary.events}, parse ${parsedEvents}`,
      );
    }
    const eventsPerSecond = summary.events / seconds;
    const eventsPerUpload = written.events / written.uploads;
    const dayEvents = Math.round(BUSY_DAY.uploads * eventsPerUpload);
    const minutes = dayEvents / eventsPerSecond / 60;
    return {
      uploads: summary.uploads,
      events: summary.events,
      exportBytes: written.bytes,
      verdicts: summary.verdicts,
      result: summary.result,
      seconds: round(seconds, 2),
      eventsPerSecond: Math.round(eventsPerSecond),
      parseSeconds: round(parseSeconds, 2),
      parseEventsPerSecond: Math.round(parsedEvents / parseSeconds),
      ratio: round(seconds / parseSeconds, 2),
      busyDay: {
        uploads: BUSY_DAY.uploads,
        eventsPerUpload: round(eventsPerUpload, 2),
        events: dayEvents,
        minutes: round(minutes, 1),
      },
      goalMinutes: VERIFY_DAY_GOAL_MINUTES,
      met: summary.result === 'VERIFIED' && minutes <= VERIFY_DAY_GOAL_MINUTES,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rows of benchmark 6 in the generated table (columns of report.ts's main table). */
export function auditRows(result: AuditBenchResult): string[][] {
  const { chaining, verify } = result;
  const extraReads = chaining.readsChained - chaining.readsUnchained;
  return [
    [
      '6',
      `audit chain: DynamoDB reads of a full lifecycle (happy + reject path, ${chaining.transitions} transitions), chained`,
      `${chaining.readsChained} reads (${chaining.extraReadsPerTransition} extra per transition); RRU ${chaining.rruChained}, WRU ${chaining.wruChained}`,
      `unchained ${chaining.readsUnchained} reads; RRU ${chaining.rruUnchained}, WRU ${chaining.wruUnchained}`,
      `+${extraReads} reads`,
      `0 extra reads ${extraReads === 0 ? '✓' : '✗'}`,
    ],
    [
      '6',
      'audit chain: CPU per appendEvent, sealed (RFC 8785 + SHA-256)',
      `${chaining.sealUs.toFixed(1)} µs`,
      `unsealed ${chaining.unsealedUs.toFixed(1)} µs`,
      `${chaining.sealRatio.toFixed(2)}`,
      '–',
    ],
    [
      '6',
      `audit verify --export, ${verify.events.toLocaleString('en-US')} events (${verify.uploads.toLocaleString('en-US')} trails, ${(verify.exportBytes / 1024 ** 2).toFixed(0)} MiB)`,
      `${verify.eventsPerSecond.toLocaleString('en-US')} events/s (${verify.seconds} s)`,
      `JSON.parse per line ${verify.parseEventsPerSecond.toLocaleString('en-US')} events/s`,
      `${verify.ratio.toFixed(2)}`,
      `${verify.result === 'VERIFIED' ? 'all verified' : 'NOT VERIFIED'} ${verify.result === 'VERIFIED' ? '✓' : '✗'}`,
    ],
    [
      '6',
      `verify a busy day: ${verify.busyDay.uploads.toLocaleString('en-US')} uploads × ${verify.busyDay.eventsPerUpload} events`,
      `${verify.busyDay.minutes} min`,
      '–',
      '–',
      `≤ ${verify.goalMinutes} min ${verify.met ? '✓' : '✗'}`,
    ],
  ];
}

/** Benchmark 6's goals: no extra read for the chain; a busy day verifies within the hour. */
export function auditGoals(result: AuditBenchResult) {
  const extraReads = result.chaining.readsChained - result.chaining.readsUnchained;
  return [
    {
      id: 'audit.chain.reads',
      description: 'audit chain: no extra DynamoDB read per transition',
      value: String(extraReads),
      met: extraReads === 0,
    },
    {
      id: 'audit.verify.day',
      description: `audit verify: a day of ${result.verify.busyDay.uploads.toLocaleString('en-US')} uploads in ≤ ${result.verify.goalMinutes} min`,
      value: `${result.verify.busyDay.minutes} min`,
      met: result.verify.met,
    },
  ];
}
