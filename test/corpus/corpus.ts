import { readFileSync } from 'node:fs';

/**
 * The hostile input corpus: the cases are data (the JSON files beside this module); this module
 * only types and loads them, and expands what is too big to keep literal. Who runs them:
 *
 * - `hostile-requests.json`: POST /uploads bodies, claims and headers. The unit tier runs them
 *   against the handler (test/unit/hostile-corpus.test.ts); the reliability suite sends them
 *   over real HTTP (test/reliability/hostile.ts).
 * - `hostile-tokens.json`: bearer tokens and Authorization headers, built at run time with the
 *   local issuer's key (or another one) and sent to every route (reliability suite; the unit
 *   tier checks them against the local verifier).
 * - `hostile-content.json`: file bytes (named builders in content-builders.ts) declared as some
 *   type, uploaded through a real grant and validated by the real pipeline (reliability suite;
 *   the unit tier checks the verdict of each).
 */

// ---------------------------------------------------------------------------------------------
// Requests

export const REQUEST_CATEGORIES = ['json', 'file-name', 'size', 'content-type', 'headers'] as const;
export type RequestCategory = (typeof REQUEST_CATEGORIES)[number];

export interface Generate {
  kind: 'deep-array' | 'deep-object' | 'huge-string';
  depth?: number;
  bytes?: number;
  field?: string;
}

/**
 * A case's `request`:
 * - `body`: a JSON value, always JSON-encoded; `rawBody`: the exact body text (malformed JSON);
 * - `bodyBase64`: the exact body bytes, base64-encoded (invalid UTF-8, bytes that are not text).
 *   The handler gets them as API Gateway passes binary bodies (isBase64Encoded); over HTTP they
 *   are sent as the bytes they decode to;
 * - `base64: true`: the body text is base64-encoded for the handler (isBase64Encoded); over
 *   HTTP it is sent as is, as API Gateway's transport encoding is not the client's;
 * - `generate`: bodies too big to keep literal, expanded here: `deep-array` / `deep-object` of
 *   `depth` levels, `huge-string` of `bytes` ASCII characters. With `field`, the generated JSON
 *   value replaces that field of `body`; without, it is the whole body;
 * - `claims`: the JWT claims (`sub` among them); `null` for none; absent for a valid caller.
 *   Over HTTP: a token signed by the local issuer with exactly these claims (plus iss, aud, iat,
 *   exp), or no Authorization header for `null`;
 * - `headers`: extra request headers.
 */
export interface HostileRequest {
  body?: unknown;
  rawBody?: string;
  bodyBase64?: string;
  base64?: boolean;
  generate?: Generate;
  claims?: Record<string, unknown> | null;
  headers?: Record<string, string>;
}

export interface HostileRequestCase {
  id: string;
  category: RequestCategory;
  description: string;
  request: HostileRequest;
  /**
   * `statusUrlPrefix`: for accepted cases, how statusUrl (and Location) must begin when the
   * handler gets the request as API Gateway forwards it (the unit tier checks it). Over HTTP the
   * server sets the forwarded protocol itself, so there the statusUrl must be the API's own URL.
   */
  expect: { status: number; code?: string; statusUrlPrefix?: string };
}

/** The JSON text of a generated value. */
export function generated({ kind, depth = 0, bytes = 0 }: Generate): string {
  switch (kind) {
    case 'deep-array':
      return '['.repeat(depth) + ']'.repeat(depth);
    case 'deep-object':
      return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    case 'huge-string':
      return JSON.stringify('x'.repeat(bytes));
  }
}

/** A string no corpus body contains, replaced by the generated JSON text. */
const PLACEHOLDER = '\u0000generated\u0000';

/** The body text as the client sent it, before any base64 encoding; undefined for no body. */
export function bodyText(request: HostileRequest): string | undefined {
  const { generate } = request;
  if (generate !== undefined) {
    if (generate.field === undefined) return generated(generate);
    const template = JSON.stringify({ ...(request.body as object), [generate.field]: PLACEHOLDER });
    return template.replace(JSON.stringify(PLACEHOLDER), generated(generate));
  }
  if (request.rawBody !== undefined) return request.rawBody;
  if ('body' in request) return JSON.stringify(request.body);
  return undefined;
}

/** The exact bytes a client sends over HTTP; undefined for no body. */
export function bodyBytes(request: HostileRequest): Buffer | undefined {
  if (request.bodyBase64 !== undefined) return Buffer.from(request.bodyBase64, 'base64');
  const text = bodyText(request);
  return text === undefined ? undefined : Buffer.from(text, 'utf8');
}

// ---------------------------------------------------------------------------------------------
// Tokens

export const TOKEN_CATEGORIES = ['signature', 'claims', 'lifetime', 'header'] as const;
export type TokenCategory = (typeof TOKEN_CATEGORIES)[number];

