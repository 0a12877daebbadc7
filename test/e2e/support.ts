import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { AuditEvent, CreatedUpload, UploadView } from '../../client/index.js';
import { issueToken } from '../../local/auth.js';
import { REPO_ROOT, readLocalSettings } from '../../local/settings.js';
import {
  TERMINAL_STATUSES,
  pollUntil,
  s3Client,
  sendWithGrant,
  versionsOf as storedVersionsOf,
  waitForExecutionsSettled,
  type GrantLike,
  type GrantOverrides,
  type StoredVersion,
} from '../support/index.js';
import type { RuntimeSpec } from './runtime-process.js';

export {
  executionsFor,
  pollUntil,
  waitForExecutionsSettled,
  waitUntilClockPasses,
  type ExecutionRecordView,
  type StoredVersion,
} from '../support/index.js';
export type { UploadView } from '../../client/index.js';
/** A grant as the API returns it, or as a test builds one by hand. */
export type Grant = GrantLike;
export type Created = CreatedUpload;
export type AuditEventView = AuditEvent;

/**
 * Helpers for the e2e tier. Everything goes through real HTTP: the API on the local runtime,
 * multipart/form-data POSTs and signed PUTs straight to RadosGW.
 */

export interface RuntimeInfo extends RuntimeSpec {
  apiUrl: string;
  pid: number;
  startupMs: number;
  /** A browser client app's origin listed in the shared runtime's allowedOrigins, and its port. */
  clientAppOrigin: string;
  clientAppPort: number;
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

export async function createUpload(
  runtime: { apiUrl: string },
  token: string,
  request: { fileName: string; contentType: string; size: number; sha256?: string; method?: 'POST' | 'PUT' },
): Promise<Created> {
  const response = await api<Created>(runtime, '/uploads', { method: 'POST', token, body: request });
  if (response.status !== 201) throw new Error(`POST /uploads → ${response.status}: ${response.text}`);
  return response.body;
}

/** A real browser-style upload: every returned field (and `overrides`), then the file. */
export function postForm(
  grant: Grant,
  bytes: Uint8Array,
  overrides: Omit<GrantOverrides, 'headers'> = {},
): Promise<{ status: number; text: string }> {
  return sendWithGrant(grant, bytes, overrides);
}

/** A PUT with exactly the signed headers the API returned, and `overrideHeaders`. */
export function putSigned(
  grant: Grant,
  bytes: Uint8Array,
  overrideHeaders: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return sendWithGrant(grant, bytes, { headers: overrideHeaders });
}

export function upload(grant: Grant, bytes: Uint8Array): Promise<{ status: number; text: string }> {
  return sendWithGrant(grant, bytes);
}

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
  const outcome = await pollUntil(
    `upload ${uploadId} to reach a terminal status`,
    async () => {
      last = await api<UploadView>(runtime, `/uploads/${uploadId}`, { token }).catch(() => undefined);
      return last?.status === 200 && TERMINAL_STATUSES.has(last.body.status) ? last.body : undefined;
    },
    { timeoutMs, intervalMs: 200, describeLast: () => last?.text ?? 'no answer' },
  );
  if (runtime.dataDir !== undefined && outcome.status !== 'EXPIRED') {
    await waitForExecutionsSettled({ dataDir: runtime.dataDir }, `quarantine/${uploadId}`, {
      timeoutMs: Math.max(1_000, deadline - Date.now()),
    });
  }
  return outcome;
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

/** The runtime's RadosGW, with the local settings' keys. */
export function s3For(runtime: RuntimeSpec, extra: Partial<S3ClientConfig> = {}): S3Client {
  const { region, accessKeyId, secretAccessKey } = readLocalSettings({});
  const credentials = { accessKeyId, secretAccessKey };
  return s3Client({ s3Endpoint: `http://127.0.0.1:${runtime.ports.s3}`, region, credentials }, extra);
}

export const BUCKET = readLocalSettings({}).bucket;

/** Every version (and the count of delete markers) stored under exactly `key` in the bucket. */
export const versionsOf = (
  s3: S3Client,
  key: string,
): Promise<{ versions: StoredVersion[]; deleteMarkers: number }> => storedVersionsOf(s3, BUCKET, key);

/** Asserts the API's one error shape: `{"error":{"code":"UPPER_SNAKE","message":"..."}}`. */
/**
 * A PROCESSED upload's bytes as a client gets them: GET /uploads/{id}/download signs a fresh URL
 * (asked for as JSON), which is fetched at once.
 */
export async function download(
  runtime: { apiUrl: string },
  token: string,
  uploadId: string,
): Promise<Response> {
  const signed = await api<{ url: string; expiresAt: string }>(runtime, `/uploads/${uploadId}/download`, {
    token,
    headers: { accept: 'application/json' },
  });
  if (signed.status !== 200)
    throw new Error(`GET /uploads/${uploadId}/download → ${signed.status}: ${signed.text}`);
  return fetch(signed.body.url);
}

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

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command from the repo against the API at `apiUrl`; no token is inherited unless `env` gives one. */
export function runCommand(
  command: string,
  args: string[],
  apiUrl: string,
  env: Record<string, string | undefined> = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, AIRLOCK_API_URL: apiUrl, AIRLOCK_TOKEN: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The `airlock` CLI as a subprocess, as a user runs it from the repo. */
export const runAirlock = (
  apiUrl: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<CliRun> =>
  runCommand(process.execPath, ['--import', 'tsx', 'cli/airlock.ts', ...args], apiUrl, env);
