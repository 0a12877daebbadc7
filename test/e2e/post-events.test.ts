import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as samples from '../fixtures/samples.js';
import { allocateRuntime, launchRuntime, stopRuntime, type RuntimeSpec } from './runtime-process.js';
import {
  api,
  auditTrail,
  createUpload,
  executionsFor,
  pollUntil,
  s3For,
  tokenFor,
  versionsOf,
  waitForExecutionsSettled,
  type Grant,
  type UploadView,
} from './support.js';

/**
 * This RadosGW (Ceph 16) sends no bucket notification for POST uploads; the runtime reads them
 * from RadosGW's ops log instead. Here the reconciler's lost-event path is pushed an hour away,
 * so an execution can only come from that source.
 */
let spec: RuntimeSpec;
let pid = 0;
const RECONCILER_LOST_EVENT_AFTER_MS = 3_600_000;
/** Far below the reconciler's hour, and generous for a busy machine (a PUT takes ~0.2 s here). */
const PROMPTLY_MS = 5_000;

beforeAll(async () => {
  spec = await allocateRuntime({
    dataDir: mkdtempSync(join(tmpdir(), 'airlock-e2e-post-')),
    env: { AIRLOCK_LOST_EVENT_AFTER_MS: String(RECONCILER_LOST_EVENT_AFTER_MS) },
  });
  pid = (await launchRuntime(spec)).pid;
});

afterAll(async () => {
  if (pid) await stopRuntime(pid, spec.dataDir);
  if (!process.env.AIRLOCK_E2E_KEEP) rmSync(spec.dataDir, { recursive: true, force: true });
});

const runtimeOf = () => ({ apiUrl: `http://localhost:${spec.ports.api}`, dataDir: spec.dataDir });

/** A browser-style multipart POST of the grant; returns RGW's request id for it. */
async function post(grant: Grant, bytes: Buffer): Promise<{ status: number; requestId: string | null }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(grant.fields ?? {})) form.append(name, value);
  form.append('file', new Blob([bytes]), 'notes.txt');
  const response = await fetch(grant.url, { method: 'POST', body: form });
  await response.arrayBuffer();
  return { status: response.status, requestId: response.headers.get('x-amz-request-id') };
}

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

describe('POST upload events from the RadosGW ops log', () => {
  it('a POST upload reaches PROCESSED promptly, through an execution the ops log started', async () => {
    // Arrange
    const runtime = runtimeOf();
    const token = await tokenFor(runtime, 'post-events-user');
    const bytes = samples.text('Sent as a browser form sends it.\n');
    const created = await createUpload(runtime, token, {
      fileName: 'notes.txt',
      contentType: samples.MIME.text,
      size: bytes.length,
      method: 'POST',
    });
    // Act
    const sent = await post(created.upload, bytes);
    const sentAt = Date.now();
    const outcome = await pollUntil(
      'PROCESSED',
      async () => {
        const view = await api<UploadView>(runtime, `/uploads/${created.uploadId}`, { token });
        return view.body.status === 'PROCESSED' ? view.body : undefined;
      },
      { timeoutMs: PROMPTLY_MS, intervalMs: 25 },
    );
    const seenAfterMs = Date.now() - sentAt;
    // Assert
    expect(sent.status).toBe(204);
    expect(outcome.status).toBe('PROCESSED');
    expect(seenAfterMs).toBeLessThan(PROMPTLY_MS);
    const key = `quarantine/${created.uploadId}`;
    const executions = await waitForExecutionsSettled(runtime, key);
    const claimed = (await auditTrail(runtime, token, created.uploadId)).find(
      (event) => event.action === 'CLAIMED',
    );
    expect(executions).toHaveLength(1);
    expect(executions[0]?.name).toMatch(/^post-object-/);
    expect(executions[0]?.input.detail).toMatchObject({
      bucket: { name: 'airlock-local' },
      object: { key, size: bytes.length, etag: md5(bytes), 'version-id': claimed?.versionId },
      'request-id': sent.requestId,
      reason: 'POST Object',
    });
  });

  it('two POSTs to one grant: each version gets exactly one execution, naming that version', async () => {
    // Arrange: two different files of the same length, sent one right after the other
    const runtime = runtimeOf();
    const token = await tokenFor(runtime, 'post-events-twice');
    const first = samples.text('The first version of this upload.\n');
    const second = samples.text('A second version, same length....\n');
    expect(second.length).toBe(first.length);
    const created = await createUpload(runtime, token, {
      fileName: 'notes.txt',
      contentType: samples.MIME.text,
      size: first.length,
      method: 'POST',
    });
    const key = `quarantine/${created.uploadId}`;
    // Act
    const sent = [await post(created.upload, first), await post(created.upload, second)];
    const executions = await waitForExecutionsSettled(runtime, key, {
      atLeast: 2,
      timeoutMs: PROMPTLY_MS * 2,
    });
    const trail = await pollUntil('CLAIMED and DISCARDED in the trail', async () => {
      const events = await auditTrail(runtime, token, created.uploadId);
      return events.some((event) => event.action === 'DISCARDED') ? events : undefined;
    });
    // Assert: each execution's version has the bytes of the POST whose request id it carries
    expect(sent.map((response) => response.status)).toEqual([204, 204]);
    const byRequest = new Map(
      executions.map((execution) => {
        const detail = execution.input.detail as {
          'request-id'?: string;
          object?: { etag?: string; 'version-id'?: string };
        };
        return [detail['request-id'], detail.object] as const;
      }),
    );
    expect(executions).toHaveLength(2);
    expect(byRequest.get(sent[0]!.requestId!)?.etag).toBe(md5(first));
    expect(byRequest.get(sent[1]!.requestId!)?.etag).toBe(md5(second));
    const versionIds = [...byRequest.values()].map((object) => object?.['version-id']);
    expect(new Set(versionIds).size).toBe(2);
    const claimed = trail.find((event) => event.action === 'CLAIMED')?.versionId;
    const discarded = trail.find((event) => event.action === 'DISCARDED');
    expect([claimed, discarded?.versionId].sort()).toEqual([...versionIds].sort());
    expect(discarded?.reasons.map((reason) => reason.code)).toEqual(['ALREADY_PROCESSED']);
    expect(await versionsOf(s3For(spec), key)).toEqual({ versions: [], deleteMarkers: 0 });
    expect(await executionsFor(runtime, key)).toHaveLength(2); // and no third one since
  });
});
