import {
  AirlockApiError,
  AirlockClient,
  AirlockNetworkError,
  AirlockTimeoutError,
  BACKOFF_MAX_MS,
  contentTypeFor,
  newIdempotencyKey,
  parseRetryAfter,
} from '../../../client/index.js';
import { apiError, fakeClock, fakeFetch, json, view } from './fake-fetch.js';

const BASE = 'http://api.test/v1/';

function clientWith(answers: Parameters<typeof fakeFetch>[0], clock = fakeClock()) {
  const fake = fakeFetch(answers);
  const client = new AirlockClient({ baseUrl: BASE, token: 'tok', fetch: fake.fetch, clock });
  return { client, requests: fake.requests, clock };
}

describe('AirlockClient: requests', () => {
  it('createUpload POSTs the JSON declaration with the bearer token to <base>/uploads', async () => {
    // Arrange
    const created = {
      uploadId: '01JUPLOAD',
      status: 'PENDING_UPLOAD',
      upload: { method: 'PUT', url: 'http://s3/x', headers: {}, expiresAt: 'later' },
      statusUrl: 'http://api.test/v1/uploads/01JUPLOAD',
    };
    const { client, requests } = clientWith([json(201, created)]);
    const request = { fileName: 'a.pdf', contentType: 'application/pdf', size: 3, method: 'PUT' as const };
    // Act
    const result = await client.createUpload(request);
    // Assert
    expect(result).toEqual(created);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.url).toBe('http://api.test/v1/uploads');
    expect(requests[0]!.method).toBe('POST');
    expect(requests[0]!.headers.get('authorization')).toBe('Bearer tok');
    expect(requests[0]!.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(new TextDecoder().decode(requests[0]!.body))).toEqual(request);
  });

  it('retries an unanswered createUpload with the same Idempotency-Key (issue 13 item 9)', async () => {
    // Arrange
    const created = {
      uploadId: '01JUPLOAD',
      status: 'PENDING_UPLOAD',
      upload: { method: 'PUT', url: 'http://s3/x', headers: {}, expiresAt: 'later' },
      statusUrl: 'http://api.test/v1/uploads/01JUPLOAD',
    };
    const { client, requests } = clientWith([
      new TypeError('fetch failed'),
      json(503, { error: { code: 'SERVICE_UNAVAILABLE', message: 'busy' } }),
      json(201, created),
    ]);
    // Act
    const result = await client.createUpload(
      { fileName: 'a.pdf', contentType: 'application/pdf', size: 3 },
      { idempotencyKey: 'key-123' },
    );
    // Assert
    expect(result.uploadId).toBe('01JUPLOAD');
    expect(requests.map((r) => r.headers.get('idempotency-key'))).toEqual(['key-123', 'key-123', 'key-123']);
  });

  it('newIdempotencyKey gives 32 random hex characters', () => {
    expect(newIdempotencyKey()).toMatch(/^[0-9a-f]{32}$/);
    expect(newIdempotencyKey()).not.toBe(newIdempotencyKey());
  });

  it('does not retry createUpload without a key, nor a quota refusal, which carries Retry-After', async () => {
    // Arrange
    const quota = () =>
      new Response(JSON.stringify({ error: { code: 'QUOTA_EXCEEDED', message: 'too many', details: {} } }), {
        status: 429,
        headers: { 'content-type': 'application/json', 'retry-after': '120' },
      });
    const withoutKey = clientWith([new TypeError('fetch failed')]);
    const withKey = clientWith([quota()]);
    const request = { fileName: 'a.pdf', contentType: 'application/pdf', size: 3 };
    // Act / Assert
    await expect(withoutKey.client.createUpload(request)).rejects.toMatchObject({
      name: 'AirlockNetworkError',
    });
    await expect(withKey.client.createUpload(request, { idempotencyKey: 'k' })).rejects.toMatchObject({
      status: 429,
      code: 'QUOTA_EXCEEDED',
      retryAfterSeconds: 120,
    });
    expect([withoutKey.requests.length, withKey.requests.length]).toEqual([1, 1]);
  });

  it('asks a token function for every request, so tokens can be refreshed', async () => {
    // Arrange
    const fake = fakeFetch([json(200, view('PROCESSING')), json(200, view('PROCESSED'))]);
    let issued = 0;
    const client = new AirlockClient({
      baseUrl: BASE,
      token: () => Promise.resolve(`tok-${++issued}`),
      fetch: fake.fetch,
    });
    // Act
    await client.getUpload('01JUPLOAD');
    await client.getUpload('01JUPLOAD');
    // Assert
    expect(fake.requests.map((r) => r.headers.get('authorization'))).toEqual([
      'Bearer tok-1',
      'Bearer tok-2',
    ]);
  });

  it('encodes ids in paths', async () => {
    // Arrange
    const { client, requests } = clientWith([json(200, { uploadId: 'a/b', events: [] })]);
    // Act
    await client.getEvents('a/b?c');
    // Assert
    expect(requests[0]!.url).toBe('http://api.test/v1/uploads/a%2Fb%3Fc/events');
  });

  it('reads the whole trail across pages, following cursor (issue 13 item 8)', async () => {
    // Arrange
    const event = (at: string) => ({
      at,
      actor: { type: 'system', id: 'claim' },
      action: 'CLAIMED',
      from: null,
      to: null,
      reasons: [],
    });
    const { client, requests } = clientWith([
      json(200, { uploadId: 'u1', events: [event('t1'), event('t2')], cursor: 'c/1' }),
      json(200, { uploadId: 'u1', events: [event('t3')] }),
    ]);
    // Act
    const events = await client.getEvents('u1');
    // Assert
    expect(events.map((e) => e.at)).toEqual(['t1', 't2', 't3']);
    expect(requests.map((r) => r.url)).toEqual([
      'http://api.test/v1/uploads/u1/events',
      'http://api.test/v1/uploads/u1/events?cursor=c%2F1',
    ]);
  });

  it('pages events with a limit and stops when a cursor repeats', async () => {
    // Arrange
    const { client, requests } = clientWith([
      json(200, { uploadId: 'u1', events: [], cursor: 'same' }),
      json(200, { uploadId: 'u1', events: [], cursor: 'same' }),
    ]);
    // Act
    const pages = async () => {
      for await (const _page of client.eventPages('u1', { limit: 5 })) {
        // read every page
      }
    };
    // Assert
    await expect(pages()).rejects.toMatchObject({ code: 'INVALID_RESPONSE' });
    expect(requests[0]!.url).toBe('http://api.test/v1/uploads/u1/events?limit=5');
  });

  it('refuses a base URL that is not http(s)', () => {
    // Arrange
    const make = () => new AirlockClient({ baseUrl: 'localhost:3000', token: 't' });
    // Act / Assert
    expect(make).toThrow(/http\(s\) URL/);
  });
});

