import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { UploadStore } from '../../functions/adapters/upload-store.js';
import type { AuditEvent, UploadRecord, UploadStatus } from '../../functions/domain/model.js';
import { TERMINAL_STATUSES } from '../../functions/domain/model.js';
import { issueToken } from '../../local/auth.js';
import { grantRequest, mapLimit, s3For, type Grant } from './probes.js';
import * as samples from '../fixtures/samples.js';
import type { RuntimeTarget } from './part.js';

/**
 * The uploads the reliability suite sends, and the checks it makes of each once the pipeline has
 * drained: the right terminal status, exactly one stored copy where one belongs, none where it
 * does not, nothing left in quarantine, and an audit trail without gaps.
 */

export type JobKind = 'valid' | 'spoofed' | 'oversize';

export interface Job {
  kind: JobKind;
  method: 'POST' | 'PUT';
  fileName: string;
  contentType: string;
  /** What the client declares. */
  size: number;
  /** What the client sends (longer than `size` for oversize attempts). */
  bytes: Buffer;
  expected: UploadStatus;
  expectedReason?: string;
}

export interface SentJob extends Job {
  uploadId: string;
  owner: string;
  /** The S3 version the client's upload created (from x-amz-version-id, PUT only). */
  versionId?: string;
  /** The S3 answer to the upload itself. */
  uploadStatus: number;
  /** Attempts the client needed because the API or S3 was unavailable. */
  retries: number;
  /** The grant the API returned (a PUT grant stays usable until it expires: overwrites). */
  grant: Grant;
  /** When S3 answered the upload (epoch ms): where an upload's latency starts. */
  sentAt: number;
}

const VALID = [
  { fileName: 'report.pdf', contentType: samples.MIME.pdf, bytes: () => samples.pdf('load') },
  { fileName: 'photo.png', contentType: samples.MIME.png, bytes: () => samples.png(6, 6) },
  { fileName: 'scan.jpg', contentType: samples.MIME.jpeg, bytes: () => samples.jpegImage(8, 8) },
  { fileName: 'notes.txt', contentType: samples.MIME.text, bytes: () => samples.text() },
  { fileName: 'table.csv', contentType: samples.MIME.csv, bytes: () => samples.csv() },
  { fileName: 'letter.docx', contentType: samples.MIME.docx, bytes: () => samples.docx() },
];

/**
 * A deterministic mix: mostly valid files of every type, one in six spoofed (a PDF declared as
 * PNG), one in ten oversize (S3 refuses the bytes, so the grant expires). Methods alternate.
 */
