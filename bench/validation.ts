import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DEFAULT_TYPE_POLICY } from '../functions/domain/type-policy.js';
import { s3ClientFor, type BenchRuntime } from './runtime.js';
import { max, median, MiB, round } from './stats.js';
import type { WorkerObject, WorkerRequest, WorkerResult } from './validation-worker.js';

/**
 * Benchmark 1: validation streaming. The real Validate handler against a raw streaming GetObject
 * of the same version from the same server, each in a fresh child process per run (so that
 * peak RSS is clean), alternating which goes first, best of N rounds.
 */

export const THROUGHPUT_GOAL = 0.9;
export const MEMORY_GOAL_BYTES = 32 * MiB;

export interface ValidationSize {
  bytes: number;
  label: string;
  rounds: number;
  /** Runs of the object per child process (median run taken). */
  repeats: number;
  /** MiB/s of every round, per mode. */
  rawMiBps: number[];
  validateMiBps: number[];
  /** Best round of each (the least disturbed by other load on the machine). */
  bestRawMiBps: number;
  bestValidateMiBps: number;
  /** best validate / best raw */
  ratio: number;
  /** Median-of-rounds ratio, for comparison. */
  medianRatio: number;
  /** Peak RSS growth of the measured run (median over rounds, every round kept), per mode. */
  validateGrowthBytes: number;
  rawGrowthBytes: number;
  validateGrowthRounds: number[];
  rawGrowthRounds: number[];
  /** Wall time of the validate handler (median), for the cost model's GB-seconds. */
  validateMedianMs: number;
  /** CPU time per MiB of the measuring process (median), per mode: what validation adds. */
  rawCpuMsPerMiB: number;
  validateCpuMsPerMiB: number;
  /** Share of the machine's CPU busy during the runs (median): near 1, the server and the reader compete. */
  machineBusy: number;
  /**
   * The ratio if the inspection's CPU time simply adds to the raw stream's time (nothing
   * overlaps): raw ms/MiB ÷ (raw ms/MiB + inspection ms/MiB).
   */
  serialBound: number;
}

/**
 * CPU cost per MiB measured in this process on the same bytes, in 64 KiB chunks as a socket
 * delivers them: SHA-256 alone, and the whole inspection (SHA-256, UTF-8, NUL, samples).
 */
export interface InspectionCost {
  sha256MsPerMiB: number;
  inspectMsPerMiB: number;
}

export interface ValidationResult {
  contentType: string;
  inspection: InspectionCost;
  /**
   * Growth at the largest size with a young-generation GC forced every 5 ms (diagnostic): what
   * the validator really keeps, without the garbage V8 has not collected yet.
   */
  largestGrowthWithGcBytes: number;
  sizes: ValidationSize[];
  /** Lowest best-of-N ratio over the sizes (the goal must hold at every size). */
  worstRatio: number;
  throughputGoal: number;
  throughputMet: boolean;
  /** validate growth at the largest size − at the smallest. */
  memoryDeltaBytes: number;
  memoryGoalBytes: number;
  memoryMet: boolean;
  peakReset: boolean;
}

const WORKER = fileURLToPath(new URL('./validation-worker.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONTENT_TYPE = 'text/csv';
const PART_BYTES = 16 * MiB;
/** Read once by every child before it measures: enough chunks for the JIT to optimise the
 * loops, as in a warm Lambda (module loading and the connection pool are warmed too). */
const WARMUP_BYTES = 8 * MiB;

/**
 * CSV lines with multi-byte UTF-8 (2, 3 and 4 bytes) on every line, so that stream chunks often
 * end inside a character: the costliest path of the text check.
 */
function csvBlock(): Buffer {
  const lines: string[] = ['id,name,city,note,amount\n'];
  let length = 0;
  for (let i = 0; length < 256 * 1024; i++) {
    const line = `${i},"Zoë Ångström ${i}",Zürich,"naïve café — €${i} 😀 日本",${(i * 7919) % 100000}.${i % 100}\n`;
    lines.push(line);
    length += Buffer.byteLength(line);
  }
  return Buffer.from(lines.join(''), 'utf8');
}

/** The object's bytes, chunk by chunk: whole blocks, then ASCII padding up to the exact size. */
function* csvChunks(size: number): Generator<Buffer> {
  const block = csvBlock();
  let left = size;
  while (left >= block.length) {
    yield block;
    left -= block.length;
  }
  if (left > 0) yield Buffer.from(`${'x'.repeat(left - 1)}\n`, 'ascii');
}

/** Uploads a CSV of exactly `size` bytes (multipart above 16 MiB) and returns its version. */
export async function putCsvObject(
  s3: S3Client,
  bucket: string,
  key: string,
  size: number,
): Promise<WorkerObject> {
  const hash = createHash('sha256');
  if (size <= PART_BYTES) {
    const body = Buffer.concat([...csvChunks(size)]);
    hash.update(body);
    const out = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: CONTENT_TYPE }),
    );
    return {
      bucket,
      key,
      versionId: out.VersionId ?? 'null',
      size,
      sha256: hash.digest('hex'),
      contentType: CONTENT_TYPE,
    };
  }
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: CONTENT_TYPE }),
  );
  const parts: Array<{ ETag: string; PartNumber: number }> = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    const body = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    const PartNumber = parts.length + 1;
    const out = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body: body }),
    );
    parts.push({ ETag: out.ETag ?? '', PartNumber });
  };
  for (const chunk of csvChunks(size)) {
    hash.update(chunk);
    let rest = chunk;
    while (rest.length > 0) {
      const take = Math.min(rest.length, PART_BYTES - pendingBytes);
      pending.push(rest.subarray(0, take));
      pendingBytes += take;
      rest = rest.subarray(take);
      if (pendingBytes === PART_BYTES) await flush();
    }
  }
  if (pendingBytes > 0) await flush();
  const out = await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
  return {
    bucket,
    key,
    versionId: out.VersionId ?? 'null',
    size,
    sha256: hash.digest('hex'),
    contentType: CONTENT_TYPE,
  };
}

