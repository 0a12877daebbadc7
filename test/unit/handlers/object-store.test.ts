import 'aws-sdk-client-mock-jest';
import { Readable } from 'node:stream';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { makePromoteHandler } from '../../../functions/promote.js';
import { makeReleaseQuarantineHandler } from '../../../functions/release-quarantine.js';
import { makeValidateHandler } from '../../../functions/validate.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import * as samples from '../../fixtures/samples.js';
import { BUCKET, UPLOAD_ID, newObjectStore, s3Error } from './aws-fakes.js';

/**
 * How the S3 adapter classifies failures that are not a plain refusal: a body that breaks off
 * while Validate reads it (transient: the state machine retries the step), and 404s, of which
 * only "this key or version does not exist" means an object is gone.
 */

const s3 = mockClient(S3Client);
const objects = newObjectStore();
const VERSION_ID = 'v-1';
const KEY = `quarantine/${UPLOAD_ID}`;
const ref = { bucket: BUCKET, key: KEY, versionId: VERSION_ID };

async function failure(run: Promise<unknown>): Promise<Error> {
  try {
    await run;
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected a rejection, but it resolved.');
}

/** A body that sends `bytes` in 100-byte pieces, then fails with `error` instead of ending. */
function breakingBody(bytes: Buffer, error: Error): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent < bytes.length) {
        this.push(bytes.subarray(sent, sent + 100));
        sent += 100;
      } else {
        this.destroy(error);
      }
    },
  });
}

const networkError = (message: string, fields: Record<string, unknown>): Error =>
  Object.assign(new Error(message), fields);

beforeEach(() => s3.reset());

describe('Validate: a body that breaks off mid-read is transient', () => {
  const validate = makeValidateHandler(() => ({ objects, policy: DEFAULT_TYPE_POLICY }));
  const pdf = samples.pdf();
  const input = {
    uploadId: UPLOAD_ID,
    object: ref,
    declared: { contentType: samples.MIME.pdf, size: pdf.length },
  };

  it.each([
    [
      'a connection reset',
      networkError('read ECONNRESET', { code: 'ECONNRESET', errno: -104, syscall: 'read' }),
    ],
    ['the socket closed early (Node: "aborted")', networkError('aborted', { code: 'ECONNRESET' })],
    ['a premature close', networkError('Premature close', { code: 'ERR_STREAM_PREMATURE_CLOSE' })],
    ['a socket timeout', networkError('Socket timed out', { name: 'TimeoutError' })],
  ])('throws TransientError for %s after 300 bytes, naming the read', async (_label, error) => {
    // Arrange
    s3.on(GetObjectCommand).callsFake(() => ({
      ContentLength: pdf.length,
      Body: breakingBody(pdf.subarray(0, 300), error) as unknown as GetObjectCommandOutput['Body'],
    }));

    // Act
    const thrown = await failure(validate(input));

    // Assert
    expect(thrown.name).toBe('TransientError');
    expect(thrown.message).toMatch(/^GetObject body read failed transiently/);
    expect(thrown.cause).toBe(error);
  });

  it('throws TransientError when the body fails before its first byte', async () => {
    // Arrange
    const reset = networkError('read ECONNRESET', { code: 'ECONNRESET' });
    s3.on(GetObjectCommand).callsFake(() => ({
      ContentLength: pdf.length,
      Body: breakingBody(Buffer.alloc(0), reset) as unknown as GetObjectCommandOutput['Body'],
    }));

    // Act
    const thrown = await failure(validate(input));

    // Assert
    expect(thrown.name).toBe('TransientError');
  });

  it('still reads a whole body to its verdict when nothing breaks', async () => {
    // Arrange
    s3.on(GetObjectCommand).callsFake(() => ({
      ContentLength: pdf.length,
      Body: Readable.from([
        pdf.subarray(0, 300),
        pdf.subarray(300),
      ]) as unknown as GetObjectCommandOutput['Body'],
    }));

    // Act
    const verdict = await validate(input);

    // Assert
    expect(verdict.accepted).toBe(true);
  });
});