describe('AirlockClient: errors are typed and carry the API error code', () => {
  it('maps the API error shape to AirlockApiError with status, code, message and details', async () => {
    // Arrange
    const { client } = clientWith([
      apiError(413, 'FILE_TOO_LARGE', 'The file is too large.', { maxBytes: 52428800 }),
    ]);
    // Act
    const error = await client
      .createUpload({ fileName: 'a.pdf', contentType: 'application/pdf', size: 1e12 })
      .catch((e: unknown) => e);
    // Assert
    expect(error).toBeInstanceOf(AirlockApiError);
    expect(error).toMatchObject({
      name: 'AirlockApiError',
      status: 413,
      code: 'FILE_TOO_LARGE',
      message: 'The file is too large.',
      details: { maxBytes: 52428800 },
    });
  });

  it("maps API Gateway's own {message} body to a code from the status", async () => {
    // Arrange
    const { client } = clientWith([json(401, { message: 'Unauthorized' })]);
    // Act
    const error = await client.getUpload('x').catch((e: unknown) => e);
    // Assert
    expect(error).toMatchObject({ status: 401, code: 'UNAUTHORIZED', message: 'Unauthorized' });
  });

  it('maps a non-JSON error body to HTTP_<status> and keeps Retry-After', async () => {
    // Arrange
    const { client } = clientWith([
      new Response('<html>bad gateway</html>', { status: 599, headers: { 'retry-after': '7' } }),
    ]);
    // Act
    const error = await client.getUpload('x').catch((e: unknown) => e);
    // Assert
    expect(error).toMatchObject({ status: 599, code: 'HTTP_599', retryAfterSeconds: 7 });
  });

  it('maps a success that is not JSON to INVALID_RESPONSE', async () => {
    // Arrange
    const { client } = clientWith([new Response('<html/>', { status: 200 })]);
    // Act
    const error = await client.getUpload('x').catch((e: unknown) => e);
    // Assert
    expect(error).toMatchObject({ name: 'AirlockApiError', code: 'INVALID_RESPONSE' });
  });

  it('maps a connection failure to AirlockNetworkError naming the origin and the cause', async () => {
    // Arrange
    const failure = new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    const { client } = clientWith([failure]);
    // Act
    const error = await client.getUpload('x').catch((e: unknown) => e);
    // Assert
    expect(error).toBeInstanceOf(AirlockNetworkError);
    expect((error as Error).message).toBe('Cannot reach http://api.test: ECONNREFUSED');
  });

  it('passes an abort through as the signal reason', async () => {
    // Arrange
    const controller = new AbortController();
    const reason = new Error('stopped by the user');
    controller.abort(reason);
    const { client } = clientWith([new DOMException('aborted', 'AbortError')]);
    // Act
    const error = await client.getUpload('x', { signal: controller.signal }).catch((e: unknown) => e);
    // Assert
    expect(error).toBe(reason);
  });
});