export function makeJobs(count: number, options: { method?: 'POST' | 'PUT'; label?: string } = {}): Job[] {
  const jobs: Job[] = [];
  for (let index = 0; index < count; index++) {
    const method = options.method ?? (index % 2 === 0 ? 'PUT' : 'POST');
    if (index % 10 === 9) {
      const bytes = samples.text(`${'x'.repeat(2048)}\n`);
      jobs.push({
        kind: 'oversize',
        method,
        fileName: 'big.txt',
        contentType: samples.MIME.text,
        size: 1024,
        bytes,
        expected: 'EXPIRED',
        expectedReason: 'UPLOAD_EXPIRED',
      });
    } else if (index % 6 === 5) {
      const bytes = samples.pdf(`spoof ${options.label ?? ''} ${index}`);
      jobs.push({
        kind: 'spoofed',
        method,
        fileName: 'innocent.png',
        contentType: samples.MIME.png,
        size: bytes.length,
        bytes,
        expected: 'REJECTED',
        expectedReason: 'TYPE_MISMATCH',
      });
    } else {
      const sample = VALID[index % VALID.length] ?? VALID[0]!;
      // Distinct bytes per upload, so that "the right version was promoted" is checkable by hash.
      const bytes =
        sample.contentType === samples.MIME.text || sample.contentType === samples.MIME.csv
          ? Buffer.concat([sample.bytes(), Buffer.from(`${options.label ?? ''} #${index}\n`)])
          : sample.contentType === samples.MIME.pdf
            ? samples.pdf(`load ${options.label ?? ''} ${index}`)
            : sample.bytes();
      jobs.push({ kind: 'valid', method, ...sample, size: bytes.length, bytes, expected: 'PROCESSED' });
    }
  }
  return jobs;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries what a client retries: network errors and 5xx, with a capped backoff, until the deadline. */
async function withRetry<T>(
  what: string,
  attempt: () => Promise<{ retry: boolean; value?: T; detail?: string }>,
  deadline: number,
  counter: { retries: number },
): Promise<T> {
  let delay = 100;
  let lastDetail = '';
  for (;;) {
    const result = await attempt().catch((error: unknown) => ({
      retry: true,
      detail: (error as Error).message,
      value: undefined,
    }));
    if (!result.retry) return result.value as T;
    lastDetail = result.detail ?? '';
    if (Date.now() > deadline) throw new Error(`${what}: gave up at the deadline (${lastDetail})`);
    counter.retries++;
    await pause(delay);
    delay = Math.min(delay * 2, 2000);
  }
}

/** One client: creates each upload through the API and sends its bytes to S3, as a browser does. */
export async function sendJob(
  target: RuntimeTarget,
  token: string,
  owner: string,
  job: Job,
  deadline: number,
) {
  const counter = { retries: 0 };
  const created = await createGrant(target, token, job, deadline, counter);
  return sendGrant(created, owner, job, deadline, counter);
}

interface Created {
  uploadId: string;
  upload: Grant;
}

async function createGrant(
  target: RuntimeTarget,
  token: string,
  job: Job,
  deadline: number,
  counter: { retries: number },
): Promise<Created> {
  return withRetry<Created>(
    'POST /uploads',
    async () => {
      const response = await fetch(`${target.apiUrl}/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          fileName: job.fileName,
          contentType: job.contentType,
          size: job.size,
          method: job.method,
        }),
      });
      const text = await response.text();
      if (response.status === 201) return { retry: false, value: JSON.parse(text) as never };
      if (response.status >= 500 || response.status === 429)
        return { retry: true, detail: `${response.status}` };
      throw new Error(`POST /uploads → ${response.status}: ${text}`);
    },
    deadline,
    counter,
  );
}

async function sendGrant(
  created: Created,
  owner: string,
  job: Job,
  deadline: number,
  counter: { retries: number },
): Promise<SentJob> {
  const grant = created.upload;
  const sent = await withRetry<{ status: number; versionId?: string }>(
    `upload ${created.uploadId}`,
    async () => {
      const response = await sendBytes(grant, job.bytes);
      if (response.status >= 500) return { retry: true, detail: `${response.status}` };
      return { retry: false, value: response };
    },
    deadline,
    counter,
  );
  const refusedAsExpected =
    job.kind === 'oversize' ? sent.status >= 400 && sent.status < 500 : sent.status < 300;
  if (!refusedAsExpected) throw new Error(`upload ${created.uploadId} (${job.kind}) → S3 ${sent.status}`);
  const result: SentJob = {
    ...job,
    uploadId: created.uploadId,
    owner,
    uploadStatus: sent.status,
    retries: counter.retries,
    grant,
    sentAt: Date.now(),
    ...(sent.versionId ? { versionId: sent.versionId } : {}),
  };
  return result;
}

/** Sends the bytes for a grant as a client does; S3's answer and the version it created. */
export async function sendBytes(
  grant: Grant,
  bytes: Buffer,
): Promise<{ status: number; versionId?: string }> {
  const response = await fetch(grant.url, grantRequest(grant, bytes));
  await response.arrayBuffer();
  const versionId = response.headers.get('x-amz-version-id') ?? undefined;
  return { status: response.status, ...(versionId ? { versionId } : {}) };
}

export interface LoadRun {
  sent: SentJob[];
  /** Jobs a client could not even hand over (the API never answered before the deadline). */
  unsent: Array<{ job: Job; error: string }>;
  clientRetries: number;
  startedAt: number;
}

/**
 * Runs `jobs` from `clients` concurrent clients (each its own user and token), calling
 * `onProgress(doneCount)` after each job so that a fault can be injected mid-load.
 */
export async function runClients(
  target: RuntimeTarget,
  jobs: Job[],
  clients: number,
  options: {
    label: string;
    deadlineMs: number;
    onProgress?: (done: number) => void;
    /**
     * When given, every upload is created first, then this runs, then every client sends its
     * bytes: a fault can strike between the grants and the uploads.
     */
    betweenCreateAndSend?: () => Promise<void>;
  },
): Promise<LoadRun> {
  const startedAt = Date.now();
  const deadline = startedAt + options.deadlineMs;
  const run: LoadRun = { sent: [], unsent: [], clientRetries: 0, startedAt };
  const owners = await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const owner = `${options.label}-client-${client}`;
      return { owner, token: await issueToken(target.dataDir, { sub: owner, groups: [], ttlSeconds: 3600 }) };
    }),
  );
  let done = 0;
  const settle = async (job: Job, work: () => Promise<SentJob>) => {
    try {
      const sent = await work();
      run.sent.push(sent);
      run.clientRetries += sent.retries;
    } catch (error) {
      run.unsent.push({ job, error: (error as Error).message });
    }
    options.onProgress?.(++done);
  };
  const ownerOf = (index: number) => owners[index % owners.length]!;
  const indexed = jobs.map((job, index) => ({ job, index }));
  if (options.betweenCreateAndSend === undefined) {
    await mapLimit(indexed, clients, ({ job, index }) =>
      settle(job, () => sendJob(target, ownerOf(index).token, ownerOf(index).owner, job, deadline)),
    );
    return run;
  }
  const counters = jobs.map(() => ({ retries: 0 }));
  const grants = await mapLimit(indexed, clients, ({ job, index }) =>
    createGrant(target, ownerOf(index).token, job, deadline, counters[index]!).catch(
      (error: unknown) => error as Error,
    ),
  );
  await options.betweenCreateAndSend();
  await mapLimit(indexed, clients, ({ job, index }) =>
    settle(job, async () => {
      const created = grants[index];
      if (created === undefined || created instanceof Error) throw created ?? new Error('no grant');
      return sendGrant(created, ownerOf(index).owner, job, deadline, counters[index]!);
    }),
  );
  return run;
}

/** Direct clients of the runtime's S3 and DynamoDB, for checks the API does not offer. */
export function backends(target: RuntimeTarget) {
  const common = { region: target.region, credentials: target.credentials };
  const s3 = s3For(target);
  const dynamo = new DynamoDBClient({ ...common, endpoint: target.dynamoDbEndpoint });
  return { s3, dynamo, store: new UploadStore(target.table, dynamo) };
}

/** Reads records, retrying while DynamoDB is away (a fault may still be healing). */
async function getRecord(store: UploadStore, uploadId: string): Promise<UploadRecord | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await store.get(uploadId);
    } catch (error) {
      if (attempt > 50) throw error;
      await pause(200);
    }
  }
}

/**
 * Waits until every upload has a terminal status and no execution is running any more (the
 * quarantine release runs after the outcome is recorded). Returns the time it took, and the
 * uploads still not terminal at the deadline.
 */
export async function drain(
  target: RuntimeTarget,
  uploadIds: string[],
  options: { deadlineMs: number; onTick?: () => Promise<void> },
): Promise<{ drainMs: number; stuck: string[] }> {
  const { store } = backends(target);
  const started = Date.now();
  let pending = [...uploadIds];
  for (;;) {
    const records = await mapLimit(pending, 16, (id) => getRecord(store, id));
    pending = pending.filter((_, index) => {
      const status = records[index]?.status;
      return status === undefined || !TERMINAL_STATUSES.has(status);
    });
    if (pending.length === 0 && (await runningExecutions(target)) === 0) {
      // Settled once quarantine holds nothing but FAILED uploads' versions: a stray second version
      // (a client retry, a lost event) is found by the reconciler and discarded.
      const leftovers = await quarantineLeftovers(target, uploadIds);
      if (leftovers.length === 0) break;
      if (Date.now() - started > options.deadlineMs)
        return { drainMs: Date.now() - started, stuck: leftovers };
    }
    if (Date.now() - started > options.deadlineMs) break;
    await options.onTick?.();
    await pause(250);
  }
  return { drainMs: Date.now() - started, stuck: pending };
}

/** Uploads (not FAILED) with a version still in quarantine. */
async function quarantineLeftovers(target: RuntimeTarget, uploadIds: string[]): Promise<string[]> {
  const { s3, store } = backends(target);
  const left = await mapLimit(uploadIds, 16, async (uploadId) => {
    const found = await versions(s3, target.bucket, `quarantine/${uploadId}`);
    if (found.length === 0) return undefined;
    return (await getRecord(store, uploadId))?.status === 'FAILED' ? undefined : uploadId;
  });
  return left.filter((uploadId): uploadId is string => uploadId !== undefined);
}

/** Executions the local executor still has RUNNING (its durable records in the data dir). */
export async function runningExecutions(target: RuntimeTarget): Promise<number> {
  const dir = join(target.dataDir, 'executions');
  let running = 0;
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    if (!file.endsWith('.json')) continue;
    const text = await readFile(join(dir, file), 'utf8').catch(() => '');
    if (text.includes('"status": "RUNNING"')) running++;
  }
  return running;
}

export interface Verdicts {
  checked: number;
  byStatus: Record<string, number>;
  lost: number;
  stuck: number;
  wrongOutcome: number;
  promotedTwice: number;
  wrongVersion: number;
  leftInQuarantine: number;
  readableThatShouldNot: number;
  auditGaps: number;
}

async function versions(s3: S3Client, bucket: string, key: string) {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return (out.Versions ?? []).filter((version) => version.Key === key);
}

/** Anonymous GET straight to S3: every object is private, whatever its prefix. */
async function anonymousReadable(target: RuntimeTarget, key: string): Promise<boolean> {
  const response = await fetch(`${target.s3Endpoint}/${target.bucket}/${key}`);
  await response.arrayBuffer();
  return response.status === 200;
}

/**
 * Checks every sent upload after the drain; each broken expectation is added to `failures`.
 * `expectedVersion` (PUT jobs) is the version that must be the one promoted or rejected.
 */
export async function verifyUploads(
  target: RuntimeTarget,
  sent: SentJob[],
  failures: string[],
  options: { expectedVersion?: (job: SentJob) => string | undefined } = {},
): Promise<Verdicts> {
  const { s3, store } = backends(target);
  const verdicts: Verdicts = {
    checked: 0,
    byStatus: {},
    lost: 0,
    stuck: 0,
    wrongOutcome: 0,
    promotedTwice: 0,
    wrongVersion: 0,
    leftInQuarantine: 0,
    readableThatShouldNot: 0,
    auditGaps: 0,
  };
  await mapLimit(sent, 8, async (job) => {
    verdicts.checked++;
    const record = await getRecord(store, job.uploadId);
    const fail = (what: string) => failures.push(`${job.uploadId} (${job.kind}, ${job.method}): ${what}`);
    if (record === undefined) {
      verdicts.lost++;
      return fail('lost: no record');
    }
    verdicts.byStatus[record.status] = (verdicts.byStatus[record.status] ?? 0) + 1;
    if (!TERMINAL_STATUSES.has(record.status)) {
      verdicts.stuck++;
      return fail(`stuck in ${record.status}`);
    }
    const reasons = (record.reasons ?? []).map((reason) => reason.code);
    if (
      record.status !== job.expected ||
      (job.expectedReason !== undefined &&
        job.expected !== 'EXPIRED' &&
        !(reasons as string[]).includes(job.expectedReason))
    ) {
      verdicts.wrongOutcome++;
      fail(`expected ${job.expected} ${job.expectedReason ?? ''}, got ${record.status} ${reasons.join(',')}`);
    }
    const [clean, rejected, quarantine] = await Promise.all([
      versions(s3, target.bucket, `clean/${job.uploadId}`),
      versions(s3, target.bucket, `rejected/${job.uploadId}`),
      versions(s3, target.bucket, `quarantine/${job.uploadId}`),
    ]);
    if (clean.length > 1) {
      verdicts.promotedTwice++;
      fail(`${clean.length} versions in clean/`);
    }
    if (record.status !== 'PROCESSED' && clean.length > 0) {
      verdicts.readableThatShouldNot++;
      fail(`${record.status} but a clean/ copy exists`);
    }
    if (record.status === 'PROCESSED' && clean.length !== 1)
      fail(`PROCESSED with ${clean.length} clean/ copies`);
    if (record.status === 'REJECTED' && rejected.length !== 1)
      fail(`REJECTED with ${rejected.length} rejected/ copies`);
    if (quarantine.length > 0 && record.status !== 'FAILED') {
      verdicts.leftInQuarantine++;
      fail(`${quarantine.length} version(s) left in quarantine`);
    }
    // The promoted bytes are the claimed version's, and that is the version the client sent.
    // A client that had to send again may have stored two versions (the first attempt landed but
    // its answer was lost): then either may be the claimed one; the bytes check below still holds.
    const expectedVersion = job.retries > 0 ? undefined : (options.expectedVersion?.(job) ?? job.versionId);
    if (
      expectedVersion !== undefined &&
      record.versionId !== undefined &&
      record.versionId !== expectedVersion
    ) {
      verdicts.wrongVersion++;
      fail(`claimed version ${record.versionId}, expected ${expectedVersion}`);
    }
    if (record.status === 'PROCESSED' && clean[0] !== undefined) {
      const object = await s3.send(
        new GetObjectCommand({ Bucket: target.bucket, Key: `clean/${job.uploadId}` }),
      );
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      if (samples.sha256Hex(bytes) !== samples.sha256Hex(job.bytes)) {
        verdicts.wrongVersion++;
        fail('the clean/ copy is not the bytes the client sent');
      }
    }
    for (const key of [`quarantine/${job.uploadId}`, `rejected/${job.uploadId}`, `clean/${job.uploadId}`]) {
      if (await anonymousReadable(target, key)) {
        verdicts.readableThatShouldNot++;
        fail(`anonymous GET of ${key} succeeded`);
      }
    }
    const trail = await store.listAudit(job.uploadId);
    const gaps = trailProblems(trail, record.status);
    if (gaps.length > 0) {
      verdicts.auditGaps++;
      fail(`audit trail: ${gaps.join('; ')}`);
    }
  });
  return verdicts;
}

/**
 * An audit trail is complete when it starts with ISSUED (null → PENDING_UPLOAD), each status
 * change starts where the previous one ended, times strictly increase, no transition is recorded
 * twice, and it ends in the record's status. DISCARDED events (another version, a duplicate
 * object) change nothing and may appear anywhere.
 */
export function trailProblems(trail: AuditEvent[], finalStatus: UploadStatus): string[] {
  const problems: string[] = [];
  const first = trail[0];
  if (first?.action !== 'ISSUED' || first.from !== null || first.to !== 'PENDING_UPLOAD')
    problems.push(`does not start with ISSUED (starts with ${first?.action ?? 'nothing'})`);
  let status: UploadStatus | null = null;
  let previousAt = '';
  const seen = new Set<string>();
  for (const event of trail) {
    if (event.at <= previousAt) problems.push(`time not increasing at ${event.action} ${event.at}`);
    previousAt = event.at;
    if (event.action === 'DISCARDED') continue;
    if (event.from !== status) problems.push(`gap: ${event.action} from ${event.from} while at ${status}`);
    const transition = `${event.from}>${event.to}@${event.executionId ?? ''}`;
    if (seen.has(transition)) problems.push(`duplicate transition ${event.from} → ${event.to}`);
    seen.add(transition);
    status = event.to;
  }
  if (status !== finalStatus) problems.push(`ends at ${status}, record is ${finalStatus}`);
  return problems;
}
