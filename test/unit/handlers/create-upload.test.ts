import 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { decodeTime } from 'ulid';
import { makeCreateUploadHandler, type CreateUploadDeps } from '../../../functions/create-upload.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import { UPLOAD_ID_PATTERN } from '../../../functions/domain/upload-id.js';
import * as samples from '../../fixtures/samples.js';
import { API_DOMAIN, apiEvent, jsonBody, responseHeader, type ErrorBody } from './api-events.js';
import {
  BUCKET,
  TABLE_NAME,
  TEST_SECRET_ACCESS_KEY,
  dynamoValidationException,
  newPresigner,
  newUploadStore,
  throttling,
  issuanceGuards,
} from './aws-fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

const NOW = new Date('2025-03-01T12:00:00.000Z');
const TTL_SECONDS = 600;
const RETENTION_SECONDS = 90 * 86_400;
const SUB = 'user-alice';

const deps: CreateUploadDeps = {
  store: newUploadStore(),
  presigner: newPresigner(),
  policy: DEFAULT_TYPE_POLICY,
  uploadTtlSeconds: TTL_SECONDS,
  abandonedRecordRetentionSeconds: RETENTION_SECONDS,
  now: () => NOW,
  ...issuanceGuards(),
};
const handler = makeCreateUploadHandler(() => deps);

const PDF = samples.pdf();
const PDF_SHA256 = samples.sha256Hex(PDF);

const createEvent = (body: unknown, extra: Partial<Parameters<typeof apiEvent>[0]> = {}) =>
  apiEvent({
    routeKey: 'POST /uploads',
    body,
    sub: SUB,
    headers: { 'content-type': 'application/json' },
    ...extra,
  });

interface CreatedBody {
  uploadId: string;
  status: string;
  upload: {
    method: string;
    url: string;
    fields?: Record<string, string>;
    headers?: Record<string, string>;
    expiresAt: string;
  };
  statusUrl: string;
}

/** The Item of the n-th PutCommand sent. */
const putItem = (index: number): Record<string, unknown> => {
  const call = ddb.commandCalls(PutCommand)[index];
  if (call === undefined) throw new Error(`No PutCommand #${index} was sent.`);
  return call.args[0].input.Item ?? {};
};

beforeEach(() => {
  ddb.reset();
  s3.reset();
  ddb.on(PutCommand).resolves({});
});

