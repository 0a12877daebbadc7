import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';

/**
 * The local JWT issuer. Tokens are ES256, signed with a key kept in the data dir, and verified
 * as an HTTP API JWT authorizer does: signature, issuer, audience, expiry (and not-before).
 */
export const LOCAL_ISSUER = 'https://airlock.local/issuer';
export const LOCAL_AUDIENCE = 'airlock-local';
const ALGORITHM = 'ES256';

interface KeyFile {
  privateJwk: JWK;
  publicJwk: JWK;
}

function keyPath(dataDir: string): string {
  return join(dataDir, 'auth', 'signing-key.json');
}

async function loadOrCreateKeys(dataDir: string): Promise<KeyFile> {
  const path = keyPath(dataDir);
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as KeyFile;
  const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  const keys: KeyFile = { privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
  mkdirSync(join(dataDir, 'auth'), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(keys), { mode: 0o600, flag: 'wx' });
  return keys;
}

export interface TokenRequest {
  sub: string;
  groups?: string[];
  ttlSeconds?: number;
}

export async function issueToken(dataDir: string, request: TokenRequest): Promise<string> {
  const keys = await loadOrCreateKeys(dataDir);
  const key = await importJWK(keys.privateJwk, ALGORITHM);
  const claims: JWTPayload =
    request.groups && request.groups.length > 0 ? { 'cognito:groups': request.groups } : {};
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(request.sub)
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${request.ttlSeconds ?? 3600}s`)
    .sign(key);
}

export type Verifier = (authorization: string | undefined) => Promise<JWTPayload | undefined>;

/** Returns the verified claims, or undefined for a missing, malformed, forged or expired token. */
export async function makeVerifier(dataDir: string): Promise<Verifier> {
  const keys = await loadOrCreateKeys(dataDir);
  const key = await importJWK(keys.publicJwk, ALGORITHM);
  return async (authorization) => {
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(authorization?.trim() ?? '');
    if (!match?.[1]) return undefined;
    try {
      const { payload } = await jwtVerify(match[1], key, {
        issuer: LOCAL_ISSUER,
        audience: LOCAL_AUDIENCE,
        algorithms: [ALGORITHM],
        requiredClaims: ['exp', 'sub'],
      });
      // RFC 7519: `sub` is a string. jose checks only that it is present.
      return typeof payload.sub === 'string' && payload.sub !== '' ? payload : undefined;
    } catch {
      return undefined;
    }
  };
}
