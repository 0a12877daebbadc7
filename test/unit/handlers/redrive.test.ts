import 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { makeRedriveHandler } from '../../../functions/redrive.js';
import {
  BUCKET,
  FakeExecutions,
  OTHER_UPLOAD_ID,
  UPLOAD_ID,
  newObjectStore,
  newUploadStore,
  recordItem,
} from './aws-fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
const NOW = new Date('2025-03-01T13:00:00.000Z');

function redrive(executions: FakeExecutions) {
  return makeRedriveHandler(() => ({
    store: newUploadStore(),
    objects: newObjectStore(),
    executions,
    bucket: BUCKET,
    now: () => NOW,
    pageSize: 100,
    concurrency: 4,
    budgetMs: 25_000,
  }));
}

beforeEach(() => {
  ddb.reset();
  s3.reset();
});

describe('redrive', () => {
  it('starts one execution per FAILED upload on the version it claimed, named by the failure', async () => {
    // Arrange
    ddb.on(QueryCommand).resolves({
      Items: [recordItem({ status: 'FAILED', versionId: 'v1', updatedAt: '2025-03-01T12:00:00.000Z' })],
    });
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [{ Key: `quarantine/${UPLOAD_ID}`, VersionId: 'v1', Size: 42 }],
    });
    const executions = new FakeExecutions();
    // Act
    const report = await redrive(executions)();
    // Assert
    expect(report).toEqual({ redriven: [UPLOAD_ID], skipped: [] });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      ExpressionAttributeValues: { ':status': 'FAILED', ':from': '0000', ':to': NOW.toISOString() },
    });
    expect(executions.started).toEqual([
      {
        dedupeKey: `quarantine/${UPLOAD_ID}@v1#redrive@2025-03-01T12:00:00.000Z`,
        input: expect.objectContaining({
          'detail-type': 'Object Created',
          detail: expect.objectContaining({
            bucket: { name: BUCKET },
            object: expect.objectContaining({ key: `quarantine/${UPLOAD_ID}`, size: 42, 'version-id': 'v1' }),
            reason: 'Redrive',
          }),
        }),
      },
    ]);
  });

  it('skips a FAILED upload whose claimed version is gone', async () => {
    // Arrange
    ddb.on(QueryCommand).resolves({ Items: [recordItem({ status: 'FAILED', versionId: 'v1' })] });
    s3.on(ListObjectVersionsCommand).resolves({ Versions: [] });
    const executions = new FakeExecutions();
    // Act
    const report = await redrive(executions)();
    // Assert
    expect(report).toEqual({
      redriven: [],
      skipped: [{ uploadId: UPLOAD_ID, why: 'the claimed version is gone' }],
    });
    expect(executions.started).toEqual([]);
  });

  it('redrives an upload that failed before its claim on the first version in quarantine', async () => {
    // Arrange: FAILED straight from PENDING_UPLOAD (Claim never got through), no version recorded
    ddb.on(QueryCommand).resolves({ Items: [recordItem({ status: 'FAILED', versionId: undefined })] });
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [{ Key: `quarantine/${UPLOAD_ID}`, VersionId: 'first', Size: 7 }],
    });
    const executions = new FakeExecutions();
    // Act
    const report = await redrive(executions)();
    // Assert
    expect(report.redriven).toEqual([UPLOAD_ID]);
    expect(executions.started[0]?.dedupeKey).toMatch(new RegExp(`^quarantine/${UPLOAD_ID}@first#redrive@`));
  });

  it('redrives only the uploads named, when given, read one by one whatever their age', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({ Item: recordItem({ status: 'FAILED', versionId: 'v1' }) });
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [{ Key: `quarantine/${UPLOAD_ID}`, VersionId: 'v1', Size: 42 }],
    });
    const executions = new FakeExecutions();
    // Act
    const report = await redrive(executions)({ uploadIds: [UPLOAD_ID] });
    // Assert
    expect(report).toEqual({ redriven: [UPLOAD_ID], skipped: [] });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 0);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { Key: { pk: `UPLOAD#${UPLOAD_ID}`, sk: 'RECORD' } });
  });

  it('leaves a named upload alone unless it is FAILED', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({ Item: recordItem({ status: 'PROCESSED', versionId: 'v1' }) });
    const executions = new FakeExecutions();
    // Act
    const report = await redrive(executions)({ uploadIds: [UPLOAD_ID] });
    // Assert
    expect(report).toEqual({ redriven: [], skipped: [] });
    expect(executions.started).toEqual([]);
  });

  it('refuses a cursor it did not make, ids with a cursor, and too many ids, with clear errors', async () => {
    // Arrange
    const executions = new FakeExecutions();
    const otherStatus = Buffer.from(
      JSON.stringify({ pk: 'UPLOAD#x', sk: 'RECORD', statusKey: 'PROCESSED', updatedKey: 'x' }),
    ).toString('base64url');
    // Act / Assert
    await expect(redrive(executions)({ cursor: 'not-a-cursor' })).rejects.toMatchObject({
      name: 'InvalidCursorError',
      code: 'INVALID_CURSOR',
    });
    await expect(redrive(executions)({ cursor: otherStatus })).rejects.toMatchObject({
      code: 'INVALID_CURSOR',
    });
    await expect(redrive(executions)({ uploadIds: [UPLOAD_ID], cursor: otherStatus })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(
      redrive(executions)({ uploadIds: Array.from({ length: 1001 }, (_, i) => `id-${i}`) }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 0);
  });

  it('reports an upload whose redrive failed among the skipped, and goes on with the others', async () => {
    // Arrange: two FAILED uploads; starting the first one's execution fails
    ddb.on(QueryCommand).resolves({
      Items: [
        recordItem({ status: 'FAILED', versionId: 'v1' }),
        recordItem({ uploadId: OTHER_UPLOAD_ID, status: 'FAILED', versionId: 'v1' }),
      ],
    });
    s3.on(ListObjectVersionsCommand).callsFake((input: { Prefix: string }) => ({
      Versions: [{ Key: input.Prefix, VersionId: 'v1', Size: 1 }],
    }));
    const executions = new (class extends FakeExecutions {
      override start(input: unknown, dedupeKey: string) {
        if (dedupeKey.startsWith(`quarantine/${UPLOAD_ID}@`))
          return Promise.reject(Object.assign(new Error('throttled'), { name: 'TransientError' }));
        return super.start(input, dedupeKey);
      }
    })();
    // Act
    const report = await redrive(executions)();
    // Assert
    expect(report).toEqual({
      redriven: [OTHER_UPLOAD_ID],
      skipped: [{ uploadId: UPLOAD_ID, why: 'failed: TransientError' }],
    });
  });

  it('fails the invocation when every upload of a page fails (a dependency is down)', async () => {
    // Arrange
    ddb.on(QueryCommand).resolves({ Items: [recordItem({ status: 'FAILED', versionId: 'v1' })] });
    s3.on(ListObjectVersionsCommand).rejects(new Error('S3 is away'));
    // Act / Assert
    await expect(redrive(new FakeExecutions())()).rejects.toMatchObject({ name: 'DependencyError' });
  });
});
