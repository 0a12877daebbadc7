/* eslint-disable no-console -- a benchmark's own report */
/**
 * `node --import tsx bench/scan.ts [--runs 100] [--database test|auto] [--json <file>]`: what
 * the malware scan adds to validation, with a warm clamd started for the purpose in a temporary
 * dir (local/clamd.ts, the project's limits).
 *
 * 1. Latency of a 100 KiB CSV: validation alone (the Validate step's inspection of the stream)
 *    against validation with the scan fed by the same read (`ScanSession.tee`, then the verdict),
 *    interleaved sample by sample; the added latency is their difference per pair.
 * 2. Throughput at 1, 64 and 256 MiB: validation alone, scan alone, both from one read, and the
 *    ratio of validation + scan to validation alone (1 = the scan costs nothing).
 * 3. clamd itself: start-up time and resident memory with the chosen database.
 * 4. This process's peak RSS growth while validating and scanning each size: constant memory
 *    means the same figure at 1 and at 256 MiB. clamd runs with a StreamMaxLength above 256 MiB
 *    here (the runtime's is 64 MiB, above the type policy's largest size).
 *
 * The bytes come from memory in S3-sized chunks (16 KiB), so the figures are the scan's own cost,
 * without S3's: on a real pipeline both add to the same GetObject stream.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { inspectContent } from '../functions/domain/content-inspection.js';
import { startClamd } from '../local/clamd.js';
import { distribution, median } from './stats.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    database: { type: 'string', default: 'test' },
    json: { type: 'string' },
  },
});
const runs = Number(args.runs);
const CHUNK = 16 * 1024;
const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [1 * MiB, 64 * MiB, 256 * MiB];

/** CSV rows with 2-, 3- and 4-byte UTF-8 characters, as bench/validation.ts uses. */
function csv(bytes: number): Buffer {
  const row = Buffer.from('4711,Zoë Müller,café crème,東京,🎉,12.50\n', 'utf8');
  const out = Buffer.alloc(bytes);
  for (let offset = 0; offset < bytes; offset += row.length) row.copy(out, offset);
  return out;
}

/** The bytes as a stream of S3-sized chunks (views, not copies). */
const chunks = (bytes: Buffer): Readable =>
  Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.length; offset += CHUNK)
        yield bytes.subarray(offset, offset + CHUNK);
    })(),
  );

/** A memory figure of a process (this one by default) from /proc, in KiB. */
const statusKiB = (field: 'VmRSS' | 'VmHWM', pid: number | 'self' = 'self') =>
  Number(
    new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ??
      Number.NaN,
  );
/** Resets this process's peak RSS mark (Linux): the next VmHWM is the peak from now on. */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-scan-'));
const startedAt = Date.now();
const clamd = await startClamd({
  dir,
  database: args.database === 'auto' ? 'auto' : 'test',
  limits: { streamMaxBytes: SIZES.at(-1)! + MiB },
  log: (line) => console.log(`[clamd] ${line}`),
});
const startupMs = Date.now() - startedAt;
const scanner = clamd.scanner();

const validate = async (bytes: Buffer) => {
  const started = performance.now();
  await inspectContent(chunks(bytes), { checkText: true });
  return performance.now() - started;
};
const validateAndScan = async (bytes: Buffer) => {
  const started = performance.now();
  const session = await scanner.open();
  await inspectContent(session.tee(chunks(bytes)), { checkText: true });
  const result = await session.end();
  if (result.scanResultDetails.scanResultStatus !== 'NO_THREATS_FOUND') throw new Error(result.engineReply);
  return performance.now() - started;
};
const scanOnly = async (bytes: Buffer) => {
  const started = performance.now();
  await scanner.scan(chunks(bytes));
  return performance.now() - started;
};