function runWorker(
  runtime: BenchRuntime,
  request: WorkerRequest,
  profileDir?: string,
): Promise<WorkerResult> {
  // The environment the Validate function gets from CDK (and the local runtime), with a type
  // policy that admits large CSVs so that the biggest sizes are judged like any other.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TABLE_NAME: runtime.table,
    BUCKET_NAME: runtime.bucket,
    S3_ENDPOINT: runtime.s3Endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: runtime.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: runtime.credentials.secretAccessKey,
    AWS_REGION: runtime.region,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    TYPE_POLICY: JSON.stringify({
      ...DEFAULT_TYPE_POLICY,
      [CONTENT_TYPE]: { ...DEFAULT_TYPE_POLICY[CONTENT_TYPE], maxBytes: 1024 * MiB },
    }),
  };
  delete env.AWS_SESSION_TOKEN;
  delete env.AWS_PROFILE;
  const profileName = `${request.mode}-${request.object.size}-${Date.now()}.cpuprofile`;
  const profile = profileDir
    ? [
        '--cpu-prof',
        '--cpu-prof-interval',
        '100',
        '--cpu-prof-dir',
        profileDir,
        '--cpu-prof-name',
        profileName,
      ]
    : [];
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', ...profile, '--import', 'tsx', WORKER, JSON.stringify(request)],
      { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || line === '') {
        reject(new Error(`validation worker (${request.mode}) exited with ${code}: ${stderr.slice(-2000)}`));
        return;
      }
      const result = JSON.parse(line) as WorkerResult;
      if (profileDir) {
        writeFileSync(join(profileDir, `${profileName}.window.json`), JSON.stringify(result.windowMicros));
      }
      resolve(result);
    });
  });
}

/** Best of 3: SHA-256 alone and inspectContent over 64 MiB of the benchmark's CSV, in memory. */
async function measureInspectionCost(): Promise<InspectionCost> {
  const { inspectContent } = await import('../functions/domain/content-inspection.js');
  const total = 64 * MiB;
  const data = Buffer.concat([...csvChunks(total)]);
  const chunks = Array.from({ length: total / (64 * 1024) }, (_, i) =>
    data.subarray(i * 65536, (i + 1) * 65536),
  );
  // eslint-disable-next-line @typescript-eslint/require-await -- an async source, as a socket is
  const source = async function* () {
    yield* chunks;
  };
  const best = async (run: () => Promise<unknown>) => {
    let fastest = Infinity;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await run();
      fastest = Math.min(fastest, performance.now() - started);
    }
    return round(fastest / (total / MiB), 3);
  };
  return {
    sha256MsPerMiB: await best(async () => {
      const hash = createHash('sha256');
      for await (const chunk of source()) hash.update(chunk);
      return hash.digest('hex');
    }),
    inspectMsPerMiB: await best(() => inspectContent(source(), { checkText: true })),
  };
}

/** Runs per child process: about 32 MiB of reading, so that a small object's figure is not one
 * request's jitter (the median run is used). */
const repeatsFor = (size: number): number => Math.max(1, Math.min(16, Math.floor((32 * MiB) / size)));

