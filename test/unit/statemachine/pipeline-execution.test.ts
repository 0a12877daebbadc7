import { Readable } from 'node:stream';
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { ObjectStore } from '../../../functions/adapters/object-store.js';
import { UploadStore, type NewUpload } from '../../../functions/adapters/upload-store.js';
import { makeClaimHandler } from '../../../functions/claim.js';
import { makePromoteHandler } from '../../../functions/promote.js';
import { makeRecordOutcomeHandler } from '../../../functions/record-outcome.js';
import { makeRejectHandler } from '../../../functions/reject.js';
import { makeReleaseQuarantineHandler } from '../../../functions/release-quarantine.js';
import { makeValidateHandler } from '../../../functions/validate.js';
import { makeScanHandler } from '../../../functions/scan.js';
import { makeScanResultHandler } from '../../../functions/scan-result.js';
import { ScanResultStore } from '../../../functions/adapters/scan-result-store.js';
import type { OnDemandScanner } from '../../../functions/adapters/on-demand-scanner.js';
import type { ObjectRef } from '../../../functions/domain/model.js';
import { GUARDDUTY_SOURCE, SCAN_RESULT_DETAIL_TYPE } from '../../../functions/domain/scan-result-event.js';
import type { ScannerKind } from '../../../functions/domain/scan-verdict.js';
import { makePublishOutcomeHandler } from '../../../functions/publish-outcome.js';
import type { OutcomeEvent } from '../../../functions/domain/outcome-event.js';
import { OutcomeOutbox } from '../../../functions/adapters/outcome-outbox.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import { newUploadId } from '../../../functions/domain/upload-id.js';
import { SCAN_PENDING_RETRY } from '../../../statemachines/upload-pipeline.js';
import {
  bindTaskStates,
  localDefinition,
  type TaskFunctionName,
  type TaskHandler,
} from '../../../local/executor.js';
import * as samples from '../../fixtures/samples.js';
import { FakeAws, s3Error } from './fake-aws.js';

/**
 * The real ASL, executed by aws-local-stepfunctions, with the real task handlers in-process and
 * the AWS SDK clients mocked. One named scenario per branch of the machine.
 */

const BUCKET = 'airlock-test-bucket';
// The local runtime's own definition and binding: the same ASL file with local function ARNs.
const definition = localDefinition();

let aws: FakeAws;
let executionCounter = 0;
/** What the Publish state handed to the bus, and whether the bus is away. */
let published: OutcomeEvent[] = [];
let busAway = false;

type GuardDutyAnswer = 'NO_THREATS_FOUND' | 'THREATS_FOUND' | 'UNSUPPORTED' | 'FAILED' | 'ACCESS_DENIED';
/**
 * The malware engine, as GuardDuty behaves: each uploaded version is scanned on upload and its
 * result event goes to the (real) intake before the execution runs; undefined: no result (yet).
 */
let engine: { answer?: GuardDutyAnswer; scanner: ScannerKind; onDemand?: OnDemandScanner };

beforeEach(async () => {
  aws = await FakeAws.create();
  engine = { answer: 'NO_THREATS_FOUND', scanner: 'guardduty' };
  published = [];
  busAway = false;
});
afterEach(() => aws.restore());
afterAll(() => FakeAws.shutdown());

/** GuardDuty's Object Scan Result event for one version. */
function scanResultEvent(key: string, versionId: string, answer: GuardDutyAnswer, time = new Date()) {
  return {
    version: '0',
    id: `scan-${versionId}-${time.getTime()}`,
    'detail-type': SCAN_RESULT_DETAIL_TYPE,
    source: GUARDDUTY_SOURCE,
    account: '123456789012',
    time: time.toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: {
      schemaVersion: '1.0',
      scanStatus: {
        NO_THREATS_FOUND: 'COMPLETED',
        THREATS_FOUND: 'COMPLETED',
        UNSUPPORTED: 'SKIPPED',
        ACCESS_DENIED: 'SKIPPED',
        FAILED: 'FAILED',
      }[answer],
      resourceType: 'S3_OBJECT',
      s3ObjectDetails: { bucketName: BUCKET, objectKey: key, eTag: 'etag', versionId, s3Throttled: false },
      scanResultDetails: {
        scanResultStatus: answer,
        threats: answer === 'THREATS_FOUND' ? [{ name: 'EICAR-Test-File (not a virus)' }] : null,
      },
    },
  };
}

