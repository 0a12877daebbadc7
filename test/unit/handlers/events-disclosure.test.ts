import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { makeGetUploadEventsHandler } from '../../../functions/get-upload-events.js';
import { makeGetUploadHandler } from '../../../functions/get-upload.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import { appendEvent } from '../../../functions/domain/audit-trail.js';
import { failureReason } from '../../../functions/domain/transition-events.js';
import type { AuditEvent } from '../../../functions/domain/model.js';
import { apiEvent, jsonBody } from './api-events.js';
import { OWNER, UPLOAD_ID, newPresigner, newUploadStore, recordItem } from './aws-fakes.js';

/**
 * What the events view may disclose (issue 13 item 3): clients get an opaque execution reference
 * and a generic PROCESSING_FAILED; auditors also see the error name and a scrubbed cause, but no
 * one ever sees an account id, an ARN or a stack.
 */

const ddb = mockClient(DynamoDBDocumentClient);
const events = makeGetUploadEventsHandler(() => ({ store: newUploadStore() }));
const status = makeGetUploadHandler(() => ({
  store: newUploadStore(),
  presigner: newPresigner(),
  policy: DEFAULT_TYPE_POLICY,
  downloadTtlSeconds: 300,
  now: () => new Date('2025-03-01T12:00:00.000Z'),
}));

const ACCOUNT = '123456789012';
const MACHINE = 'AirlockUploadPipeline8F3A-Secret';
const EXECUTION_NAME = 'e4d1c6a2-77b1-4bd0-9a7c-0f6a3f1c2b11';
const EXECUTION_ARN = `arn:aws:states:eu-west-1:${ACCOUNT}:execution:${MACHINE}:${EXECUTION_NAME}`;
const ERROR = 'DynamoDB.ProvisionedThroughputExceededException';
const CAUSE = JSON.stringify({
  errorType: 'ProvisionedThroughputExceededException',
  errorMessage: `Rate exceeded for table arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/AirlockTable-X1 (account ${ACCOUNT})`,
  trace: [
    'ProvisionedThroughputExceededException: Rate exceeded',
    '    at throwDefaultError (/var/task/index.mjs:1:2345)',
    '    at async /var/task/index.mjs:3:4567',
  ],
});

const FAILED_EVENT: AuditEvent = {
  uploadId: UPLOAD_ID,
  at: '2025-03-01T11:59:30.000Z',
  actor: { type: 'system', id: 'record' },
  action: 'FAILED',
  from: 'PROCESSING',
  to: 'FAILED',
  reasons: [failureReason(ERROR)],
  versionId: 'v-1',
  executionId: EXECUTION_ARN,
};
// Stored as every writer stores it: through appendEvent.
const STORED = appendEvent(undefined, FAILED_EVENT);

const asOwner = (routeKey: string) => apiEvent({ routeKey, pathParameters: { id: UPLOAD_ID }, sub: OWNER });
const asAuditor = (routeKey: string) =>
  apiEvent({ routeKey, pathParameters: { id: UPLOAD_ID }, sub: 'auditor-carol', groups: ['auditors'] });

beforeEach(() => {
  ddb.reset();
  const failed = recordItem({
    status: 'FAILED',
    executionId: EXECUTION_ARN,
    versionId: 'v-1',
    failure: { error: ERROR, cause: CAUSE },
    trailHead: STORED.head,
  });
  ddb.on(GetCommand).resolves({ Item: failed });
  // The events route reads the record's partition: the record holds its trail.
  ddb.on(QueryCommand).resolves({ Items: [{ ...failed, events: [STORED.event] }] });
});

/** Nothing internal: no account id, no ARN, no state machine name, no stack or code path. */
function expectNothingInternal(text: string): void {
  expect(text).not.toContain(ACCOUNT);
  expect(text).not.toMatch(/arn:aws/);
  expect(text).not.toContain(MACHINE);
  expect(text).not.toMatch(/\bat (async |throwDefaultError)|\/var\/task/);
}

describe('GET /uploads/{id}/events for the owner', () => {
  it('names the execution by an opaque reference: its name, never its ARN', async () => {
    const result = await events(asOwner('GET /uploads/{id}/events'));
    expect(jsonBody<{ events: AuditEvent[] }>(result).events[0]?.executionId).toBe(EXECUTION_NAME);
    expectNothingInternal(result.body ?? '');
  });

  it('gives a failure only the generic PROCESSING_FAILED, as the status does', async () => {
    const result = await events(asOwner('GET /uploads/{id}/events'));
    const body = jsonBody<{ events: AuditEvent[]; failure?: unknown }>(result);
    expect(body.events[0]?.reasons).toEqual([
      { code: 'PROCESSING_FAILED', message: 'Processing failed. The upload is kept for a retry.' },
    ]);
    expect(body.failure).toBeUndefined();
    expect(result.body).not.toContain('ProvisionedThroughput');
  });
});

describe('GET /uploads/{id}/events for an auditor', () => {
  it('adds the error name and a scrubbed cause, without account ids, ARNs or stacks', async () => {
    const result = await events(asAuditor('GET /uploads/{id}/events'));
    const body = jsonBody<{ events: AuditEvent[]; failure?: { error: string; cause: string } }>(result);
    expect(body.events[0]?.reasons[0]?.message).toContain(ERROR);
    expect(body.failure?.error).toBe(ERROR);
    expect(body.failure?.cause).toContain('Rate exceeded for table');
    expect(body.events[0]?.executionId).toBe(EXECUTION_NAME);
    expectNothingInternal(result.body ?? '');
  });
});

describe('GET /uploads/{id} of a FAILED upload', () => {
  it.each([
    ['owner', asOwner],
    ['auditor', asAuditor],
  ])('shows the %s nothing internal', async (_who, as) => {
    const result = await status(as('GET /uploads/{id}'));
    expect(result.statusCode).toBe(200);
    expectNothingInternal(result.body ?? '');
    expect(result.body).not.toContain(ERROR);
  });
});
