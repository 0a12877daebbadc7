import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectVersionsCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { issueToken } from '../../local/auth.js';
import type { RuntimeSpec } from './runtime-process.js';

/**
 * Helpers for the e2e tier. Everything goes through real HTTP: the API on the local runtime,
 * multipart/form-data POSTs and signed PUTs straight to RadosGW.
 */

export interface RuntimeInfo extends RuntimeSpec {
  apiUrl: string;
  pid: number;
  startupMs: number;
}

export function sharedRuntime(): RuntimeInfo {
  const file = process.env.AIRLOCK_E2E_RUNTIME;
  if (!file) throw new Error('AIRLOCK_E2E_RUNTIME is not set: run the e2e tier through jest (globalSetup).');
  return JSON.parse(readFileSync(file, 'utf8')) as RuntimeInfo;
}

/** A fresh user id per test, so that tests sharing a runtime never see each other's uploads. */
export const uniqueUser = (label: string): string => `${label}-${Math.random().toString(36).slice(2, 10)}`;

export function tokenFor(runtime: { dataDir: string }, sub: string, groups: string[] = [], ttlSeconds = 600) {
  return issueToken(runtime.dataDir, { sub, groups, ttlSeconds });
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function api<T = Record<string, unknown>>(
  runtime: { apiUrl: string },
  path: string,
  options: {
    method?: string;
    token?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<ApiResponse<T>> {
  const response = await fetch(`${runtime.apiUrl}${path}`, {
    method: options.method ?? 'GET',
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined || options.rawBody !== undefined
        ? { 'content-type': 'application/json' }
        : {}),
      ...options.headers,
    },
    ...(options.rawBody !== undefined
      ? { body: options.rawBody }
      : options.body !== undefined
        ? { body: JSON.stringify(options.body) }
        : {}),
  });
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body: body as T, text };
}

export interface Grant {
  method: 'POST' | 'PUT';
  url: string;
  fields?: Record<string, string>;
  headers?: Record<string, string>;
  expiresAt: string;
}

export interface Created {
  uploadId: string;
  status: string;
  upload: Grant;
  statusUrl: string;
}

export async function createUpload(
  runtime: { apiUrl: string },
  token: string,
  request: { fileName: string; contentType: string; size: number; sha256?: string; method?: 'POST' | 'PUT' },
): Promise<Created> {
  const response = await api<Created>(runtime, '/uploads', { method: 'POST', token, body: request });
  if (response.status !== 201) throw new Error(`POST /uploads → ${response.status}: ${response.text}`);
  return response.body;
}

/** A real browser-style upload: every returned field, then the file, as multipart/form-data. */
export async function postForm(
  grant: Grant,
  bytes: Uint8Array,
  overrides: { fields?: Record<string, string>; fileContentType?: string } = {},
): Promise<{ status: number; text: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries({ ...grant.fields, ...overrides.fields }))
    form.append(name, value);
  form.append(
    'file',
    new Blob([bytes], { type: overrides.fileContentType ?? 'application/octet-stream' }),
    'upload.bin',
  );
  const response = await fetch(grant.url, { method: 'POST', body: form });
  return { status: response.status, text: await response.text() };
}

/** A PUT with exactly the signed headers the API returned (fetch sets content-length itself). */
export async function putSigned(
  grant: Grant,
  bytes: Uint8Array,
  overrideHeaders: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const headers = { ...grant.headers, ...overrideHeaders };
  delete headers['content-length'];
  const response = await fetch(grant.url, { method: 'PUT', body: bytes, headers });
  return { status: response.status, text: await response.text() };
}

export async function upload(grant: Grant, bytes: Uint8Array): Promise<{ status: number; text: string }> {
  return grant.method === 'PUT' ? putSigned(grant, bytes) : postForm(grant, bytes);
}

export interface UploadView {
  uploadId: string;
  status: string;
  fileName: string;
  contentType: string;
  size: number;
  sha256?: string;
  detectedType?: string;
  createdAt: string;
  updatedAt: string;
  expiresAt?: string;
  reasons?: Array<{ code: string; message: string }>;
  download?: { url: string; expiresAt: string };
}

const TERMINAL = new Set(['PROCESSED', 'REJECTED', 'FAILED', 'EXPIRED']);

/**
 * Polls GET /uploads/{id} until a terminal status, or fails at the deadline. Given the runtime's
 * data dir, it then also waits until the upload's executions have finished: the status turns
 * terminal at RecordProcessed/RecordRejected, and the quarantine version is released by the step
 * after it (a deliberate order, see the README), so storage is only final once they have ended.
 */
