/**
 * One measured run of benchmark 1 in a process of its own, so that its peak RSS is its own:
 *   validate  the real Validate task handler (functions/validate.ts, as the state machine calls it)
 *   raw       a plain streaming GetObject of the same version, drained and discarded
 * Both use the S3 client the handlers build from the environment (functions/commons/config.ts).
 * It first runs the same mode once on a small warm-up object (module loading, connection pool),
 * then resets the peak-RSS mark (Linux /proc/self/clear_refs) and measures. Prints one JSON line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { GetObjectCommand } from '@aws-sdk/client-s3';

export interface WorkerObject {
  bucket: string;
  key: string;
  versionId: string;
  size: number;
  sha256: string;
  contentType: string;
}

export interface WorkerRequest {
  mode: 'validate' | 'raw';
  object: WorkerObject;
  warmup: WorkerObject;
  /**
   * Diagnostic: collect the young generation this often during the measured run, to show how
   * much of the growth is garbage not yet collected rather than memory in use.
   */
  gcIntervalMs?: number;
  /**
   * Runs of the object in this process (small objects: one run is mostly noise). The peak RSS
   * is read after the first; the time is the median run; CPU and the window cover them all.
   */
  repeat?: number;
}

export interface WorkerResult {
  mode: 'validate' | 'raw';
  bytes: number;
  ms: number;
  /** RSS right before the measured run (after warm-up and a GC). */
  rssBeforeBytes: number;
  /** Peak RSS during the measured run (VmHWM, reset before it). */
  peakBytes: number;
  /** peakBytes - rssBeforeBytes */
  growthBytes: number;
  /** Whether VmHWM could be reset (otherwise the peak includes start-up). */
  peakReset: boolean;
  /** CPU time (user + system) this process spent per measured run. */
  cpuMs: number;
  /** Share of the whole machine's CPU time that was busy during the run (/proc/stat), 0-1. */
  machineBusy: number;
  /** The measured run on the monotonic clock (µs), to cut a --cpu-prof profile to it. */
  windowMicros: [number, number];
  accepted?: boolean;
  sha256?: string | null;
}

function statusKiB(field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return match?.[1] ? Number(match[1]) : Number.NaN;
}

/** Busy and total jiffies of all CPUs together (the first line of /proc/stat). */
function machineTicks(): { busy: number; total: number } {
  const fields = (/^cpu\s+(.*)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? '')
    .split(/\s+/)
    .map(Number);
  const total = fields.reduce((sum, value) => sum + (Number.isFinite(value) ? value : 0), 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '{}') as WorkerRequest;
  const [{ handler }, { makeS3Client, readConfig }] = await Promise.all([
    import('../functions/validate.js'),
    import('../functions/commons/config.js'),
  ]);
  const s3 = makeS3Client(readConfig());

  const run = async (object: WorkerObject): Promise<Partial<WorkerResult>> => {
    if (request.mode === 'validate') {
      const verdict = await handler({
        uploadId: 'bench',
        object: { bucket: object.bucket, key: object.key, versionId: object.versionId },
        declared: { contentType: object.contentType, size: object.size, sha256: object.sha256 },
      });
      return { bytes: verdict.facts.size, accepted: verdict.accepted, sha256: verdict.facts.sha256 };
    }
    const out = await s3.send(
      new GetObjectCommand({ Bucket: object.bucket, Key: object.key, VersionId: object.versionId }),
    );
    let bytes = 0;
    for await (const chunk of out.Body as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
    return { bytes };
  };

  await run(request.warmup);
  gc?.();
  gc?.();
  const peakReset = resetPeak();
  const rssBefore = statusKiB('VmRSS') * 1024;
  const collector =
    request.gcIntervalMs && gc ? setInterval(() => gc({ type: 'minor' }), request.gcIntervalMs) : undefined;
  const micros = () => Number(process.hrtime.bigint() / 1000n);
  const ticksBefore = machineTicks();
  const cpuBefore = process.cpuUsage();
  const windowStart = micros();
  const times: number[] = [];
  let measured: Partial<WorkerResult> = {};
  let peak = 0;
  const repeat = Math.max(1, request.repeat ?? 1);
  for (let i = 0; i < repeat; i++) {
    const started = performance.now();
    measured = await run(request.object);
    times.push(performance.now() - started);
    if (i === 0) peak = statusKiB('VmHWM') * 1024;
  }
  const ms = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? Number.NaN;
  const windowEnd = micros();
  clearInterval(collector);
  const cpu = process.cpuUsage(cpuBefore);
  const ticksAfter = machineTicks();
  const ticks = ticksAfter.total - ticksBefore.total;
  const result: WorkerResult = {
    mode: request.mode,
    bytes: measured.bytes ?? 0,
    ms,
    rssBeforeBytes: rssBefore,
    peakBytes: peak,
    growthBytes: Math.max(0, peak - rssBefore),
    peakReset,
    cpuMs: (cpu.user + cpu.system) / 1000 / repeat,
    machineBusy: ticks > 0 ? (ticksAfter.busy - ticksBefore.busy) / ticks : Number.NaN,
    windowMicros: [windowStart, windowEnd],
    ...(measured.accepted !== undefined ? { accepted: measured.accepted } : {}),
    ...(measured.sha256 !== undefined ? { sha256: measured.sha256 } : {}),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