/** The real intake, over the same fake AWS. */
function deliverScanResult(key: string, versionId: string, answer: GuardDutyAnswer, time?: Date) {
  const intake = makeScanResultHandler(() => ({
    results: new ScanResultStore(aws.table, aws.documentClient),
    store: new UploadStore(aws.table, aws.documentClient),
    objects: new ObjectStore(aws.s3Client),
    bucket: BUCKET,
    now: () => new Date(),
  }));
  return intake(scanResultEvent(key, versionId, answer, time));
}

/** Binds each Task state to the handler its Resource names, as the local runtime does. */
function taskHandlers(): Record<string, (input: unknown) => Promise<never>> {
  const store = new UploadStore(aws.table, aws.documentClient);
  const objects = new ObjectStore(aws.s3Client);
  const results = new ScanResultStore(aws.table, aws.documentClient);
  const now = () => new Date();
  const handlers: Record<TaskFunctionName, TaskHandler> = {
    claim: makeClaimHandler(() => ({ store, now, quotas: { release: () => Promise.resolve() } })),
    validate: makeValidateHandler(() => ({ objects, policy: DEFAULT_TYPE_POLICY })),
    scan: makeScanHandler(() => ({
      results,
      scanner: engine.scanner,
      ...(engine.onDemand ? { onDemand: engine.onDemand } : {}),
      now,
    })),
    promote: makePromoteHandler(() => ({ objects })),
    reject: makeRejectHandler(() => ({ objects })),
    'record-outcome': makeRecordOutcomeHandler(() => ({ store, now })),
    'release-quarantine': makeReleaseQuarantineHandler(() => ({ objects })),
    // The real publication over the record and its trail; the bus and the copy's HEAD are fakes.
    'publish-outcome': makePublishOutcomeHandler(() => ({
      outbox: new OutcomeOutbox(aws.table, aws.documentClient),
      objects: { head: () => Promise.resolve({ versionId: 'v-clean', metadata: {} }) },
      publisher: {
        publish: (events) => {
          if (busAway) return Promise.reject(new Error('bus away'));
          published.push(...events);
          return Promise.resolve();
        },
      },
      bucket: BUCKET,
    })),
  };
  return bindTaskStates(definition, handlers) as Record<string, (input: unknown) => Promise<never>>;
}

function objectCreatedEvent(key: string, versionId: string, size: number, sequencer = '0055AED6DCD90281E5') {
  return {
    version: '0',
    id: `event-${versionId}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '123456789012',
    time: '2026-11-23T10:00:00Z',
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${BUCKET}`],
    detail: {
      version: '0',
      bucket: { name: BUCKET },
      object: { key, size, etag: 'etag', 'version-id': versionId, sequencer },
      'request-id': 'req',
      requester: '123456789012',
      reason: 'PutObject',
    },
  };
}

interface RunResult {
  output?: unknown;
  error?: Error;
  states: string[];
  retried: string[];
  executionId: string;
}

async function execute(
  input: unknown,
  executionId = `arn:aws:states:us-east-1:123456789012:execution:airlock:run-${++executionCounter}`,
): Promise<RunResult> {
  const { key, 'version-id': versionId } = (
    input as { detail: { object: { key: string; 'version-id': string } } }
  ).detail.object;
  if (engine.answer !== undefined && engine.scanner !== 'none' && aws.hasObject(key, versionId)) {
    await deliverScanResult(key, versionId, engine.answer);
  }
  const machine = new StateMachine(definition);
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: taskHandlers(),
      retryIntervalOverrides: Object.fromEntries(Object.keys(definition.States).map((name) => [name, 0])),
    },
    context: { Execution: { Id: executionId, StartTime: new Date().toISOString() } },
  });
  const states: string[] = [];
  const retried: string[] = [];
  const collect = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') states.push(event.state.name);
      if (event.type === 'StateRetried') retried.push(event.state.name);
    }
  })();
  let output: unknown;
  let error: Error | undefined;
  try {
    output = await execution.result;
  } catch (caught) {
    error = caught as Error;
  }
  await collect;
  return { output, error, states, retried, executionId };
}

