import * as samples from '../fixtures/samples.js';
import {
  api,
  auditTrail,
  BUCKET,
  createUpload,
  download,
  executionsFor,
  pollUntil,
  s3For,
  sharedRuntime,
  tokenFor,
  uniqueUser,
  upload,
  versionsOf,
  waitForExecutionsSettled,
  waitForOutcome,
  type AuditEventView,
  type UploadView,
} from './support.js';

/**
 * At-least-once delivery: the same event may come many times, and a client may upload again to
 * a key whose first version was already processed. Only one version is ever processed, a
 * terminal status is never overwritten, and every refusal is audited.
 */
const runtime = sharedRuntime();
const s3 = s3For(runtime);

/** One RadosGW notification, in the S3 record format it POSTs to the push endpoint. */
function rgwNotification(object: { key: string; size: number; versionId: string }): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.2',
        eventSource: 'ceph:s3',
        eventName: 'ObjectCreated:Put',
        eventTime: new Date().toISOString(),
        s3: {
          bucket: { name: BUCKET },
          object: { ...object, eTag: 'x', sequencer: '1D2E3F4A5B6C7D8E' },
        },
      },
    ],
  });
}

async function processedViaPut(label: string, bytes: Buffer) {
  const token = await tokenFor(runtime, uniqueUser(label));
  const created = await createUpload(runtime, token, {
    fileName: 'notes.txt',
    contentType: samples.MIME.text,
    size: bytes.length,
    method: 'PUT',
  });
  const sent = await upload(created.upload, bytes);
  if (sent.status >= 300) throw new Error(`PUT → ${sent.status}: ${sent.text}`);
  const outcome = await waitForOutcome(runtime, token, created.uploadId); // and its executions ended
  if (outcome.status !== 'PROCESSED') throw new Error(`expected PROCESSED, got ${JSON.stringify(outcome)}`);
  const key = `quarantine/${created.uploadId}`;
  const trail = await auditTrail(runtime, token, created.uploadId);
  const versionId = trail.find((event) => event.action === 'CLAIMED')?.versionId;
  if (versionId === undefined) throw new Error(`no CLAIMED versionId in ${JSON.stringify(trail)}`);
  const executions = new Set((await executionsFor(runtime, key)).map((execution) => execution.name));
  return { token, created, key, versionId, trail, executions };
}

const count = (trail: AuditEventView[], action: string) =>
  trail.filter((event) => event.action === action).length;

describe('duplicates and second uploads', () => {
  it('the same event delivered three times → one promotion, one terminal audit event', async () => {
    // Arrange
    const bytes = samples.text('Delivered once, announced three times.\n');
    const {
      token,
      created,
      key,
      versionId,
      trail: trailBefore,
      executions,
    } = await processedViaPut('dup', bytes);
    const statusBefore = await api<UploadView>(runtime, `/uploads/${created.uploadId}`, { token });
    const notification = rgwNotification({ key, size: bytes.length, versionId });
    // Act
    const deliveries: number[] = [];
    for (let delivery = 0; delivery < 3; delivery++) {
      const response = await fetch(`http://127.0.0.1:${runtime.ports.router}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: notification,
      });
      deliveries.push(response.status);
    }
    const duplicates = await waitForExecutionsSettled(runtime, key, { atLeast: 3, ignore: executions });
    // Assert
    expect(deliveries).toEqual([200, 200, 200]);
    expect(duplicates.map((execution) => execution.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(duplicates.map((execution) => execution.input.detail?.object?.['version-id'])).toEqual([
      versionId,
      versionId,
      versionId,
    ]);
    expect((await versionsOf(s3, `clean/${created.uploadId}`)).versions).toHaveLength(1);
    expect(await versionsOf(s3, key)).toEqual({ versions: [], deleteMarkers: 0 });
    const trailAfter = await auditTrail(runtime, token, created.uploadId);
    expect(count(trailAfter, 'PROCESSED')).toBe(1);
    expect(trailAfter).toEqual(trailBefore); // a duplicate writes nothing at all
    const statusAfter = await api<UploadView>(runtime, `/uploads/${created.uploadId}`, { token });
    expect(statusAfter.body).toMatchObject({ status: 'PROCESSED', updatedAt: statusBefore.body.updatedAt });
    expect(statusAfter.headers.get('etag')).toBe(statusBefore.headers.get('etag'));
  });

  it('a second upload to the same key after processing → not promoted, audited', async () => {
    // Arrange
    const first = samples.text('The first version: this one is kept.\n');
    const second = samples.text('A later version: this one goes away.\n');
    expect(second.length).toBe(first.length);
    const { token, created, key, versionId, executions } = await processedViaPut('second', first);
    // Act: the same, still valid grant, with other bytes of the same type and length
    const sent = await upload(created.upload, second);
    const discarded = await pollUntil('a DISCARDED event in the trail', async () => {
      const trail = await auditTrail(runtime, token, created.uploadId);
      return trail.some((event) => event.action === 'DISCARDED') ? trail : undefined;
    });
    await waitForExecutionsSettled(runtime, key, { ignore: executions });
    // Assert
    expect(sent.status).toBeLessThan(300);
    expect(discarded.map((event) => event.action)).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED', 'DISCARDED']);
    const times = discarded.map((event) => Date.parse(event.at));
    expect(times).toEqual([...times].sort((a, b) => a - b)); // oldest first, by their own times
    expect(new Set(times).size).toBe(times.length);
    const discard = discarded[3];
    expect(discard?.reasons.map((reason) => reason.code)).toEqual(['ALREADY_PROCESSED']);
    expect(discard).toMatchObject({ from: 'PROCESSED', to: 'PROCESSED' });
    expect(discard?.versionId).toEqual(expect.any(String));
    expect(discard?.versionId).not.toBe(versionId);
    expect(await versionsOf(s3, key)).toEqual({ versions: [], deleteMarkers: 0 });
    expect((await versionsOf(s3, `clean/${created.uploadId}`)).versions).toHaveLength(1);
    const outcome = await api<UploadView>(runtime, `/uploads/${created.uploadId}`, { token });
    expect(outcome.body.status).toBe('PROCESSED');
    const served = await download(runtime, token, created.uploadId);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(first)).toBe(true);
  });
});
