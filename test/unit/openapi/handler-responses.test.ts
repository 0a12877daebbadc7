import { mockClient } from 'aws-sdk-client-mock';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { makeAuditUploadsHandler } from '../../../functions/audit-uploads.js';
import { makeCreateUploadHandler } from '../../../functions/create-upload.js';
import { makeGetUploadEventsHandler } from '../../../functions/get-upload-events.js';
import { makeGetUploadHandler } from '../../../functions/get-upload.js';
import { makeListUploadsHandler } from '../../../functions/list-uploads.js';
import type { AuditEvent, UploadRecord } from '../../../functions/domain/model.js';
import { requestFingerprint } from '../../../functions/domain/idempotency.js';
import { entityTag } from '../../../functions/domain/status-view.js';
import { parseCreateUploadRequest } from '../../../functions/domain/upload-request.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import { openApiValidator } from '../../support/openapi-validator.js';
import { apiEvent, jsonBody, type ApiEventOptions, type ErrorBody } from '../handlers/api-events.js';
import {
  OTHER_UPLOAD_ID,
  OWNER,
  UPLOAD_ID,
  conditionalCheckFailed,
  dynamoValidationException,
  newPresigner,
  newUploadStore,
  recordItem,
  throttling,
  uploadRecord,
  issuanceGuards,
} from '../handlers/aws-fakes.js';

/**
 * Responses built by the real API handlers (SDK clients mocked with aws-sdk-client-mock) checked
 * against the OpenAPI document: every documented status each handler can produce, in the shape
 * the document gives, headers included. The last block shows that the checks do fail on drift.
 */

type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
type ApiResult = APIGatewayProxyStructuredResultV2;

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
const validator = openApiValidator();

const NOW = new Date('2025-03-01T12:00:00.000Z');
const store = newUploadStore();
const presigner = newPresigner();

const createUpload = makeCreateUploadHandler(() => ({
  store,
  presigner,
  policy: DEFAULT_TYPE_POLICY,
  uploadTtlSeconds: 600,
  abandonedRecordRetentionSeconds: 90 * 86_400,
  now: () => NOW,
  ...issuanceGuards(),
}));
const getUpload = makeGetUploadHandler(() => ({
  store,
  presigner,
  policy: DEFAULT_TYPE_POLICY,
  downloadTtlSeconds: 300,
  now: () => NOW,
}));
const listUploads = makeListUploadsHandler(() => ({ store }));
const getUploadEvents = makeGetUploadEventsHandler(() => ({ store }));
const auditUploads = makeAuditUploadsHandler(() => ({ store, now: () => NOW }));

const SHA256 = 'c'.repeat(64);
const AUDITORS = ['auditors'];

const PROCESSED: Partial<UploadRecord> = {
  status: 'PROCESSED',
  previousStatus: 'PROCESSING',
  updatedAt: '2025-03-01T11:59:30.000Z',
  versionId: 'v-1',
  executionId: 'exec-1',
  sha256: SHA256,
  detectedType: 'application/pdf',
  storedKey: `clean/${UPLOAD_ID}`,
};
const REJECTED: Partial<UploadRecord> = {
  ...PROCESSED,
  status: 'REJECTED',
  storedKey: `rejected/${UPLOAD_ID}`,
  reasons: [
    { code: 'TYPE_MISMATCH', message: 'The content is text/plain, not application/pdf.' },
    { code: 'CHECKSUM_MISMATCH', message: 'The SHA-256 of the content differs from the one declared.' },
  ],
};
const FAILED: Partial<UploadRecord> = {
  status: 'FAILED',
  previousStatus: 'PROCESSING',
  versionId: 'v-1',
  executionId: 'exec-1',
  failure: { error: 'DependencyError', cause: 'internal cause, never returned' },
};

/** An item of the table holding a trail: its events numbered from 1. */
const withTrail = (item: Record<string, unknown>, events: AuditEvent[]) => ({
  ...item,
  trailHead: { seq: events.length, at: events.at(-1)?.at },
  events: events.map((event, index) => ({ ...event, seq: index + 1 })),
});