async function pendingUpload(bytes: Buffer, contentType: string, overrides: Partial<NewUpload> = {}) {
  const uploadId = newUploadId();
  const now = new Date().toISOString();
  await aws.putRecord({
    uploadId,
    owner: 'user-1',
    status: 'PENDING_UPLOAD',
    fileName: 'file',
    contentType,
    size: bytes.length,
    method: 'POST',
    createdAt: now,
    updatedAt: now,
    expiresAt: new Date(Date.now() + 900_000).toISOString(),
    ...overrides,
  });
  const key = `quarantine/${uploadId}`;
  aws.putObject(key, 'v1', bytes);
  return { uploadId, key };
}

const PROCESSED_PATH = [
  'Claim',
  'RouteClaim',
  'Validate',
  'RouteVerdict',
  'Scan',
  'RouteScan',
  'Promote',
  'RecordProcessed',
  'Publish',
  'ReleaseQuarantine',
  'Done',
];
const REJECTED_PATH = [
  'Claim',
  'RouteClaim',
  'Validate',
  'RouteVerdict',
  'Reject',
  'RecordRejected',
  'Publish',
  'ReleaseQuarantine',
  'Done',
];

describe('processed: a valid upload is promoted to clean/ and recorded', () => {
  it.each(samples.VALID_SAMPLES)('processes $name ($contentType)', async ({ bytes, contentType }) => {
    // Arrange
    const { uploadId, key } = await pendingUpload(bytes, contentType, {
      declaredSha256: samples.sha256Hex(bytes),
    });
    // Act
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    // Assert
    expect(run.error).toBeUndefined();
    expect(run.states).toEqual(PROCESSED_PATH);
    expect(await aws.record(uploadId)).toMatchObject({
      status: 'PROCESSED',
      versionId: 'v1',
      sha256: samples.sha256Hex(bytes),
      detectedType: contentType,
      storedKey: `clean/${uploadId}`,
      scan: { status: 'NO_THREATS_FOUND', engine: { name: 'Amazon GuardDuty Malware Protection for S3' } },
    });
    expect(aws.objectsUnder(`clean/${uploadId}@`)).toHaveLength(1);
    expect(aws.hasObject(key, 'v1')).toBe(false);
    expect(await aws.auditActions(uploadId)).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED']);
  });
});

describe('rejected: the bytes do not match the declaration', () => {
  const cases: Array<[string, Buffer, string, Record<string, unknown>, string[]]> = [
    [
      'SIZE_MISMATCH',
      samples.pdf(),
      samples.MIME.pdf,
      { size: samples.pdf().length + 10 },
      ['SIZE_MISMATCH'],
    ],
    ['TYPE_MISMATCH (HTML declared as PDF)', samples.html(), samples.MIME.pdf, {}, ['TYPE_MISMATCH']],
    [
      'TYPE_NOT_ALLOWED (EXE declared as PDF)',
      samples.exe(),
      samples.MIME.pdf,
      {},
      ['TYPE_MISMATCH', 'TYPE_NOT_ALLOWED'],
    ],
    [
      'CHECKSUM_MISMATCH',
      samples.png(),
      samples.MIME.png,
      { declaredSha256: 'a'.repeat(64) },
      ['CHECKSUM_MISMATCH'],
    ],
    ['EMPTY_FILE', Buffer.alloc(0), samples.MIME.text, {}, ['EMPTY_FILE']],
  ];

  it.each(cases)(
    'rejects with %s, keeps a copy in rejected/ and releases quarantine',
    async (_label, bytes, type, overrides, codes) => {
      // Arrange
      const { uploadId, key } = await pendingUpload(bytes, type, overrides);
      // Act
      const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
      // Assert
      expect(run.error).toBeUndefined();
      expect(run.states).toEqual(REJECTED_PATH);
      const record = (await aws.record(uploadId))!;
      expect(record.status).toBe('REJECTED');
      expect((record.reasons as Array<{ code: string }>).map((reason) => reason.code).sort()).toEqual(
        [...codes].sort(),
      );
      expect(aws.objectsUnder(`rejected/${uploadId}@`)).toHaveLength(1);
      expect(aws.objectsUnder(`clean/`)).toEqual([]);
      expect(aws.hasObject(key, 'v1')).toBe(false);
      expect(await aws.auditActions(uploadId)).toEqual(['ISSUED', 'CLAIMED', 'REJECTED']);
    },
  );
});