describe('POST /uploads with method POST', () => {
  const body = {
    fileName: 'Q3 report.pdf',
    contentType: 'application/pdf',
    size: PDF.length,
    sha256: PDF_SHA256,
  };

  it('answers 201 with a ULID upload id minted at the current time', async () => {
    // Act
    const result = await handler(createEvent(body));
    // Assert
    expect(result.statusCode).toBe(201);
    const created = jsonBody<CreatedBody>(result);
    expect(created.uploadId).toMatch(UPLOAD_ID_PATTERN);
    expect(decodeTime(created.uploadId)).toBe(NOW.getTime());
    expect(created.status).toBe('PENDING_UPLOAD');
  });

  it('records PENDING_UPLOAD for the caller with a conditional put that never overwrites', async () => {
    // Act
    const created = jsonBody<CreatedBody>(await handler(createEvent(body)));
    // Assert
    const put = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put?.TableName).toBe(TABLE_NAME);
    expect(put?.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(put?.Item).toMatchObject({
      pk: `UPLOAD#${created.uploadId}`,
      sk: 'RECORD',
      uploadId: created.uploadId,
      status: 'PENDING_UPLOAD',
      statusKey: 'PENDING_UPLOAD',
      owner: SUB,
      ownerKey: SUB,
      fileName: 'Q3 report.pdf',
      contentType: 'application/pdf',
      size: PDF.length,
      declaredSha256: PDF_SHA256,
      method: 'POST',
      createdAt: NOW.toISOString(),
      createdKey: `${NOW.toISOString()}#${created.uploadId}`,
    });
  });

  it('sets the record to expire one upload TTL after now', async () => {
    // Act
    await handler(createEvent(body));
    // Assert
    expect(putItem(0).expiresAt).toBe(new Date(NOW.getTime() + TTL_SECONDS * 1000).toISOString());
  });

  it('writes the record holding its ISSUED event by the caller, with one conditional put', async () => {
    // Act
    const created = jsonBody<CreatedBody>(await handler(createEvent(body)));
    // Assert
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(putItem(0)).toMatchObject({
      trailHead: { seq: 1, at: NOW.toISOString() },
      events: [
        {
          seq: 1,
          uploadId: created.uploadId,
          at: NOW.toISOString(),
          actor: { type: 'user', id: SUB },
          action: 'ISSUED',
          from: null,
          to: 'PENDING_UPLOAD',
          reasons: [],
        },
      ],
    });
  });

  it('lets DynamoDB delete the record (TTL) once it has been abandoned for the retention after its expiry', async () => {
    // Act
    await handler(createEvent(body));
    // Assert: a backstop; the sweeper expires it long before and sets the TTL again from then
    const expiry = Date.parse(String(putItem(0).expiresAt)) / 1000;
    expect(putItem(0).ttl).toBe(expiry + RETENTION_SECONDS);
  });

  it('counts the quota, then writes the record holding its ISSUED event, and sends nothing else', async () => {
    // Act
    await handler(createEvent(body));
    // Assert
    const calls = ddb.calls().map((call) => call.args[0]);
    expect(calls.map((command) => command.constructor.name)).toEqual(['UpdateCommand', 'PutCommand']);
    expect(String((calls[0]?.input as { Key: { pk: string } }).Key.pk)).toMatch(/^QUOTA#[0-9a-f]{64}$/);
    expect(putItem(0).sk).toBe('RECORD');
    expect(s3.calls()).toHaveLength(0);
  });

  it('returns a presigned POST whose fields include a policy pinned to quarantine/<uploadId>', async () => {
    // Act
    const created = jsonBody<CreatedBody>(await handler(createEvent(body)));
    // Assert
    const { upload } = created;
    expect(upload.method).toBe('POST');
    expect(new URL(upload.url).hostname).toContain(BUCKET);
    expect(upload.headers).toBeUndefined();
    const fields = upload.fields ?? {};
    expect(fields).toMatchObject({
      key: `quarantine/${created.uploadId}`,
      'Content-Type': 'application/pdf',
      'x-amz-meta-upload-id': created.uploadId,
      'x-amz-checksum-sha256': Buffer.from(PDF_SHA256, 'hex').toString('base64'),
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    });
    expect(fields['X-Amz-Signature']).toMatch(/^[0-9a-f]{64}$/);
    const policy = JSON.parse(Buffer.from(fields.Policy ?? '', 'base64').toString('utf8')) as {
      expiration: string;
      conditions: unknown[];
    };
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        { key: `quarantine/${created.uploadId}` },
        { 'Content-Type': 'application/pdf' },
        ['content-length-range', PDF.length, PDF.length],
      ]),
    );
  });

  it('returns the grant expiry and a status URL on the API origin that ends with /uploads/<id>', async () => {
    // Act
    const result = await handler(createEvent(body));
    // Assert
    const created = jsonBody<CreatedBody>(result);
    expect(created.upload.expiresAt).toBe('2025-03-01T12:10:00.000Z');
    expect(created.statusUrl).toBe(`https://${API_DOMAIN}/uploads/${created.uploadId}`);
    expect(created.statusUrl.endsWith(`/uploads/${created.uploadId}`)).toBe(true);
    expect(responseHeader(result, 'location')).toBe(created.statusUrl);
  });

  it('keeps a named stage in the status URL', async () => {
    // Act
    const created = jsonBody<CreatedBody>(await handler(createEvent(body, { stage: 'v1' })));
    // Assert
    expect(created.statusUrl).toBe(`https://${API_DOMAIN}/v1/uploads/${created.uploadId}`);
  });

  it('defaults to POST and declares no checksum when no sha256 is given', async () => {
    // Act
    const created = jsonBody<CreatedBody>(
      await handler(createEvent({ fileName: 'a.pdf', contentType: 'application/pdf', size: 10 })),
    );
    // Assert
    expect(created.upload.method).toBe('POST');
    expect(created.upload.fields).not.toHaveProperty('x-amz-checksum-sha256');
    expect(putItem(0)).not.toHaveProperty('declaredSha256');
  });

  it('never puts the secret access key into the response', async () => {
    // Act
    const result = await handler(createEvent(body));
    // Assert
    expect(JSON.stringify(result)).not.toContain(TEST_SECRET_ACCESS_KEY);
  });
});

