import 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { makeGetUploadEventsHandler } from '../../../functions/get-upload-events.js';
import type { AuditEvent, UploadRecord } from '../../../functions/domain/model.js';
import { apiEvent, jsonBody, type ErrorBody } from './api-events.js';
import { OTHER_UPLOAD_ID, OWNER, TABLE_NAME, UPLOAD_ID, newUploadStore, recordItem } from './aws-fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);

const store = newUploadStore();
const handler = makeGetUploadEventsHandler(() => ({ store }));

const eventsEvent = (options: { id?: string; sub?: string; groups?: string[] } = {}) =>
  apiEvent({
    routeKey: 'GET /uploads/{id}/events',
    pathParameters: { id: options.id ?? UPLOAD_ID },
    sub: options.sub ?? OWNER,
    ...(options.groups ? { groups: options.groups } : {}),
  });

/** The upload's item as the table stores it: the record holding its trail. */
const recordWithTrail = (record: Partial<UploadRecord>, events: AuditEvent[]) => ({
  ...recordItem({ ...record, trailHead: { seq: events.length, at: events.at(-1)?.at ?? '' } }),
  events: events.map((event, index) => ({ ...event, seq: index + 1 })),
});

const ISSUED: AuditEvent = {
  uploadId: UPLOAD_ID,
  at: '2025-03-01T11:59:00.000Z',
  actor: { type: 'user', id: OWNER },
  action: 'ISSUED',
  from: null,
  to: 'PENDING_UPLOAD',
  reasons: [],
};
const CLAIMED: AuditEvent = {
  uploadId: UPLOAD_ID,
  at: '2025-03-01T11:59:10.000Z',
  actor: { type: 'system', id: 'claim' },
  action: 'CLAIMED',
  from: 'PENDING_UPLOAD',
  to: 'PROCESSING',
  reasons: [],
  versionId: 'v-1',
  executionId: 'exec-1',
};
const PROCESSED: AuditEvent = {
  ...CLAIMED,
  at: '2025-03-01T11:59:20.000Z',
  actor: { type: 'system', id: 'record' },
  action: 'PROCESSED',
  from: 'PROCESSING',
  to: 'PROCESSED',
};

const DISCARDED: AuditEvent = {
  uploadId: 'evil.exe',
  at: '2025-03-01T12:00:00.000Z',
  actor: { type: 'system', id: 'claim' },
  action: 'DISCARDED',
  from: null,
  to: null,
  reasons: [{ code: 'UNSOLICITED', message: 'No upload was issued for this object key.' }],
  versionId: 'v-9',
  executionId: 'exec-9',
};

/** The trail of an object key no upload was issued for (no record). */
const unsolicitedItem = (key: string) => ({
  pk: `UPLOAD#${key}`,
  sk: 'UNSOLICITED',
  entity: 'Unsolicited',
  trailHead: { seq: 1, at: DISCARDED.at },
  discardedVersions: ['v-9'],
  events: [{ ...DISCARDED, uploadId: key, seq: 1 }],
});

interface EventsBody {
  uploadId: string;
  events: Array<Record<string, unknown>>;
}

beforeEach(() => {
  ddb.reset();
  ddb.on(QueryCommand).resolves({
    Items: [recordWithTrail({ status: 'PROCESSED' }, [ISSUED, CLAIMED, PROCESSED])],
  });
});