const TRAIL: AuditEvent[] = [
  {
    uploadId: UPLOAD_ID,
    at: '2025-03-01T11:59:00.000Z',
    actor: { type: 'user', id: OWNER },
    action: 'ISSUED',
    from: null,
    to: 'PENDING_UPLOAD',
    reasons: [],
  },
  {
    uploadId: UPLOAD_ID,
    at: '2025-03-01T11:59:10.000Z',
    actor: { type: 'system', id: 'claim' },
    action: 'CLAIMED',
    from: 'PENDING_UPLOAD',
    to: 'PROCESSING',
    reasons: [],
    versionId: 'v-1',
    executionId: 'exec-1',
  },
  {
    uploadId: UPLOAD_ID,
    at: '2025-03-01T11:59:20.000Z',
    actor: { type: 'system', id: 'record' },
    action: 'REJECTED',
    from: 'PROCESSING',
    to: 'REJECTED',
    reasons: [{ code: 'TYPE_MISMATCH', message: 'The content is text/plain, not application/pdf.' }],
    versionId: 'v-1',
    executionId: 'exec-1',
  },
];
const UNSOLICITED_ID = 'dropped-by-hand.bin';
const DISCARDED: AuditEvent = {
  uploadId: UNSOLICITED_ID,
  at: '2025-03-01T11:58:00.000Z',
  actor: { type: 'system', id: 'claim' },
  action: 'DISCARDED',
  from: null,
  to: null,
  reasons: [{ code: 'UNSOLICITED', message: 'No upload was issued for this object key.' }],
  versionId: 'v-9',
  executionId: 'exec-9',
};

const byOwnerKey = (uploadId = UPLOAD_ID) => ({
  pk: `UPLOAD#${uploadId}`,
  sk: 'RECORD',
  ownerKey: OWNER,
  createdKey: `2025-03-01T11:59:00.000Z#${uploadId}`,
});
const byStatusKey = (status: string) => ({
  pk: `UPLOAD#${UPLOAD_ID}`,
  sk: 'RECORD',
  statusKey: status,
  updatedKey: `2025-03-01T11:59:00.000Z#${UPLOAD_ID}`,
});
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

const storedRecord = (overrides: Partial<UploadRecord> = {}) =>
  ddb.on(GetCommand).resolves({ Item: recordItem(overrides) });

type Route =
  | 'POST /uploads'
  | 'GET /uploads'
  | 'GET /uploads/{id}'
  | 'GET /uploads/{id}/download'
  | 'GET /uploads/{id}/events'
  | 'GET /audit/uploads';

const HANDLERS: Record<Route, (event: ApiEvent) => Promise<ApiResult>> = {
  'POST /uploads': createUpload,
  'GET /uploads': listUploads,
  'GET /uploads/{id}': getUpload,
  'GET /uploads/{id}/download': getUpload,
  'GET /uploads/{id}/events': getUploadEvents,
  'GET /audit/uploads': auditUploads,
};

interface Case {
  name: string;
  route: Route;
  status: number;
  /** The error code expected in the body, for error statuses. */
  code?: string;
  /** Stubs the SDK calls this case needs. */
  arrange?: () => void;
  event?: Omit<ApiEventOptions, 'routeKey'>;
}

const create = (body: unknown, extra: Omit<ApiEventOptions, 'routeKey'> = {}) => ({
  body,
  headers: { 'content-type': 'application/json' },
  ...extra,
});
const PDF_REQUEST = { fileName: 'Q3 report.pdf', contentType: 'application/pdf', size: 1234 };
const PDF_FINGERPRINT = requestFingerprint(parseCreateUploadRequest(PDF_REQUEST));
const withId = (id: string, extra: Omit<ApiEventOptions, 'routeKey'> = {}) => ({
  pathParameters: { id },
  ...extra,
});