describe('POST /uploads with method PUT', () => {
  it('returns a presigned PUT with the headers the client must send, including the checksum', async () => {
    // Act
    const result = await handler(
      createEvent({
        fileName: 'Q3 report.pdf',
        contentType: 'application/pdf',
        size: PDF.length,
        sha256: PDF_SHA256,
        method: 'PUT',
      }),
    );
    // Assert
    expect(result.statusCode).toBe(201);
    const { uploadId, upload } = jsonBody<CreatedBody>(result);
    expect(upload.method).toBe('PUT');
    expect(upload.fields).toBeUndefined();
    expect(upload.headers).toEqual({
      'content-type': 'application/pdf',
      'content-length': String(PDF.length),
      'x-amz-meta-upload-id': uploadId,
      'if-none-match': '*',
      'x-amz-checksum-sha256': Buffer.from(PDF_SHA256, 'hex').toString('base64'),
    });
    const url = new URL(upload.url);
    expect(url.pathname).toBe(`/quarantine/${uploadId}`);
    const signed = (url.searchParams.get('X-Amz-SignedHeaders') ?? '').split(';');
    expect(signed).toEqual(
      expect.arrayContaining([
        'content-length',
        'content-type',
        'if-none-match',
        'x-amz-checksum-sha256',
        'x-amz-meta-upload-id',
      ]),
    );
    expect(url.searchParams.get('X-Amz-Expires')).toBe(String(TTL_SECONDS));
  });

  it('omits the checksum header when no sha256 is declared', async () => {
    // Act
    const result = await handler(
      createEvent({ fileName: 'notes.txt', contentType: 'text/plain', size: 42, method: 'PUT' }),
    );
    // Assert
    const { uploadId, upload } = jsonBody<CreatedBody>(result);
    expect(upload.headers).toEqual({
      'content-type': 'text/plain',
      'content-length': '42',
      'x-amz-meta-upload-id': uploadId,
      'if-none-match': '*',
    });
    expect(upload.url).not.toContain('x-amz-checksum-sha256');
  });

  it('records the PUT method', async () => {
    // Act
    await handler(createEvent({ fileName: 'notes.txt', contentType: 'text/plain', size: 42, method: 'PUT' }));
    // Assert
    expect(putItem(0).method).toBe('PUT');
  });

  it('never puts the secret access key into the response', async () => {
    // Act
    const result = await handler(
      createEvent({ fileName: 'notes.txt', contentType: 'text/plain', size: 42, method: 'PUT' }),
    );
    // Assert
    expect(JSON.stringify(result)).not.toContain(TEST_SECRET_ACCESS_KEY);
  });
});

