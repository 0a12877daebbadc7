import { readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
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
  reasons?: Array<{ code: string; message: string }>;
  download?: { url: string; expiresAt: string };
}

const TERMINAL = new Set(['PROCESSED', 'REJECTED', 'FAILED', 'EXPIRED']);

/** Polls GET /uploads/{id} until a terminal status, or fails at the deadline. */
export async function waitForOutcome(
  runtime: { apiUrl: string },
  token: string,
  uploadId: string,
  timeoutMs = 60_000,
): Promise<UploadView> {
  const deadline = Date.now() + timeoutMs;
  let last: ApiResponse<UploadView> | undefined;
  while (Date.now() < deadline) {
    last = await api<UploadView>(runtime, `/uploads/${uploadId}`, { token }).catch(() => undefined);
    if (last?.status === 200 && TERMINAL.has(last.body.status)) return last.body;
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

export function s3For(runtime: RuntimeSpec): S3Client {
  return new S3Client({
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