describe('duplicate: another delivery for a version already taken', () => {
  it('ends quietly at Duplicate and writes nothing', async () => {
    // Arrange
    const bytes = samples.pdf();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.pdf, {
      status: 'PROCESSING',
      versionId: 'v1',
      executionId: 'arn:aws:states:us-east-1:123456789012:execution:airlock:first',
    });
    const before = structuredClone(await aws.record(uploadId));
    // Act
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    // Assert
    expect(run.error).toBeUndefined();
    expect(run.states).toEqual(['Claim', 'RouteClaim', 'Duplicate']);
    expect(await aws.record(uploadId)).toEqual(before);
    expect(await aws.auditActions(uploadId)).toEqual(['ISSUED', 'CLAIMED']);
    expect(aws.hasObject(key, 'v1')).toBe(true);
  });

  it('replayed three times after processing: one promotion, one terminal audit event', async () => {
    // Arrange
    const bytes = samples.png();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.png);
    const event = objectCreatedEvent(key, 'v1', bytes.length);
    // Act
    const runs = [await execute(event), await execute(event), await execute(event)];
    // Assert
    expect(runs.map((run) => run.states.at(-1))).toEqual(['Done', 'Duplicate', 'Duplicate']);
    expect(aws.objectsUnder(`clean/${uploadId}@`)).toHaveLength(1);
    expect(await aws.auditActions(uploadId)).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED']);
  });
});

describe('unsolicited: an object nobody asked for', () => {
  it('is audited as UNSOLICITED and deleted when there is no record', async () => {
    // Arrange
    const uploadId = newUploadId();
    const key = `quarantine/${uploadId}`;
    aws.putObject(key, 'v9', samples.pdf());
    // Act
    const run = await execute(objectCreatedEvent(key, 'v9', 100));
    // Assert
    expect(run.error).toBeUndefined();
    expect(run.states).toEqual(['Claim', 'RouteClaim', 'Discard', 'Discarded']);
    expect(aws.hasObject(key, 'v9')).toBe(false);
    expect(await aws.auditActions(uploadId)).toEqual(['DISCARDED']);
    expect(await aws.record(uploadId)).toBeUndefined();
  });

  it('is deleted when its key is not a server-generated upload id', async () => {
    aws.putObject('quarantine/../../etc/passwd', 'v1', samples.text());
    const run = await execute(objectCreatedEvent('quarantine/../../etc/passwd', 'v1', 10));
    expect(run.states).toEqual(['Claim', 'RouteClaim', 'Discard', 'Discarded']);
    expect(aws.hasObject('quarantine/../../etc/passwd', 'v1')).toBe(false);
  });
});

describe('second upload: another version of a key already taken', () => {
  it('is not processed: audited as ALREADY_PROCESSED and removed, the first outcome stands', async () => {
    // Arrange
    const bytes = samples.pdf();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.pdf);
    await execute(objectCreatedEvent(key, 'v1', bytes.length, '0001'));
    aws.putObject(key, 'v2', samples.exe());
    // Act
    const run = await execute(objectCreatedEvent(key, 'v2', 512, '0002'));
    // Assert
    expect(run.states).toEqual(['Claim', 'RouteClaim', 'Discard', 'Discarded']);
    expect(aws.hasObject(key, 'v2')).toBe(false);
    expect(await aws.record(uploadId)).toMatchObject({ status: 'PROCESSED', versionId: 'v1' });
    // The discard is stamped strictly after the record's last transition: the trail stays in order.
    expect(await aws.auditActions(uploadId)).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED', 'DISCARDED']);
  });
});

