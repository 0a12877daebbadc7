import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../local/auth.js';
import { newUploadId } from '../../functions/domain/upload-id.js';
import * as samples from '../fixtures/samples.js';
import {
  api,
  createUpload,
  expectApiError,
  sharedRuntime,
  tokenFor,
  uniqueUser,
  waitUntilClockPasses,
  type Created,
  type UploadView,
} from './support.js';

/**
 * Who may read what: owners their own uploads, auditors everyone's; anyone else gets 404 (never
 * 403) so that upload ids cannot be probed. Every route needs a valid token from the local
 * issuer; every refusal has the one error shape.
 */
const runtime = sharedRuntime();

async function someonesUpload(label: string): Promise<{ owner: string; token: string; created: Created }> {
  const owner = uniqueUser(label);
  const token = await tokenFor(runtime, owner);
  const created = await createUpload(runtime, token, {
    fileName: 'private.pdf',
    contentType: samples.MIME.pdf,
    size: 1234,
  });
  return { owner, token, created };
}

const routesFor = (uploadId: string) => [
  { method: 'GET', path: `/uploads/${uploadId}` },
  { method: 'GET', path: `/uploads/${uploadId}/events` },
  { method: 'GET', path: '/uploads' },
  { method: 'POST', path: '/uploads' },
];

const createBody = { fileName: 'a.txt', contentType: samples.MIME.text, size: 3 };

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('access: owners, auditors and everyone else', () => {
  it("answers 404 for another user's upload and its events, exactly as for an id that does not exist", async () => {
    // Arrange
    const { created } = await someonesUpload('owner');
    const stranger = await tokenFor(runtime, uniqueUser('stranger'));
    const unknownId = newUploadId();
    // Act
    const status = await api(runtime, `/uploads/${created.uploadId}`, { token: stranger });
    const events = await api(runtime, `/uploads/${created.uploadId}/events`, { token: stranger });
    const unknown = await api(runtime, `/uploads/${unknownId}`, { token: stranger });
    const unknownEvents = await api(runtime, `/uploads/${unknownId}/events`, { token: stranger });
    // Assert
    expectApiError(status, 404, 'NOT_FOUND');
    expectApiError(events, 404, 'NOT_FOUND');
    expect(status.text).not.toContain(created.uploadId);
    expect(status.body).toEqual(unknown.body);
    expect(events.body).toEqual(unknownEvents.body);
  });

  it("leaves another user's upload out of GET /uploads", async () => {
    // Arrange
    const { created } = await someonesUpload('owner');
    const stranger = uniqueUser('stranger');
    const strangerToken = await tokenFor(runtime, stranger);
    const own = await createUpload(runtime, strangerToken, createBody);
    // Act
    const listed = await api<{ items: UploadView[] }>(runtime, '/uploads', { token: strangerToken });
    // Assert
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((item) => item.uploadId)).toEqual([own.uploadId]);
    expect(listed.text).not.toContain(created.uploadId);
  });

  it("lets an auditor read anyone's upload and its trail, and list by ?owner=", async () => {
    // Arrange
    const { owner, created } = await someonesUpload('owner');
    const auditor = await tokenFor(runtime, uniqueUser('auditor'), ['auditors']);
    // Act
    const status = await api<UploadView>(runtime, `/uploads/${created.uploadId}`, { token: auditor });
    const events = await api<{ events: Array<{ action: string }> }>(
      runtime,
      `/uploads/${created.uploadId}/events`,
      { token: auditor },
    );
    const listed = await api<{ items: UploadView[] }>(
      runtime,
      `/uploads?owner=${encodeURIComponent(owner)}`,
      {
        token: auditor,
      },
    );
    // Assert
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ uploadId: created.uploadId, status: 'PENDING_UPLOAD' });
    expect(events.status).toBe(200);
    expect(events.body.events.map((event) => event.action)).toEqual(['ISSUED']);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((item) => item.uploadId)).toEqual([created.uploadId]);
  });

  it('refuses ?owner= from a caller who is not an auditor with 400 INVALID_QUERY', async () => {
    // Arrange
    const { owner } = await someonesUpload('owner');
    const stranger = await tokenFor(runtime, uniqueUser('stranger'), ['users']);
    // Act
    const listed = await api(runtime, `/uploads?owner=${encodeURIComponent(owner)}`, { token: stranger });
    // Assert
    expectApiError(listed, 400, 'INVALID_QUERY');
  });
});

