import 'aws-sdk-client-mock-jest';
import { Readable } from 'node:stream';
import { mockClient } from 'aws-sdk-client-mock';
import { GetObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { TransientError } from '../../../functions/commons/errors.js';
import {
  objectScanResultEvent,
  resultOfEvent,
  scannedObject,
  type ObjectScanResultEvent,
} from '../../../functions/domain/scan-result-event.js';
import { toScanResult, type MalwareScanResult } from '../../../functions/domain/scan-verdict.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import { makeValidateHandler, type InlineScan, type StreamScan } from '../../../functions/validate.js';
import * as samples from '../../fixtures/samples.js';
import { BUCKET, UPLOAD_ID, newObjectStore } from './aws-fakes.js';

/**
 * Validate with an inline engine (the local runtime's ClamAV): the one read of the version feeds
 * both the validation and the scan, and the scan's result goes out as the engine's result event.
 */

const s3 = mockClient(S3Client);
const VERSION_ID = 'v-0001';
const object = { bucket: BUCKET, key: `quarantine/${UPLOAD_ID}`, versionId: VERSION_ID };
const PDF = samples.pdf();
const CHUNK = 1000;

/** An engine that sees what passes through its tee and answers `answer` (or fails at the end). */
class RecordingEngine implements InlineScan {
  readonly seen: Buffer[] = [];
  readonly delivered: ObjectScanResultEvent[] = [];
  opened = 0;
  aborted = 0;
  constructor(private readonly answer: MalwareScanResult | Error) {}

  open(): Promise<StreamScan> {
    this.opened++;
    const { seen, answer } = this;
    return Promise.resolve({
      async *tee(chunks: AsyncIterable<Uint8Array>) {
        for await (const chunk of chunks) {
          seen.push(Buffer.from(chunk));
          yield chunk;
        }
      },
      end: () => (answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer)),
      abort: () => {
        this.aborted++;
      },
    });
  }

  deliver(event: ObjectScanResultEvent): Promise<void> {
    this.delivered.push(event);
    return Promise.resolve();
  }
}

const clean = toScanResult(
  { kind: 'CLEAN' },
  {
    engine: { name: 'ClamAV', version: '1.4.6' },
    database: { name: 'airlock-test', version: '3' },
    engineReply: 'stream: OK',
    streamedBytes: PDF.length,
    scannedAt: '2026-11-29T10:00:00.000Z',
  },
);

function serve(bytes: Buffer, contentLength = bytes.length) {
  let reads = 0;
  s3.on(GetObjectCommand).callsFake(() => {
    reads++;
    const chunks = Array.from({ length: Math.ceil(bytes.length / CHUNK) }, (_, i) =>
      bytes.subarray(i * CHUNK, (i + 1) * CHUNK),
    );
    return {
      ContentLength: contentLength,
      Body: Readable.from(chunks) as unknown as GetObjectCommandOutput['Body'],
    };
  });
  return () => reads;
}

const validate = (engine: InlineScan) =>
  makeValidateHandler(() => ({ objects: newObjectStore(), policy: DEFAULT_TYPE_POLICY, scan: engine }));
const input = (size: number) => ({
  uploadId: UPLOAD_ID,
  object,
  declared: { contentType: 'application/pdf', size },
});

beforeEach(() => s3.reset());

describe('Validate with an inline engine', () => {
  it('reads the version once: the engine sees exactly the bytes validated, and its result goes out for that version', async () => {
    // Arrange
    const reads = serve(PDF);
    const engine = new RecordingEngine(clean);

    // Act
    const verdict = await validate(engine)(input(PDF.length));

    // Assert
    expect(reads()).toBe(1);
    expect(Buffer.concat(engine.seen).equals(PDF)).toBe(true);
    expect(verdict).toMatchObject({ accepted: true, facts: { sha256: samples.sha256Hex(PDF) }, scan: null });
    expect(engine.delivered).toHaveLength(1);
    const event = objectScanResultEvent.parse(engine.delivered[0]);
    expect(scannedObject(event)).toEqual(object);
    expect(resultOfEvent(event)).toEqual(clean);
  });

  it('does not scan a file larger than declared: the read stops, the scan is dropped, nothing goes out', async () => {
    // Arrange: S3 says (and sends) 10 KiB more than the upload declared.
    const bytes = Buffer.concat([PDF, Buffer.alloc(10 * 1024)]);
    serve(bytes);
    const engine = new RecordingEngine(clean);

    // Act
    const verdict = await validate(engine)(input(PDF.length));

    // Assert
    expect(verdict.accepted).toBe(false);
    expect(verdict.reasons.map((reason) => reason.code)).toContain('SIZE_MISMATCH');
    expect(engine.aborted).toBeGreaterThan(0);
    expect(engine.delivered).toEqual([]);
  });

  it('an engine failure is a TransientError of the step (retried, then FAILED), never a verdict', async () => {
    serve(PDF);
    const engine = new RecordingEngine(new TransientError('clamd closed the connection without a verdict.'));
    await expect(validate(engine)(input(PDF.length))).rejects.toMatchObject({ name: 'TransientError' });
    expect(engine.delivered).toEqual([]);
  });

  it('connects to the engine before reading, and drops the scan when the version cannot be read', async () => {
    s3.on(GetObjectCommand).rejects(
      Object.assign(new Error('NoSuchVersion'), {
        name: 'NoSuchVersion',
        $metadata: { httpStatusCode: 404 },
      }),
    );
    const engine = new RecordingEngine(clean);
    await expect(validate(engine)(input(PDF.length))).rejects.toMatchObject({
      name: 'ObjectVersionMissingError',
    });
    expect([engine.opened, engine.aborted, engine.delivered.length]).toEqual([1, 1, 0]);
  });
});