export async function waitForOutcome(
  runtime: { apiUrl: string; dataDir?: string },
  token: string,
  uploadId: string,
  timeoutMs = 60_000,
): Promise<UploadView> {
  const deadline = Date.now() + timeoutMs;
  let last: ApiResponse<UploadView> | undefined;
  while (Date.now() < deadline) {
    last = await api<UploadView>(runtime, `/uploads/${uploadId}`, { token }).catch(() => undefined);
    if (last?.status === 200 && TERMINAL.has(last.body.status)) {
      if (runtime.dataDir !== undefined && last.body.status !== 'EXPIRED') {
        await waitForExecutionsSettled({ dataDir: runtime.dataDir }, `quarantine/${uploadId}`, {
          timeoutMs: Math.max(1_000, deadline - Date.now()),
        });
      }
      return last.body;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `Upload ${uploadId} did not reach a terminal status in ${timeoutMs} ms (last: ${last?.text})`,
  );
}

export interface AuditEventView {
  at: string;
  action: string;
  from: string | null;
  to: string | null;
  reasons: Array<{ code: string }>;
  versionId?: string;
}

export async function auditTrail(
  runtime: { apiUrl: string },
  token: string,
  uploadId: string,
): Promise<AuditEventView[]> {
  const response = await api<{ events: AuditEventView[] }>(runtime, `/uploads/${uploadId}/events`, { token });
  if (response.status !== 200) throw new Error(`events → ${response.status}: ${response.text}`);
  return response.body.events;
}

export function s3For(runtime: RuntimeSpec, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    ...extra,
    endpoint: `http://127.0.0.1:${runtime.ports.s3}`,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: {
      accessKeyId: 'AIRLOCKLOCALACCESSKEY',
      secretAccessKey: 'airlock-local-secret-key-not-for-production',
    },
  });
}

export const BUCKET = 'airlock-local';

// ---------------------------------------------------------------------------------------------
// Polling, storage and executor probes shared by the e2e scenarios.

/**
 * Polls `probe` until it returns a value other than undefined, or fails at the deadline with
 * `what` and the last value seen. The only way these tests wait: never a bare sleep.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs?: number; intervalMs?: number; describeLast?: () => string } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${options.describeLast ? ` (last: ${options.describeLast()})` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}

/** Waits until the wall clock has passed `instantMs` (e.g. an expiry plus a margin). */
export async function waitUntilClockPasses(instantMs: number, what: string): Promise<void> {
  await pollUntil(what, () => Promise.resolve(Date.now() > instantMs ? true : undefined), {
    timeoutMs: Math.max(0, instantMs - Date.now()) + 5_000,
    intervalMs: 50,
  });
}

export interface StoredVersion {
  key: string;
  versionId: string;
  size: number;
}

/** Every version (and delete marker) stored under exactly `key` in the bucket. */
export async function versionsOf(
  s3: S3Client,
  key: string,
): Promise<{ versions: StoredVersion[]; deleteMarkers: number }> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: key }));
  const versions = (out.Versions ?? [])
    .filter((version) => version.Key === key)
    .map((version) => ({ key, versionId: version.VersionId ?? '', size: version.Size ?? -1 }));
  const deleteMarkers = (out.DeleteMarkers ?? []).filter((marker) => marker.Key === key).length;
  return { versions, deleteMarkers };
}

export interface ExecutionRecordView {
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  startDate: string;
  input: { detail?: { object?: { key?: string; 'version-id'?: string } } };
}

/**
 * The local executor's durable records (`<dataDir>/executions/<name>.json`) of executions started
 * for one object key. A record is written atomically (temp file + rename), so a parse never sees
 * half a file.
 */
export async function executionsFor(
  runtime: { dataDir: string },
  key: string,
): Promise<ExecutionRecordView[]> {
  const dir = join(runtime.dataDir, 'executions');
  const files = (await readdir(dir)).filter((file) => file.endsWith('.json'));
  const records = await Promise.all(
    files.map(async (file) => {
      try {
        return JSON.parse(await readFile(join(dir, file), 'utf8')) as ExecutionRecordView;
      } catch {
        return undefined; // removed between readdir and read
      }
    }),
  );
  return records.filter((record): record is ExecutionRecordView => record?.input.detail?.object?.key === key);
}

/**
 * Waits until at least `atLeast` executions exist for `key` (excluding the names in `ignore`)
 * and none of them is still RUNNING; returns them.
 */
export async function waitForExecutionsSettled(
  runtime: { dataDir: string },
  key: string,
  options: { atLeast?: number; ignore?: ReadonlySet<string>; timeoutMs?: number } = {},
): Promise<ExecutionRecordView[]> {
  let last: ExecutionRecordView[] = [];
  return pollUntil(
    `executions for ${key} to finish`,
    async () => {
      last = (await executionsFor(runtime, key)).filter((record) => !options.ignore?.has(record.name));
      const settled =
        last.length >= (options.atLeast ?? 1) && last.every((record) => record.status !== 'RUNNING');
      return settled ? last : undefined;
    },
    {
      timeoutMs: options.timeoutMs ?? 30_000,
      describeLast: () => JSON.stringify(last.map(({ name, status }) => ({ name, status }))),
    },
  );
}

/** Asserts the API's one error shape: `{"error":{"code":"UPPER_SNAKE","message":"..."}}`. */
export function expectApiError(response: ApiResponse<unknown>, status: number, code: string): void {
  expect({ status: response.status, body: response.body }).toEqual({
    status,
    body: {
      error: expect.objectContaining({ code, message: expect.any(String) }) as unknown,
    },
  });
  const error = (response.body as { error: Record<string, unknown> }).error;
  expect(Object.keys(error).filter((name) => !['code', 'message', 'details'].includes(name))).toEqual([]);
  expect(response.headers.get('content-type') ?? '').toMatch(/^application\/json/);
}
