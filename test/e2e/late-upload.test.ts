import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { readLocalSettings } from '../../local/settings.js';
import * as samples from '../fixtures/samples.js';
import { grantRequest } from '../support/uploads.js';
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
  type Grant,
  type UploadView,
} from './support.js';

/**
 * Slow uploads and abandoned records, on a runtime of its own: grants of 4 seconds (the sweeper
 * expires them 5 seconds later, its grace) and the DynamoDB TTL emulation scanning every second.
 */
let spec: RuntimeSpec;
let pid = 0;
const GRANT_SECONDS = 4;
const runtime = () => ({ apiUrl: `http://localhost:${spec.ports.api}`, dataDir: spec.dataDir });

beforeAll(async () => {
  spec = await allocateRuntime({
    dataDir: mkdtempSync(join(tmpdir(), 'airlock-e2e-late-')),
    env: { AIRLOCK_UPLOAD_URL_TTL_SECONDS: String(GRANT_SECONDS), AIRLOCK_TTL_SCAN_INTERVAL_MS: '1000' },
  });
  pid = (await launchRuntime(spec)).pid;
});

afterAll(async () => {
  if (pid) await stopRuntime(pid, spec.dataDir);
  if (!process.env.AIRLOCK_E2E_KEEP) rmSync(spec.dataDir, { recursive: true, force: true });
});

const statusOf = async (token: string, uploadId: string) =>
  (await api<UploadView>(runtime(), `/uploads/${uploadId}`, { token })).body.status;

/**
 * Sends a grant's request as a slow client would: the headers (and, for a POST, every form field)
 * at once, then the file a byte at a time, one a second, until `until` resolves; then the rest.
 * The transfer thus starts while the grant is valid and ends when the test decides.
 */
async function throttledSend(
  grant: Grant,
  bytes: Buffer,
  until: Promise<unknown>,
): Promise<{ status: number; text: string; startedAt: number; endedAt: number }> {
  const request = new Request(grant.url, grantRequest(grant, bytes));
  const body = Buffer.from(await request.arrayBuffer());
  const headers = Object.fromEntries(request.headers.entries());
  // Held back: the request's last bytes (for a POST, the end of the file part and the closing
  // boundary, after every form field), so that S3 cannot finish it early.
  const tailLength = Math.min(32, bytes.length - 1);
  let sent = body.length - tailLength;
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const client = httpRequest(
      grant.url,
      { method: request.method, headers: { ...headers, 'content-length': String(body.length) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text, startedAt, endedAt: Date.now() }),
        );
      },
    );
    client.on('error', reject);
    client.write(body.subarray(0, sent));
    let done = false;
    void until.then(() => (done = true));
    const trickle = setInterval(() => {
      if (done || sent >= body.length - 1) {
        clearInterval(trickle);
        client.end(body.subarray(sent));
        return;
      }
      client.write(body.subarray(sent, sent + 1));
      sent += 1;
    }, 1000);
  });
}

/** A CSV of about 5 MiB: more than RadosGW reads of a POST before it checks the form's policy. */
const largeCsv = () => Buffer.from(`id,value\n${'1,12.50\n'.repeat(5 * 1024 * 128)}`, 'utf8');

