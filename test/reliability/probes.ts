import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Client, settledExecutions } from '../support/index.js';
import type { RuntimeTarget } from './part.js';

export {
  TERMINAL_STATUSES,
  grantRequest,
  pollFor,
  versionsOf,
  type GrantLike as Grant,
} from '../support/index.js';

/**
 * What the hostile and isolation parts share: HTTP calls that count 5xx answers and dropped
 * connections instead of throwing, and the runtime's log. Polling, storage probes and grant
 * requests come from test/support/, shared with the e2e tier.
 */

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  json: unknown;
  bytes: Buffer;
}

/** Counts what every part must report: answers by class, 5xx, and requests that got no answer. */
export class Probe {
  requests = 0;
  responses4xx = 0;
  responses5xx = 0;
  crashes = 0;

  constructor(private readonly failures: string[]) {}

  /**
   * One HTTP request. A 5xx or a connection that fails (reset, refused: a crash) is recorded as a
   * failure under `label` and returns undefined; any other answer is returned.
   */
  async call(label: string, url: string, init: RequestInit = {}): Promise<Reply | undefined> {
    this.requests++;
    let response: Response;
    let bytes: Buffer;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
      bytes = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      this.crashes++;
      this.failures.push(`${label}: expected an answer, got no response (${describe(error)})`);
      return undefined;
    }
    const text = bytes.toString('utf8');
    if (response.status >= 500) {
      this.responses5xx++;
      this.failures.push(`${label}: expected no 5xx, got ${response.status} ${text.slice(0, 200)}`);
      return undefined;
    }
    if (response.status >= 400) this.responses4xx++;
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json, bytes };
  }
}

export function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return [(error as Error).message, cause?.code ?? cause?.message].filter(Boolean).join(': ');
}

/**
 * Why `reply` is not the API's error answer `status` + `code` (`{"error":{"code","message",
 * "details"?}}`, JSON), or undefined when it is.
 */
export function errorShapeProblem(reply: Reply, status: number, code: string): string | undefined {
  const got = `${reply.status} ${reply.text.slice(0, 200)}`;
  if (reply.status !== status) return `expected ${status} ${code}, got ${got}`;
  const body = reply.json as { error?: Record<string, unknown> } | undefined;
  if (typeof body !== 'object' || body === null || Object.keys(body).join() !== 'error') {
    return `expected ${status} ${code} in the error shape, got ${got}`;
  }
  const error = body.error ?? {};
  if (error.code !== code) return `expected ${status} ${code}, got ${got}`;
  if (typeof error.message !== 'string' || error.message === '') return `expected a message, got ${got}`;
  const extra = Object.keys(error).filter((key) => !['code', 'message', 'details'].includes(key));
  if (extra.length > 0) return `expected only code, message, details, got ${got}`;
  if (!(reply.headers.get('content-type') ?? '').startsWith('application/json')) {
    return `expected a JSON error, got content-type ${reply.headers.get('content-type')}`;
  }
  return undefined;
}

/** A user id no other run has used: parts sharing a runtime never see each other's uploads. */
export const uniqueSub = (label: string): string => `${label}-${randomBytes(5).toString('hex')}`;

/** Runs `work` over `items` with at most `limit` at a time, in order of the items. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  });
  await Promise.all(workers);
  return results;
}

// ---------------------------------------------------------------------------------------------
// Storage

export const s3For = (target: RuntimeTarget): S3Client => s3Client(target);

/** The object URL on RadosGW, path-style, without any signature. */
export const objectUrl = (target: RuntimeTarget, key: string): string =>
  `${target.s3Endpoint}/${target.bucket}/${key}`;

/**
 * Waits until the local executor has at least one execution for `key` and none of them is still
 * running (the status turns terminal one step before the quarantine version is released).
 * Returns their statuses, or undefined at the deadline.
 */
export async function executionsSettled(
  target: RuntimeTarget,
  key: string,
  timeoutMs: number,
): Promise<string[] | undefined> {
  return (await settledExecutions(target, key, { timeoutMs }))?.map((record) => record.status);
}

// ---------------------------------------------------------------------------------------------
// The runtime's own log

/** Where the runtime's log ends now, so that a part reads only what it caused. */
export function logMark(target: RuntimeTarget): number | undefined {
  const file = join(target.dataDir, 'runtime.log');
  return existsSync(file) ? statSync(file).size : undefined;
}

/** Lines the API logged as failed requests (answered 5xx) since `mark`; undefined without a log. */
export function apiFailuresLoggedSince(
  target: RuntimeTarget,
  mark: number | undefined,
): string[] | undefined {
  if (mark === undefined) return undefined;
  const text = readFileSync(join(target.dataDir, 'runtime.log')).subarray(mark).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.includes('"level":"ERROR"') && line.includes('"message":"request failed"'));
}
