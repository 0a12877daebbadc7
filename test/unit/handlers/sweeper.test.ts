import 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { makeSweeperHandler, type SweeperDeps } from '../../../functions/sweeper.js';
import { SweepStateStore } from '../../../functions/adapters/sweep-state.js';
import type { UploadRecord } from '../../../functions/domain/model.js';
import {
  BUCKET,
  TABLE_NAME,
  UPLOAD_ID,
  conditionalCheckFailed,
  newDynamoDbClient,
  newObjectStore,
  newUploadStore,
  recordItem,
  FakeExecutions,
} from './aws-fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
const NOW = new Date('2025-03-01T13:00:00.000Z');

const RETENTION_SECONDS = 90 * 86_400;
const SWEEP_STATE_KEY = { pk: 'SWEEPER', sk: 'STATE' };

function sweeperDeps(executions: FakeExecutions, now = () => NOW): SweeperDeps {
  return {
    store: newUploadStore(),
    sweepState: new SweepStateStore(TABLE_NAME, newDynamoDbClient()),
    objects: newObjectStore(),
    executions,
    bucket: BUCKET,
    now,
    processingTimeoutMs: 30 * 60_000,
    uploadTtlMs: 15 * 60_000,
    abandonedRecordRetentionSeconds: RETENTION_SECONDS,
    sweep: {
      intervalMs: 5 * 60_000,
      budgetMs: 4.5 * 60_000,
      pageSize: 100,
      concurrency: 4,
      lostEventAfterMs: 5 * 60_000,
      expiryGraceMs: 60_000,
    },
  };
}

function sweeper(executions: FakeExecutions) {
  return makeSweeperHandler(() => sweeperDeps(executions));
}

/** The sweeper's lease is free and the previous run left these cursors. */
function arrangeLease(cursors: Record<string, Record<string, string>> = {}): void {
  ddb.on(UpdateCommand, { Key: SWEEP_STATE_KEY }).resolves({ Attributes: { ...SWEEP_STATE_KEY, cursors } });
}

/** UpdateItem calls on upload records (not on the sweeper's own state item). */
const recordUpdates = () =>
  ddb.commandCalls(UpdateCommand).filter((call) => call.args[0].input.Key?.pk !== SWEEP_STATE_KEY.pk);

/** byStatus answers: these records for PENDING_UPLOAD, those for PROCESSING, those for PROCESSED. */
function arrangeRecords(
  pending: Array<Partial<UploadRecord>>,
  processing: Array<Partial<UploadRecord>>,
  processed: Array<Partial<UploadRecord>> = [],
): void {
  const byStatus: Record<string, Array<Partial<UploadRecord>>> = {
    PENDING_UPLOAD: pending,
    PROCESSING: processing,
    PROCESSED: processed,
  };
  ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, string> }) => ({
    Items: (byStatus[input.ExpressionAttributeValues[':status'] ?? ''] ?? []).map((r) => recordItem(r)),
  }));
}

beforeEach(() => {
  ddb.reset();
  s3.reset();
  ddb.on(PutCommand).resolves({});
  s3.on(ListObjectVersionsCommand).resolves({ Versions: [] });
  arrangeLease();
});

