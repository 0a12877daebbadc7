import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import * as samples from '../fixtures/samples.js';
import { allocateRuntime, launchRuntime, stopRuntime, type RuntimeSpec } from './runtime-process.js';
import {
  auditTrail,
  BUCKET,
  createUpload,
  s3For,
  tokenFor,
  upload,
  waitForOutcome,
  type Created,
} from './support.js';

/**
 * The runtime is SIGKILLed while files are in flight, then started again on the same data dir.
 * It needs a runtime of its own: killing the shared one would break the other files.
 */
let spec: RuntimeSpec;
let pid = 0;

beforeAll(async () => {
  spec = await allocateRuntime({ dataDir: mkdtempSync(join(tmpdir(), 'airlock-e2e-restart-')) });
  pid = (await launchRuntime(spec)).pid;
});

afterAll(async () => {
  if (pid) await stopRuntime(pid, spec.dataDir);
  if (!process.env.AIRLOCK_E2E_KEEP) rmSync(spec.dataDir, { recursive: true, force: true });
});

interface InFlight {
  created: Created;
  bytes: Buffer;
  expected: 'PROCESSED' | 'REJECTED';
}

describe('crash recovery', () => {
  it('after SIGKILL mid-flight and a restart, every upload reaches its right status once', async () => {
    // Arrange: a mix of valid and spoofed uploads, via POST and PUT.
    const runtime = { apiUrl: `http://localhost:${spec.ports.api}`, dataDir: spec.dataDir };
    const token = await tokenFor(runtime, 'crash-test-user');
    const plan: Array<{
      bytes: Buffer;
      contentType: string;
      method: 'POST' | 'PUT';
      expected: InFlight['expected'];
    }> = [
      ...samples.VALID_SAMPLES.map((sample, index) => ({
        bytes: sample.bytes,
        contentType: sample.contentType,
        method: index % 2 === 0 ? ('PUT' as const) : ('POST' as const),
        expected: 'PROCESSED' as const,
      })),
      { bytes: samples.exe(), contentType: samples.MIME.pdf, method: 'PUT', expected: 'REJECTED' },
      { bytes: samples.html(), contentType: samples.MIME.pdf, method: 'POST', expected: 'REJECTED' },
    ];
    const inFlight: InFlight[] = [];
    for (const item of plan) {
      const created = await createUpload(runtime, token, {
        fileName: 'crash.bin',
        contentType: item.contentType,
        size: item.bytes.length,
        method: item.method,
      });
      inFlight.push({ created, bytes: item.bytes, expected: item.expected });
    }

    // Act: upload everything, kill the runtime outright at once, start it again.
    const sent = await Promise.all(inFlight.map(({ created, bytes }) => upload(created.upload, bytes)));
    process.kill(pid, 'SIGKILL');
    pid = (await launchRuntime(spec)).pid;

    // Assert
    expect(sent.map((response) => response.status < 300)).toEqual(inFlight.map(() => true));
    const s3 = s3For(spec);
    for (const { created, expected } of inFlight) {
      const outcome = await waitForOutcome(runtime, token, created.uploadId, 120_000);
      expect({ id: created.uploadId, status: outcome.status }).toEqual({
        id: created.uploadId,
        status: expected,
      });
      const stored = expected === 'PROCESSED' ? 'clean' : 'rejected';
      const copies = await s3.send(
        new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: `${stored}/${created.uploadId}` }),
      );
      expect({ id: created.uploadId, copies: copies.Versions?.length ?? 0 }).toEqual({
        id: created.uploadId,
        copies: 1,
      });
      const actions = (await auditTrail(runtime, token, created.uploadId)).map((event) => event.action);
      expect(actions).toEqual(['ISSUED', 'CLAIMED', expected]);
    }
    const quarantine = await s3.send(
      new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: 'quarantine/' }),
    );
    expect(quarantine.Versions ?? []).toEqual([]);
  });
});
