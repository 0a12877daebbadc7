import 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { makeGetUploadEventsHandler } from '../../../functions/get-upload-events.js';
import type { AuditEvent } from '../../../functions/domain/model.js';
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

/** An audit event as the table stores it. */
const eventItem = (event: AuditEvent): Record<string, unknown> => ({
  pk: `UPLOAD#${event.uploadId}`,
  sk: `EVENT#${event.at}#${event.action}`,
  entity: 'AuditEvent',
  ...event,
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

interface EventsBody {
  uploadId: string;
  events: Array<Record<string, unknown>>;
}

beforeEach(() => {
  ddb.reset();
  ddb.on(GetCommand).resolves({ Item: recordItem({ status: 'PROCESSED' }) });
  ddb.on(QueryCommand).resolves({ Items: [eventItem(ISSUED), eventItem(CLAIMED), eventItem(PROCESSED)] });
});

describe('GET /uploads/{id}/events', () => {
  it('gives the owner the trail oldest first, as the table sorts it', async () => {
    // Act
    const result = await handler(eventsEvent());
    // Assert
    expect(result.statusCode).toBe(200);
    const body = jsonBody<EventsBody>(result);
    expect(body.uploadId).toBe(UPLOAD_ID);
    expect(body.events.map((event) => event.action)).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED']);
  });

  it("queries the upload's partition for EVENT# keys in ascending order with a consistent read", async () => {
    // Act
    await handler(eventsEvent());
    // Assert
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    const input = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      TableName: TABLE_NAME,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `UPLOAD#${UPLOAD_ID}`, ':prefix': 'EVENT#' },
      ConsistentRead: true,
    });
    expect(input?.IndexName).toBeUndefined();
    expect(input?.ScanIndexForward).not.toBe(false);
  });

  it('returns each event whole, without table keys or the repeated upload id', async () => {
    // Act
    const body = jsonBody<EventsBody>(await handler(eventsEvent()));
    // Assert
    expect(body.events[1]).toEqual({
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

  it('reads one page per request: a read cut short comes with a cursor to the rest', async () => {
    // Arrange
    const pageEnd = { pk: `UPLOAD#${UPLOAD_ID}`, sk: `EVENT#${CLAIMED.at}#CLAIMED` };
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [eventItem(ISSUED), eventItem(CLAIMED)], LastEvaluatedKey: pageEnd })
      .resolvesOnce({ Items: [eventItem(PROCESSED)] });
    // Act
    const first = jsonBody<EventsBody & { cursor?: string }>(await handler(eventsEvent()));
    const second = jsonBody<EventsBody & { cursor?: string }>(
      await handler({ ...eventsEvent(), queryStringParameters: { cursor: first.cursor! } }),
    );
    // Assert
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input.ExclusiveStartKey).toBeUndefined();
    expect(ddb.commandCalls(QueryCommand)[1]?.args[0].input.ExclusiveStartKey).toEqual(pageEnd);
    expect(first.events.map((event) => event.action)).toEqual(['ISSUED', 'CLAIMED']);
    expect(second.events.map((event) => event.action)).toEqual(['PROCESSED']);
    expect(second.cursor).toBeUndefined();
  });

  it('refuses a cursor of another upload with 400 INVALID_CURSOR', async () => {
    // Arrange
    ddb.on(QueryCommand).resolves({
      Items: [eventItem(ISSUED), eventItem(CLAIMED)],
      LastEvaluatedKey: { pk: `UPLOAD#${UPLOAD_ID}`, sk: 'x' },
    });
    const { cursor } = jsonBody<{ cursor: string }>(await handler(eventsEvent()));
    // Act
    const result = await handler({
      ...eventsEvent({ id: OTHER_UPLOAD_ID }),
      queryStringParameters: { cursor },
    });
    // Assert
    expect(result.statusCode).toBe(400);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('INVALID_CURSOR');
  });

  it('answers 404 NOT_FOUND to another user without reading the trail', async () => {
    // Act
    const result = await handler(eventsEvent({ sub: 'user-mallory' }));
    // Assert
    expect(result.statusCode).toBe(404);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('NOT_FOUND');
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  });

  it('answers another user 404 for an id with no record, without reading the trail', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({});
    // Act
    const result = await handler(eventsEvent({ sub: 'user-mallory' }));
    // Assert
    expect(result.statusCode).toBe(404);
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
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
    const id = 'evil.exe';
    const discarded: AuditEvent = {
      uploadId: id,
      at: '2025-03-01T12:00:00.000Z',
      actor: { type: 'system', id: 'claim' },
      action: 'DISCARDED',
      from: null,
      to: null,
      reasons: [{ code: 'UNSOLICITED', message: 'No upload was issued for this object key.' }],
      versionId: 'v-9',
      executionId: 'exec-9',
    };
    ddb.on(GetCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [eventItem(discarded)] });
    // Act
    const result = await handler(eventsEvent({ id, sub: 'auditor-carol', groups: ['auditors'] }));
    // Assert
    expect(result.statusCode).toBe(200);
    const body = jsonBody<EventsBody>(result);
    expect(body.events).toEqual([
      expect.objectContaining({ action: 'DISCARDED', reasons: discarded.reasons }),
    ]);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { Key: { pk: 'UPLOAD#evil.exe', sk: 'RECORD' } });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      ExpressionAttributeValues: { ':pk': 'UPLOAD#evil.exe', ':prefix': 'EVENT#' },
    });
  });

  it('answers an auditor 404 when there is neither a record nor any event', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({});
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
