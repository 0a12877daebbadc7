import { Presigner } from '../../functions/adapters/presigner.js';
import { postGrant } from '../../functions/domain/upload-grant.js';
import { newUploadId } from '../../functions/domain/upload-id.js';
import * as samples from '../fixtures/samples.js';
import {
  BUCKET,
  createUpload,
  postForm,
  putSigned,
  s3For,
  sharedRuntime,
  tokenFor,
  uniqueUser,
  upload,
  versionsOf,
  waitForOutcome,
  waitUntilClockPasses,
  type Grant,
} from './support.js';

/**
 * The presigned grants are enforced by the S3 server itself (RadosGW here), before any of
 * Airlock's code sees a byte: size, Content-Type, key and expiry of a POST policy, and the
 * signed headers of a PUT URL. A refused request stores nothing.
 */
const runtime = sharedRuntime();
const s3 = s3For(runtime);

const bytes = samples.text('Exactly these bytes were declared.\n');

async function issue(method: 'POST' | 'PUT', label: string) {
  const token = await tokenFor(runtime, uniqueUser(label));
  const created = await createUpload(runtime, token, {
    fileName: 'notes.txt',
    contentType: samples.MIME.text,
    size: bytes.length,
    method,
  });
  return { token, created, key: `quarantine/${created.uploadId}` };
}

describe('S3 enforces the presigned POST policy', () => {
  it('refuses a file one byte over the declared size with 400 EntityTooLarge and stores nothing', async () => {
    // Arrange
    const { created, key } = await issue('POST', 's3-oversize');
    const oversized = Buffer.concat([bytes, Buffer.from('!')]);
    // Act
    const sent = await postForm(created.upload, oversized);
    // Assert
    expect(sent.status).toBe(400);
    expect(sent.text).toContain('EntityTooLarge');
    expect(await versionsOf(s3, key)).toEqual({ versions: [], deleteMarkers: 0 });
  });

  it('refuses a Content-Type form field other than the pinned one with 403 AccessDenied', async () => {
    // Arrange
    const { created, key } = await issue('POST', 's3-type');
    // Act
    const sent = await postForm(created.upload, bytes, { fields: { 'Content-Type': 'text/html' } });
    // Assert
    expect(sent.status).toBe(403);
    expect(sent.text).toContain('AccessDenied');
    expect(await versionsOf(s3, key)).toEqual({ versions: [], deleteMarkers: 0 });
  });

  it('refuses another key than the pinned one with 403 AccessDenied, under either key', async () => {
    // Arrange
    const { created, key } = await issue('POST', 's3-key');
    const otherKey = `quarantine/${newUploadId()}`;
    // Act
    const sent = await postForm(created.upload, bytes, { fields: { key: otherKey } });
    // Assert
    expect(sent.status).toBe(403);
    expect(sent.text).toContain('AccessDenied');
    expect(await versionsOf(s3, otherKey)).toEqual({ versions: [], deleteMarkers: 0 });
    expect(await versionsOf(s3, key)).toEqual({ versions: [], deleteMarkers: 0 });
  });

  it('refuses an expired policy with 403, while the same upload with a live policy goes through', async () => {
    // Arrange: a 1-second policy for a real upload's key, signed exactly as create-upload signs
    const { token, created, key } = await issue('POST', 's3-expired');
    const presigner = new Presigner(BUCKET, s3For(runtime, { requestChecksumCalculation: 'WHEN_REQUIRED' }));
    const signed = await presigner.signPost(
      postGrant({
        uploadId: created.uploadId,
        contentType: samples.MIME.text,
        size: bytes.length,
        ttlSeconds: 1,
      }),
    );
    const policy = JSON.parse(Buffer.from(signed.fields.Policy ?? '', 'base64').toString('utf8')) as {
      expiration: string;
    };
    const expiresAt = Date.parse(policy.expiration);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(1000);
    await waitUntilClockPasses(expiresAt + 1500, 'the 1-second policy to expire');
    const expired: Grant = {
      method: 'POST',
      url: signed.url,
      fields: signed.fields,
      expiresAt: policy.expiration,
    };
    // Act
    const refused = await postForm(expired, bytes);
    const storedAfterRefusal = await versionsOf(s3, key);
    const accepted = await upload(created.upload, bytes); // control: the API's 15-minute grant
    // Assert
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('AccessDenied');
    expect(storedAfterRefusal).toEqual({ versions: [], deleteMarkers: 0 });
    expect(accepted.status).toBeLessThan(300);
    expect((await waitForOutcome(runtime, token, created.uploadId)).status).toBe('PROCESSED');
  });
});

describe('S3 enforces the signed headers of a presigned PUT', () => {
  it('refuses a content-type header other than the signed one with 403 SignatureDoesNotMatch', async () => {
    // Arrange
    const { created, key } = await issue('PUT', 's3-put-type');
    // Act
    const sent = await putSigned(created.upload, bytes, { 'content-type': 'text/html' });
    // Assert
    expect(sent.status).toBe(403);
    expect(sent.text).toContain('SignatureDoesNotMatch');
    expect(await versionsOf(s3, key)).toEqual({ versions: [], deleteMarkers: 0 });
  });

  it('refuses a body one byte longer than the signed content-length and stores nothing', async () => {
    // Arrange
    const { created, key } = await issue('PUT', 's3-put-size');
    const oversized = Buffer.concat([bytes, Buffer.from('!')]);
    // Act
    const sent = await putSigned(created.upload, oversized);
    // Assert
    expect([400, 403]).toContain(sent.status);
    expect(await versionsOf(s3, key)).toEqual({ versions: [], deleteMarkers: 0 });
  });
});
