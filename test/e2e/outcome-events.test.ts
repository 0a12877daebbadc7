import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import * as samples from '../fixtures/samples.js';
import { outcomeEventProblems } from '../support/outcome-events.js';
import {
  allocateRuntime,
  freePort,
  launchRuntime,
  stopRuntime,
  type RuntimeSpec,
} from './runtime-process.js';
import {
  api,
  auditTrail,
  createUpload,
  pollUntil,
  tokenFor,
  upload,
  waitForOutcome,
  type AuditEventView,
} from './support.js';

/**
 * Outcome events over real HTTP, as a consumer on AWS would get them: a consumer server verifies
 * every delivery with the standardwebhooks library, checks it against the published JSON Schema,
 * and keeps the ids. The runtime is its own (its configuration registers the consumer's
 * endpoints and a short retry policy).
 */

/** Deliveries the consumer answers 500 before it starts to accept (each is retried). */
const REFUSE_FIRST = 3;
const TERMINAL_ACTIONS = new Set(['PROCESSED', 'REJECTED', 'FAILED', 'EXPIRED']);

interface Received {
  path: string;
  id: string;
  verified: boolean;
  problems: string[];
  event: { id: string; data: { uploadId: string; status: string } };
}

/** A webhook consumer: verifies with standardwebhooks, refuses its first deliveries with a 500. */
class Consumer {
  readonly received: Received[] = [];
  answered500 = 0;
  private server!: Server;

  constructor(private readonly secret: string) {}

  async start(port: number): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let verified = false;
        let event: Received['event'] | undefined;
        try {
          event = new Webhook(this.secret).verify(body, headersOf(request.headers)) as Received['event'];
          verified = true;
        } catch {
          event = JSON.parse(body) as Received['event'];
        }
        this.received.push({
          path: request.url ?? '',
          id: String(request.headers['webhook-id']),
          verified,
          problems: outcomeEventProblems(event),
          event,
        });
        if (this.answered500 < REFUSE_FIRST) {
          this.answered500++;
          response.writeHead(500).end();
          return;
        }
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }

  idsAt(path: string): Set<string> {
    return new Set(this.received.filter((entry) => entry.path === path).map((entry) => entry.id));
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const headersOf = (headers: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));

/** The outcome event ids the trail says were recorded: one per terminal transition. */
const recordedEventIds = (uploadId: string, trail: AuditEventView[]): string[] =>
  trail.flatMap((event, index) =>
    TERMINAL_ACTIONS.has(event.action) && event.to === event.action
      ? [`evt_${uploadId}_${(event as { seq?: number }).seq ?? index + 1}`]
      : [],
  );

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const consumer = new Consumer(secret);
let spec: RuntimeSpec;
let pid = 0;
let child: ChildProcess | undefined;
let apiUrl = '';

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'airlock-e2e-events-'));
  const consumerPort = await freePort();
  await consumer.start(consumerPort);
  writeFileSync(join(dataDir, 'webhook-secret'), secret);
  const config = join(dataDir, 'airlock.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      webhooks: [
        { id: 'everything', url: `http://127.0.0.1:${consumerPort}/all`, secret: { file: 'webhook-secret' } },
        {
          id: 'rejections',
          url: `http://127.0.0.1:${consumerPort}/rejected`,
          secret: { file: 'webhook-secret' },
          statuses: ['REJECTED'],
        },
      ],
      webhookRetry: { maxAttempts: 10, initialDelaySeconds: 1, maxDelaySeconds: 2 },
    }),
  );
  // Grants live 5 s, so that an upload never sent expires within the test. Fault injection is on
  // at rate 0 (the router's /faults arms a crash point for one test; a restart disarms it).
  spec = await allocateRuntime({
    dataDir,
    env: { AIRLOCK_CONFIG: config, AIRLOCK_UPLOAD_URL_TTL_SECONDS: '5', AIRLOCK_FAULTS: 'crash=0' },
  });
  const launched = await launchRuntime(spec);
  ({ pid, child, apiUrl } = launched);
});

afterAll(async () => {
  if (pid) await stopRuntime(pid, spec.dataDir);
  await consumer.stop();
  if (!process.env.AIRLOCK_E2E_KEEP) rmSync(spec.dataDir, { recursive: true, force: true });
});