describe('ObjectStore: only a missing key or version counts as gone', () => {
  const gone = [s3Error('NoSuchKey', 404), s3Error('NoSuchVersion', 404)];
  const notGone = [
    ['NoSuchBucket', s3Error('NoSuchBucket', 404)],
    ['a 404 without a body (NotFound) on a GET, PUT or DELETE', s3Error('NotFound', 404)],
    ['a 404 of an unknown kind', s3Error('SomethingElse', 404)],
  ] as const;

  describe('openVersion (GetObject)', () => {
    it.each(gone)('throws ObjectVersionMissingError for $name', async (error) => {
      s3.on(GetObjectCommand).rejects(error);
      const thrown = await failure(objects.openVersion(ref));
      expect(thrown.name).toBe('ObjectVersionMissingError');
    });

    it.each(notGone)('throws DependencyError for %s', async (_label, error) => {
      s3.on(GetObjectCommand).rejects(error);
      const thrown = await failure(objects.openVersion(ref));
      expect(thrown.name).toBe('DependencyError');
      expect(thrown.message).toBe(`GetObject failed (${error.name}).`);
    });
  });

  describe('copyVersion (CopyObject)', () => {
    it.each(gone)('throws ObjectVersionMissingError for $name', async (error) => {
      s3.on(CopyObjectCommand).rejects(error);
      const thrown = await failure(
        objects.copyVersion(ref, `clean/${UPLOAD_ID}`, { contentType: 'x/y', metadata: {} }),
      );
      expect(thrown.name).toBe('ObjectVersionMissingError');
    });

    it.each(notGone)('throws DependencyError for %s', async (_label, error) => {
      s3.on(CopyObjectCommand).rejects(error);
      const thrown = await failure(
        objects.copyVersion(ref, `clean/${UPLOAD_ID}`, { contentType: 'x/y', metadata: {} }),
      );
      expect(thrown.name).toBe('DependencyError');
    });
  });

  describe('deleteVersion (DeleteObject)', () => {
    it.each(gone)('succeeds for $name: the version is already deleted', async (error) => {
      s3.on(DeleteObjectCommand).rejects(error);
      await expect(objects.deleteVersion(ref)).resolves.toBeUndefined();
    });

    it.each(notGone)('throws DependencyError for %s: nothing was deleted', async (_label, error) => {
      s3.on(DeleteObjectCommand).rejects(error);
      const thrown = await failure(objects.deleteVersion(ref));
      expect(thrown.name).toBe('DependencyError');
    });
  });

  describe('head (HeadObject: no body, so the SDK names every 404 NotFound)', () => {
    it.each([s3Error('NotFound', 404), s3Error('NoSuchKey', 404), s3Error('Forbidden', 403)])(
      'answers "no object" for $name',
      async (error) => {
        s3.on(HeadObjectCommand).rejects(error);
        await expect(objects.head(BUCKET, `clean/${UPLOAD_ID}`)).resolves.toBeUndefined();
      },
    );

    it.each([s3Error('NoSuchBucket', 404), s3Error('SomethingElse', 404)])(
      'throws DependencyError for $name',
      async (error) => {
        s3.on(HeadObjectCommand).rejects(error);
        const thrown = await failure(objects.head(BUCKET, `clean/${UPLOAD_ID}`));
        expect(thrown.name).toBe('DependencyError');
      },
    );
  });
});

describe('steps over a bucket that does not exist', () => {
  it('ReleaseQuarantine fails with DependencyError instead of reporting the version released', async () => {
    // Arrange
    s3.on(DeleteObjectCommand).rejects(s3Error('NoSuchBucket', 404));
    const release = makeReleaseQuarantineHandler(() => ({ objects }));

    // Act
    const thrown = await failure(release({ uploadId: UPLOAD_ID, object: ref }));

    // Assert
    expect(thrown.name).toBe('DependencyError');
  });

  it('Promote fails with DependencyError instead of taking the missing bucket for "no copy yet"', async () => {
    // Arrange
    s3.on(HeadObjectCommand).rejects(s3Error('NoSuchBucket', 404));
    s3.on(CopyObjectCommand).resolves({ VersionId: 'copy-1' });
    const promote = makePromoteHandler(() => ({ objects }));

    // Act
    const thrown = await failure(
      promote({
        uploadId: UPLOAD_ID,
        object: ref,
        facts: { size: 1, sha256: 'a'.repeat(64), detectedType: 'application/pdf' },
      }),
    );

    // Assert
    expect(thrown.name).toBe('DependencyError');
    expect(s3).not.toHaveReceivedCommand(CopyObjectCommand);
  });
});
