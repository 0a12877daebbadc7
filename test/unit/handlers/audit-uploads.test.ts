import 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { makeAuditUploadsHandler } from '../../../functions/audit-uploads.js';
import { apiEvent, jsonBody, type ErrorBody } from './api-events.js';
import { OTHER_UPLOAD_ID, OWNER, TABLE_NAME, UPLOAD_ID, newUploadStore, recordItem } from './aws-fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const NOW = new Date('2025-03-01T12:00:00.000Z');
const handler = makeAuditUploadsHandler(() => ({ store: newUploadStore(), now: () => NOW }));

const auditEvent = (query?: Record<string, string>, groups: string[] = ['auditors']) =>
  apiEvent({
    routeKey: 'GET /audit/uploads',
    sub: 'auditor-1',
    groups,
    ...(query ? { queryStringParameters: query } : {}),
  });

interface AuditPage {
  items: Array<{ uploadId: string; owner: string; status: string }>;
  cursor?: string;
}

beforeEach(() => {
  ddb.reset();
  ddb.on(QueryCommand).resolves({ Items: [] });
});

describe('GET /audit/uploads', () => {
  it('refuses non-auditors with 403 FORBIDDEN and reads nothing', async () => {
    // Act
    const response = await handler(auditEvent({}, []));
    // Assert
    expect(response.statusCode).toBe(403);
    expect(jsonBody<ErrorBody>(response).error.code).toBe('FORBIDDEN');
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 0);
  });

  it('queries one status partition of byStatus within [from, to], with the owner filter', async () => {
    // Arrange
    ddb.on(QueryCommand).resolves({ Items: [recordItem({ status: 'REJECTED' })] });
    // Act
    const response = await handler(
      auditEvent({
        status: 'REJECTED',
        owner: OWNER,
        from: '2025-02-01T00:00:00Z',
        to: '2025-03-01T00:00:00Z',
      }),
    );
    // Assert
    expect(response.statusCode).toBe(200);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: TABLE_NAME,
      IndexName: 'byStatus',
      KeyConditionExpression: 'statusKey = :status AND updatedKey BETWEEN :from AND :to',
      // The record's owner: the byStatus index projects it (not the byOwner index's key).
      FilterExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: {
        ':status': 'REJECTED',
        ':from': '2025-02-01T00:00:00.000Z',
        ':to': '2025-03-01T00:00:00.000Z#~',
        ':owner': OWNER,
      },
    });
    expect(jsonBody<AuditPage>(response).items).toEqual([
      expect.objectContaining({ uploadId: UPLOAD_ID, owner: OWNER, status: 'REJECTED' }),
    ]);
  });

  it('walks every status partition when no status is given, defaulting to the last 30 days', async () => {
    // Act
    const response = await handler(auditEvent());
    // Assert
    expect(response.statusCode).toBe(200);
    const calls = ddb
      .commandCalls(QueryCommand)
      .map((call) => call.args[0].input.ExpressionAttributeValues as Record<string, unknown> | undefined);
    expect(calls.map((values) => values?.[':status'])).toEqual([
      'PENDING_UPLOAD',
      'PROCESSING',
      'PROCESSED',
      'REJECTED',
      'FAILED',
      'EXPIRED',
      'QUARANTINED',
    ]);
    expect(calls[0]?.[':from']).toBe('2025-01-30T12:00:00.000Z');
    expect(jsonBody<AuditPage>(response).cursor).toBeUndefined();
  });

  it('returns a cursor when a page fills, and the cursor resumes in the same partition', async () => {
    // Arrange
    const lastKey = { pk: `UPLOAD#${UPLOAD_ID}`, sk: 'RECORD', statusKey: 'PROCESSED', updatedKey: 'x' };
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [recordItem({ status: 'PROCESSED' })], LastEvaluatedKey: lastKey });
    const first = jsonBody<AuditPage>(await handler(auditEvent({ status: 'PROCESSED', limit: '1' })));
    ddb
      .on(QueryCommand)
      .resolves({ Items: [recordItem({ uploadId: OTHER_UPLOAD_ID, status: 'PROCESSED' })] });
    // Act
    const second = await handler(auditEvent({ status: 'PROCESSED', limit: '1', cursor: first.cursor! }));
    // Assert
    expect(first.cursor).toEqual(expect.any(String));
    expect(ddb.commandCalls(QueryCommand).at(-1)?.args[0].input.ExclusiveStartKey).toEqual(lastKey);
    expect(jsonBody<AuditPage>(second).items.map((item) => item.uploadId)).toEqual([OTHER_UPLOAD_ID]);
  });

  it.each([
    ['garbage cursor', { cursor: 'not-a-cursor' }, 'INVALID_CURSOR'],
    [
      'cursor of another status',
      {
        status: 'REJECTED',
        cursor: Buffer.from(
          JSON.stringify({ status: 0, key: { pk: 'a', sk: 'b', statusKey: 'PROCESSED', updatedKey: 'c' } }),
        ).toString('base64url'),
      },
      'INVALID_CURSOR',
    ],
    ['bad from', { from: 'yesterday' }, 'INVALID_QUERY'],
    ['from after to', { from: '2025-03-02T00:00:00Z', to: '2025-03-01T00:00:00Z' }, 'INVALID_QUERY'],
    ['unknown status', { status: 'DONE' }, 'INVALID_QUERY'],
    ['limit out of range', { limit: '1000' }, 'INVALID_QUERY'],
    ['unknown parameter', { sort: 'asc' }, 'INVALID_QUERY'],
  ])('answers 400 for %s', async (_label, query, code) => {
    // Act
    const response = await handler(auditEvent(query));
    // Assert
    expect(response.statusCode).toBe(400);
    expect(jsonBody<ErrorBody>(response).error.code).toBe(code);
  });
});
