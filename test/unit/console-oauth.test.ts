import { createHash } from 'node:crypto';
import {
  authorizeUrl,
  challengeFor,
  createVerifier,
  exchangeCode,
  type OAuthConfig,
} from '../../console/oauth.js';

const VERIFIER = 'dBjftJeZ4CVP-mJ92K9wpGvyWy6cOyn7ZuT8H4FWXoE';

const config: OAuthConfig = {
  type: 'oauth',
  authorizeUrl: 'https://airlock-1234abcd.auth.eu-west-1.amazoncognito.com/oauth2/authorize',
  tokenUrl: 'https://airlock-1234abcd.auth.eu-west-1.amazoncognito.com/oauth2/token',
  clientId: 'client-123',
  redirectUri: 'https://d111.cloudfront.net/',
  scope: 'openid email',
};

describe('console sign-in with PKCE (RFC 7636)', () => {
  it('computes the S256 challenge: unpadded base64url of SHA-256, as node:crypto computes it', async () => {
    expect(await challengeFor(VERIFIER)).toBe(createHash('sha256').update(VERIFIER).digest('base64url'));
    expect(await challengeFor(VERIFIER)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('makes fresh 43-character base64url verifiers', () => {
    const [a, b] = [createVerifier(), createVerifier()];
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
  });

  it('builds the authorize URL with code flow, S256 challenge, state and the console redirect', async () => {
    // Act
    const url = new URL(await authorizeUrl(config, VERIFIER, 'state-1'));
    // Assert
    expect(url.origin + url.pathname).toBe(config.authorizeUrl);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'client-123',
      redirect_uri: 'https://d111.cloudfront.net/',
      scope: 'openid email',
      state: 'state-1',
      code_challenge: createHash('sha256').update(VERIFIER).digest('base64url'),
      code_challenge_method: 'S256',
    });
  });

  it('exchanges the code with the verifier and returns the access token', async () => {
    // Arrange
    const calls: Array<{ url: string; body: string }> = [];
    const fakeFetch = ((url: string, init: RequestInit) => {
      calls.push({ url, body: init.body as string });
      return Promise.resolve(
        new Response(JSON.stringify({ access_token: 'access-1', id_token: 'id-1' }), { status: 200 }),
      );
    }) as unknown as typeof fetch;
    // Act
    const token = await exchangeCode(config, 'code-1', 'verifier-1', fakeFetch);
    // Assert
    expect(token).toBe('access-1');
    expect(calls[0]?.url).toBe(config.tokenUrl);
    expect(Object.fromEntries(new URLSearchParams(calls[0]?.body))).toEqual({
      grant_type: 'authorization_code',
      client_id: 'client-123',
      code: 'code-1',
      redirect_uri: 'https://d111.cloudfront.net/',
      code_verifier: 'verifier-1',
    });
  });

  it('reports a refused exchange with the server error', async () => {
    const fakeFetch = (() =>
      Promise.resolve(
        new Response(JSON.stringify({ error: 'invalid_grant' }), { status: 400 }),
      )) as unknown as typeof fetch;
    await expect(exchangeCode(config, 'code-1', 'verifier-1', fakeFetch)).rejects.toThrow(
      'Sign-in failed (invalid_grant).',
    );
  });
});