describe('AirlockClient.getUploadIfChanged (ETag)', () => {
  it('sends If-None-Match and reports a 304 as not modified, with Retry-After', async () => {
    // Arrange
    const { client, requests } = clientWith([
      new Response(null, { status: 304, headers: { etag: '"e1"', 'retry-after': '2' } }),
    ]);
    // Act
    const snapshot = await client.getUploadIfChanged('01JUPLOAD', '"e1"');
    // Assert
    expect(requests[0]!.headers.get('if-none-match')).toBe('"e1"');
    expect(snapshot).toEqual({ modified: false, etag: '"e1"', retryAfterSeconds: 2 });
  });

  it('returns the new view and ETag on 200', async () => {
    // Arrange
    const { client, requests } = clientWith([json(200, view('PROCESSED'), { etag: '"e2"' })]);
    // Act
    const snapshot = await client.getUploadIfChanged('01JUPLOAD', undefined);
    // Assert
    expect(requests[0]!.headers.has('if-none-match')).toBe(false);
    expect(snapshot).toEqual({ modified: true, upload: view('PROCESSED'), etag: '"e2"' });
  });
});

describe('AirlockClient.waitForOutcome', () => {
  it('polls with the ETag, honours Retry-After, and returns the terminal view', async () => {
    // Arrange
    const updates: string[] = [];
    const { client, requests, clock } = clientWith([
      json(200, view('PENDING_UPLOAD'), { etag: '"a"', 'retry-after': '2' }),
      new Response(null, { status: 304, headers: { etag: '"a"', 'retry-after': '2' } }),
      json(200, view('PROCESSING'), { etag: '"b"', 'retry-after': '1' }),
      json(200, view('REJECTED', { reasons: [{ code: 'TYPE_MISMATCH', message: 'm' }] }), { etag: '"c"' }),
    ]);
    // Act
    const outcome = await client.waitForOutcome('01JUPLOAD', {
      onUpdate: (upload) => updates.push(upload.status),
    });
    // Assert
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reasons).toEqual([{ code: 'TYPE_MISMATCH', message: 'm' }]);
    expect(requests.map((r) => r.headers.get('if-none-match'))).toEqual([null, '"a"', '"a"', '"b"']);
    expect(clock.sleeps).toEqual([2000, 2000, 1000]);
    expect(updates).toEqual(['PENDING_UPLOAD', 'PROCESSING', 'REJECTED']);
  });

  it('backs off exponentially from 250 ms, capped at 5 s, without Retry-After', async () => {
    // Arrange
    const pending = () => json(200, view('PROCESSING'), { etag: '"same"' });
    const notModified = () => new Response(null, { status: 304, headers: { etag: '"same"' } });
    const { client, clock } = clientWith([
      pending(),
      ...Array.from({ length: 7 }, notModified),
      json(200, view('PROCESSED'), { etag: '"done"' }),
    ]);
    // Act
    await client.waitForOutcome('01JUPLOAD');
    // Assert
    expect(clock.sleeps).toEqual([
      250,
      500,
      1000,
      2000,
      4000,
      BACKOFF_MAX_MS,
      BACKOFF_MAX_MS,
      BACKOFF_MAX_MS,
    ]);
  });

  it('throws AirlockTimeoutError with the last view once the deadline has passed', async () => {
    // Arrange
    const { client, requests, clock } = clientWith([
      json(200, view('PENDING_UPLOAD'), { etag: '"a"', 'retry-after': '2' }),
      new Response(null, { status: 304, headers: { 'retry-after': '2' } }),
      new Response(null, { status: 304, headers: { 'retry-after': '2' } }),
    ]);
    // Act
    const error = await client.waitForOutcome('01JUPLOAD', { timeoutMs: 3000 }).catch((e: unknown) => e);
    // Assert
    expect(error).toBeInstanceOf(AirlockTimeoutError);
    expect(error).toMatchObject({
      uploadId: '01JUPLOAD',
      timeoutMs: 3000,
      last: { status: 'PENDING_UPLOAD' },
    });
    expect(clock.sleeps).toEqual([2000, 1000]); // the last pause is cut to the deadline
    expect(requests).toHaveLength(3);
  });

  it('retries throttling (503 with Retry-After) and network errors, then carries on', async () => {
    // Arrange
    const { client, clock } = clientWith([
      apiError(503, 'SERVICE_UNAVAILABLE', 'busy', undefined, { 'retry-after': '3' }),
      new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }),
      json(200, view('PROCESSED'), { etag: '"a"' }),
    ]);
    // Act
    const outcome = await client.waitForOutcome('01JUPLOAD');
    // Assert
    expect(outcome.status).toBe('PROCESSED');
    expect(clock.sleeps).toEqual([3000, 500]);
  });

  it('throws other API errors at once', async () => {
    // Arrange
    const { client, requests } = clientWith([apiError(404, 'NOT_FOUND')]);
    // Act
    const error = await client.waitForOutcome('01JUPLOAD').catch((e: unknown) => e);
    // Assert
    expect(error).toMatchObject({ name: 'AirlockApiError', status: 404, code: 'NOT_FOUND' });
    expect(requests).toHaveLength(1);
  });
});