describe('an upload whose transfer outlasts its grant (issue 13, item 11)', () => {
  it.each([
    {
      method: 'PUT' as const,
      label: 'a spoofed PDF',
      bytes: samples.html(),
      type: samples.MIME.pdf,
      expected: 'REJECTED',
    },
    {
      method: 'POST' as const,
      label: 'a 5 MiB CSV',
      bytes: largeCsv(),
      type: samples.MIME.csv,
      expected: 'PROCESSED',
    },
  ])(
    'a $method of $label accepted by S3 is processed after the sweeper expired it: $expected, LATE_UPLOAD in its trail',
    async ({ method, bytes, type, expected }) => {
      // Arrange
      const token = await tokenFor(runtime(), `late-${method.toLowerCase()}`);
      const created = await createUpload(runtime(), token, {
        fileName: 'late.bin',
        contentType: type,
        size: bytes.length,
        method,
      });
      const expiresAt = Date.parse(created.upload.expiresAt ?? '');

      // Act: the transfer starts within the grant and ends only once the sweeper has expired it
      const expired = pollUntil(
        `${created.uploadId} to be expired while its bytes are still coming`,
        async () => ((await statusOf(token, created.uploadId)) === 'EXPIRED' ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      const sent = await throttledSend(created.upload, bytes, expired);
      await expired;

      // Assert: S3 accepted it (it checks a grant's expiry when the request starts)...
      expect(sent.status >= 200 && sent.status < 300 ? 'accepted' : `${sent.status} ${sent.text}`).toBe(
        'accepted',
      );
      expect(sent.startedAt).toBeLessThan(expiresAt);
      expect(sent.endedAt).toBeGreaterThan(expiresAt);
      // ...and it is processed as any upload is: validated, then promoted or rejected. (EXPIRED is
      // terminal for pollers: wait for the outcome itself.)
      await pollUntil(
        `${created.uploadId} to reach ${expected}`,
        async () => ((await statusOf(token, created.uploadId)) === expected ? true : undefined),
        { timeoutMs: 120_000, intervalMs: 250 },
      );
      const outcome = await waitForOutcome(runtime(), token, created.uploadId, 60_000);
      expect(outcome.status).toBe(expected);
      const trail = await auditTrail(runtime(), token, created.uploadId);
      expect(trail.map((event) => [event.seq, event.action, event.from, event.to])).toEqual([
        [1, 'ISSUED', null, 'PENDING_UPLOAD'],
        [2, 'EXPIRED', 'PENDING_UPLOAD', 'EXPIRED'],
        [3, 'LATE_UPLOAD', 'EXPIRED', 'PROCESSING'],
        [4, expected, 'PROCESSING', expected],
      ]);
      const s3 = s3For(spec);
      const stored = await s3.send(
        new ListObjectVersionsCommand({
          Bucket: BUCKET,
          Prefix: `${expected === 'PROCESSED' ? 'clean' : 'rejected'}/${created.uploadId}`,
        }),
      );
      expect(stored.Versions ?? []).toHaveLength(1);
      const quarantine = await s3.send(
        new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: `quarantine/${created.uploadId}` }),
      );
      expect(quarantine.Versions ?? []).toEqual([]);
    },
  );
});

describe('abandoned records (issue 13, item 10)', () => {
  it('an EXPIRED record is deleted, trail and all, once its TTL passes; one whose TTL has not passed, and a processed one, stay', async () => {
    // Arrange: two grants nobody uses, expired by the sweeper, and one used at once
    const token = await tokenFor(runtime(), 'abandoned');
    const request = { fileName: 'never.pdf', contentType: samples.MIME.pdf, size: 10 };
    const [gone, kept] = [
      await createUpload(runtime(), token, request),
      await createUpload(runtime(), token, request),
    ];
    const pdf = samples.pdf();
    const used = await createUpload(runtime(), token, {
      fileName: 'used.pdf',
      contentType: samples.MIME.pdf,
      size: pdf.length,
    });
    expect((await upload(used.upload, pdf)).status).toBeLessThan(300);
    expect((await waitForOutcome(runtime(), token, used.uploadId, 60_000)).status).toBe('PROCESSED');
    for (const { uploadId } of [gone, kept]) {
      await pollUntil(
        `${uploadId} to expire`,
        async () => ((await statusOf(token, uploadId)) === 'EXPIRED' ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    }
    // The retention (at least 30 days) passes for one of them: its TTL moves into the past.
    const { accessKeyId, secretAccessKey, region, table } = readLocalSettings({});
    const dynamo = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${spec.ports.dynamodb}`,
      region,
      credentials: { accessKeyId, secretAccessKey },
    });
    await dynamo.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: `UPLOAD#${gone.uploadId}` }, sk: { S: 'RECORD' } },
        UpdateExpression: 'SET #ttl = :past',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':past': { N: String(Math.floor(Date.now() / 1000) - 1) } },
      }),
    );
    // A processed record carries no TTL at all: no time makes DynamoDB delete it.
    const processedItem = await dynamo.send(
      new GetItemCommand({
        TableName: table,
        Key: { pk: { S: `UPLOAD#${used.uploadId}` }, sk: { S: 'RECORD' } },
        ConsistentRead: true,
      }),
    );
    expect(processedItem.Item?.status?.S).toBe('PROCESSED');
    expect(processedItem.Item).not.toHaveProperty('ttl');
    dynamo.destroy();

    // Act: the runtime deletes it as DynamoDB would, within its scan interval (1 s here)
    const started = Date.now();
    await pollUntil(
      `${gone.uploadId} to be deleted by the TTL emulation`,
      async () => {
        const response = await api(runtime(), `/uploads/${gone.uploadId}`, { token });
        return response.status === 404 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );

    // Assert
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await api(runtime(), `/uploads/${gone.uploadId}/events`, { token })).status).toBe(404);
    expect(await statusOf(token, kept.uploadId)).toBe('EXPIRED');
    expect((await auditTrail(runtime(), token, kept.uploadId)).map((event) => event.action)).toEqual([
      'ISSUED',
      'EXPIRED',
    ]);
    expect(await statusOf(token, used.uploadId)).toBe('PROCESSED');
  });
});
