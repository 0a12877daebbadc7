import { loadOpenApiDocument } from '../../openapi/index.js';
import * as samples from '../fixtures/samples.js';
import { openApiValidator } from '../support/openapi-validator.js';
import {
  api,
  createUpload,
  sharedRuntime,
  tokenFor,
  uniqueUser,
  upload,
  waitForOutcome,
  type ApiResponse,
  type Created,
} from './support.js';

/**
 * Real requests to every route of the shared local runtime, successes and refusals, each
 * response (status, required headers, content type and body) checked against the OpenAPI
 * document in the repository: the document cannot drift from what the runtime answers.
 */
const runtime = sharedRuntime();
const validator = openApiValidator();

type Route =
  | 'POST /uploads'
  | 'GET /uploads'
  | 'GET /uploads/{id}'
  | 'GET /uploads/{id}/download'
  | 'GET /uploads/{id}/events'
  | 'GET /audit/uploads'
  | 'GET /health'
  | 'GET /openapi.json';

/** The problems of a real response against the document for its route (empty when it conforms). */
function conformance(route: Route, response: ApiResponse<unknown>): string[] {
  const [method = '', path = ''] = route.split(' ');
  return validator.validateResponse(method, path, response.status, {
    headers: response.headers,
    body: response.text,
  });
}

/** Asserts the status, the document, and for errors the code. */
function expectDocumented(route: Route, response: ApiResponse<unknown>, status: number, code?: string): void {
  expect({ status: response.status, problems: conformance(route, response) }).toEqual({
    status,
    problems: [],
  });
  if (code !== undefined) expect((response.body as { error?: { code?: string } }).error?.code).toBe(code);
}

const pdfRequest = { fileName: 'Q3 report.pdf', contentType: samples.MIME.pdf, size: 1234 };
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('POST /uploads against the document', () => {
  it('answers 201 with a POST grant and with a PUT grant, Location being the status URL', async () => {
    // Arrange
    const token = await tokenFor(runtime, uniqueUser('oas-create'));
    const bytes = samples.pdf();
    // Act
    const post = await api<Created>(runtime, '/uploads', {
      method: 'POST',
      token,
      body: { ...pdfRequest, size: bytes.length, sha256: samples.sha256Hex(bytes) },
    });
    const put = await api<Created>(runtime, '/uploads', {
      method: 'POST',
      token,
      body: { ...pdfRequest, size: bytes.length, sha256: samples.sha256Hex(bytes), method: 'PUT' },
    });
    // Assert
    expectDocumented('POST /uploads', post, 201);
    expectDocumented('POST /uploads', put, 201);
    expect(post.body.upload.method).toBe('POST');
    expect(put.body.upload.method).toBe('PUT');
    expect(post.headers.get('location')).toBe(post.body.statusUrl);
    expect(post.body.statusUrl).toBe(`${runtime.apiUrl}/uploads/${post.body.uploadId}`);
  });

  const refusals: Array<{
    name: string;
    status: number;
    code: string;
    request: { body?: unknown; rawBody?: string; token?: 'none' | 'garbage' };
  }> = [
    {
      name: 'a body that is not JSON',
      status: 400,
      code: 'INVALID_JSON',
      request: { rawBody: '{"fileName": ' },
    },
    {
      name: 'an unknown field',
      status: 400,
      code: 'INVALID_REQUEST',
      request: { body: { ...pdfRequest, colour: 'red' } },
    },
    {
      name: 'an upper-case sha256',
      status: 400,
      code: 'INVALID_REQUEST',
      request: { body: { ...pdfRequest, sha256: 'A'.repeat(64) } },
    },
    { name: 'no token', status: 401, code: 'UNAUTHORIZED', request: { body: pdfRequest, token: 'none' } },
    {
      name: 'a garbage token',
      status: 401,
      code: 'UNAUTHORIZED',
      request: { body: pdfRequest, token: 'garbage' },
    },
    {
      name: 'a size over the type limit',
      status: 413,
      code: 'FILE_TOO_LARGE',
      request: { body: { ...pdfRequest, size: 50 * 1024 * 1024 + 1 } },
    },
    {
      name: 'a body over 16 KiB',
      status: 413,
      code: 'REQUEST_TOO_LARGE',
      request: { body: { ...pdfRequest, fileName: 'x'.repeat(20 * 1024) } },
    },
    {
      name: 'a body over the local server cut-off of 64 KiB',
      status: 413,
      code: 'REQUEST_TOO_LARGE',
      request: { body: { ...pdfRequest, fileName: 'x'.repeat(80 * 1024) } },
    },
    {
      name: 'an unknown type',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      request: { body: { fileName: 'page.html', contentType: 'text/html', size: 100 } },
    },
  ];

  it.each(refusals)('answers $status $code for $name', async ({ status, code, request }) => {
    // Arrange
    const token =
      request.token === 'none'
        ? undefined
        : request.token === 'garbage'
          ? 'not.a.jwt'
          : await tokenFor(runtime, uniqueUser('oas-refused'));
    // Act
    const response = await api(runtime, '/uploads', {
      method: 'POST',
      ...(token !== undefined ? { token } : {}),
      ...(request.rawBody !== undefined ? { rawBody: request.rawBody } : { body: request.body }),
    });
    // Assert
    expectDocumented('POST /uploads', response, status, code);
  });
});