describe('authentication: only valid tokens from the local issuer', () => {
  it('answers 401 UNAUTHORIZED on every route without a token', async () => {
    // Arrange
    const { created } = await someonesUpload('owner');
    // Act
    const responses = await Promise.all(
      routesFor(created.uploadId).map(({ method, path }) =>
        api(runtime, path, { method, ...(method === 'POST' ? { body: createBody } : {}) }),
      ),
    );
    // Assert
    for (const response of responses) expectApiError(response, 401, 'UNAUTHORIZED');
  });

  it('answers 401 for a token that has expired', async () => {
    // Arrange
    const { owner, created } = await someonesUpload('owner');
    const token = await tokenFor(runtime, owner, [], 1);
    const { exp } = decodeJwt(token);
    await waitUntilClockPasses((exp ?? 0) * 1000 + 1000, 'the 1-second token to expire');
    // Act
    const responses = await Promise.all(
      routesFor(created.uploadId).map(({ method, path }) =>
        api(runtime, path, { method, token, ...(method === 'POST' ? { body: createBody } : {}) }),
      ),
    );
    // Assert
    for (const response of responses) expectApiError(response, 401, 'UNAUTHORIZED');
  });

  it('answers 401 for tokens the local issuer did not sign, and for alg none', async () => {
    // Arrange
    const { owner, created } = await someonesUpload('owner');
    const { privateKey } = await generateKeyPair('ES256');
    const sign = (issuer: string) =>
      new SignJWT({ 'cognito:groups': ['auditors'] })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
        .setSubject(owner)
        .setIssuer(issuer)
        .setAudience(LOCAL_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey);
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: owner, iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, iat: now, exp: now + 600 };
    const forged = {
      'another issuer': await sign('https://evil.example'),
      'the local issuer named, another key': await sign(LOCAL_ISSUER),
      'alg none': `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`,
    };
    const genuine = await tokenFor(runtime, owner);
    // Act
    const results = await Promise.all(
      Object.entries(forged).map(async ([kind, token]) => ({
        kind,
        response: await api(runtime, `/uploads/${created.uploadId}`, { token }),
      })),
    );
    const control = await api(runtime, `/uploads/${created.uploadId}`, { token: genuine });
    // Assert
    expect(control.status).toBe(200);
    for (const { kind, response } of results) {
      expect({ kind, status: response.status }).toEqual({ kind, status: 401 });
      expectApiError(response, 401, 'UNAUTHORIZED');
    }
  });

  it('answers 401 for a malformed Authorization header', async () => {
    // Arrange
    const { owner, created } = await someonesUpload('owner');
    const token = await tokenFor(runtime, owner);
    const headers = [
      token, // no scheme
      `Basic ${Buffer.from(`${owner}:secret`).toString('base64')}`,
      'Bearer',
      'Bearer ',
      `Bearer ${token} extra`,
      'Bearer not-a-jwt',
      `Bearer ${token.split('.').slice(0, 2).join('.')}`, // signature cut off
    ];
    // Act
    const responses = await Promise.all(
      headers.map((authorization) =>
        api(runtime, `/uploads/${created.uploadId}`, { headers: { authorization } }),
      ),
    );
    const control = await api(runtime, `/uploads/${created.uploadId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    // Assert
    expect(control.status).toBe(200);
    for (const response of responses) expectApiError(response, 401, 'UNAUTHORIZED');
  });
});
