import 'aws-sdk-client-mock-jest';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { makeGetUploadHandler } from '../../../functions/get-upload.js';
import type { UploadRecord } from '../../../functions/domain/model.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import { API_DOMAIN, apiEvent, jsonBody, responseHeader, type ErrorBody } from './api-events.js';
import { BUCKET, OWNER, UPLOAD_ID, newPresigner, newUploadStore, recordItem } from './aws-fakes.js';

/**
 * Downloads (issue 13 item 13): a 304 must never keep a dead link alive. The status carries a
 * stable link to GET /uploads/{id}/download, which signs a fresh, short-lived URL each time.
 */

const ddb = mockClient(DynamoDBDocumentClient);
let now = new Date('2025-03-01T12:00:00.000Z');
const presigner = newPresigner();
const handler = makeGetUploadHandler(() => ({
  store: newUploadStore(),
  presigner,
  policy: DEFAULT_TYPE_POLICY,
  downloadTtlSeconds: 300,
  now: () => now,
}));

const PROCESSED: Partial<UploadRecord> = {
  status: 'PROCESSED',
  sha256: 'a'.repeat(64),
  detectedType: 'application/pdf',
  storedKey: `clean/${UPLOAD_ID}`,
  updatedAt: '2025-03-01T11:59:30.000Z',
};
const DOWNLOAD_ROUTE = 'GET /uploads/{id}/download';
const LINK = `https://${API_DOMAIN}/uploads/${UPLOAD_ID}/download`;

const request = (
  routeKey: string,
  options: { sub?: string; groups?: string[]; headers?: Record<string, string> } = {},
) =>
  apiEvent({
    routeKey,
    pathParameters: { id: UPLOAD_ID },
    sub: options.sub ?? OWNER,
    ...(options.groups ? { groups: options.groups } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  });

const stored = (overrides: Partial<UploadRecord>) =>
  ddb.on(GetCommand).resolves({ Item: recordItem(overrides) });

beforeEach(() => {
  ddb.reset();
  now = new Date('2025-03-01T12:00:00.000Z');
});

describe('GET /uploads/{id} of a PROCESSED upload', () => {
  it('links to the download route instead of carrying a signed URL', async () => {
    stored(PROCESSED);
    const result = await handler(request('GET /uploads/{id}'));
    expect(jsonBody(result).download).toEqual({ url: LINK });
    expect(result.body).not.toMatch(/X-Amz-|amazonaws\.com/);
  });

  it('sends the same body for the same ETag, however much later it is asked', async () => {
    stored(PROCESSED);
    const first = await handler(request('GET /uploads/{id}'));
    now = new Date(now.getTime() + 3600_000);
    const later = await handler(request('GET /uploads/{id}'));
    expect(responseHeader(later, 'etag')).toBe(responseHeader(first, 'etag'));
    expect(later.body).toBe(first.body);
  });
});

describe('GET /uploads/{id}/download', () => {
  it('redirects (303) to a fresh presigned GET of clean/<id>, never cached', async () => {
    stored(PROCESSED);
    const result = await handler(request(DOWNLOAD_ROUTE));
    expect(result.statusCode).toBe(303);
    const location = new URL(responseHeader(result, 'location') ?? 'invalid:');
    expect(location.hostname).toBe(`${BUCKET}.s3.us-east-1.amazonaws.com`);
    expect(location.pathname).toBe(`/clean/${UPLOAD_ID}`);
    expect(Number(location.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(300);
    expect(location.searchParams.get('response-content-disposition')).toMatch(
      /^attachment; filename="Q3 report\.pdf"/,
    );
    expect(responseHeader(result, 'cache-control')).toBe('no-store');
  });

  it('answers 200 {url, expiresAt} to a client that asks for JSON', async () => {
    stored(PROCESSED);
    const result = await handler(request(DOWNLOAD_ROUTE, { headers: { accept: 'application/json' } }));
    expect(result.statusCode).toBe(200);
    const body = jsonBody<{ url: string; expiresAt: string }>(result);
    expect(new URL(body.url).pathname).toBe(`/clean/${UPLOAD_ID}`);
    expect(body.expiresAt).toBe(new Date(now.getTime() + 300_000).toISOString());
    expect(responseHeader(result, 'location')).toBeUndefined();
    expect(responseHeader(result, 'cache-control')).toBe('no-store');
  });

  it('signs anew on every request, with the time of that request', async () => {
    stored(PROCESSED);
    const sign = jest.spyOn(presigner, 'signDownload');
    const before = Date.now();
    await handler(request(DOWNLOAD_ROUTE));
    const location = responseHeader(await handler(request(DOWNLOAD_ROUTE)), 'location');
    expect(sign).toHaveBeenCalledTimes(2);
    const signedAt = new URL(location!).searchParams.get('X-Amz-Date')!;
    const iso = `${signedAt.slice(0, 4)}-${signedAt.slice(4, 6)}-${signedAt.slice(6, 11)}:${signedAt.slice(11, 13)}:${signedAt.slice(13)}`;
    expect(Date.parse(iso)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    sign.mockRestore();
  });

  it("lets an auditor download anyone's processed file", async () => {
    stored(PROCESSED);
    const result = await handler(request(DOWNLOAD_ROUTE, { sub: 'auditor-carol', groups: ['auditors'] }));
    expect(result.statusCode).toBe(303);
  });

  it.each<[string, Partial<UploadRecord>, string]>([
    ['a PENDING_UPLOAD upload', { status: 'PENDING_UPLOAD' }, OWNER],
    ['a REJECTED upload', { status: 'REJECTED' }, OWNER],
    ['a FAILED upload', { status: 'FAILED' }, OWNER],
    ["another owner's processed upload", PROCESSED, 'user-mallory'],
  ])('answers 404 NOT_FOUND for %s, signing nothing', async (_label, record, sub) => {
    stored(record);
    const result = await handler(request(DOWNLOAD_ROUTE, { sub }));
    expect(result.statusCode).toBe(404);
    expect(jsonBody<ErrorBody>(result).error.code).toBe('NOT_FOUND');
    expect(responseHeader(result, 'location')).toBeUndefined();
  });
});