describe('POST /uploads with Idempotency-Key against the document (issue 13 item 9)', () => {
  it('answers a retry with the same upload, and another request with the key 422', async () => {
    // Arrange
    const token = await tokenFor(runtime, uniqueUser('oas-idempotent'));
    const headers = { 'idempotency-key': `key-${Date.now()}` };
    // Act
    const first = await api<Created>(runtime, '/uploads', {
      method: 'POST',
      token,
      body: pdfRequest,
      headers,
    });
    const retry = await api<Created>(runtime, '/uploads', {
      method: 'POST',
      token,
      body: pdfRequest,
      headers,
    });
    const other = await api(runtime, '/uploads', {
      method: 'POST',
      token,
      body: { ...pdfRequest, fileName: 'other.pdf' },
      headers,
    });
    const malformed = await api(runtime, '/uploads', {
      method: 'POST',
      token,
      body: pdfRequest,
      headers: { 'idempotency-key': 'has space' },
    });
    const listed = await api<{ items: unknown[] }>(runtime, '/uploads', { token });
    // Assert
    expectDocumented('POST /uploads', first, 201);
    expectDocumented('POST /uploads', retry, 201);
    expect(retry.body.uploadId).toBe(first.body.uploadId);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expectDocumented('POST /uploads', other, 422, 'IDEMPOTENCY_KEY_MISMATCH');
    expectDocumented('POST /uploads', malformed, 400, 'INVALID_IDEMPOTENCY_KEY');
    expect(listed.body.items).toHaveLength(1);
  });
});