const CASES: Case[] = [
  // POST /uploads
  {
    route: 'POST /uploads',
    status: 201,
    name: 'a POST grant with a checksum',
    event: create({ ...PDF_REQUEST, sha256: SHA256 }),
  },
  {
    route: 'POST /uploads',
    status: 201,
    name: 'a PUT grant with a checksum',
    event: create({ ...PDF_REQUEST, sha256: SHA256, method: 'PUT' }),
  },
  {
    route: 'POST /uploads',
    status: 201,
    name: 'a PUT grant for a type given with parameters, without a checksum',
    event: create({ fileName: 'ledger.csv', contentType: 'Text/CSV; charset=utf-8', size: 0, method: 'PUT' }),
  },
  { route: 'POST /uploads', status: 400, code: 'INVALID_JSON', name: 'no body', event: create(undefined) },
  {
    route: 'POST /uploads',
    status: 400,
    code: 'INVALID_JSON',
    name: 'a body that is not JSON',
    event: create('{"fileName": '),
  },
  {
    route: 'POST /uploads',
    status: 400,
    code: 'INVALID_REQUEST',
    name: 'an unknown field and a missing size',
    event: create({ fileName: 'a.pdf', contentType: 'application/pdf', colour: 'red' }),
  },
  {
    route: 'POST /uploads',
    status: 401,
    code: 'UNAUTHORIZED',
    name: 'a caller without sub',
    event: create(PDF_REQUEST, { sub: null }),
  },
  {
    route: 'POST /uploads',
    status: 413,
    code: 'FILE_TOO_LARGE',
    name: 'a size over the type limit',
    event: create({ ...PDF_REQUEST, size: 50 * 1024 * 1024 + 1 }),
  },
  {
    route: 'POST /uploads',
    status: 413,
    code: 'REQUEST_TOO_LARGE',
    name: 'a body over 16 KiB',
    event: create({ ...PDF_REQUEST, fileName: 'x'.repeat(17 * 1024) }),
  },
  {
    route: 'POST /uploads',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    name: 'a type outside the policy',
    event: create({ fileName: 'page.html', contentType: 'text/html', size: 10 }),
  },
  {
    route: 'POST /uploads',
    status: 503,
    code: 'SERVICE_UNAVAILABLE',
    name: 'DynamoDB throttling',
    arrange: () => ddb.on(PutCommand).rejects(throttling()),
    event: create(PDF_REQUEST),
  },
  {
    route: 'POST /uploads',
    status: 500,
    code: 'INTERNAL_ERROR',
    name: 'DynamoDB refusing the write',
    arrange: () => ddb.on(PutCommand).rejects(dynamoValidationException()),
    event: create(PDF_REQUEST),
  },

  // GET /uploads/{id}
  ...(
    [
      ['PENDING_UPLOAD with a declared checksum', { declaredSha256: SHA256 }],
      ['PROCESSING', { status: 'PROCESSING', versionId: 'v-1', executionId: 'exec-1' }],
      ['PROCESSED, with a download URL', PROCESSED],
      ['REJECTED, with reasons', REJECTED],
      ['FAILED, with the public reason only', FAILED],
      ['EXPIRED', { status: 'EXPIRED', previousStatus: 'PENDING_UPLOAD' }],
    ] as Array<[string, Partial<UploadRecord>]>
  ).map(([name, overrides]): Case => ({
    route: 'GET /uploads/{id}',
    status: 200,
    name,
    arrange: () => storedRecord(overrides),
    event: withId(UPLOAD_ID),
  })),
  {
    route: 'GET /uploads/{id}',
    status: 200,
    name: "an auditor reading someone else's upload",
    arrange: () => storedRecord(PROCESSED),
    event: withId(UPLOAD_ID, { sub: 'auditor-1', groups: AUDITORS }),
  },
  {
    route: 'GET /uploads/{id}',
    status: 304,
    name: 'If-None-Match with the current ETag',
    arrange: () => storedRecord(),
    event: withId(UPLOAD_ID, { headers: { 'if-none-match': entityTag(uploadRecord()) } }),
  },
  {
    route: 'GET /uploads/{id}',
    status: 401,
    code: 'UNAUTHORIZED',
    name: 'a caller without sub',
    event: withId(UPLOAD_ID, { sub: null }),
  },
  {
    route: 'GET /uploads/{id}',
    status: 404,
    code: 'NOT_FOUND',
    name: "another user's upload",
    arrange: () => storedRecord(),
    event: withId(UPLOAD_ID, { sub: 'user-mallory' }),
  },
  {
    route: 'GET /uploads/{id}',
    status: 404,
    code: 'NOT_FOUND',
    name: 'an id that is not a ULID',
    event: withId('../etc/passwd'),
  },
  {
    route: 'GET /uploads/{id}',
    status: 404,
    code: 'NOT_FOUND',
    name: 'no such upload',
    arrange: () => ddb.on(GetCommand).resolves({}),
    event: withId(OTHER_UPLOAD_ID),
  },
  {
    route: 'GET /uploads/{id}',
    status: 503,
    code: 'SERVICE_UNAVAILABLE',
    name: 'DynamoDB throttling',
    arrange: () => ddb.on(GetCommand).rejects(throttling()),
    event: withId(UPLOAD_ID),
  },

  // GET /uploads
  {
    route: 'GET /uploads',
    status: 200,
    name: 'a page with a cursor',
    arrange: () =>
      ddb.on(QueryCommand).resolves({
        Items: [recordItem({ ...PROCESSED, uploadId: OTHER_UPLOAD_ID }), recordItem()],
        LastEvaluatedKey: byOwnerKey(),
      }),
    event: { queryStringParameters: { limit: '2' } },
  },
  {
    route: 'GET /uploads',
    status: 200,
    name: 'an empty last page',
    arrange: () => ddb.on(QueryCommand).resolves({ Items: [] }),
    event: { queryStringParameters: { status: 'REJECTED' } },
  },
  {
    route: 'GET /uploads',
    status: 200,
    name: "an auditor listing another owner's uploads",
    arrange: () => ddb.on(QueryCommand).resolves({ Items: [recordItem(FAILED)] }),
    event: { sub: 'auditor-1', groups: AUDITORS, queryStringParameters: { owner: OWNER } },
  },
  {
    route: 'GET /uploads',
    status: 400,
    code: 'INVALID_QUERY',
    name: 'an unknown parameter',
    event: { queryStringParameters: { sort: 'asc' } },
  },
  {
    route: 'GET /uploads',
    status: 400,
    code: 'INVALID_QUERY',
    name: 'limit=0',
    event: { queryStringParameters: { limit: '0' } },
  },
  {
    route: 'GET /uploads',
    status: 400,
    code: 'INVALID_QUERY',
    name: 'owner from a non-auditor',
    event: { queryStringParameters: { owner: 'user-bob' } },
  },
  {
    route: 'GET /uploads',
    status: 400,
    code: 'INVALID_CURSOR',
    name: "a cursor into another owner's list",
    event: { queryStringParameters: { cursor: base64url({ ...byOwnerKey(), ownerKey: 'user-bob' }) } },
  },
  {
    route: 'GET /uploads',
    status: 401,
    code: 'UNAUTHORIZED',
    name: 'a caller without sub',
    event: { sub: null },
  },
  {
    route: 'GET /uploads',
    status: 503,
    code: 'SERVICE_UNAVAILABLE',
    name: 'DynamoDB throttling',
    arrange: () => ddb.on(QueryCommand).rejects(throttling()),
  },

  // GET /uploads/{id}/events
  {
    route: 'GET /uploads/{id}/events',
    status: 200,
    name: "the owner's trail",
    arrange: () => {
      ddb.on(QueryCommand).resolves({ Items: [withTrail(recordItem(REJECTED), TRAIL)] });
    },
    event: withId(UPLOAD_ID),
  },
  {
    route: 'GET /uploads/{id}/events',
    status: 200,
    name: "an auditor reading an unsolicited object's trail (null statuses)",
    arrange: () => {
      const key = { pk: `UPLOAD#${UNSOLICITED_ID}`, sk: 'UNSOLICITED' };
      ddb.on(QueryCommand).resolves({ Items: [withTrail(key, [DISCARDED])] });
    },
    event: withId(UNSOLICITED_ID, { sub: 'auditor-1', groups: AUDITORS }),
  },
  {
    route: 'GET /uploads/{id}/events',
    status: 200,
    name: "an auditor's first page of a failed upload's trail, with a cursor and the failure",
    arrange: () => {
      const failed = {
        status: 'FAILED' as const,
        failure: { error: 'States.Timeout', cause: 'Task timed out.' },
      };
      storedRecord(failed);
      ddb.on(QueryCommand).resolves({ Items: [withTrail(recordItem(failed), TRAIL)] });
    },
    event: withId(UPLOAD_ID, { sub: 'auditor-1', groups: AUDITORS, queryStringParameters: { limit: '1' } }),
  },
  {
    route: 'GET /uploads/{id}/events',
    status: 400,
    code: 'INVALID_QUERY',
    name: 'a limit over 100',
    arrange: () => storedRecord(),
    event: withId(UPLOAD_ID, { queryStringParameters: { limit: '500' } }),
  },
  {
    route: 'GET /uploads/{id}/events',
    status: 400,
    code: 'INVALID_CURSOR',
    name: 'a cursor this trail did not give',
    arrange: () => ddb.on(QueryCommand).resolves({ Items: [withTrail(recordItem({}), TRAIL)] }),
    event: withId(UPLOAD_ID, { queryStringParameters: { cursor: 'bm90LWEtY3Vyc29y' } }),
  },
  {
    route: 'GET /uploads/{id}/events',
    status: 401,
    code: 'UNAUTHORIZED',
    name: 'a caller without sub',
    event: withId(UPLOAD_ID, { sub: null }),
  },
  {
    route: 'GET /uploads/{id}/events',
    status: 404,
    code: 'NOT_FOUND',
    name: "another user's trail",
    arrange: () => ddb.on(QueryCommand).resolves({ Items: [withTrail(recordItem({}), TRAIL)] }),
    event: withId(UPLOAD_ID, { sub: 'user-mallory' }),
  },
  {
    route: 'GET /uploads/{id}/events',
    status: 503,
    code: 'SERVICE_UNAVAILABLE',
    name: 'DynamoDB throttling',
    arrange: () => ddb.on(QueryCommand).rejects(throttling()),
    event: withId(UPLOAD_ID),
  },

  {
    route: 'POST /uploads',
    status: 201,
    name: 'a retry with a known Idempotency-Key',
    arrange: () => {
      ddb.on(PutCommand).rejects(conditionalCheckFailed());
      ddb
        .on(GetCommand)
        .callsFake((input: { Key: { pk: string } }) =>
          input.Key.pk.startsWith('IDEMPOTENCY#')
            ? { Item: { uploadId: UPLOAD_ID, fingerprint: PDF_FINGERPRINT, ttl: 4_000_000_000 } }
            : { Item: recordItem({ expiresAt: '2025-03-01T12:10:00.000Z' }) },
        );
    },
    event: create(PDF_REQUEST, { headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1' } }),
  },
  {
    route: 'POST /uploads',
    status: 400,
    code: 'INVALID_IDEMPOTENCY_KEY',
    name: 'an Idempotency-Key with a space',
    event: create(PDF_REQUEST, { headers: { 'content-type': 'application/json', 'idempotency-key': 'a b' } }),
  },
  {
    route: 'POST /uploads',
    status: 409,
    code: 'IDEMPOTENCY_KEY_USED',
    name: 'a retry after the upload was claimed',
    arrange: () => {
      ddb.on(PutCommand).rejects(conditionalCheckFailed());
      ddb
        .on(GetCommand)
        .callsFake((input: { Key: { pk: string } }) =>
          input.Key.pk.startsWith('IDEMPOTENCY#')
            ? { Item: { uploadId: UPLOAD_ID, fingerprint: PDF_FINGERPRINT, ttl: 4_000_000_000 } }
            : { Item: recordItem({ status: 'PROCESSING' }) },
        );
    },
    event: create(PDF_REQUEST, { headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1' } }),
  },
  {
    route: 'POST /uploads',
    status: 422,
    code: 'IDEMPOTENCY_KEY_MISMATCH',
    name: 'a known Idempotency-Key with another request',
    arrange: () => {
      ddb.on(PutCommand).rejects(conditionalCheckFailed());
      ddb
        .on(GetCommand)
        .resolves({ Item: { uploadId: UPLOAD_ID, fingerprint: 'f'.repeat(64), ttl: 4_000_000_000 } });
    },
    event: create(PDF_REQUEST, { headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1' } }),
  },
  {
    route: 'POST /uploads',
    status: 429,
    code: 'QUOTA_EXCEEDED',
    name: "the day's bytes granted",
    arrange: () => {
      ddb.on(UpdateCommand).rejects(conditionalCheckFailed());
      ddb.on(GetCommand).resolves({ Item: { day: '2025-03-01', dayBytes: Number.MAX_SAFE_INTEGER - 10 } });
    },
    event: create(PDF_REQUEST),
  },

  // GET /uploads/{id}/download
  {
    route: 'GET /uploads/{id}/download',
    status: 200,
    name: 'a PROCESSED upload, asked for as JSON',
    arrange: () =>
      storedRecord({ status: 'PROCESSED', sha256: 'a'.repeat(64), detectedType: 'application/pdf' }),
    event: withId(UPLOAD_ID, { headers: { accept: 'application/json' } }),
  },
  {
    route: 'GET /uploads/{id}/download',
    status: 303,
    name: 'a PROCESSED upload, redirected',
    arrange: () =>
      storedRecord({ status: 'PROCESSED', sha256: 'a'.repeat(64), detectedType: 'application/pdf' }),
    event: withId(UPLOAD_ID),
  },
  {
    route: 'GET /uploads/{id}/download',
    status: 401,
    code: 'UNAUTHORIZED',
    name: 'a caller without sub',
    event: withId(UPLOAD_ID, { sub: null }),
  },
  {
    route: 'GET /uploads/{id}/download',
    status: 404,
    code: 'NOT_FOUND',
    name: 'an upload that is not PROCESSED',
    arrange: () => storedRecord(),
    event: withId(UPLOAD_ID),
  },
  {
    route: 'GET /uploads/{id}/download',
    status: 503,
    code: 'SERVICE_UNAVAILABLE',
    name: 'DynamoDB throttling',
    arrange: () => ddb.on(GetCommand).rejects(throttling()),
    event: withId(UPLOAD_ID),
  },

  // GET /audit/uploads
  {
    route: 'GET /audit/uploads',
    status: 200,
    name: 'a page with owners and a cursor',
    arrange: () =>
      ddb
        .on(QueryCommand)
        .resolves({ Items: [recordItem(REJECTED)], LastEvaluatedKey: byStatusKey('REJECTED') }),
    event: {
      sub: 'auditor-1',
      groups: AUDITORS,
      queryStringParameters: { status: 'REJECTED', limit: '1', from: '2025-02-01T00:00:00Z' },
    },
  },
  {
    route: 'GET /audit/uploads',
    status: 200,
    name: 'an empty window',
    arrange: () => ddb.on(QueryCommand).resolves({ Items: [] }),
    event: { sub: 'auditor-1', groups: AUDITORS },
  },
  {
    route: 'GET /audit/uploads',
    status: 400,
    code: 'INVALID_QUERY',
    name: 'a from that is not a date-time',
    event: { sub: 'auditor-1', groups: AUDITORS, queryStringParameters: { from: 'yesterday' } },
  },
  {
    route: 'GET /audit/uploads',
    status: 400,
    code: 'INVALID_CURSOR',
    name: 'a forged cursor',
    event: {
      sub: 'auditor-1',
      groups: AUDITORS,
      queryStringParameters: { cursor: base64url({ status: 99 }) },
    },
  },
  {
    route: 'GET /audit/uploads',
    status: 401,
    code: 'UNAUTHORIZED',
    name: 'a caller without sub',
    event: { sub: null, groups: AUDITORS },
  },
  { route: 'GET /audit/uploads', status: 403, code: 'FORBIDDEN', name: 'a caller outside auditors' },
  {
    route: 'GET /audit/uploads',
    status: 503,
    code: 'SERVICE_UNAVAILABLE',
    name: 'DynamoDB throttling',
    arrange: () => ddb.on(QueryCommand).rejects(throttling()),
    event: { sub: 'auditor-1', groups: AUDITORS },
  },
];

async function run(route: Route, event: Omit<ApiEventOptions, 'routeKey'> = {}): Promise<ApiResult> {
  return HANDLERS[route](apiEvent({ routeKey: route, ...event }));
}

function check(
  route: Route,
  result: ApiResult,
  overrides: { status?: number; body?: string } = {},
): string[] {
  const [method = '', path = ''] = route.split(' ');
  return validator.validateResponse(method, path, overrides.status ?? result.statusCode ?? 0, {
    headers: result.headers,
    body: 'body' in overrides ? overrides.body : result.body,
  });
}

beforeEach(() => {
  ddb.reset();
  s3.reset();
  ddb.on(PutCommand).resolves({});
});

describe('responses of the real handlers conform to the OpenAPI document', () => {
  it.each(CASES)('$route $status: $name', async ({ route, status, code, arrange, event }) => {
    // Arrange
    arrange?.();
    // Act
    const result = await run(route, event);
    // Assert
    expect(result.statusCode).toBe(status);
    expect(check(route, result)).toEqual([]);
    if (code !== undefined) expect(jsonBody<ErrorBody>(result).error.code).toBe(code);
  });

  it('covers every documented status of every handler route except 500 on the read routes', () => {
    // Arrange
    const covered = new Set(CASES.map(({ route, status }) => `${route} ${status}`));
    const documented = (Object.keys(HANDLERS) as Route[]).flatMap((route) => {
      const [method = '', path = ''] = route.split(' ');
      return Object.keys(validator.operation(method, path)?.responses ?? {}).map(
        (status) => `${route} ${status}`,
      );
    });
    // Act
    const uncovered = documented.filter((key) => !covered.has(key));
    // Assert
    expect(uncovered).toEqual([
      'GET /uploads 500',
      'GET /uploads/{id} 500',
      'GET /uploads/{id}/download 500',
      'GET /uploads/{id}/events 500',
      'GET /audit/uploads 500',
    ]);
  });

  it('gives POST /uploads 201 a Location equal to statusUrl', async () => {
    // Act
    const result = await run('POST /uploads', create(PDF_REQUEST));
    // Assert
    expect(result.statusCode).toBe(201);
    expect(result.headers?.location).toBe(jsonBody<{ statusUrl: string }>(result).statusUrl);
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('the checks fail when a response drifts from the document', () => {
  it('refuses a field the contract does not have in a closed schema', async () => {
    // Arrange
    const result = await run('POST /uploads', create(PDF_REQUEST));
    const drifted = JSON.stringify({ ...jsonBody(result), owner: OWNER });
    // Act
    const problems = check('POST /uploads', result, { body: drifted });
    // Assert
    expect(problems.join('\n')).toMatch(/must NOT have additional properties.*owner/);
  });

  it('refuses a PROCESSED status without its download URL, and a download on any other status', async () => {
    // Arrange
    storedRecord(PROCESSED);
    const processed = await run('GET /uploads/{id}', withId(UPLOAD_ID));
    const { download, ...withoutDownload } = jsonBody<Record<string, unknown>>(processed);
    const pendingWithDownload = {
      ...withoutDownload,
      status: 'PENDING_UPLOAD',
      expiresAt: NOW.toISOString(),
      download,
    };
    // Act
    const missing = check('GET /uploads/{id}', processed, { body: JSON.stringify(withoutDownload) });
    const unexpected = check('GET /uploads/{id}', processed, { body: JSON.stringify(pendingWithDownload) });
    // Assert
    expect(missing.join('\n')).toMatch(/download/);
    expect(unexpected.join('\n')).toMatch(/must NOT be valid/);
  });

  it('refuses a missing required header and a malformed one', async () => {
    // Arrange
    storedRecord();
    const result = await run('GET /uploads/{id}', withId(UPLOAD_ID));
    const { etag: _etag, ...withoutEtag } = result.headers ?? {};
    // Act
    const missing = check('GET /uploads/{id}', { ...result, headers: withoutEtag });
    const malformed = check('GET /uploads/{id}', {
      ...result,
      headers: { ...result.headers, 'retry-after': 'soon' },
    });
    // Assert
    expect(missing).toEqual(['GET /uploads/{id} 200: required header ETag is missing']);
    expect(malformed.join('\n')).toMatch(/header Retry-After="soon".*must be integer/);
  });

  it('refuses an error code that does not belong to the route and status', async () => {
    // Arrange
    const result = await run('GET /uploads', { queryStringParameters: { limit: '0' } });
    // Act
    const asCreateError = check('POST /uploads', result);
    // Assert
    expect(result.statusCode).toBe(400);
    expect(asCreateError.join('\n')).toMatch(/must be equal to constant/);
  });

  it('refuses an undocumented status, a body on 304, and a content type outside the document', async () => {
    // Arrange
    storedRecord();
    const ok = await run('GET /uploads/{id}', withId(UPLOAD_ID));
    // Act
    const undocumented = check('GET /uploads/{id}', ok, { status: 400 });
    const bodyOn304 = check('GET /uploads/{id}', ok, { status: 304 });
    const textBody = check('GET /uploads/{id}', {
      ...ok,
      headers: { ...ok.headers, 'content-type': 'text/plain' },
    });
    // Assert
    expect(undocumented).toEqual(['GET /uploads/{id} documents no 400 response']);
    expect(bodyOn304.join('\n')).toMatch(/304: documents no body/);
    expect(textBody.join('\n')).toMatch(/Content-Type text\/plain is not one of application\/json/);
  });
});
