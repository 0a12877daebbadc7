import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import * as samples from '../fixtures/samples.js';
import { allocateRuntime, launchRuntime, stopRuntime, type RuntimeSpec } from './runtime-process.js';
import {
  api,
  auditTrail,
  BUCKET,
  createUpload,
  pollUntil,
  s3For,
  tokenFor,
  upload,
  waitForOutcome,
  type AuditEventView,
  type UploadView,
} from './support.js';

/**
 * A crash at every write boundary of a status change: the runtime is SIGKILLed right after the
 * upload store's write of an issuance, a claim, an outcome and an expiry succeeded (fault points
 * `crash.<write>`, functions/commons/faults.ts), then started again on the same data dir. Each
 * upload must still reach its status, and its trail must hold every status change it went
 * through, numbered without a gap: each status change and its event are one write.
 */
let spec: RuntimeSpec;
let child: ChildProcess | undefined;
let pid = 0;

const runtime = () => ({ apiUrl: `http://localhost:${spec.ports.api}`, dataDir: spec.dataDir });

beforeAll(async () => {
  spec = await allocateRuntime({
    dataDir: mkdtempSync(join(tmpdir(), 'airlock-e2e-write-crash-')),
    // Fault injection on (rates 0 until a test arms one); short grants so that expiry is quick.
    env: { AIRLOCK_FAULTS: 'crash=0', AIRLOCK_UPLOAD_URL_TTL_SECONDS: '4' },
  });
  ({ child, pid } = await launchRuntime(spec));
});

afterAll(async () => {
  if (pid) await stopRuntime(pid, spec.dataDir);
  if (!process.env.AIRLOCK_E2E_KEEP) rmSync(spec.dataDir, { recursive: true, force: true });
});

/**
 * Arms `point` (rate 1), runs `trigger`, waits for the runtime to die of SIGKILL, starts it again
 * (its rates are 0 again: the environment's). Returns what `trigger` settled with.
 */
async function crashAt(point: string, trigger: () => Promise<unknown>): Promise<{ signal: string | null }> {
  const response = await fetch(`http://127.0.0.1:${spec.ports.router}/faults`, {
    method: 'POST',
    body: JSON.stringify({ rates: `${point}=1` }),
  });
  expect(response.status).toBe(200);
  const dying = child!;
  const exited = once(dying, 'exit') as Promise<[number | null, string | null]>;
  void trigger().catch(() => undefined); // the request may die with the runtime
  let timer: NodeJS.Timeout | undefined;
  const [, signal] = await Promise.race([
    exited,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the runtime did not crash at ${point}`)), 90_000);
    }),
  ]).finally(() => clearTimeout(timer));
  ({ child, pid } = await launchRuntime(spec));
  return { signal };
}

/** The trail is complete: ISSUED first, each change from where the last one ended, seq 1..n. */
function expectCompleteTrail(events: AuditEventView[], actions: string[], finalStatus: string): void {
  expect(events.map((event) => event.action)).toEqual(actions);
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  let status: string | null = null;
  for (const event of events) {
    if (event.action === 'DISCARDED') continue;
    expect({ action: event.action, from: event.from }).toEqual({ action: event.action, from: status });
    status = event.to;
  }
  expect(status).toBe(finalStatus);
}

async function waitForStatus(token: string, uploadId: string, status: string): Promise<UploadView> {
  return pollUntil(
    `${uploadId} to be ${status}`,
    async () => {
      const view = await api<UploadView>(runtime(), `/uploads/${uploadId}`, { token });
      return view.status === 200 && view.body.status === status ? view.body : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

describe('a crash at every write boundary leaves every trail complete', () => {
  const pdf = samples.pdf();
  const request = {
    fileName: 'crash.pdf',
    contentType: samples.MIME.pdf,
    size: pdf.length,
    method: 'PUT' as const,
  };

  it('issuance: the record and its ISSUED event are one write (the grant never reached the client)', async () => {
    // Arrange
    const token = await tokenFor(runtime(), 'crash-create');

    // Act: the runtime dies right after create-upload's write, before answering.
    const { signal } = await crashAt('crash.create', () =>
      api(runtime(), '/uploads', { method: 'POST', token, body: request }),
    );

    // Assert: the upload exists, expires (nobody has its grant), and its trail is whole.
    expect(signal).toBe('SIGKILL');
    const listed = await api<{ items: UploadView[] }>(runtime(), '/uploads', { token });
    expect(listed.body.items).toHaveLength(1);
    const uploadId = listed.body.items[0]!.uploadId;
    await waitForStatus(token, uploadId, 'EXPIRED');
    expectCompleteTrail(await auditTrail(runtime(), token, uploadId), ['ISSUED', 'EXPIRED'], 'EXPIRED');
  });

  it('claim: PROCESSING and its CLAIMED event are one write; the resumed execution goes on', async () => {
    // Arrange
    const token = await tokenFor(runtime(), 'crash-claim');
    const created = await createUpload(runtime(), token, request);

    // Act: the execution's Claim writes, and the runtime dies.
    const { signal } = await crashAt('crash.claim', () => upload(created.upload, pdf));

    // Assert
    expect(signal).toBe('SIGKILL');
    const outcome = await waitForOutcome(runtime(), token, created.uploadId, 120_000);
    expect(outcome.status).toBe('PROCESSED');
    expectCompleteTrail(
      await auditTrail(runtime(), token, created.uploadId),
      ['ISSUED', 'CLAIMED', 'PROCESSED'],
      'PROCESSED',
    );
  });

  it('outcome: PROCESSED and its event are one write; the resumed execution only releases quarantine', async () => {
    // Arrange
    const token = await tokenFor(runtime(), 'crash-outcome');
    const created = await createUpload(runtime(), token, request);

    // Act
    const { signal } = await crashAt('crash.outcome', () => upload(created.upload, pdf));

    // Assert
    expect(signal).toBe('SIGKILL');
    const outcome = await waitForOutcome(runtime(), token, created.uploadId, 120_000);
    expect(outcome.status).toBe('PROCESSED');
    expectCompleteTrail(
      await auditTrail(runtime(), token, created.uploadId),
      ['ISSUED', 'CLAIMED', 'PROCESSED'],
      'PROCESSED',
    );
    const quarantine = await s3For(spec).send(
      new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: `quarantine/${created.uploadId}` }),
    );
    expect(quarantine.Versions ?? []).toEqual([]);
  });

  it('expiry: EXPIRED and its event are one write (the sweeper never comes back to it)', async () => {
    // Arrange
    const token = await tokenFor(runtime(), 'crash-expire');
    let uploadId = '';

    // Act: a grant nobody uses; the sweeper expires it and the runtime dies.
    const { signal } = await crashAt('crash.expire', async () => {
      uploadId = (await createUpload(runtime(), token, request)).uploadId;
    });

    // Assert
    expect(signal).toBe('SIGKILL');
    expect((await waitForStatus(token, uploadId, 'EXPIRED')).status).toBe('EXPIRED');
    expectCompleteTrail(await auditTrail(runtime(), token, uploadId), ['ISSUED', 'EXPIRED'], 'EXPIRED');
  });
});