describe('outcome events to webhooks', () => {
  it('delivers exactly one distinct, verified, schema-valid event per terminal transition', async () => {
    // Arrange: two valid files (one sent twice), a spoofed one, and a grant never used.
    const runtime = { apiUrl, dataDir: spec.dataDir };
    const token = await tokenFor(runtime, 'events-user');
    const pdf = samples.pdf('events');
    const plan = [
      { bytes: pdf, contentType: samples.MIME.pdf, sends: 2 },
      { bytes: samples.pdf('second'), contentType: samples.MIME.pdf, sends: 1 },
      { bytes: samples.exe(), contentType: samples.MIME.pdf, sends: 1 },
      { bytes: pdf, contentType: samples.MIME.pdf, sends: 0 },
    ];
    const created = [];
    for (const item of plan) {
      created.push(
        await createUpload(runtime, token, {
          fileName: 'events.pdf',
          contentType: item.contentType,
          size: item.bytes.length,
          method: 'PUT',
        }),
      );
    }

    // Act: send, and wait for every upload's outcome (the unsent one expires).
    for (const [index, item] of plan.entries()) {
      for (let send = 0; send < item.sends; send++) await upload(created[index]!.upload, item.bytes);
    }
    const outcomes = [];
    for (const { uploadId } of created) outcomes.push(await waitForOutcome(runtime, token, uploadId, 90_000));
    const expected = new Set<string>();
    const expectedRejected = new Set<string>();
    for (const { uploadId } of created) {
      for (const id of recordedEventIds(uploadId, await auditTrail(runtime, token, uploadId))) {
        expected.add(id);
        if (outcomes.find((outcome) => outcome.uploadId === uploadId)?.status === 'REJECTED')
          expectedRejected.add(id);
      }
    }
    // Every recorded transition's event arrives, and the runtime has nothing left to deliver.
    await pollUntil(
      'every recorded outcome delivered and no delivery pending',
      async () => {
        const status = await api<{ endpoints: Array<{ pending: number }> }>(runtime, '/_local/webhooks');
        const idle = status.body.endpoints.every((endpoint) => endpoint.pending === 0);
        const all = consumer.idsAt('/all');
        return idle && [...expected].every((id) => all.has(id)) ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, describeLast: () => JSON.stringify([...consumer.idsAt('/all')]) },
    );

    // Assert
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'PROCESSED',
      'PROCESSED',
      'REJECTED',
      'EXPIRED',
    ]);
    expect(expected.size).toBe(4);
    expect(consumer.idsAt('/all')).toEqual(expected);
    expect(consumer.idsAt('/rejected')).toEqual(expectedRejected);
    expect(consumer.answered500).toBe(REFUSE_FIRST);
    // The refused deliveries came again with the same id: more deliveries than distinct ids.
    expect(consumer.received.length).toBeGreaterThanOrEqual(
      expected.size + expectedRejected.size + REFUSE_FIRST,
    );
    expect(consumer.received.filter((entry) => !entry.verified)).toEqual([]);
    expect(consumer.received.flatMap((entry) => entry.problems)).toEqual([]);
    for (const entry of consumer.received) expect(entry.event.id).toBe(entry.id);
    expect(readFileSync(join(spec.dataDir, 'runtime.log'), 'utf8')).not.toContain(secret);
  });
  it('after a SIGKILL right after the outcome is recorded (before Publish), its event comes after the restart, one id', async () => {
    // Arrange: a grant (5 s: the crash is armed and the file sent at once, no restart in between)
    const runtime = { apiUrl, dataDir: spec.dataDir };
    const token = await tokenFor(runtime, 'events-crash-user');
    const bytes = samples.pdf('crash');
    const created = await createUpload(runtime, token, {
      fileName: 'crash.pdf',
      contentType: samples.MIME.pdf,
      size: bytes.length,
      method: 'PUT',
    });
    const mine = () => consumer.received.filter((entry) => entry.event.data.uploadId === created.uploadId);
    const armed = await fetch(`http://127.0.0.1:${spec.ports.router}/faults`, {
      method: 'POST',
      body: JSON.stringify({ rates: 'crash.outcome=1' }),
    });
    expect(armed.status).toBe(200);
    const dying = child!;
    const exited = once(dying, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

    // Act: the execution records PROCESSED and the runtime is killed on that write's return;
    // then it starts again (fault rates back to the environment's 0) on the same data dir.
    const sent = await upload(created.upload, bytes).catch((error: Error) => ({
      status: 0,
      text: error.message,
    }));
    let timer: NodeJS.Timeout | undefined;
    const [, signal] = await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`the runtime did not crash at crash.outcome (upload answered ${sent.status})`)),
          60_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    const deliveredBeforeKill = mine().length;
    ({ pid, child } = await launchRuntime(spec));
    const outcome = await waitForOutcome(runtime, token, created.uploadId, 60_000);
    const expected = recordedEventIds(created.uploadId, await auditTrail(runtime, token, created.uploadId));
    await pollUntil(
      'the outcome recorded before the kill delivered after the restart, nothing pending',
      async () => {
        const status = await api<{ endpoints: Array<{ pending: number }> }>(runtime, '/_local/webhooks');
        const idle = status.body.endpoints.every((endpoint) => endpoint.pending === 0);
        const ids = new Set(mine().map((entry) => entry.id));
        return idle && expected.every((id) => ids.has(id)) ? true : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 250,
        describeLast: () => JSON.stringify(mine().map((entry) => entry.id)),
      },
    );

    // Assert: killed by the crash point, after the record and before any delivery of its event;
    // then exactly one distinct id, verified and valid against the schema.
    expect(sent.status).toBe(200);
    expect(signal).toBe('SIGKILL');
    expect(deliveredBeforeKill).toBe(0);
    expect(outcome.status).toBe('PROCESSED');
    expect(expected).toHaveLength(1);
    expect(new Set(mine().map((entry) => entry.id))).toEqual(new Set(expected));
    expect(mine().filter((entry) => !entry.verified || entry.problems.length > 0)).toEqual([]);
    for (const entry of mine()) expect(entry.event.id).toBe(entry.id);
  });
});
