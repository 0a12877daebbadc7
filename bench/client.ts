import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockClient, isTerminal, type CreatedUpload, type UploadView } from '../client/index.js';
import { issueToken } from '../local/auth.js';
import type { BenchRuntime } from './runtime.js';
import { KiB, sleep } from './stats.js';

/**
 * What a client app does, over real HTTP and through the typed client (client/): POST /uploads,
 * the bytes straight to S3 (RadosGW), then GET /uploads/{id} until the outcome.
 *
 * Polling stays here rather than in `AirlockClient.waitForOutcome`: that one pauses for the
 * server's Retry-After (1-2 s) and backs off, which suits an app but would measure its own pauses;
 * the benchmarks poll at a fixed, stated interval so that the time to see an outcome is bounded
 * by it.
 */

export const DOCUMENT_BYTES = 100 * KiB;

/** A 100 KiB CSV document (valid UTF-8, so it is PROCESSED), with its SHA-256. */
export function csvDocument(bytes = DOCUMENT_BYTES): { bytes: Buffer; sha256: string } {
  const line = Buffer.from('1,"Zoë Ångström",Zürich,12.50\n', 'utf8');
  // Whole lines, then ASCII padding: never a character cut in two.
  const body = Buffer.alloc(bytes, 0x20);
  for (let offset = 0; offset + line.length < bytes; offset += line.length) line.copy(body, offset);
  body[bytes - 1] = 0x0a;
  return { bytes: body, sha256: createHash('sha256').update(body).digest('hex') };
}

/** 100 KiB declared as CSV that is not UTF-8: Validate rejects it (TYPE_MISMATCH). */
export function rejectedDocument(bytes = DOCUMENT_BYTES): { bytes: Buffer; sha256: string } {
  const body = Buffer.alloc(bytes, 0xff);
  return { bytes: body, sha256: createHash('sha256').update(body).digest('hex') };
}

export interface Outcome {
  uploadId: string;
  status: string;
  /** performance.now() when the upload's 2xx arrived. */
  uploadedAt: number;
  /** performance.now() when a poll first showed a terminal status. */
  seenAt: number;
  /** The upload's 2xx on the wall clock (ms since the epoch). */
  uploadedAtEpochMs: number;
  /** When the outcome was written: the record's updatedAt (same machine, same clock). */
  recordedAtEpochMs: number;
  polls: number;
}

export class BenchClient {
  private constructor(
    readonly runtime: BenchRuntime,
    private readonly airlock: AirlockClient,
  ) {}

  static async create(runtime: BenchRuntime, user: string): Promise<BenchClient> {
    const token = await issueToken(runtime.dataDir, { sub: user, ttlSeconds: 6 * 3600 });
    return new BenchClient(runtime, new AirlockClient({ baseUrl: runtime.apiUrl, token }));
  }

  createUpload(document: { bytes: Buffer; sha256: string }, method: 'PUT' | 'POST'): Promise<CreatedUpload> {
    return this.airlock.createUpload({
      fileName: 'bench.csv',
      contentType: 'text/csv',
      size: document.bytes.length,
      sha256: document.sha256,
      method,
    });
  }

  /** Sends the bytes with the grant; resolves at the 2xx, with performance.now() of it. */
  async upload(created: CreatedUpload, bytes: Buffer): Promise<number> {
    await this.airlock.uploadFile(created.upload, new Blob([bytes]));
    return performance.now();
  }

  /** One status read; undefined when the API did not answer 200. */
  async status(uploadId: string): Promise<UploadView | undefined> {
    return this.airlock.getUpload(uploadId).catch(() => undefined);
  }

  /** Polls every `intervalMs` until a terminal status or the deadline (status "TIMEOUT"). */
  async waitForOutcome(
    uploadId: string,
    uploadedAt: number,
    options: { intervalMs: number; timeoutMs: number },
  ): Promise<Outcome> {
    const deadline = performance.now() + options.timeoutMs;
    const uploadedAtEpochMs = performance.timeOrigin + uploadedAt;
    let polls = 0;
    for (;;) {
      const view = await this.status(uploadId);
      polls++;
      const now = performance.now();
      const terminal = view !== undefined && isTerminal(view.status);
      if (terminal || now > deadline) {
        const recorded = terminal ? Date.parse(view.updatedAt) : Number.NaN;
        return {
          uploadId,
          status: terminal ? view.status : 'TIMEOUT',
          uploadedAt,
          seenAt: now,
          uploadedAtEpochMs,
          recordedAtEpochMs: Number.isNaN(recorded) ? performance.timeOrigin + now : recorded,
          polls,
        };
      }
      await sleep(options.intervalMs);
    }
  }

  /** create → upload → poll, for one document. */
  async process(
    document: { bytes: Buffer; sha256: string },
    method: 'PUT' | 'POST',
    options: { intervalMs: number; timeoutMs: number },
  ): Promise<Outcome> {
    const created = await this.createUpload(document, method);
    const uploadedAt = await this.upload(created, document.bytes);
    return this.waitForOutcome(created.uploadId, uploadedAt, options);
  }
}

/** One event of the local executor's history (aws-local-stepfunctions' event log). */
export interface HistoryEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string };
}

export interface ExecutionHistory {
  name: string;
  uploadId: string;
  status: string;
  events: HistoryEvent[];
}

/**
 * The executions the runtime ran for these uploads, with their event histories
 * (`<dataDir>/executions/<name>.json` and `.events.ndjson`).
 */
export async function executionHistories(
  runtime: BenchRuntime,
  uploadIds: ReadonlySet<string>,
): Promise<ExecutionHistory[]> {
  const dir = join(runtime.dataDir, 'executions');
  const files = (await readdir(dir)).filter((file) => file.endsWith('.json'));
  const histories: ExecutionHistory[] = [];
  for (const file of files) {
    try {
      const record = JSON.parse(await readFile(join(dir, file), 'utf8')) as {
        name: string;
        status: string;
        input?: { detail?: { object?: { key?: string } } };
      };
      const uploadId = record.input?.detail?.object?.key?.replace(/^quarantine\//, '') ?? '';
      if (!uploadIds.has(uploadId)) continue;
      const text = await readFile(join(dir, `${record.name}.events.ndjson`), 'utf8');
      const events = text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as HistoryEvent);
      histories.push({ name: record.name, uploadId, status: record.status, events });
    } catch {
      // a record being written, or one without history yet: skip it
    }
  }
  return histories;
}

/** Waits until every given upload's executions have finished (the last step runs after the status). */
export async function waitForExecutions(
  runtime: BenchRuntime,
  uploadIds: ReadonlySet<string>,
  timeoutMs = 30_000,
): Promise<ExecutionHistory[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const histories = await executionHistories(runtime, uploadIds);
    const done = new Set(histories.filter((history) => history.status !== 'RUNNING').map((h) => h.uploadId));
    if ([...uploadIds].every((id) => done.has(id)) || Date.now() > deadline) {
      return histories.filter((history) => history.status !== 'RUNNING');
    }
    await sleep(100);
  }
}