describe('AirlockClient: cursor iteration', () => {
  it('listUploads yields every page, following the cursor with the same filters', async () => {
    // Arrange
    const { client, requests } = clientWith([
      json(200, { items: [view('PROCESSED', { uploadId: 'A' })], cursor: 'c1' }),
      json(200, { items: [view('PROCESSED', { uploadId: 'B' })], cursor: 'c2' }),
      json(200, { items: [view('PROCESSED', { uploadId: 'C' })] }),
    ]);
    // Act
    const ids: string[] = [];
    for await (const page of client.listUploads({ status: 'PROCESSED', limit: 1 })) {
      ids.push(...page.items.map((item) => item.uploadId));
    }
    // Assert
    expect(ids).toEqual(['A', 'B', 'C']);
    expect(requests.map((r) => r.url)).toEqual([
      'http://api.test/v1/uploads?status=PROCESSED&limit=1',
      'http://api.test/v1/uploads?status=PROCESSED&limit=1&cursor=c1',
      'http://api.test/v1/uploads?status=PROCESSED&limit=1&cursor=c2',
    ]);
  });

  it('stops fetching when the caller breaks out', async () => {
    // Arrange
    const { client, requests } = clientWith([json(200, { items: [view('PROCESSED')], cursor: 'c1' })]);
    // Act
    for await (const page of client.listUploads()) {
      expect(page.items).toHaveLength(1);
      break;
    }
    // Assert
    expect(requests).toHaveLength(1);
  });

  it('refuses a cursor that comes back twice instead of looping forever', async () => {
    // Arrange
    const { client } = clientWith([
      json(200, { items: [], cursor: 'same' }),
      json(200, { items: [], cursor: 'same' }),
    ]);
    // Act
    const pages = async () => {
      for await (const _page of client.listUploads()) {
        // draining
      }
    };
    // Assert
    await expect(pages()).rejects.toMatchObject({ code: 'INVALID_RESPONSE' });
  });

  it('auditUploads sends the window as ISO instants with the filters, page by page', async () => {
    // Arrange
    const item = { ...view('REJECTED'), owner: 'alice' };
    const { client, requests } = clientWith([
      json(200, { items: [item], cursor: 'next' }),
      json(200, { items: [] }),
    ]);
    // Act
    const owners: string[] = [];
    for await (const page of client.auditUploads({
      from: new Date('2025-01-01T00:00:00Z'),
      to: '2025-01-02',
      status: 'REJECTED',
      owner: 'alice',
      limit: 50,
    })) {
      owners.push(...page.items.map((upload) => upload.owner));
    }
    // Assert
    expect(owners).toEqual(['alice']);
    const urls = requests.map((r) => new URL(r.url));
    expect(urls[0]!.pathname).toBe('/v1/audit/uploads');
    expect(Object.fromEntries(urls[1]!.searchParams)).toEqual({
      from: '2025-01-01T00:00:00.000Z',
      to: '2025-01-02T00:00:00.000Z',
      status: 'REJECTED',
      owner: 'alice',
      limit: '50',
      cursor: 'next',
    });
  });

  it('auditUploads surfaces 403 FORBIDDEN for non-auditors', async () => {
    // Arrange
    const { client } = clientWith([apiError(403, 'FORBIDDEN', 'Auditors only.')]);
    // Act
    const first = client.auditUploads({ from: '2025-01-01', to: '2025-01-02' }).next();
    // Assert
    await expect(first).rejects.toMatchObject({ name: 'AirlockApiError', status: 403, code: 'FORBIDDEN' });
  });
});

describe('helpers', () => {
  it('parseRetryAfter reads delta-seconds and HTTP dates', () => {
    // Arrange
    const now = Date.parse('2025-01-01T00:00:00Z');
    // Act
    const parsed = [
      parseRetryAfter('3', now),
      parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now),
      parseRetryAfter('soon', now),
      parseRetryAfter(null, now),
    ];
    // Assert
    expect(parsed).toEqual([3, 10, undefined, undefined]);
  });

  it('contentTypeFor maps the default policy extensions, case-insensitively', () => {
    // Arrange
    const names = [
      'a.PDF',
      'b.jpg',
      'c.jpeg',
      'd.docx',
      'e.xlsx',
      'f.csv',
      'g.txt',
      'h.png',
      'i.exe',
      'noext',
    ];
    // Act
    const types = names.map(contentTypeFor);
    // Assert
    expect(types).toEqual([
      'application/pdf',
      'image/jpeg',
      'image/jpeg',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'text/csv',
      'text/plain',
      'image/png',
      undefined,
      undefined,
    ]);
  });
});
