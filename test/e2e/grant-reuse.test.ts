import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_LISTED_DISCARDS } from '../../functions/domain/audit-trail.js';
import * as samples from '../fixtures/samples.js';
import { allocateRuntime, launchRuntime, stopRuntime, type RuntimeSpec } from './runtime-process.js';
import {
  auditTrail,
  createUpload,
  pollUntil,
  s3For,
  tokenFor,
  upload,
  versionsOf,
  waitForExecutionsSettled,
  waitForOutcome,
} from './support.js';

/**
 * One grant, one object (issue 13, item 7), through real HTTP against RadosGW with versioning on,
 * on a runtime of its own: its event router can be told to refuse deliveries (fault injection,
 * changed at run time through /faults), which holds a first object in quarantine while the test
 * reuses its grant. Once deliveries are accepted again, RadosGW's retry or the reconciler's
 * lost-event path starts its execution.
 */
let spec: RuntimeSpec;
let pid = 0;
const runtime = () => ({ apiUrl: `http://localhost:${spec.ports.api}`, dataDir: spec.dataDir });

beforeAll(async () => {
  spec = await allocateRuntime({
    dataDir: mkdtempSync(join(tmpdir(), 'airlock-e2e-reuse-')),
    // A lost event is looked for only after 10 s: the hold below outlasts the second PUT by far.
    env: { AIRLOCK_FAULTS: 'router=0', AIRLOCK_LOST_EVENT_AFTER_MS: '10000' },
  });
  pid = (await launchRuntime(spec)).pid;
});

afterAll(async () => {
  if (pid) await stopRuntime(pid, spec.dataDir);
  if (!process.env.AIRLOCK_E2E_KEEP) rmSync(spec.dataDir, { recursive: true, force: true });
});

/** Sets the router's fault rates (the local /faults control). */
async function routerRefuses(refuse: boolean): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${spec.ports.router}/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rates: `router=${refuse ? 1 : 0}` }),
  });
  expect(response.status).toBe(200);
}

/** The task states an execution entered, in order, from the executor's history. */
function tasksOf(executionName: string): string[] {
  const text = readFileSync(join(spec.dataDir, 'executions', `${executionName}.events.ndjson`), 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { type?: string; state?: { name?: string; type?: string } })
    .filter((event) => event.type === 'StateEntered' && event.state?.type === 'Task')
    .map((event) => event.state?.name ?? '');
}

describe('a PUT grant stores one object', () => {
  it('a second PUT with the same grant while the first waits in quarantine: refused (412), or, where S3 stores it, one object processed and the other discarded', async () => {
    // Arrange: a PUT grant; deliveries refused, so the first object stays in quarantine
    const token = await tokenFor(runtime(), 'reuse-put');
    const first = samples.text('The one object this grant may store.\n');
    const second = samples.text('A second object with the same grant.\n');
    expect(second.length).toBe(first.length);
    const created = await createUpload(runtime(), token, {
      fileName: 'once.txt',
      contentType: samples.MIME.text,
      size: first.length,
      method: 'PUT',
    });
    if (created.upload.method !== 'PUT') throw new Error('A PUT grant was asked for.');
    expect(created.upload.headers['if-none-match']).toBe('*');
    const key = `quarantine/${created.uploadId}`;
    await routerRefuses(true);

    // Act
    const sentFirst = await upload(created.upload, first);
    const sentSecond = await upload(created.upload, second);
    const stored = await versionsOf(s3For(spec), key);
    await routerRefuses(false);

    // Assert: S3 took the first; the second is refused before anything is stored (AWS), or,
    // on this RadosGW (Ceph 16.2, versioning on: it does not enforce If-None-Match), stored
    expect(sentFirst.status).toBe(200);
    expect([200, 412]).toContain(sentSecond.status);
    expect(stored.versions).toHaveLength(sentSecond.status === 412 ? 1 : 2);
    // Either way one object is processed, once, and a stored second one only costs its discard
    const outcome = await waitForOutcome(runtime(), token, created.uploadId, 120_000);
    expect(outcome.status).toBe('PROCESSED');
    const executions = await waitForExecutionsSettled(runtime(), key, { atLeast: stored.versions.length });
    const trail = await pollUntil('every stored version in the trail', async () => {
      const events = await auditTrail(runtime(), token, created.uploadId);
      const discards = events.filter((event) => event.action === 'DISCARDED').length;
      return discards === stored.versions.length - 1 ? events : undefined;
    });
    expect(trail.filter((event) => event.action === 'PROCESSED')).toHaveLength(1);
    const processed = trail.find((event) => event.action === 'CLAIMED')?.versionId;
    const byVersion = new Map(
      executions.map((execution) => [execution.input.detail?.object?.['version-id'], execution.name]),
    );
    for (const { versionId } of stored.versions) {
      const name = byVersion.get(versionId);
      expect(name).toEqual(expect.any(String));
      if (versionId !== processed) expect(tasksOf(name!)).toEqual(['Claim', 'Discard']);
    }
    expect(await versionsOf(s3For(spec), key)).toEqual({ versions: [], deleteMarkers: 0 });
    expect((await versionsOf(s3For(spec), `clean/${created.uploadId}`)).versions).toHaveLength(1);
  });

  it('a grant without If-None-Match (the header left out) is refused by S3: the header is signed', async () => {
    // Arrange
    const token = await tokenFor(runtime(), 'reuse-unsigned');
    const bytes = samples.text('Sent without the conditional header.\n');
    const created = await createUpload(runtime(), token, {
      fileName: 'bare.txt',
      contentType: samples.MIME.text,
      size: bytes.length,
      method: 'PUT',
    });
    if (created.upload.method !== 'PUT') throw new Error('A PUT grant was asked for.');
    const { 'if-none-match': _left, ...headers } = created.upload.headers;

    // Act
    const sent = await upload({ ...created.upload, headers }, bytes);

    // Assert
    expect(sent.status).toBe(403);
    expect((await versionsOf(s3For(spec), `quarantine/${created.uploadId}`)).versions).toHaveLength(0);
  });
});

