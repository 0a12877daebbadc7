import * as samples from '../fixtures/samples.js';
import {
  api,
  createUpload,
  expectApiError,
  sharedRuntime,
  tokenFor,
  uniqueUser,
  upload,
  waitForOutcome,
  type UploadView,
} from './support.js';

/** The status API's HTTP contract: conditional GETs, polling hints, pagination, request errors. */
const runtime = sharedRuntime();

describe('GET /uploads/{id}: polling with ETag and Retry-After', () => {
  it('serves PENDING_UPLOAD with Retry-After and an ETag, 304 on If-None-Match, and a new ETag once PROCESSED', async () => {
    // Arrange
    const token = await tokenFor(runtime, uniqueUser('status'));
    const bytes = samples.csv();
    const created = await createUpload(runtime, token, {
      fileName: 'ledger.csv',
      contentType: samples.MIME.csv,
      size: bytes.length,
      method: 'PUT',
    });
    const path = `/uploads/${created.uploadId}`;
    // Act: before the upload
    const pending = await api<UploadView>(runtime, path, { token });
    const pendingEtag = pending.headers.get('etag') ?? '';
    const notModified = await api(runtime, path, { token, headers: { 'if-none-match': pendingEtag } });
    // Assert
    expect(pending.status).toBe(200);
    expect(pending.body.status).toBe('PENDING_UPLOAD');
    expect(pending.body).not.toHaveProperty('download');
    expect(pending.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(pendingEtag).toMatch(/^"[^"]+"$/);
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    expect(notModified.headers.get('etag')).toBe(pendingEtag);

    // Act: after the upload is processed
    const sent = await upload(created.upload, bytes);
    await waitForOutcome(runtime, token, created.uploadId);
    const processed = await api<UploadView>(runtime, path, { token });
    const staleValidator = await api<UploadView>(runtime, path, {
      token,
      headers: { 'if-none-match': pendingEtag },
    });
    // Assert
    expect(sent.status).toBeLessThan(300);
    expect(processed.status).toBe(200);
    expect(processed.body.status).toBe('PROCESSED');
    expect(processed.body.download).toEqual({
      url: `${runtime.apiUrl}/uploads/${created.uploadId}/download`,
    });
    expect(processed.headers.get('retry-after')).toBeNull();
    expect(processed.headers.get('etag')).toMatch(/^"[^"]+"$/);
    expect(processed.headers.get('etag')).not.toBe(pendingEtag);
    expect(staleValidator.status).toBe(200);
    expect(staleValidator.body.status).toBe('PROCESSED');
  });
});

describe('GET /uploads/{id}/download (issue 13 item 13)', () => {
  it('redirects to a freshly signed URL each time, while the status and its ETag stay the same', async () => {
    // Arrange
    const token = await tokenFor(runtime, uniqueUser('downloader'));
    const bytes = samples.pdf();
    const created = await createUpload(runtime, token, {
      fileName: 'report.pdf',
      contentType: 'application/pdf',
      size: bytes.length,
    });
    await upload(created.upload, bytes);
    await waitForOutcome(runtime, token, created.uploadId);
    const path = `/uploads/${created.uploadId}`;
    const status = await api<UploadView>(runtime, path, { token });
    // Act
    const redirect = await fetch(`${runtime.apiUrl}${path}/download`, {
      headers: { authorization: `Bearer ${token}` },
      redirect: 'manual',
    });
    await redirect.arrayBuffer();
    const signed = await api<{ url: string; expiresAt: string }>(runtime, `${path}/download`, {
      token,
      headers: { accept: 'application/json' },
    });
    const revalidated = await api(runtime, path, {
      token,
      headers: { 'if-none-match': status.headers.get('etag')! },
    });
    // Assert
    expect(redirect.status).toBe(303);
    expect(redirect.headers.get('cache-control')).toBe('no-store');
    const location = redirect.headers.get('location')!;
    expect(new URL(location).pathname).toMatch(new RegExp(`/clean/${created.uploadId}$`));
    const served = await fetch(location);
    expect(Buffer.from(await served.arrayBuffer()).equals(bytes)).toBe(true);
    expect(signed.status).toBe(200);
    expect(Date.parse(signed.body.expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);
    expect(revalidated.status).toBe(304);
    expect(status.text).not.toMatch(/X-Amz-/);
  });

  it('answers 404 for an upload that is not PROCESSED', async () => {
    const token = await tokenFor(runtime, uniqueUser('downloader'));
    const created = await createUpload(runtime, token, {
      fileName: 'a.txt',
      contentType: 'text/plain',
      size: 3,
    });
    const response = await api(runtime, `/uploads/${created.uploadId}/download`, { token });
    expectApiError(response, 404, 'NOT_FOUND');
  });
});

describe('GET /uploads: newest first, with cursor pagination', () => {
  it('returns three uploads over two pages of limit=2, newest first, each exactly once', async () => {
    // Arrange
    const token = await tokenFor(runtime, uniqueUser('lister'));
    const ids: string[] = [];
    for (const name of ['first.txt', 'second.txt', 'third.txt']) {
      const created = await createUpload(runtime, token, {
        fileName: name,
        contentType: samples.MIME.text,
        size: 10,
      });
      ids.push(created.uploadId);
    }
    // Act
    const pages: Array<{ status: number; ids: string[]; cursor?: string }> = [];
    let cursor: string | undefined;
    do {
      const query = `?limit=2${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await api<{ items: UploadView[]; cursor?: string }>(runtime, `/uploads${query}`, {
        token,
      });
      pages.push({
        status: page.status,
        ids: page.body.items.map((item) => item.uploadId),
        ...(page.body.cursor ? { cursor: page.body.cursor } : {}),
      });
      cursor = page.body.cursor;
    } while (cursor !== undefined && pages.length < 5);
    // Assert
    expect(pages.map((page) => page.status)).toEqual(pages.map(() => 200));
    expect(pages[0]?.ids).toHaveLength(2);
    expect(pages[0]?.cursor).toEqual(expect.any(String));
    expect(pages.flatMap((page) => page.ids)).toEqual([...ids].reverse());
    expect(pages.at(-1)?.cursor).toBeUndefined();
  });
});

describe('POST /uploads: refusals in the one error shape', () => {
  it('answers 413 FILE_TOO_LARGE for a size over the type limit, with details.maxBytes', async () => {
    // Arrange
    const token = await tokenFor(runtime, uniqueUser('errors'));
    const maxPdfBytes = 50 * 1024 * 1024;
    // Act
    const response = await api<{ error: { details?: { maxBytes?: number } } }>(runtime, '/uploads', {
      method: 'POST',
      token,
      body: { fileName: 'huge.pdf', contentType: samples.MIME.pdf, size: maxPdfBytes + 1 },
    });
    // Assert
    expectApiError(response, 413, 'FILE_TOO_LARGE');
    expect(response.body.error.details?.maxBytes).toBe(maxPdfBytes);
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE for a type outside the policy, with details.allowed', async () => {
    // Arrange
    const token = await tokenFor(runtime, uniqueUser('errors'));
    // Act
    const response = await api<{ error: { details?: { allowed?: string[] } } }>(runtime, '/uploads', {
      method: 'POST',
      token,
      body: { fileName: 'page.html', contentType: 'text/html', size: 100 },
    });
    // Assert
    expectApiError(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(response.body.error.details?.allowed).toEqual(expect.arrayContaining([samples.MIME.pdf]));
    expect(response.body.error.details?.allowed).not.toContain('text/html');
  });

  it('answers 400 INVALID_JSON for a body that is not JSON', async () => {
    // Arrange
    const token = await tokenFor(runtime, uniqueUser('errors'));
    // Act
    const response = await api(runtime, '/uploads', {
      method: 'POST',
      token,
      rawBody: '{"fileName": "a.txt", "contentType": ',
    });
    // Assert
    expectApiError(response, 400, 'INVALID_JSON');
  });
});
