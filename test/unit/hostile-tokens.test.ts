import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { callerFrom } from '../../functions/commons/http.js';
import { issueToken, makeVerifier, type Verifier } from '../../local/auth.js';
import { TOKEN_CATEGORIES, TOKEN_ROUTES, loadTokenCases } from '../corpus/corpus.js';
import { buildToken, credentialsFor, validToken } from '../corpus/tokens.js';
import { apiEvent } from './handlers/api-events.js';

/**
 * The hostile token corpus (test/corpus/hostile-tokens.json): each case's token is built as the
 * reliability suite builds it, then put through the local runtime's verifier (local/auth.ts) and,
 * when the verifier lets it through, the handlers' own caller check. Every case must be refused
 * by one of them; the suite sends the same tokens to every route over real HTTP.
 */

const corpus = loadTokenCases();
let dataDir: string;
let verify: Verifier;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'airlock-hostile-tokens-'));
  await issueToken(dataDir, { sub: 'key-maker' }); // creates the issuer key
  verify = await makeVerifier(dataDir);
});

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** True when the handlers accept the verified claims as a caller (API Gateway flattens lists). */
function handlersAccept(claims: Record<string, unknown>): boolean {
  const event = apiEvent({ routeKey: 'GET /uploads', sub: null });
  const passed = event.requestContext.authorizer.jwt.claims as Record<string, unknown>;
  for (const [name, value] of Object.entries(claims)) {
    passed[name] = Array.isArray(value)
      ? `[${value.map(String).join(' ')}]`
      : typeof value === 'object' && value !== null
        ? JSON.stringify(value)
        : value;
  }
  try {
    callerFrom(event);
    return true;
  } catch {
    return false;
  }
}

describe('the hostile token corpus', () => {
  it('has unique kebab-case ids, known categories and routes, and expects 401 UNAUTHORIZED', () => {
    const ids = corpus.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(corpus.map((c) => c.category))).toEqual(new Set(TOKEN_CATEGORIES));
    for (const c of corpus) {
      expect(c.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(c.expect).toEqual({ status: 401, code: 'UNAUTHORIZED' });
      for (const route of c.routes ?? []) expect(TOKEN_ROUTES).toContain(route);
    }
  });

  it('builds a valid token that the verifier and the handlers accept (the control)', async () => {
    const token = await validToken(dataDir, 'control-user');
    const claims = await verify(`Bearer ${token}`);
    expect(claims).toMatchObject({ sub: 'control-user', 'cognito:groups': ['auditors'] });
    expect(handlersAccept(claims!)).toBe(true);
  });

  it('builds alg none and expired tokens as described', async () => {
    const none = await buildToken({ sign: 'none' }, { dataDir, sub: 'u' });
    expect(decodeProtectedHeader(none).alg).toBe('none');
    expect(none.endsWith('.')).toBe(true);
    const expired = await buildToken(
      { sign: 'local', claims: { exp: { $now: -3600 } } },
      { dataDir, sub: 'u' },
    );
    expect(decodeJwt(expired).exp).toBeLessThan(Date.now() / 1000 - 3000);
  });

  it.each(
    corpus.filter((c) => /^claims-(numeric|object|array)-sub/.test(c.id)).map((c) => [c.id, c] as const),
  )('%s is refused by the verifier itself: sub must be a string', async (_id, hostile) => {
    // Arrange
    const { authorization } = await credentialsFor(hostile, { dataDir, sub: 'user-alice' });
    // Act
    const claims = await verify(authorization);
    // Assert
    expect(claims).toBeUndefined();
  });

  it.each(corpus.map((c) => [c.id, c] as const))('%s is refused', async (_id, hostile) => {
    // Arrange
    const { authorization } = await credentialsFor(hostile, { dataDir, sub: 'user-alice' });
    // Act: a token anywhere but the Authorization header is never read
    const claims = await verify(authorization);
    // Assert
    if (claims !== undefined) expect(handlersAccept(claims)).toBe(false);
  });
});
