import 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { makeListUploadsHandler } from '../../../functions/list-uploads.js';
import type { UploadRecord } from '../../../functions/domain/model.js';
import { apiEvent, jsonBody, type ErrorBody } from './api-events.js';
import {
  OTHER_UPLOAD_ID,
  OWNER,
  TABLE_NAME,
  UPLOAD_ID,
  newUploadStore,
  recordItem,
  throttling,
} from './aws-fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);

const store = newUploadStore();
const handler = makeListUploadsHandler(() => ({ store }));

const listEvent = (query?: Record<string, string>, caller: { sub?: string; groups?: string[] } = {}) =>
  apiEvent({
    routeKey: 'GET /uploads',
    sub: caller.sub ?? OWNER,
    ...(caller.groups ? { groups: caller.groups } : {}),
    ...(query ? { queryStringParameters: query } : {}),
  });

const NEWER: Partial<UploadRecord> = {
  uploadId: OTHER_UPLOAD_ID,
  status: 'PROCESSED',
  createdAt: '2025-03-01T11:59:30.000Z',
  updatedAt: '2025-03-01T11:59:40.000Z',
  versionId: 'v-2',
  executionId: 'exec-2',
  sha256: 'b'.repeat(64),
  detectedType: 'application/pdf',
  storedKey: `clean/${OTHER_UPLOAD_ID}`,
};

/** A byOwner LastEvaluatedKey, as DynamoDB returns it for a GSI query. */
const lastKey = (owner: string, uploadId = UPLOAD_ID) => ({
  pk: `UPLOAD#${uploadId}`,
  sk: 'RECORD',
  ownerKey: owner,
  createdKey: `2025-03-01T11:59:00.000Z#${uploadId}`,
});
const cursorFor = (key: Record<string, unknown>) =>
  Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');

interface ListBody {
  items: Array<Record<string, unknown>>;
  cursor?: string;
}

const queryInput = (index = 0) => {
  const call = ddb.commandCalls(QueryCommand)[index];
  if (call === undefined) throw new Error(`No QueryCommand #${index} was sent.`);
  return call.args[0].input;
};

beforeEach(() => {
  ddb.reset();
  ddb.on(QueryCommand).resolves({ Items: [recordItem(NEWER), recordItem()] });
});

describe('GET /uploads query', () => {
  it("queries the byOwner index for the caller's uploads, newest first, with the default limit", async () => {
    // Act
    const result = await handler(listEvent());
    // Assert
    expect(result.statusCode).toBe(200);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    expect(queryInput()).toEqual({
      TableName: TABLE_NAME,
      IndexName: 'byOwner',
      KeyConditionExpression: 'ownerKey = :owner',
      ExpressionAttributeValues: { ':owner': OWNER },
      ScanIndexForward: false,
      Limit: 20,
      ExclusiveStartKey: undefined,
    });
  });

  it('passes the requested limit', async () => {
    // Act
    await handler(listEvent({ limit: '5' }));
    // Assert
    expect(queryInput().Limit).toBe(5);
  });

  it('filters on status when asked', async () => {
    // Act
    await handler(listEvent({ status: 'REJECTED' }));
    // Assert
    expect(queryInput()).toMatchObject({
      KeyConditionExpression: 'ownerKey = :owner',
      FilterExpression: '#status = :status',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':owner': OWNER, ':status': 'REJECTED' },
    });
  });

  it('keeps reading in growing steps when the filter thins out a page', async () => {
    // Arrange
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [recordItem(NEWER)], LastEvaluatedKey: lastKey(OWNER, OTHER_UPLOAD_ID) })
      .resolvesOnce({ Items: [recordItem()] });
    // Act
    const body = jsonBody<ListBody>(await handler(listEvent({ status: 'PROCESSED', limit: '2' })));
    // Assert
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(queryInput(0).Limit).toBe(2);
    expect(queryInput(1).Limit).toBe(4);
    expect(queryInput(1).ExclusiveStartKey).toEqual(lastKey(OWNER, OTHER_UPLOAD_ID));
    expect(body.items).toHaveLength(2);
    expect(body.cursor).toBeUndefined();
  });

  it('returns the items in the order the index gave them', async () => {
    // Act
    const body = jsonBody<ListBody>(await handler(listEvent()));
    // Assert
    expect(body.items.map((item) => item.uploadId)).toEqual([OTHER_UPLOAD_ID, UPLOAD_ID]);
  });

  it('never returns owner, keys or execution details in items', async () => {
    // Act
    const body = jsonBody<ListBody>(await handler(listEvent()));
    // Assert
    for (const item of body.items) {
      for (const internal of [
        'owner',
        'pk',
        'sk',
        'ownerKey',
        'createdKey',
        'statusKey',
        'executionId',
        'versionId',
        'storedKey',
      ]) {
        expect(item).not.toHaveProperty(internal);
      }
    }
    expect(body.items[0]).toMatchObject({
      uploadId: OTHER_UPLOAD_ID,
      status: 'PROCESSED',
      sha256: 'b'.repeat(64),
    });
  });

  it('returns no cursor on the last page', async () => {
    // Act
    const body = jsonBody<ListBody>(await handler(listEvent()));
    // Assert
    expect(body).not.toHaveProperty('cursor');
  });
});

