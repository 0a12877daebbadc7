import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLAMD_LIMITS } from '../../local/clamd.js';
import { DEFAULT_TYPE_POLICY } from '../../functions/domain/type-policy.js';
import * as samples from '../fixtures/samples.js';
import { allocateRuntime, launchRuntime, stopRuntime, type RuntimeSpec } from './runtime-process.js';
import {
  createUpload,
  executionsFor,
  pollUntil,
  tokenFor,
  upload,
  waitForExecutionsSettled,
  waitForOutcome,
} from './support.js';

/**
 * clamd killed while it scans: Validate's scan fails transiently, the step is retried, clamd is
 * started again by the runtime's supervisor, and the upload is processed. And a file larger than
 * clamd's StreamMaxLength, which the type policy allows here: refused, never passed. It needs a
 * runtime of its own: killing the shared one's clamd would make other files' steps retry, and the
 * shared one's type policy keeps every file under clamd's limit.
 */
let spec: RuntimeSpec;
let pid = 0;

/** text/plain allowed past clamd's StreamMaxLength (the default policy keeps it at 1 MiB). */
const OVER_SCANNER_LIMIT = CLAMD_LIMITS.streamMaxBytes + 1024 * 1024;

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'airlock-e2e-clamd-'));
  const config = join(dataDir, 'airlock.config.json');
  const typePolicy = {
    ...DEFAULT_TYPE_POLICY,
    [samples.MIME.text]: { ...DEFAULT_TYPE_POLICY[samples.MIME.text]!, maxBytes: OVER_SCANNER_LIMIT },
  };
  writeFileSync(config, JSON.stringify({ typePolicy }));
  spec = await allocateRuntime({ dataDir, env: { AIRLOCK_CONFIG: config } });
  pid = (await launchRuntime(spec)).pid;
});

afterAll(async () => {
  if (pid) await stopRuntime(pid, spec.dataDir);
  if (!process.env.AIRLOCK_E2E_KEEP) rmSync(spec.dataDir, { recursive: true, force: true });
});

/** The clamd the runtime supervises (local/clamd.ts writes its pid there). */
const clamdPid = (): number =>
  (
    JSON.parse(readFileSync(join(spec.dataDir, 'clamav', 'daemons.json'), 'utf8')) as Array<{ pid: number }>
  )[0]!.pid;

interface HistoryEvent {
  type: string;
  state?: { name: string };
  error?: string;
}
const historyOf = async (name: string): Promise<HistoryEvent[]> =>
  (await readFile(join(spec.dataDir, 'executions', `${name}.events.ndjson`), 'utf8').catch(() => ''))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as HistoryEvent);

/** A CSV of `bytes` (multi-byte UTF-8 on every line), big enough that its scan takes a while. */
function csv(bytes: number): Buffer {
  const row = Buffer.from('4711,Zoë Müller,café crème,東京,12.50\n', 'utf8');
  const out = Buffer.alloc(bytes, 0x20);
  for (let offset = 0; offset + row.length <= bytes; offset += row.length) row.copy(out, offset);
  out[bytes - 1] = 0x0a;
  return out;
}

describe('clamd killed mid-scan', () => {
  it('is retried, then recovers: the upload is PROCESSED with a verdict from the new clamd', async () => {
    // Arrange
    const runtime = { apiUrl: `http://localhost:${spec.ports.api}`, dataDir: spec.dataDir };
    const token = await tokenFor(runtime, 'clamd-kill-user');
    const bytes = csv(48 * 1024 * 1024);
    const created = await createUpload(runtime, token, {
      fileName: 'ledger.csv',
      contentType: samples.MIME.csv,
      size: bytes.length,
      method: 'PUT',
    });
    const key = `quarantine/${created.uploadId}`;
    const before = clamdPid();

    // Act: upload, and kill clamd as soon as Validate is reading (and feeding it) the file.
    expect((await upload(created.upload, bytes)).status).toBeLessThan(300);
    const execution = await pollUntil(
      'the execution to enter Validate',
      async () => {
        const [record] = await executionsFor(runtime, key);
        const entered =
          record &&
          (await historyOf(record.name)).some(
            (event) => event.type === 'StateEntered' && event.state?.name === 'Validate',
          );
        return entered ? record : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 10 },
    );
    process.kill(before, 'SIGKILL');
    const outcome = await waitForOutcome(runtime, token, created.uploadId, 180_000);
    await waitForExecutionsSettled(runtime, key, { timeoutMs: 60_000 });

    // Assert
    const history = await historyOf(execution.name);
    const retried = history
      .filter((event) => event.type === 'StateRetried')
      .map((event) => event.state?.name);
    expect(retried).toContain('Validate');
    expect(outcome.status).toBe('PROCESSED');
    expect(outcome.scan).toMatchObject({ status: 'NO_THREATS_FOUND', engine: { name: 'ClamAV' } });
    expect(clamdPid()).not.toBe(before); // the supervisor started a new clamd
    const health = await fetch(`${runtime.apiUrl}/health`).then(
      (r) => r.json() as Promise<{ parts: Record<string, boolean> }>,
    );
    expect(health.parts.clamd).toBe(true);
  });
});

describe("a file over the engine's size limit", () => {
  it('is REJECTED as NOT_FULLY_SCANNED, never promoted, though validation alone accepts it', async () => {
    // Arrange: plain text one byte over clamd's StreamMaxLength, within this runtime's type policy.
    const runtime = { apiUrl: `http://localhost:${spec.ports.api}`, dataDir: spec.dataDir };
    const token = await tokenFor(runtime, 'clamd-limit-user');
    const bytes = Buffer.alloc(CLAMD_LIMITS.streamMaxBytes + 1, 'lorem ipsum dolor sit amet\n');
    const created = await createUpload(runtime, token, {
      fileName: 'large.txt',
      contentType: samples.MIME.text,
      size: bytes.length,
      method: 'PUT',
    });

    // Act
    expect((await upload(created.upload, bytes)).status).toBeLessThan(300);
    const outcome = await waitForOutcome(runtime, token, created.uploadId, 180_000);
    await waitForExecutionsSettled(runtime, `quarantine/${created.uploadId}`, { timeoutMs: 60_000 });

    // Assert
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reasons?.map((reason) => reason.code)).toEqual(['NOT_FULLY_SCANNED']);
    expect(outcome.scan).toMatchObject({ status: 'NOT_FULLY_SCANNED', engine: { name: 'ClamAV' } });
    expect(outcome).not.toHaveProperty('download');
  });
});