const label = (bytes: number): string => (bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / 1024} KiB`);
const mibps = (result: WorkerResult): number => result.bytes / MiB / (result.ms / 1000);

export async function runValidationBenchmark(
  runtime: BenchRuntime,
  options: { sizes: number[]; rounds: number; prefix: string; profileDir?: string },
  log: (message: string) => void,
): Promise<ValidationResult> {
  const s3 = s3ClientFor(runtime);
  const created: WorkerObject[] = [];
  try {
    const warmup = await putCsvObject(
      s3,
      runtime.bucket,
      `${options.prefix}validate-warmup.csv`,
      WARMUP_BYTES,
    );
    created.push(warmup);
    const sizes: ValidationSize[] = [];
    let peakReset = true;
    for (const size of options.sizes) {
      log(`validation: uploading ${label(size)}…`);
      const object = await putCsvObject(s3, runtime.bucket, `${options.prefix}validate-${size}.csv`, size);
      created.push(object);
      const raw: WorkerResult[] = [];
      const validated: WorkerResult[] = [];
      for (let round = 0; round < options.rounds; round++) {
        // Alternate which goes first, so that neither always gets the warmer server cache.
        const order: Array<'raw' | 'validate'> = round % 2 === 0 ? ['raw', 'validate'] : ['validate', 'raw'];
        for (const mode of order) {
          const result = await runWorker(
            runtime,
            { mode, object, warmup, repeat: repeatsFor(size) },
            options.profileDir,
          );
          if (result.bytes !== size) throw new Error(`${mode} read ${result.bytes} of ${size} bytes`);
          if (mode === 'validate' && (result.accepted !== true || result.sha256 !== object.sha256)) {
            throw new Error(`validate did not accept the ${label(size)} object: ${JSON.stringify(result)}`);
          }
          peakReset &&= result.peakReset;
          (mode === 'raw' ? raw : validated).push(result);
        }
        log(
          `validation ${label(size)} round ${round + 1}: raw ${mibps(raw.at(-1) as WorkerResult).toFixed(0)} MiB/s, ` +
            `validate ${mibps(validated.at(-1) as WorkerResult).toFixed(0)} MiB/s`,
        );
      }
      const rawMiBps = raw.map(mibps);
      const validateMiBps = validated.map(mibps);
      const bestRaw = max(rawMiBps);
      const bestValidate = max(validateMiBps);
      sizes.push({
        bytes: size,
        label: label(size),
        rounds: options.rounds,
        repeats: repeatsFor(size),
        rawMiBps: rawMiBps.map((value) => round(value, 1)),
        validateMiBps: validateMiBps.map((value) => round(value, 1)),
        bestRawMiBps: round(bestRaw, 1),
        bestValidateMiBps: round(bestValidate, 1),
        ratio: round(bestValidate / bestRaw, 3),
        medianRatio: round(median(validateMiBps) / median(rawMiBps), 3),
        validateGrowthBytes: median(validated.map((result) => result.growthBytes)),
        rawGrowthBytes: median(raw.map((result) => result.growthBytes)),
        validateGrowthRounds: validated.map((result) => result.growthBytes),
        rawGrowthRounds: raw.map((result) => result.growthBytes),
        validateMedianMs: round(median(validated.map((result) => result.ms)), 1),
        rawCpuMsPerMiB: round(median(raw.map((result) => result.cpuMs / (size / MiB))), 3),
        validateCpuMsPerMiB: round(median(validated.map((result) => result.cpuMs / (size / MiB))), 3),
        machineBusy: round(median([...raw, ...validated].map((result) => result.machineBusy)), 2),
        serialBound: 0,
      });
    }
    // Diagnostic: the largest size again, collecting the young generation every 5 ms.
    const largest = created.at(-1) as WorkerObject;
    const collected = await runWorker(runtime, {
      mode: 'validate',
      object: largest,
      warmup,
      gcIntervalMs: 5,
    });
    const inspection = await measureInspectionCost();
    for (const size of sizes) {
      const rawMsPerMiB = 1000 / size.bestRawMiBps;
      size.serialBound = round(rawMsPerMiB / (rawMsPerMiB + inspection.inspectMsPerMiB), 3);
    }
    const first = sizes[0] as ValidationSize;
    const last = sizes.at(-1) as ValidationSize;
    const worstRatio = Math.min(...sizes.map((size) => size.ratio));
    const memoryDeltaBytes = last.validateGrowthBytes - first.validateGrowthBytes;
    return {
      contentType: CONTENT_TYPE,
      inspection,
      largestGrowthWithGcBytes: collected.growthBytes,
      sizes,
      worstRatio,
      throughputGoal: THROUGHPUT_GOAL,
      throughputMet: worstRatio >= THROUGHPUT_GOAL,
      memoryDeltaBytes,
      memoryGoalBytes: MEMORY_GOAL_BYTES,
      memoryMet: Math.abs(memoryDeltaBytes) <= MEMORY_GOAL_BYTES,
      peakReset,
    };
  } finally {
    for (const object of created) {
      await s3
        .send(
          new DeleteObjectCommand({ Bucket: object.bucket, Key: object.key, VersionId: object.versionId }),
        )
        .catch(() => undefined);
    }
  }
}