describe('GET /uploads/{id} and GET /uploads/{id}/events against the document', () => {
  it('answers PENDING_UPLOAD with ETag and Retry-After, then 304 to If-None-Match', async () => {
    // Arrange
    const token = await tokenFor(runtime, uniqueUser('oas-pending'));
    const created = await createUpload(runtime, token, pdfRequest);
    const path = `/uploads/${created.uploadId}`;
    // Act
    const pending = await api(runtime, path, { token });
    const notModified = await api(runtime, path, {
      token,
      headers: { 'if-none-match': pending.headers.get('etag') ?? '' },
    });
    // Assert
    expectDocumented('GET /uploads/{id}', pending, 200);
    expect(pending.headers.get('retry-after')).not.toBeNull();
    expectDocumented('GET /uploads/{id}', notModified, 304);
  });

  it('answers PROCESSED with a download URL, and its trail from ISSUED to PROCESSED, to the owner and to an auditor', async () => {
    // Arrange
    const token = await tokenFor(runtime, uniqueUser('oas-processed'));
    const auditor = await tokenFor(runtime, uniqueUser('oas-auditor'), ['auditors']);
    const bytes = samples.csv();
    const created = await createUpload(runtime, token, {
      fileName: 'ledger.csv',
      contentType: samples.MIME.csv,
      size: bytes.length,
      sha256: samples.sha256Hex(bytes),
      method: 'PUT',
    });
    const sent = await upload(created.upload, bytes);
    await waitForOutcome(runtime, token, created.uploadId);
    // Act
    const processed = await api<{ status: string; download?: unknown }>(
      runtime,
      `/uploads/${created.uploadId}`,
      {
        token,
      },
    );
    const trail = await api<{ events: Array<{ action: string }> }>(
      runtime,
      `/uploads/${created.uploadId}/events`,
      {
        token,
      },
    );
    const audited = await api(runtime, `/uploads/${created.uploadId}/events`, { token: auditor });
    const signed = await api(runtime, `/uploads/${created.uploadId}/download`, {
      token,
      headers: { accept: 'application/json' },
    });
    const redirected = await fetch(`${runtime.apiUrl}/uploads/${created.uploadId}/download`, {
      headers: { authorization: `Bearer ${token}` },
      redirect: 'manual',
    });
    const redirect = {
      status: redirected.status,
      headers: redirected.headers,
      text: await redirected.text(),
      body: undefined,
    };
    const pagedTrail = await api(runtime, `/uploads/${created.uploadId}/events?limit=2`, { token });
    // Assert
    expect(sent.status).toBeLessThan(300);
    expectDocumented('GET /uploads/{id}/download', signed, 200);
    expectDocumented('GET /uploads/{id}/download', redirect, 303);
    expectDocumented('GET /uploads/{id}/events', pagedTrail, 200);
    expect((pagedTrail.body as { cursor?: string }).cursor).toEqual(expect.any(String));
    expectDocumented('GET /uploads/{id}', processed, 200);
    expect(processed.body.status).toBe('PROCESSED');
    expect(processed.headers.get('retry-after')).toBeNull();
    expectDocumented('GET /uploads/{id}/events', trail, 200);
    expect(trail.body.events.map((event) => event.action)).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED']);
    expectDocumented('GET /uploads/{id}/events', audited, 200);
  });

  it('answers REJECTED with its reasons, and the trail with them', async () => {
    // Arrange
    const token = await tokenFor(runtime, uniqueUser('oas-rejected'));
    const bytes = samples.text();
    const created = await createUpload(runtime, token, {
      fileName: 'not-a.pdf',
      contentType: samples.MIME.pdf,
      size: bytes.length,
      method: 'PUT',
    });
    await upload(created.upload, bytes);
    await waitForOutcome(runtime, token, created.uploadId);
    // Act
    const rejected = await api<{ status: string; reasons?: Array<{ code: string }> }>(
      runtime,
      `/uploads/${created.uploadId}`,
      { token },
    );
    const trail = await api(runtime, `/uploads/${created.uploadId}/events`, { token });
    // Assert
    expectDocumented('GET /uploads/{id}', rejected, 200);
    expect(rejected.body.status).toBe('REJECTED');
    expect(rejected.body.reasons?.map((reason) => reason.code)).toContain('TYPE_MISMATCH');
    expectDocumented('GET /uploads/{id}/events', trail, 200);
  });

  it("answers 404 for another user's id, an unknown id and a non-ULID, and 401 without a token", async () => {
    // Arrange
    const owner = await tokenFor(runtime, uniqueUser('oas-owner'));
    const stranger = await tokenFor(runtime, uniqueUser('oas-stranger'));
    const created = await createUpload(runtime, owner, pdfRequest);
    const unknownId = '01JNB8Y6Z4Q2W7E5R3T9K1M0PA';
    // Act
    const others = await api(runtime, `/uploads/${created.uploadId}`, { token: stranger });
    const othersEvents = await api(runtime, `/uploads/${created.uploadId}/events`, { token: stranger });
    const unknown = await api(runtime, `/uploads/${unknownId}`, { token: owner });
    const notUlid = await api(runtime, '/uploads/not-an-id', { token: owner });
    const anonymous = await api(runtime, `/uploads/${created.uploadId}`);
    const anonymousEvents = await api(runtime, `/uploads/${created.uploadId}/events`);
    // Assert
    expectDocumented('GET /uploads/{id}', others, 404, 'NOT_FOUND');
    expectDocumented('GET /uploads/{id}/events', othersEvents, 404, 'NOT_FOUND');
    expectDocumented('GET /uploads/{id}', unknown, 404, 'NOT_FOUND');
    expectDocumented('GET /uploads/{id}', notUlid, 404, 'NOT_FOUND');
    expectDocumented('GET /uploads/{id}', anonymous, 401, 'UNAUTHORIZED');
    expectDocumented('GET /uploads/{id}/events', anonymousEvents, 401, 'UNAUTHORIZED');
  });
});