describe('resumed execution: the runtime restarted mid-flight', () => {
  it('after its outcome was recorded: releases quarantine, no second promotion or audit event', async () => {
    // Arrange: the first run promoted and recorded, then "crashed" before releasing quarantine.
    const bytes = samples.pdf();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.pdf);
    const event = objectCreatedEvent(key, 'v1', bytes.length);
    aws.s3.on(DeleteObjectCommand).rejectsOnce(s3Error('AccessDenied', 403));
    const executionId = 'arn:aws:states:us-east-1:123456789012:execution:airlock:resumed';
    await execute(event, executionId);
    aws.restore();
    aws = await FakeAws.create(aws);
    // Act: the same execution runs again from the start.
    const run = await execute(event, executionId);
    // Assert: nothing is promoted or recorded again; the leftover quarantine version is released.
    expect(run.states).toEqual(['Claim', 'RouteClaim', 'Publish', 'ReleaseQuarantine', 'Done']);
    expect(aws.hasObject(key, 'v1')).toBe(false);
    expect(aws.objectsUnder(`clean/${uploadId}@`)).toHaveLength(1);
    expect(await aws.auditActions(uploadId)).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED']);
  });

  it('resumes a claimed execution that had promoted but not recorded: one copy, one outcome', async () => {
    // Arrange: the state a crash leaves behind: claimed by this execution, copied to clean/,
    // outcome not written, quarantine version still there.
    const bytes = samples.png();
    const executionId = 'arn:aws:states:us-east-1:123456789012:execution:airlock:interrupted';
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.png, {
      status: 'PROCESSING',
      versionId: 'v1',
      executionId,
      previousStatus: 'PENDING_UPLOAD',
    });
    aws.putObject(`clean/${uploadId}`, 'copy-0', bytes);
    aws.heads.set(`clean/${uploadId}`, { VersionId: 'copy-0', Metadata: { 'source-version-id': 'v1' } });
    // Act: the same execution runs again from the start.
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length), executionId);
    // Assert
    expect(run.error).toBeUndefined();
    expect(run.states).toEqual(PROCESSED_PATH);
    expect(aws.s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
    expect(aws.objectsUnder(`clean/${uploadId}@`)).toEqual([`clean/${uploadId}@copy-0`]);
    expect((await aws.record(uploadId))?.status).toBe('PROCESSED');
    expect(await aws.auditActions(uploadId)).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED']);
  });
});

describe('transient error, then success', () => {
  it('retries Validate after S3 throttling and processes the upload', async () => {
    // Arrange
    const bytes = samples.jpegImage();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.jpeg);
    aws.s3
      .on(GetObjectCommand)
      .rejectsOnce(s3Error('SlowDown', 503, true))
      .callsFake(() => ({ ContentLength: bytes.length, Body: Readable.from([bytes]) }));
    // Act
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    // Assert
    expect(run.error).toBeUndefined();
    expect(run.retried).toEqual(['Validate']);
    expect(run.states).toEqual(PROCESSED_PATH);
    expect((await aws.record(uploadId))?.status).toBe('PROCESSED');
  });
});