describe('reuses of a POST grant (S3 cannot refuse them) are cheap and bounded', () => {
  it('N reuses cost N executions of Claim and Discard only, keep no bytes, and add at most MAX_LISTED_DISCARDS events', async () => {
    // Arrange: a POST grant, used once and processed
    const token = await tokenFor(runtime(), 'reuse-post');
    const bytes = samples.text('The first object, the one processed.\n');
    const created = await createUpload(runtime(), token, {
      fileName: 'many.txt',
      contentType: samples.MIME.text,
      size: bytes.length,
      method: 'POST',
    });
    const key = `quarantine/${created.uploadId}`;
    expect((await upload(created.upload, bytes)).status).toBeLessThan(300);
    expect((await waitForOutcome(runtime(), token, created.uploadId, 120_000)).status).toBe('PROCESSED');
    const [processing] = await waitForExecutionsSettled(runtime(), key);
    const REUSES = 3;

    // Act: the same grant, again and again
    for (let reuse = 0; reuse < REUSES; reuse++) {
      const again = samples.text(`Reuse ${reuse} of the same grant`.padEnd(bytes.length - 1, '.') + '\n');
      expect(again.length).toBe(bytes.length);
      expect((await upload(created.upload, again)).status).toBeLessThan(300);
    }
    const reuses = await waitForExecutionsSettled(runtime(), key, {
      atLeast: REUSES,
      ignore: new Set([processing!.name]),
      timeoutMs: 120_000,
    });
    const trail = await pollUntil('every reuse in the trail', async () => {
      const events = await auditTrail(runtime(), token, created.uploadId);
      return events.filter((event) => event.action === 'DISCARDED').length === REUSES ? events : undefined;
    });

    // Assert: one execution per reuse, each only claiming and discarding its version...
    expect(reuses).toHaveLength(REUSES);
    expect(reuses.map((execution) => tasksOf(execution.name))).toEqual(
      reuses.map(() => ['Claim', 'Discard']),
    );
    // ...whose bytes are gone; the processed object alone stays
    expect(await versionsOf(s3For(spec), key)).toEqual({ versions: [], deleteMarkers: 0 });
    expect((await versionsOf(s3For(spec), `clean/${created.uploadId}`)).versions).toHaveLength(1);
    // ...and the trail holds one event each, never more than MAX_LISTED_DISCARDS of them (past
    // that bound a reuse is only counted: test/unit/handlers/trail-store.test.ts)
    expect(trail.map((event) => event.action)).toEqual([
      'ISSUED',
      'CLAIMED',
      'PROCESSED',
      ...Array.from({ length: REUSES }, () => 'DISCARDED'),
    ]);
    expect(REUSES).toBeLessThanOrEqual(MAX_LISTED_DISCARDS);
    expect((await waitForOutcome(runtime(), token, created.uploadId, 10_000)).status).toBe('PROCESSED');
  });
});