describe('GET /uploads/{id}/events', () => {
  it('gives the owner the trail oldest first, numbered from 1', async () => {
    // Act
    const result = await handler(eventsEvent());
    // Assert
    expect(result.statusCode).toBe(200);
    const body = jsonBody<EventsBody>(result);
    expect(body.uploadId).toBe(UPLOAD_ID);
    expect(body.events.map((event) => [event.seq, event.action])).toEqual([
      [1, 'ISSUED'],
      [2, 'CLAIMED'],
      [3, 'PROCESSED'],
    ]);
  });

  it("reads the upload's partition (its record holds the trail) once, with a consistent read", async () => {
    // Act
    await handler(eventsEvent());
    // Assert
    expect(ddb.calls()).toHaveLength(1);
    const input = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      TableName: TABLE_NAME,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `UPLOAD#${UPLOAD_ID}` },
      ConsistentRead: true,
    });
    expect(input?.IndexName).toBeUndefined();
  });

  it('returns each event whole, without table keys or the repeated upload id', async () => {
    // Act
    const body = jsonBody<EventsBody>(await handler(eventsEvent()));
    // Assert
    expect(body.events[1]).toEqual({
      seq: 2,
      at: '2025-03-01T11:59:10.000Z',
      actor: { type: 'system', id: 'claim' },
      action: 'CLAIMED',
      from: 'PENDING_UPLOAD',
      to: 'PROCESSING',
      reasons: [],
      versionId: 'v-1',
      executionId: 'exec-1',
    });
  });

  it('reads one page per request: `limit` events, and a cursor to the rest', async () => {
    // Act
    const first = jsonBody<EventsBody & { cursor?: string }>(
      await handler({ ...eventsEvent(), queryStringParameters: { limit: '2' } }),
    );
    const second = jsonBody<EventsBody & { cursor?: string }>(
      await handler({ ...eventsEvent(), queryStringParameters: { limit: '2', cursor: first.cursor! } }),
    );
    // Assert
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(first.events.map((event) => [event.seq, event.action])).toEqual([
      [1, 'ISSUED'],
      [2, 'CLAIMED'],
    ]);
    expect(second.events.map((event) => [event.seq, event.action])).toEqual([[3, 'PROCESSED']]);
    expect(second.cursor).toBeUndefined();
  });

  it('refuses a cursor of another upload with 400 INVALID_CURSOR', async () => {
    // Arrange
    const { cursor } = jsonBody<{ cursor: string }>(
      await handler({ ...eventsEvent(), queryStringParameters: { limit: '1' } }),
    );
    // Act
    const result = await handler({
      ...eventsEvent({ id: OTHER_UPLOAD_ID }),
      queryStringParameters: { cursor },
    });
    // Assert
    expect(result.statusCode).toBe(400);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('INVALID_CURSOR');
  });

  it('answers 404 NOT_FOUND to another user, showing nothing of the trail', async () => {
    // Act
    const result = await handler(eventsEvent({ sub: 'user-mallory' }));
    // Assert
    expect(result.statusCode).toBe(404);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('NOT_FOUND');
    expect(result.body).not.toContain('ISSUED');
  });

  it('answers another user 404 for an id with no record, even when an unsolicited trail exists', async () => {
    // Arrange
    ddb.on(QueryCommand).resolves({ Items: [unsolicitedItem('evil.exe')] });
    // Act
    const result = await handler(eventsEvent({ id: 'evil.exe', sub: 'user-mallory' }));
    // Assert
    expect(result.statusCode).toBe(404);
    expect(result.body).not.toContain('DISCARDED');
  });

  it('gives an auditor the trail of an upload of someone else', async () => {
    // Act
    const result = await handler(eventsEvent({ sub: 'auditor-carol', groups: ['auditors'] }));
    // Assert
    expect(result.statusCode).toBe(200);
    expect(jsonBody<EventsBody>(result).events).toHaveLength(3);
  });

  it('gives an auditor the trail of an unsolicited object that has no record', async () => {
    // Arrange
    ddb.on(QueryCommand).resolves({ Items: [unsolicitedItem('evil.exe')] });
    // Act
    const result = await handler(eventsEvent({ id: 'evil.exe', sub: 'auditor-carol', groups: ['auditors'] }));
    // Assert
    expect(result.statusCode).toBe(200);
    const body = jsonBody<EventsBody>(result);
    expect(body.events).toEqual([
      expect.objectContaining({
        seq: 1,
        action: 'DISCARDED',
        from: null,
        to: null,
        reasons: DISCARDED.reasons,
      }),
    ]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      ExpressionAttributeValues: { ':pk': 'UPLOAD#evil.exe' },
    });
  });

  it('answers an auditor 404 when there is neither a record nor any event', async () => {
    // Arrange
    ddb.on(QueryCommand).resolves({ Items: [] });
    // Act
    const result = await handler(
      eventsEvent({ id: 'nothing-here', sub: 'auditor-carol', groups: ['auditors'] }),
    );
    // Assert
    expect(result.statusCode).toBe(404);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('NOT_FOUND');
  });

  it('answers 404 for an id over 1024 characters without calling DynamoDB', async () => {
    // Act
    const result = await handler(
      eventsEvent({ id: 'x'.repeat(1025), sub: 'auditor-carol', groups: ['auditors'] }),
    );
    // Assert
    expect(result.statusCode).toBe(404);
    expect(ddb.calls()).toHaveLength(0);
  });
});