try {
  // Warm both paths (JIT, clamd's first scans) before measuring.
  const small = csv(100 * KiB);
  for (let i = 0; i < 20; i++) {
    await validate(small);
    await validateAndScan(small);
  }

  // 1. Latency, interleaved pairs.
  const alone: number[] = [];
  const both: number[] = [];
  const added: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = await validate(small);
    const b = await validateAndScan(small);
    alone.push(a);
    both.push(b);
    added.push(b - a);
  }

  // 2. Throughput.
  const throughput: Record<string, Record<string, number>> = {};
  for (const size of SIZES) {
    const bytes = csv(size);
    const repeat = size <= MiB ? 16 : size <= 64 * MiB ? 3 : 2;
    const measure = async (run: (bytes: Buffer) => Promise<number>) => {
      const times: number[] = [];
      for (let i = 0; i < repeat; i++) times.push(await run(bytes));
      return size / MiB / (median(times) / 1000);
    };
    const figures = {
      validate: await measure(validate),
      scan: await measure(scanOnly),
      validateAndScan: await measure(validateAndScan),
    };
    // Throughput ratio: how much of validation's own speed is left with the scan added.
    throughput[`${size / MiB} MiB`] = { ...figures, ratio: figures.validateAndScan / figures.validate };
  }

  // 4. Our process's memory while each size goes through validation and the scan (peak RSS growth
  // over the RSS with the file's bytes already in memory).
  const peakGrowthMiB: Record<string, number | null> = {};
  for (const size of SIZES) {
    const bytes = csv(size);
    const peakReset = resetPeak();
    const before = statusKiB('VmRSS');
    await validateAndScan(bytes);
    peakGrowthMiB[`${size / MiB} MiB`] = peakReset ? (statusKiB('VmHWM') - before) / 1024 : null;
  }

  const clamdPid = clamd.pid();
  const report = {
    at: new Date().toISOString(),
    engine: clamd.engineVersion,
    database: clamd.database.description,
    latency100KiB: {
      validate: distribution(alone),
      validateAndScan: distribution(both),
      added: distribution(added),
    },
    throughputMiBps: throughput,
    clamd: { startupMs, rssMiB: clamdPid === undefined ? Number.NaN : statusKiB('VmRSS', clamdPid) / 1024 },
    validateAndScanPeakGrowthMiB: peakGrowthMiB,
    goal: 'a warm engine adds ≤ 50 ms at p95 for 100 KiB',
  };
  const ms = (value: number) => value.toFixed(2);
  const line = (name: string, d: ReturnType<typeof distribution>) =>
    `  ${name.padEnd(28)} p50 ${ms(d.p50)} ms  p95 ${ms(d.p95)} ms  p99 ${ms(d.p99)} ms  (n=${d.n})`;
  console.log(`\nClamAV ${report.engine}, database: ${report.database}`);
  console.log(`clamd start-up ${startupMs} ms, RSS ${report.clamd.rssMiB.toFixed(0)} MiB after the runs\n`);
  console.log('100 KiB CSV, validation alone vs validation + scan from one read:');
  console.log(line('validate', report.latency100KiB.validate));
  console.log(line('validate + scan', report.latency100KiB.validateAndScan));
  console.log(line('added by the scan (pairs)', report.latency100KiB.added));
  console.log(`  goal: ${report.goal} → ${report.latency100KiB.added.p95 <= 50 ? 'met' : 'MISSED'}\n`);
  console.log('Throughput (MiB/s, median; ratio = validate + scan ÷ validate alone):');
  for (const [size, figures] of Object.entries(throughput)) {
    console.log(
      `  ${size.padEnd(7)} validate ${figures.validate!.toFixed(0)}  scan ${figures.scan!.toFixed(0)}  validate + scan ${figures.validateAndScan!.toFixed(0)}  ratio ${figures.ratio!.toFixed(2)}`,
    );
  }
  console.log('\nPeak RSS growth of this process while validated and scanned:');
  for (const [size, growth] of Object.entries(peakGrowthMiB)) {
    console.log(
      `  ${size.padEnd(7)} ${growth === null ? 'n/a (no /proc/self/clear_refs)' : `${growth.toFixed(1)} MiB`}`,
    );
  }
  if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
} finally {
  await clamd.stop();
  rmSync(dir, { recursive: true, force: true });
}