describe('POST /uploads refusals', () => {
  const expectNoDynamoDbCall = () => {
    expect(ddb.calls()).toHaveLength(0);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  };
  const valid = { fileName: 'a.pdf', contentType: 'application/pdf', size: 100 };

  it('answers 401 UNAUTHORIZED when the token has no sub claim', async () => {
    // Act
    const result = await handler(createEvent(valid, { sub: null }));
    // Assert
    expect(result.statusCode).toBe(401);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('UNAUTHORIZED');
    expectNoDynamoDbCall();
  });

  it('answers 401 when the sub claim is blank', async () => {
    // Act
    const result = await handler(createEvent(valid, { sub: '  ' }));
    // Assert
    expect(result.statusCode).toBe(401);
    expectNoDynamoDbCall();
  });

  it('answers 400 INVALID_JSON for a body that is not JSON', async () => {
    // Act
    const result = await handler(createEvent('{"fileName": "a.pdf",'));
    // Assert
    expect(result.statusCode).toBe(400);
    const { error } = jsonBody<ErrorBody>(result);
    expect(error.code).toBe('INVALID_JSON');
    expect(error.message).toEqual(expect.any(String));
    expectNoDynamoDbCall();
  });

  it('answers 400 INVALID_JSON when the body is missing', async () => {
    // Act
    const result = await handler(createEvent(undefined));
    // Assert
    expect(result.statusCode).toBe(400);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('INVALID_JSON');
    expectNoDynamoDbCall();
  });

  it('answers 400 INVALID_REQUEST listing each invalid field under details.issues', async () => {
    // Act
    const result = await handler(
      createEvent({
        fileName: 'a.pdf',
        contentType: 'application/pdf',
        size: -1,
        sha256: 'ABC',
        extra: true,
      }),
    );
    // Assert
    expect(result.statusCode).toBe(400);
    const { error } = jsonBody<ErrorBody>(result);
    expect(error.code).toBe('INVALID_REQUEST');
    const issues = error.details?.issues as Array<{ path: string; message: string }>;
    expect(issues.map((issue) => issue.path)).toEqual(expect.arrayContaining(['size', 'sha256']));
    expect(issues.find((issue) => issue.path === 'sha256')?.message).toContain('64 lowercase hex');
    expectNoDynamoDbCall();
  });

  it('answers 400 INVALID_REQUEST for an uppercase sha256', async () => {
    // Act
    const result = await handler(createEvent({ ...valid, sha256: PDF_SHA256.toUpperCase() }));
    // Assert
    expect(result.statusCode).toBe(400);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('INVALID_REQUEST');
    expectNoDynamoDbCall();
  });

  it('answers 413 FILE_TOO_LARGE when the size is over the type limit', async () => {
    // Arrange
    const maxBytes = DEFAULT_TYPE_POLICY['application/pdf']?.maxBytes ?? 0;
    // Act
    const result = await handler(createEvent({ ...valid, size: maxBytes + 1 }));
    // Assert
    expect(result.statusCode).toBe(413);
    const { error } = jsonBody<ErrorBody>(result);
    expect(error.code).toBe('FILE_TOO_LARGE');
    expect(error.details).toEqual({ maxBytes });
    expectNoDynamoDbCall();
  });

  it('accepts a size exactly at the type limit', async () => {
    // Arrange
    const maxBytes = DEFAULT_TYPE_POLICY['application/pdf']?.maxBytes ?? 0;
    // Act
    const result = await handler(createEvent({ ...valid, size: maxBytes }));
    // Assert
    expect(result.statusCode).toBe(201);
  });

  it('answers 413 REQUEST_TOO_LARGE for a body over 16 KiB', async () => {
    // Act
    const result = await handler(createEvent({ ...valid, fileName: 'x'.repeat(17 * 1024) }));
    // Assert
    expect(result.statusCode).toBe(413);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('REQUEST_TOO_LARGE');
    expectNoDynamoDbCall();
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE for a type outside the policy, listing the allowed ones', async () => {
    // Act
    const result = await handler(createEvent({ ...valid, contentType: 'application/x-msdownload' }));
    // Assert
    expect(result.statusCode).toBe(415);
    const { error } = jsonBody<ErrorBody>(result);
    expect(error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(error.details?.allowed).toEqual(Object.keys(DEFAULT_TYPE_POLICY).sort());
    expectNoDynamoDbCall();
  });

  it('uses exactly the error shape {error:{code,message,details?}} and a JSON content type', async () => {
    // Act
    const result = await handler(createEvent({ ...valid, contentType: 'text/html' }));
    // Assert
    const parsed = jsonBody<Record<string, unknown>>(result);
    expect(Object.keys(parsed)).toEqual(['error']);
    expect(Object.keys(parsed.error as object).sort()).toEqual(['code', 'details', 'message']);
    expect(responseHeader(result, 'content-type')).toBe('application/json; charset=utf-8');
  });
});

describe('POST /uploads dependency failures', () => {
  const valid = { fileName: 'a.pdf', contentType: 'application/pdf', size: 100 };

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After when DynamoDB throttles', async () => {
    // Arrange
    ddb.on(PutCommand).rejects(throttling());
    // Act
    const result = await handler(createEvent(valid));
    // Assert
    expect(result.statusCode).toBe(503);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('SERVICE_UNAVAILABLE');
    expect(responseHeader(result, 'retry-after')).toBe('2');
  });

  it('answers 500 INTERNAL_ERROR without the internal message for an unexpected error', async () => {
    // Arrange
    const internal = 'Table arn:aws:dynamodb:us-east-1:123456789012:table/airlock-test secret-detail-42';
    ddb.on(PutCommand).rejects(dynamoValidationException(internal));
    // Act
    const result = await handler(createEvent(valid));
    // Assert
    expect(result.statusCode).toBe(500);
    const { error } = jsonBody<ErrorBody>(result);
    expect(error).toEqual({ code: 'INTERNAL_ERROR', message: 'An internal error occurred.' });
    expect(result.body).not.toContain('secret-detail-42');
    expect(result.body).not.toContain('ValidationException');
    expect(result.body).not.toContain('arn:aws');
  });

  it('answers 500 when a plain programming error escapes, without its message', async () => {
    // Arrange
    const broken = makeCreateUploadHandler(() => {
      throw new TypeError('Cannot read properties of undefined (reading "tableName") at /var/task/index.js');
    });
    // Act
    const result = await broken(createEvent(valid));
    // Assert
    expect(result.statusCode).toBe(500);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('INTERNAL_ERROR');
    expect(result.body).not.toContain('/var/task');
  });

  it('does not issue a grant when the record cannot be written', async () => {
    // Arrange
    ddb.on(PutCommand).rejects(throttling());
    // Act
    const result = await handler(createEvent(valid));
    // Assert
    expect(result.statusCode).toBe(503);
    expect(result.body).not.toContain('quarantine/');
  });
});