/** The routes a token case is sent to (all of them when a case names none). */
export const TOKEN_ROUTES = [
  'POST /uploads',
  'GET /uploads',
  'GET /uploads/{id}',
  'GET /uploads/{id}/events',
  'GET /audit/uploads',
] as const;
export type TokenRoute = (typeof TOKEN_ROUTES)[number];

/**
 * A claim value: JSON as is, except `{"$now": n}` (now + n seconds, as a NumericDate) and the
 * strings `$sub` (the run's own user), `$issuer` and `$audience` (the local issuer's). `null`
 * leaves the claim out.
 */
export type ClaimValue = unknown;

/**
 * How a token is made:
 * - `sign`: `local` (the runtime's issuer key, ES256), `foreign` (a fresh ES256 key),
 *   `embedded-jwk` (a fresh key whose public JWK rides in the header), `hmac-public-key`
 *   (HS256 keyed with the issuer's public JWK: algorithm confusion), `none` (alg none, empty
 *   signature), `garbage` (`value`, or `length` characters of base64url text: not a JWS);
 * - `header`: members added to the protected header;
 * - `claims`: changes to the default claims (sub `$sub`, iss, aud, iat now, exp now + 600 s,
 *   `cognito:groups` ["auditors"]: even a forged auditor gets nothing);
 * - `tamper`: after signing, `payload` swaps in another payload (another sub) under the old
 *   signature; `strip-signature` keeps `header.payload.`; `flip-signature` changes one byte.
 */
export interface TokenSpec {
  sign: 'local' | 'foreign' | 'embedded-jwk' | 'hmac-public-key' | 'none' | 'garbage';
  header?: Record<string, unknown>;
  claims?: Record<string, ClaimValue>;
  tamper?: 'payload' | 'strip-signature' | 'flip-signature';
  value?: string;
  length?: number;
}

export interface HostileTokenCase {
  id: string;
  category: TokenCategory;
  description: string;
  token: TokenSpec;
  /** The Authorization header, `{token}` standing for the token; default `Bearer {token}`; null: none. */
  authorization?: string | null;
  /** A query string added to each route, `{token}` standing for the token (where a header belongs). */
  query?: string;
  routes?: TokenRoute[];
  expect: { status: number; code: string };
}

// ---------------------------------------------------------------------------------------------
// Content

export const CONTENT_CATEGORIES = [
  'polyglot',
  'truncated',
  'archive',
  'executable',
  'spoofed',
  'padding',
  'text',
  'integrity',
  'served-safely',
  'active-content',
  'malware',
] as const;
export type ContentCategory = (typeof CONTENT_CATEGORIES)[number];

export interface HostileContentCase {
  id: string;
  category: ContentCategory;
  description: string;
  /** A builder of content-builders.ts: the bytes sent. */
  builder: string;
  declared: {
    fileName: string;
    contentType: string;
    /** `own`: the bytes' digest; `other`: the digest of other bytes; absent: none declared. */
    sha256?: 'own' | 'other';
  };
  /** How the bytes go to S3: a multipart/form-data POST or a signed PUT. */
  method: 'POST' | 'PUT';
  /** Part of the short run (`quick`); a full run tries every case. */
  quick?: boolean;
  expect:
    | { status: 'REJECTED'; reasons: string[] }
    | {
        status: 'PROCESSED';
        detectedType: string;
        /** What the download must be served as: attachment, this name, this type. */
        download: { fileName: string; contentType: string };
      };
}

// ---------------------------------------------------------------------------------------------

function load<T>(file: string): T[] {
  return JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8')) as T[];
}

export const loadRequestCases = (): HostileRequestCase[] => load('./hostile-requests.json');
export const loadTokenCases = (): HostileTokenCase[] => load('./hostile-tokens.json');
export const loadContentCases = (): HostileContentCase[] => load('./hostile-content.json');

/** Resolves `$sub`, `$issuer`, `$audience` and `{"$now": n}`; null members are left out. */
export function resolveClaims(
  claims: Record<string, ClaimValue>,
  context: { sub: string; issuer: string; audience: string; nowSeconds: number },
): Record<string, unknown> {
  const resolved: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (value === null) continue;
    resolved[name] = resolveValue(value, context);
  }
  return resolved;
}

function resolveValue(
  value: unknown,
  context: { sub: string; issuer: string; audience: string; nowSeconds: number },
): unknown {
  if (value === '$sub') return context.sub;
  if (value === '$issuer') return context.issuer;
  if (value === '$audience') return context.audience;
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, context));
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]?.[0] === '$now' && typeof entries[0][1] === 'number') {
      return context.nowSeconds + entries[0][1];
    }
  }
  return value;
}
