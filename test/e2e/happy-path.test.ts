import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import * as samples from '../fixtures/samples.js';
import {
  auditTrail,
  BUCKET,
  createUpload,
  download,
  s3For,
  sharedRuntime,
  tokenFor,
  uniqueUser,
  upload,
  waitForOutcome,
} from './support.js';

const runtime = sharedRuntime();
const s3 = s3For(runtime);

const cases = samples.VALID_SAMPLES.flatMap((sample) =>
  (['POST', 'PUT'] as const).map((method) => ({ ...sample, method })),
);

describe('happy path: every allowed type, via POST and via PUT', () => {
  it.each(cases)(
    '$name ($contentType) via $method is processed and downloadable',
    async ({ name, contentType, bytes, method }) => {
      // Arrange
      const token = await tokenFor(runtime, uniqueUser('happy'));
      const created = await createUpload(runtime, token, {
        fileName: `../evil\r\n"${name}`,
        contentType,
        size: bytes.length,
        sha256: samples.sha256Hex(bytes),
        method,
      });
      // Act
      const sent = await upload(created.upload, bytes);
      const outcome = await waitForOutcome(runtime, token, created.uploadId);
      // Assert
      expect(sent.status).toBeLessThan(300);
      expect(outcome).toMatchObject({
        status: 'PROCESSED',
        sha256: samples.sha256Hex(bytes),
        detectedType: contentType,
      });
      const served = await download(runtime, token, created.uploadId);
      expect(served.status).toBe(200);
      expect(Buffer.from(await served.arrayBuffer()).equals(bytes)).toBe(true);
      const disposition = served.headers.get('content-disposition') ?? '';
      expect(disposition).toMatch(/^attachment; filename="/);
      expect(disposition).toContain(`filename="evil${name}"`); // path, CR/LF and quote removed
      expect(disposition).not.toMatch(/[\r\n]|\.\.\//);
      const quarantine = await s3.send(
        new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: `quarantine/${created.uploadId}` }),
      );
      expect(quarantine.Versions ?? []).toEqual([]);
      const trail = await auditTrail(runtime, token, created.uploadId);
      expect(trail.map((event) => event.action)).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED']);
    },
  );
});