describe('GET /uploads against the document', () => {
  it('answers pages with and without a cursor, and an auditor listing an owner', async () => {
    // Arrange
    const owner = uniqueUser('oas-lister');
    const token = await tokenFor(runtime, owner);
    const auditor = await tokenFor(runtime, uniqueUser('oas-auditor'), ['auditors']);
    await createUpload(runtime, token, pdfRequest);
    await createUpload(runtime, token, pdfRequest);
    // Act
    const first = await api<{ items: unknown[]; cursor?: string }>(runtime, '/uploads?limit=1', { token });
    const rest = await api<{ items: unknown[]; cursor?: string }>(
      runtime,
      `/uploads?limit=5&cursor=${encodeURIComponent(first.body.cursor ?? '')}`,
      { token },
    );
    const audited = await api<{ items: unknown[] }>(
      runtime,
      `/uploads?owner=${encodeURIComponent(owner)}&status=PENDING_UPLOAD`,
      { token: auditor },
    );
    // Assert
    expectDocumented('GET /uploads', first, 200);
    expect(first.body.cursor).toEqual(expect.any(String));
    expectDocumented('GET /uploads', rest, 200);
    expect(rest.body.items).toHaveLength(1);
    expectDocumented('GET /uploads', audited, 200);
    expect(audited.body.items).toHaveLength(2);
  });

  it.each([
    ['an unknown parameter', '?sort=asc', 'INVALID_QUERY'],
    ['limit=0', '?limit=0', 'INVALID_QUERY'],
    ['an unknown status', '?status=DONE', 'INVALID_QUERY'],
    ['owner from a non-auditor', '?owner=someone-else', 'INVALID_QUERY'],
    ['a cursor that is not one', `?cursor=${base64url({ pk: 'x' })}`, 'INVALID_CURSOR'],
  ])('answers 400 for %s', async (_name, query, code) => {
    // Arrange
    const token = await tokenFor(runtime, uniqueUser('oas-badquery'));
    // Act
    const response = await api(runtime, `/uploads${query}`, { token });
    // Assert
    expectDocumented('GET /uploads', response, 400, code);
  });

  it('answers 401 without a token', async () => {
    // Act
    const response = await api(runtime, '/uploads');
    // Assert
    expectDocumented('GET /uploads', response, 401, 'UNAUTHORIZED');
  });
});

describe('GET /audit/uploads against the document', () => {
  it('answers an auditor with every upload of the window, each with its owner, a page at a time', async () => {
    // Arrange
    const owner = uniqueUser('oas-audited');
    const token = await tokenFor(runtime, owner);
    const auditor = await tokenFor(runtime, uniqueUser('oas-auditor'), ['auditors']);
    const from = new Date(Date.now() - 60_000).toISOString();
    await createUpload(runtime, token, pdfRequest);
    await createUpload(runtime, token, pdfRequest);
    const query = `from=${encodeURIComponent(from)}&owner=${encodeURIComponent(owner)}&status=PENDING_UPLOAD`;
    // Act
    const first = await api<{ items: Array<{ owner: string }>; cursor?: string }>(
      runtime,
      `/audit/uploads?${query}&limit=1`,
      { token: auditor },
    );
    const whole = await api<{ items: Array<{ owner: string }>; cursor?: string }>(
      runtime,
      `/audit/uploads?${query}`,
      { token: auditor },
    );
    // Assert
    expectDocumented('GET /audit/uploads', first, 200);
    expect(first.body.cursor).toEqual(expect.any(String));
    expectDocumented('GET /audit/uploads', whole, 200);
    expect(whole.body.items.map((item) => item.owner)).toEqual([owner, owner]);
  });

  it('answers 403 FORBIDDEN outside the auditors group, 400 for a bad query or cursor, 401 without a token', async () => {
    // Arrange
    const user = await tokenFor(runtime, uniqueUser('oas-not-auditor'));
    const auditor = await tokenFor(runtime, uniqueUser('oas-auditor'), ['auditors']);
    // Act
    const forbidden = await api(runtime, '/audit/uploads', { token: user });
    const badTime = await api(runtime, '/audit/uploads?from=yesterday', { token: auditor });
    const badCursor = await api(runtime, `/audit/uploads?cursor=${base64url({ status: 99 })}`, {
      token: auditor,
    });
    const anonymous = await api(runtime, '/audit/uploads');
    // Assert
    expectDocumented('GET /audit/uploads', forbidden, 403, 'FORBIDDEN');
    expectDocumented('GET /audit/uploads', badTime, 400, 'INVALID_QUERY');
    expectDocumented('GET /audit/uploads', badCursor, 400, 'INVALID_CURSOR');
    expectDocumented('GET /audit/uploads', anonymous, 401, 'UNAUTHORIZED');
  });
});

describe('the runtime routes against the document', () => {
  it('answers GET /health without a token: every part up', async () => {
    // Act
    const response = await api(runtime, '/health');
    // Assert
    expectDocumented('GET /health', response, 200);
  });

  it('serves GET /openapi.json without a token, as JSON, equal to the document in the repository', async () => {
    // Act
    const response = await api(runtime, '/openapi.json');
    // Assert
    expectDocumented('GET /openapi.json', response, 200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toEqual(loadOpenApiDocument());
  });
});