describe('GET /uploads cursor', () => {
  it('returns a cursor that the next call accepts as its start key', async () => {
    // Arrange
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [recordItem()], LastEvaluatedKey: lastKey(OWNER) })
      .resolvesOnce({ Items: [] });
    const first = jsonBody<ListBody>(await handler(listEvent({ limit: '1' })));
    // Act
    const second = await handler(listEvent({ limit: '1', cursor: first.cursor ?? '' }));
    // Assert
    expect(first.cursor).toEqual(expect.any(String));
    expect(second.statusCode).toBe(200);
    expect(queryInput(1).ExclusiveStartKey).toEqual(lastKey(OWNER));
  });

  it('refuses a cursor of another owner with 400 INVALID_CURSOR and no query', async () => {
    // Act
    const result = await handler(listEvent({ cursor: cursorFor(lastKey('user-bob')) }));
    // Assert
    expect(result.statusCode).toBe(400);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('INVALID_CURSOR');
    expect(ddb.calls()).toHaveLength(0);
  });

  it.each([
    ['garbage', 'definitely-not-a-cursor!'],
    ['a JSON array', cursorFor([1, 2] as unknown as Record<string, unknown>)],
    ['extra attributes', cursorFor({ ...lastKey(OWNER), status: 'PROCESSED' })],
    ['a non-string key value', cursorFor({ ...lastKey(OWNER), sk: 1 })],
    ['an empty string', ''],
  ])('refuses %s as a cursor with 400 INVALID_CURSOR', async (_label, cursor) => {
    // Act
    const result = await handler(listEvent({ cursor }));
    // Assert
    expect(result.statusCode).toBe(400);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('INVALID_CURSOR');
    expect(ddb.calls()).toHaveLength(0);
  });

  it('refuses a cursor longer than 2048 characters with 400 INVALID_QUERY', async () => {
    // Act
    const result = await handler(listEvent({ cursor: 'A'.repeat(2049) }));
    // Assert
    expect(result.statusCode).toBe(400);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('INVALID_QUERY');
  });
});

describe('GET /uploads parameters', () => {
  it.each([
    ['limit=0', { limit: '0' }],
    ['limit=101', { limit: '101' }],
    ['limit=abc', { limit: 'abc' }],
    ['limit=2.5', { limit: '2.5' }],
    ['limit=-1', { limit: '-1' }],
    ['status=DONE', { status: 'DONE' }],
    ['status=processed', { status: 'processed' }],
    ['an unknown parameter', { sort: 'asc' }],
  ])('answers 400 INVALID_QUERY for %s without querying', async (_label, query) => {
    // Act
    const result = await handler(listEvent(query));
    // Assert
    expect(result.statusCode).toBe(400);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('INVALID_QUERY');
    expect(ddb.calls()).toHaveLength(0);
  });

  it('accepts limit=100', async () => {
    // Act
    const result = await handler(listEvent({ limit: '100' }));
    // Assert
    expect(result.statusCode).toBe(200);
    expect(queryInput().Limit).toBe(100);
  });

  it('answers 400 INVALID_QUERY when a non-auditor asks for another owner', async () => {
    // Act
    const result = await handler(listEvent({ owner: 'user-bob' }));
    // Assert
    expect(result.statusCode).toBe(400);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('INVALID_QUERY');
    expect(ddb.calls()).toHaveLength(0);
  });

  it('lets a non-auditor name themselves as owner', async () => {
    // Act
    const result = await handler(listEvent({ owner: OWNER }));
    // Assert
    expect(result.statusCode).toBe(200);
    expect(queryInput().ExpressionAttributeValues).toEqual({ ':owner': OWNER });
  });

  it("queries the named owner's uploads for an auditor", async () => {
    // Act
    const result = await handler(
      listEvent({ owner: 'user-bob' }, { sub: 'auditor-carol', groups: ['auditors'] }),
    );
    // Assert
    expect(result.statusCode).toBe(200);
    expect(queryInput()).toMatchObject({
      IndexName: 'byOwner',
      ExpressionAttributeValues: { ':owner': 'user-bob' },
    });
  });

  it("accepts an auditor's cursor for the owner they name", async () => {
    // Act
    const result = await handler(
      listEvent(
        { owner: 'user-bob', cursor: cursorFor(lastKey('user-bob')) },
        { sub: 'auditor-carol', groups: ['auditors'] },
      ),
    );
    // Assert
    expect(result.statusCode).toBe(200);
    expect(queryInput().ExclusiveStartKey).toEqual(lastKey('user-bob'));
  });

  it("refuses an auditor's cursor of their own list when they name another owner", async () => {
    // Act
    const result = await handler(
      listEvent(
        { owner: 'user-bob', cursor: cursorFor(lastKey('auditor-carol')) },
        { sub: 'auditor-carol', groups: ['auditors'] },
      ),
    );
    // Assert
    expect(result.statusCode).toBe(400);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('INVALID_CURSOR');
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers 401 without a sub claim', async () => {
    // Act
    const result = await handler(apiEvent({ routeKey: 'GET /uploads', sub: null }));
    // Assert
    expect(result.statusCode).toBe(401);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers 503 when DynamoDB throttles the query', async () => {
    // Arrange
    ddb.on(QueryCommand).rejects(throttling());
    // Act
    const result = await handler(listEvent());
    // Assert
    expect(result.statusCode).toBe(503);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('SERVICE_UNAVAILABLE');
  });
});