describe('permanent error: FAILED with error and cause, quarantine kept for a redrive', () => {
  it('catches a refused copy, records FAILED and fails the execution', async () => {
    // Arrange
    const bytes = samples.pdf();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.pdf);
    aws.s3.on(CopyObjectCommand).rejects(s3Error('AccessDenied', 403));
    // Act
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    // Assert
    expect(run.error).toBeInstanceOf(ExecutionError);
    expect(run.states).toEqual([
      'Claim',
      'RouteClaim',
      'Validate',
      'RouteVerdict',
      'Scan',
      'RouteScan',
      'Promote',
      'RecordFailed',
      'PublishFailed',
      'Failed',
    ]);
    expect(run.retried).toEqual([]);
    expect(await aws.record(uploadId)).toMatchObject({
      status: 'FAILED',
      failure: {
        error: 'DependencyError',
        cause: expect.stringContaining('CopyObject failed (AccessDenied)'),
      },
    });
    expect(aws.hasObject(key, 'v1')).toBe(true);
    expect(await aws.auditActions(uploadId)).toEqual(['ISSUED', 'CLAIMED', 'FAILED']);
  });

  it('redrives a FAILED upload of the same version to PROCESSED', async () => {
    // Arrange
    const bytes = samples.pdf();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.pdf);
    aws.s3.on(CopyObjectCommand).rejectsOnce(s3Error('AccessDenied', 403));
    const event = objectCreatedEvent(key, 'v1', bytes.length);
    await execute(event);
    aws.restore();
    aws = await FakeAws.create(aws);
    // Act
    const run = await execute(event);
    // Assert
    expect(run.states).toEqual(PROCESSED_PATH);
    expect(await aws.record(uploadId)).toMatchObject({ status: 'PROCESSED', previousStatus: 'PROCESSING' });
    expect(await aws.auditActions(uploadId)).toEqual([
      'ISSUED',
      'CLAIMED',
      'FAILED',
      'REDRIVEN',
      'PROCESSED',
    ]);
  });

  it('never overwrites a terminal outcome when a later step fails', async () => {
    // Arrange: the outcome is written, then releasing the quarantine version is refused.
    const bytes = samples.png();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.png);
    aws.s3.on(DeleteObjectCommand).rejects(s3Error('AccessDenied', 403));
    // Act
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    // Assert
    expect(run.states.slice(-4)).toEqual(['ReleaseQuarantine', 'RecordFailed', 'PublishFailed', 'Failed']);
    expect((await aws.record(uploadId))?.status).toBe('PROCESSED');
    expect(await aws.auditActions(uploadId)).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED']);
  });
});

describe('a body that breaks off mid-read, and a bucket that is missing', () => {
  /** A body that sends `bytes`, then fails as a reset connection does instead of ending. */
  const resetAfter = (bytes: Buffer): Readable =>
    new Readable({
      read() {
        if (this.readableLength === 0 && bytes.length > 0) {
          this.push(bytes);
          bytes = Buffer.alloc(0);
        } else {
          this.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
        }
      },
    });

  it('retries Validate after a connection reset mid-body, then processes the upload', async () => {
    // Arrange: the first read breaks after 200 bytes, the retry reads the whole version.
    const bytes = samples.pdf();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.pdf);
    let reads = 0;
    aws.s3.on(GetObjectCommand).callsFake(() => {
      reads++;
      const body = reads === 1 ? resetAfter(bytes.subarray(0, 200)) : Readable.from([bytes]);
      return { ContentLength: bytes.length, Body: body };
    });
    // Act
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    // Assert
    expect(run.error).toBeUndefined();
    expect(run.retried).toEqual(['Validate']);
    expect(run.states).toEqual(PROCESSED_PATH);
    expect(reads).toBe(2);
    expect(await aws.record(uploadId)).toMatchObject({
      status: 'PROCESSED',
      sha256: samples.sha256Hex(bytes),
    });
  });

  it('ends FAILED when releasing finds no bucket, instead of taking the version for deleted', async () => {
    // Arrange
    const bytes = samples.png();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.png);
    aws.s3.on(DeleteObjectCommand).rejects(s3Error('NoSuchBucket', 404));
    // Act
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    // Assert
    expect(run.error).toBeInstanceOf(ExecutionError);
    expect(run.states.slice(-4)).toEqual(['ReleaseQuarantine', 'RecordFailed', 'PublishFailed', 'Failed']);
    expect((await aws.record(uploadId))?.status).toBe('PROCESSED');
  });
});

