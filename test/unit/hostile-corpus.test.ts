import 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { makeCreateUploadHandler, type CreateUploadDeps } from '../../functions/create-upload.js';
import { DEFAULT_TYPE_POLICY } from '../../functions/domain/type-policy.js';
import { UPLOAD_ID_PATTERN } from '../../functions/domain/upload-id.js';
import { DEFAULT_SUB, apiEvent, jsonBody } from './handlers/api-events.js';
import { issuanceGuards, newPresigner, newUploadStore } from './handlers/aws-fakes.js';
import { REQUEST_CATEGORIES, bodyText, loadRequestCases, type HostileRequest } from '../corpus/corpus.js';

/**
 * Runs every case of the hostile input corpus (test/corpus/hostile-requests.json) against the real
 * POST /uploads handler, with real adapters over mocked SDK clients. Every case has a deliberate
 * answer: a 4xx in the API's error shape with nothing written, or a 201. Never a 5xx.
 *
 * How a case's `request` is read is documented with its type in test/corpus/corpus.ts.
 */

const CATEGORIES = REQUEST_CATEGORIES;

const corpus = loadRequestCases();

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

const deps: CreateUploadDeps = {
  store: newUploadStore(),
  presigner: newPresigner(),
  policy: DEFAULT_TYPE_POLICY,
  uploadTtlSeconds: 600,
  abandonedRecordRetentionSeconds: 90 * 86_400,
  now: () => new Date('2025-03-01T12:00:00.000Z'),
  ...issuanceGuards(),
};
const handler = makeCreateUploadHandler(() => deps);

function hostileEvent(request: HostileRequest): APIGatewayProxyEventV2WithJWTAuthorizer {
  const { claims } = request;
  const sub =
    claims === undefined
      ? DEFAULT_SUB
      : claims === null || typeof claims.sub !== 'string'
        ? null
        : claims.sub;
  let body: string | undefined;
  let isBase64Encoded = false;
  if (request.bodyBase64 !== undefined) {
    body = request.bodyBase64;
    isBase64Encoded = true;
  } else {
    body = bodyText(request);
    if (request.base64 === true && body !== undefined) {
      body = Buffer.from(body, 'utf8').toString('base64');
      isBase64Encoded = true;
    }
  }
  const event = apiEvent({
    routeKey: 'POST /uploads',
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded,
    sub,
    headers: { 'content-type': 'application/json', ...(request.headers ?? {}) },
  });
  // Claims other than a string sub (a numeric sub, groups, email) are passed through as given.
  if (claims) {
    const jwtClaims = event.requestContext.authorizer.jwt.claims as Record<string, unknown>;
    for (const [name, value] of Object.entries(claims)) jwtClaims[name] = value;
  }
  return event;
}

beforeEach(() => {
  ddb.reset();
  s3.reset();
  ddb.on(PutCommand).resolves({});
});

describe('the hostile request corpus', () => {
  it('has at least 60 cases with unique kebab-case ids, covering every category', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
    const ids = corpus.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(new Set(corpus.map((c) => c.category))).toEqual(new Set(CATEGORIES));
    for (const c of corpus) {
      expect(c.description).toEqual(expect.any(String));
      expect(c.expect.status === 201 || (c.expect.status >= 400 && c.expect.status < 500)).toBe(true);
      if (c.expect.status !== 201) expect(c.expect.code).toMatch(/^[A-Z]+(_[A-Z]+)*$/);
    }
  });

  it('expands a generated field inside an otherwise valid body', () => {
    const text = bodyText({
      body: { fileName: 'a.pdf', size: 1 },
      generate: { kind: 'deep-array', depth: 3, field: 'fileName' },
    });
    expect(text).toBe('{"fileName":[[[]]],"size":1}');
  });
});

describe.each(CATEGORIES)('POST /uploads with hostile %s input', (category) => {
  const cases = corpus.filter((c) => c.category === category);

  it.each(cases.map((c) => [c.id, c] as const))('%s', async (_id, hostile) => {
    // Act
    const result = await handler(hostileEvent(hostile.request));
    // Assert
    expect(result.statusCode).toBeLessThan(500);
    expect(result.statusCode).toBe(hostile.expect.status);
    const body = jsonBody(result);
    if (hostile.expect.status === 201) {
      expect(body).toMatchObject({
        uploadId: expect.stringMatching(UPLOAD_ID_PATTERN),
        status: 'PENDING_UPLOAD',
      });
      // The record holding its ISSUED event, and the idempotency key when one was sent.
      const keyed = Object.keys(hostile.request.headers ?? {}).some(
        (name) => name.toLowerCase() === 'idempotency-key',
      );
      expect(ddb).toHaveReceivedCommandTimes(PutCommand, keyed ? 2 : 1);
      if (hostile.expect.statusUrlPrefix !== undefined) {
        expect(body.statusUrl).toEqual(
          expect.stringMatching(new RegExp(`^${hostile.expect.statusUrlPrefix}`)),
        );
        expect(result.headers?.location).toEqual(body.statusUrl);
      }
      return;
    }
    expect(Object.keys(body)).toEqual(['error']);
    const error = body.error as Record<string, unknown>;
    expect(error).toEqual(expect.objectContaining({ code: expect.any(String), message: expect.any(String) }));
    for (const key of Object.keys(error)) expect(['code', 'message', 'details']).toContain(key);
    if (hostile.expect.code !== undefined) expect(error.code).toBe(hostile.expect.code);
    expect(ddb.calls()).toHaveLength(0);
    expect(s3.calls()).toHaveLength(0);
  });
});