describe('sweeper', () => {
  it('expires a PENDING_UPLOAD past its expiry that has no object, with its EXPIRED event in the same write, and starts its TTL', async () => {
    // Arrange
    arrangeRecords([{ expiresAt: '2025-03-01T12:14:00.000Z' }], []);
    ddb.on(UpdateCommand).resolves({ Attributes: recordItem({ status: 'EXPIRED' }) });
    arrangeLease();
    // Act
    const report = await sweeper(new FakeExecutions())();
    // Assert
    expect(report).toMatchObject({
      expired: 1,
      restarted: 0,
      failed: 0,
      stillRunning: 0,
      strays: 0,
      errors: 0,
    });
    expect(recordUpdates()).toHaveLength(1);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
    const update = recordUpdates()[0]!.args[0].input;
    expect(update).toMatchObject({
      Key: { pk: `UPLOAD#${UPLOAD_ID}`, sk: 'RECORD' },
      ConditionExpression: 'attribute_exists(pk) AND #trailHead.#seq = :expectedSeq AND #status = :pending',
    });
    expect(update.ExpressionAttributeValues).toMatchObject({
      ':status': 'EXPIRED',
      ':expectedSeq': 1,
      ':ttl': Date.parse(NOW.toISOString()) / 1000 + RETENTION_SECONDS,
    });
    expect(update.ExpressionAttributeValues?.[':events']).toEqual([
      expect.objectContaining({
        seq: 2,
        action: 'EXPIRED',
        from: 'PENDING_UPLOAD',
        to: 'EXPIRED',
        actor: { type: 'system', id: 'sweeper' },
        reasons: [expect.objectContaining({ code: 'UPLOAD_EXPIRED' })],
      }),
    ]);
  });

  it('starts the execution of a lost event when the quarantine object exists, instead of expiring', async () => {
    // Arrange
    arrangeRecords([{ expiresAt: '2025-03-01T12:14:00.000Z' }], []);
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [
        {
          Key: `quarantine/${UPLOAD_ID}`,
          VersionId: 'v1',
          Size: 1234,
          LastModified: new Date('2025-03-01T12:00:00Z'),
        },
        {
          Key: `quarantine/${UPLOAD_ID}-other`,
          VersionId: 'x',
          Size: 1,
          LastModified: new Date('2025-03-01T11:00:00Z'),
        },
      ],
    });
    const executions = new FakeExecutions();
    // Act
    const report = await sweeper(executions)();
    // Assert
    expect(report).toMatchObject({ expired: 0, restarted: 1, failed: 0, stillRunning: 0, strays: 0 });
    expect(executions.started).toEqual([
      {
        dedupeKey: `quarantine/${UPLOAD_ID}@v1#${Math.floor(NOW.getTime() / (30 * 60_000))}`,
        input: expect.objectContaining({
          'detail-type': 'Object Created',
          detail: expect.objectContaining({
            bucket: { name: BUCKET },
            object: { key: `quarantine/${UPLOAD_ID}`, size: 1234, 'version-id': 'v1' },
          }),
        }),
      },
    ]);
    expect(recordUpdates()).toHaveLength(0);
  });

  it('starts another execution for a lost event in the next processing window (the first may have ended unclaimed)', async () => {
    // Arrange
    arrangeRecords([{ expiresAt: '2025-03-01T12:14:00.000Z' }], []);
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [{ Key: `quarantine/${UPLOAD_ID}`, VersionId: 'v1', Size: 1 }],
    });
    const executions = new FakeExecutions();
    const at = (time: string) => makeSweeperHandler(() => sweeperDeps(executions, () => new Date(time)));
    // Act: twice in one window, then once in the next
    await at('2025-03-01T13:00:00.000Z')();
    await at('2025-03-01T13:10:00.000Z')();
    await at('2025-03-01T13:31:00.000Z')();
    // Assert: the same execution name within a window, a new one in the next
    const keys = executions.started.map((start) => start.dedupeKey);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[2]).not.toBe(keys[1]);
    expect(new Set(keys.map((key) => key.split('#')[0]))).toEqual(new Set([`quarantine/${UPLOAD_ID}@v1`]));
  });

  it('starts an execution for a stray version of a finished upload (Claim discards it), never for the claimed one', async () => {
    // Arrange
    arrangeRecords([], [], [{ status: 'PROCESSED', versionId: 'v1', updatedAt: '2025-03-01T12:50:00.000Z' }]);
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [
        { Key: `quarantine/${UPLOAD_ID}`, VersionId: 'v1', Size: 1 },
        { Key: `quarantine/${UPLOAD_ID}`, VersionId: 'v2', Size: 1 },
      ],
    });
    const executions = new FakeExecutions();
    // Act
    const report = await sweeper(executions)();
    // Assert
    expect(report.strays).toBe(1);
    expect(executions.started.map((start) => start.dedupeKey.split('#')[0])).toEqual([
      `quarantine/${UPLOAD_ID}@v2`,
    ]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      ExpressionAttributeValues: expect.objectContaining({
        ':status': 'PROCESSED',
        // grant lifetime + expiry grace + lost-event delay back from now, up to the lost-event delay
        ':from': '2025-03-01T12:39:00.000Z',
        ':to': '2025-03-01T12:55:00.000Z#~',
      }),
    });
  });

  it('leaves a PENDING_UPLOAD alone while its grant may still be used', async () => {
    // Arrange
    arrangeRecords([{ expiresAt: '2025-03-01T13:10:00.000Z' }], []);
    // Act
    const report = await sweeper(new FakeExecutions())();
    // Assert
    expect(report).toMatchObject({ expired: 0, restarted: 0, failed: 0, stillRunning: 0, strays: 0 });
    expect(recordUpdates()).toHaveLength(0);
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 0);
  });

  it('counts nothing and writes nothing more when the upload was claimed meanwhile (lost conditional write)', async () => {
    // Arrange
    arrangeRecords([{ expiresAt: '2025-03-01T12:14:00.000Z' }], []);
    ddb.on(UpdateCommand).rejects(conditionalCheckFailed());
    arrangeLease();
    // Act
    const report = await sweeper(new FakeExecutions())();
    // Assert: its one write was refused; a later run meets it again if it is still pending
    expect(report.expired).toBe(0);
    expect(recordUpdates()).toHaveLength(1);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });

  it('marks a stalled PROCESSING upload FAILED when its execution no longer runs', async () => {
    // Arrange
    const executionId = 'arn:aws:states:us-east-1:123456789012:execution:airlock:gone';
    arrangeRecords(
      [],
      [{ status: 'PROCESSING', versionId: 'v1', executionId, updatedAt: '2025-03-01T12:00:00.000Z' }],
    );
    ddb
      .on(UpdateCommand)
      .resolves({ Attributes: recordItem({ status: 'FAILED', previousStatus: 'PROCESSING' }) });
    arrangeLease();
    // Act
    const report = await sweeper(new FakeExecutions())();
    // Assert
    expect(report).toMatchObject({ expired: 0, restarted: 0, failed: 1, stillRunning: 0, strays: 0 });
    expect(recordUpdates()).toHaveLength(1);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression:
        'attribute_exists(pk) AND #trailHead.#seq = :expectedSeq AND (#status = :processing AND executionId = :executionId)',
      ExpressionAttributeValues: expect.objectContaining({
        ':status': 'FAILED',
        ':executionId': executionId,
        ':failure': { error: 'ProcessingStalled', cause: expect.any(String) },
        ':events': [
          expect.objectContaining({
            action: 'FAILED',
            actor: { type: 'system', id: 'sweeper' },
            reasons: [{ code: 'PROCESSING_FAILED', message: 'Processing failed (ProcessingStalled).' }],
          }),
        ],
      }),
    });
  });

  it('leaves a PROCESSING upload alone while its execution still runs', async () => {
    // Arrange
    const executionId = 'arn:aws:states:us-east-1:123456789012:execution:airlock:slow';
    arrangeRecords([], [{ status: 'PROCESSING', versionId: 'v1', executionId }]);
    // Act
    const report = await sweeper(new FakeExecutions(new Set([executionId])))();
    // Assert
    expect(report).toMatchObject({ expired: 0, restarted: 0, failed: 0, stillRunning: 1, strays: 0 });
    expect(recordUpdates()).toHaveLength(0);
  });

  it('does nothing while another run holds the lease', async () => {
    // Arrange
    arrangeRecords([{ expiresAt: '2025-03-01T12:14:00.000Z' }], []);
    ddb.on(UpdateCommand, { Key: SWEEP_STATE_KEY }).rejects(conditionalCheckFailed());
    // Act
    const report = await sweeper(new FakeExecutions())();
    // Assert
    expect(report).toMatchObject({ leaseHeld: true, expired: 0, pages: 0 });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 0);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: SWEEP_STATE_KEY,
      ConditionExpression: 'attribute_not_exists(#lease) OR #lease < :at',
      ExpressionAttributeValues: expect.objectContaining({ ':at': NOW.toISOString() }),
    });
  });

  it('takes a lease that outlives its budget by a tenth, and gives it back with its cursors', async () => {
    // Arrange
    arrangeRecords([], []);
    // Act
    await sweeper(new FakeExecutions())();
    // Assert: budget 4.5 min + 27 s
    const until = new Date(NOW.getTime() + 4.5 * 60_000 + 27_000).toISOString();
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: SWEEP_STATE_KEY,
      ExpressionAttributeValues: expect.objectContaining({ ':until': until }),
      ReturnValues: 'ALL_OLD',
    });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: SWEEP_STATE_KEY,
      ConditionExpression: '#lease = :until',
      ExpressionAttributeValues: expect.objectContaining({ ':until': until, ':cursors': {} }),
    });
  });

  it('resumes the oldest-first queries where the previous run left them, and drops a cursor the range has left', async () => {
    // Arrange: a PROCESSING cursor inside its range, a PROCESSED one older than the stray window
    const processingCursor = {
      pk: `UPLOAD#${UPLOAD_ID}`,
      sk: 'RECORD',
      statusKey: 'PROCESSING',
      updatedKey: `2025-03-01T11:00:00.000Z#${UPLOAD_ID}`,
    };
    const staleStrayCursor = {
      pk: `UPLOAD#${UPLOAD_ID}`,
      sk: 'RECORD',
      statusKey: 'PROCESSED',
      updatedKey: `2025-03-01T09:00:00.000Z#${UPLOAD_ID}`,
    };
    arrangeRecords([], []);
    arrangeLease({ processing: processingCursor, 'strays:PROCESSED': staleStrayCursor });
    // Act
    await sweeper(new FakeExecutions())();
    // Assert
    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    const byStatus = (status: string) =>
      queries.filter((query) => query.ExpressionAttributeValues?.[':status'] === status);
    expect(byStatus('PROCESSING').map((query) => query.ExclusiveStartKey)).toEqual([processingCursor]);
    expect(byStatus('PROCESSED').map((query) => query.ExclusiveStartKey)).toEqual([undefined]);
  });
});