describe('scan: only an explicit "no threat found" for this exact version promotes', () => {
  const REJECTED_BY_SCAN = [
    'Claim',
    'RouteClaim',
    'Validate',
    'RouteVerdict',
    'Scan',
    'RouteScan',
    'Reject',
    'RecordRejected',
    'Publish',
    'ReleaseQuarantine',
    'Done',
  ];

  it('rejects a detection with MALWARE_DETECTED, names the threat in the audit trail, and never promotes', async () => {
    // Arrange: valid text, which the engine finds infected.
    engine.answer = 'THREATS_FOUND';
    const bytes = samples.text();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.text);
    // Act
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    // Assert
    expect(run.states).toEqual(REJECTED_BY_SCAN);
    expect(await aws.record(uploadId)).toMatchObject({
      status: 'REJECTED',
      reasons: [
        { code: 'MALWARE_DETECTED', message: expect.stringContaining('EICAR-Test-File (not a virus)') },
      ],
      scan: { status: 'THREATS_FOUND', threats: ['EICAR-Test-File (not a virus)'] },
    });
    expect(aws.objectsUnder('clean/')).toEqual([]);
    expect(aws.objectsUnder(`rejected/${uploadId}@`)).toHaveLength(1);
    const trail = await new UploadStore(aws.table, aws.documentClient).listAudit(uploadId);
    const rejected = trail.filter((event) => event.action === 'REJECTED');
    expect(rejected).toEqual([
      expect.objectContaining({
        scan: expect.objectContaining({
          status: 'THREATS_FOUND',
          threats: ['EICAR-Test-File (not a virus)'],
        }),
      }),
    ]);
  });

  it('refuses a file the engine could not fully scan with NOT_FULLY_SCANNED, never passes it', async () => {
    engine.answer = 'UNSUPPORTED';
    const bytes = samples.docx();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.docx);
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    expect(run.states).toEqual(REJECTED_BY_SCAN);
    expect(await aws.record(uploadId)).toMatchObject({
      status: 'REJECTED',
      reasons: [{ code: 'NOT_FULLY_SCANNED' }],
      scan: { status: 'NOT_FULLY_SCANNED' },
    });
  });

  it('waits for a result that arrives after the step first looked (no race), then promotes', async () => {
    // Arrange: no result at upload; it arrives once the Scan step has looked twice.
    engine.answer = undefined;
    const bytes = samples.pdf();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.pdf);
    let looks = 0;
    aws.beforeDynamo('GetItemCommand', { pk: `UPLOAD#${uploadId}`, sk: 'SCAN#v1' }, async () => {
      if (++looks === 2) await deliverScanResult(key, 'v1', 'NO_THREATS_FOUND');
    });
    // Act
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    // Assert
    expect(run.states).toEqual(PROCESSED_PATH);
    expect(run.retried).toEqual(['Scan']); // looked once, retried, found it
    expect(await aws.record(uploadId)).toMatchObject({
      status: 'PROCESSED',
      scan: { status: 'NO_THREATS_FOUND' },
    });
  });

  it('a result that never comes: ScanPending is retried on its own schedule, then FAILED, quarantine kept', async () => {
    engine.answer = undefined;
    const bytes = samples.pdf();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.pdf);
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    expect(run.error).toBeInstanceOf(ExecutionError);
    expect(run.retried.filter((state) => state === 'Scan')).toHaveLength(SCAN_PENDING_RETRY.MaxAttempts);
    expect(run.states.slice(-3)).toEqual(['RecordFailed', 'PublishFailed', 'Failed']);
    expect(await aws.record(uploadId)).toMatchObject({ status: 'FAILED', failure: { error: 'ScanPending' } });
    expect(aws.hasObject(key, 'v1')).toBe(true);
  });

  it('an engine failure during this execution is FAILED; a redrive asks for a new scan and promotes', async () => {
    // Arrange: GuardDuty fails on the version after the claim; asking it again gets an answer.
    engine.answer = undefined;
    const requested: ObjectRef[] = [];
    engine.onDemand = {
      engine: 'guardduty',
      request: async (object) => {
        requested.push(object);
        await deliverScanResult(object.key, object.versionId, 'NO_THREATS_FOUND');
      },
    };
    const bytes = samples.png();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.png);
    aws.beforeDynamo(
      'GetItemCommand',
      { pk: `UPLOAD#${uploadId}`, sk: 'SCAN#v1' },
      async () => {
        // The engine's failure, stamped just after this execution's claim (the record's updatedAt).
        const claimedAt = Date.parse(String((await aws.record(uploadId))?.updatedAt));
        await deliverScanResult(key, 'v1', 'FAILED', new Date(claimedAt + 1));
      },
      { once: true },
    );
    // Act 1: the failed scan is the engine's answer in this execution.
    const first = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    // Assert 1
    expect(first.error).toBeInstanceOf(ExecutionError);
    expect(await aws.record(uploadId)).toMatchObject({ status: 'FAILED', failure: { error: 'ScanFailed' } });
    expect(requested).toEqual([]);
    // Act 2: the redrive's execution finds that failure from before its claim and asks again.
    const redrive = objectCreatedEvent(key, 'v1', bytes.length);
    redrive.detail.reason = 'Redrive';
    const second = await execute(redrive);
    // Assert 2
    expect(second.error).toBeUndefined();
    expect(requested).toEqual([{ bucket: BUCKET, key, versionId: 'v1' }]);
    expect(second.retried).toEqual(['Scan']);
    expect(await aws.record(uploadId)).toMatchObject({
      status: 'PROCESSED',
      scan: { status: 'NO_THREATS_FOUND' },
    });
    expect(await aws.auditActions(uploadId)).toEqual([
      'ISSUED',
      'CLAIMED',
      'FAILED',
      'REDRIVEN',
      'PROCESSED',
    ]);
  });

  it('scanner none: promotes without a result, and the record says the scan was skipped', async () => {
    engine = { scanner: 'none' };
    const bytes = samples.pdf();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.pdf);
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    expect(run.states).toEqual(PROCESSED_PATH);
    expect(await aws.record(uploadId)).toMatchObject({ status: 'PROCESSED', scan: { status: 'SKIPPED' } });
    // The log sees this upload's reads (the claim's, of its record), and none of a scan result.
    expect(aws.dynamoCallsOf('GetItemCommand', { pk: `UPLOAD#${uploadId}`, sk: 'RECORD' })).not.toEqual([]);
    expect(aws.dynamoCallsOf('GetItemCommand', { pk: `UPLOAD#${uploadId}`, sk: /^SCAN#/ })).toEqual([]);
  });

  it('never scans what validation refused: a spoofed type goes straight to Reject', async () => {
    const bytes = samples.html();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.pdf);
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));
    expect(run.states).toEqual(REJECTED_PATH);
    expect(await aws.record(uploadId)).toMatchObject({
      status: 'REJECTED',
      reasons: [{ code: 'TYPE_MISMATCH' }],
    });
    expect(await aws.record(uploadId)).not.toHaveProperty('scan');
  });
});

