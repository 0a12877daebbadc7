import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompactSign, exportJWK, exportSPKI, generateKeyPair, importJWK, type JWK } from 'jose';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../local/auth.js';
import { resolveClaims, type HostileTokenCase, type TokenSpec } from './corpus.js';

/**
 * Builds the tokens of test/corpus/hostile-tokens.json (and tokens with exact claims for the
 * request corpus) at run time. The local issuer's key is read from the runtime's data dir, where
 * local/auth.ts keeps it (`<data>/auth/signing-key.json`).
 */

const ALGORITHM = 'ES256';

type SigningKey = Parameters<CompactSign['sign']>[0];

/** The claims every case starts from; `cognito:groups` makes even a forged caller an auditor. */
export const DEFAULT_TOKEN_CLAIMS: Readonly<Record<string, unknown>> = {
  sub: '$sub',
  iss: '$issuer',
  aud: '$audience',
  iat: { $now: 0 },
  exp: { $now: 600 },
  'cognito:groups': ['auditors'],
};

interface IssuerKeys {
  privateJwk: JWK;
  publicJwk: JWK;
}

function issuerKeys(dataDir: string): IssuerKeys {
  return JSON.parse(readFileSync(join(dataDir, 'auth', 'signing-key.json'), 'utf8')) as IssuerKeys;
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** A compact JWS over exactly `payload` (no claim is added or checked), ES256 by the local issuer. */
export async function signWithIssuer(
  dataDir: string,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const key = await importJWK(issuerKeys(dataDir).privateJwk, ALGORITHM);
  return sign(payload, { alg: ALGORITHM, typ: 'JWT', ...header }, key);
}

async function sign(
  payload: Record<string, unknown>,
  header: Record<string, unknown>,
  key: SigningKey,
): Promise<string> {
  const crit = Array.isArray(header.crit) ? (header.crit as string[]) : [];
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ ...header, alg: String(header.alg) })
    .sign(key, { crit: Object.fromEntries(crit.map((name) => [name, true])) });
}

/** A token carrying exactly these claims plus iss, aud, iat and exp, as the request corpus needs. */
export function tokenWithClaims(dataDir: string, claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signWithIssuer(dataDir, {
    iss: LOCAL_ISSUER,
    aud: LOCAL_AUDIENCE,
    iat: now,
    exp: now + 600,
    ...claims,
  });
}

/** A valid token of the local issuer for `sub`, with the default claims (an auditor). */
export function validToken(dataDir: string, sub: string): Promise<string> {
  return buildToken({ sign: 'local' }, { dataDir, sub });
}

/** The token a case describes (its `token` spec). */
export async function buildToken(
  spec: TokenSpec,
  context: { dataDir: string; sub: string },
): Promise<string> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const payload = resolveClaims(
    { ...DEFAULT_TOKEN_CLAIMS, ...(spec.claims ?? {}) },
    { sub: context.sub, issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, nowSeconds },
  );
  const header = { typ: 'JWT', ...(spec.header ?? {}) };
  let token: string;
  switch (spec.sign) {
    case 'local':
      token = await signWithIssuer(context.dataDir, payload, header);
      break;
    case 'foreign': {
      const { privateKey } = await generateKeyPair(ALGORITHM);
      token = await sign(payload, { alg: ALGORITHM, ...header }, privateKey);
      break;
    }
    case 'embedded-jwk': {
      const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { extractable: true });
      token = await sign(payload, { alg: ALGORITHM, jwk: await exportJWK(publicKey), ...header }, privateKey);
      break;
    }
    case 'hmac-public-key': {
      // The issuer's public key (which anyone may have) used as an HMAC secret.
      const publicKey = await importJWK(issuerKeys(context.dataDir).publicJwk, ALGORITHM, {
        extractable: true,
      });
      const secret = new TextEncoder().encode(
        await exportSPKI(publicKey as Parameters<typeof exportSPKI>[0]),
      );
      token = await sign(payload, { ...header, alg: 'HS256' }, secret);
      break;
    }
    case 'none':
      token = `${encode({ ...header, alg: 'none' })}.${encode(payload)}.`;
      break;
    case 'garbage':
      return (
        spec.value ??
        randomBytes(spec.length ?? 32)
          .toString('base64url')
          .slice(0, spec.length ?? 32)
      );
  }
  return tamper(token, spec.tamper, payload);
}

function tamper(token: string, how: TokenSpec['tamper'], payload: Record<string, unknown>): string {
  const [header = '', body = '', signature = ''] = token.split('.');
  switch (how) {
    case undefined:
      return token;
    case 'payload':
      return `${header}.${encode({ ...payload, sub: `${String(payload.sub)}-other` })}.${signature}`;
    case 'strip-signature':
      return `${header}.${body}.`;
    case 'flip-signature': {
      const middle = Math.floor(signature.length / 2);
      const flipped = signature[middle] === 'A' ? 'B' : 'A';
      return `${header}.${body}.${signature.slice(0, middle)}${flipped}${signature.slice(middle + 1)}`;
    }
  }
}

/**
 * What a case sends: its Authorization header (undefined: none at all) and query string, with
 * `{token}` in either replaced by the token built from its spec.
 */
export async function credentialsFor(
  testCase: HostileTokenCase,
  context: { dataDir: string; sub: string },
): Promise<{ authorization?: string; query: string }> {
  const token = await buildToken(testCase.token, context);
  const query = (testCase.query ?? '').replaceAll('{token}', encodeURIComponent(token));
  if (testCase.authorization === null) return { query };
  return { authorization: (testCase.authorization ?? 'Bearer {token}').replaceAll('{token}', token), query };
}