describe('outcome events: the Publish state', () => {
  it('publishes one event per recorded outcome, its id derived from the transition', async () => {
    // Arrange
    const bytes = samples.pdf();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.pdf);

    // Act: the event, then the same event delivered again (a second execution).
    await execute(objectCreatedEvent(key, 'v1', bytes.length));
    await execute(objectCreatedEvent(key, 'v1', bytes.length));

    // Assert: one event, numbered as the PROCESSED event is in the trail.
    const seq = (await aws.auditActions(uploadId)).indexOf('PROCESSED') + 1;
    expect(seq).toBeGreaterThan(0);
    expect((await new OutcomeOutbox(aws.table, aws.documentClient).read(uploadId))?.publishedSeq).toBe(seq);
    expect(published.map((event) => event.id)).toEqual([`evt_${uploadId}_${seq}`]);
    expect(published[0]?.data).toMatchObject({
      status: 'PROCESSED',
      object: { key: `clean/${uploadId}`, versionId: 'v-clean' },
    });
  });

  it('a bus that is away does not fail the execution: the event stays pending for the sweeper', async () => {
    // Arrange
    const bytes = samples.exe();
    const { uploadId, key } = await pendingUpload(bytes, samples.MIME.pdf);
    busAway = true;

    // Act
    const run = await execute(objectCreatedEvent(key, 'v1', bytes.length));

    // Assert
    expect(run.error).toBeUndefined();
    expect(run.states).toEqual(REJECTED_PATH);
    expect(await aws.record(uploadId)).toMatchObject({ status: 'REJECTED' });
    expect((await new OutcomeOutbox(aws.table, aws.documentClient).read(uploadId))?.publishedSeq).toBe(0);
  });
});
