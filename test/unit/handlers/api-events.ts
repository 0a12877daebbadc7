import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * Builds HTTP API (payload v2) events as API Gateway delivers them behind a JWT authorizer, and
 * reads the handlers' JSON responses.
 */

export interface ApiEventOptions {
  /** e.g. `POST /uploads`, `GET /uploads/{id}`. */
  routeKey: string;
  /** A string is sent as is; anything else is JSON-encoded. */
  body?: unknown;
  isBase64Encoded?: boolean;
  headers?: Record<string, string>;
  pathParameters?: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  /** The `sub` claim; `null` leaves it out (an unauthenticated caller). */
  sub?: string | null;
  /** The `cognito:groups` claim, as an array or as the string forms API Gateway passes. */
  groups?: string[] | string;
  domainName?: string;
  stage?: string;
  requestId?: string;
}

export const DEFAULT_SUB = 'user-alice';
export const API_DOMAIN = 'api.example.test';

export function apiEvent(options: ApiEventOptions): APIGatewayProxyEventV2WithJWTAuthorizer {
  const [method = 'GET', routePath = '/'] = options.routeKey.split(' ');
  const rawPath = routePath.replace(/\{(\w+)\}/g, (_, name: string) => options.pathParameters?.[name] ?? '');
  const query = options.queryStringParameters;
  const claims: Record<string, string | string[]> = {};
  const sub = options.sub === undefined ? DEFAULT_SUB : options.sub;
  if (sub !== null) claims.sub = sub;
  if (options.groups !== undefined) claims['cognito:groups'] = options.groups;
  const domainName = options.domainName ?? API_DOMAIN;
  const stage = options.stage ?? '$default';
  const requestId = options.requestId ?? 'req-0001';
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);

  return {
    version: '2.0',
    routeKey: options.routeKey,
    rawPath,
    rawQueryString: query ? new URLSearchParams(query).toString() : '',
    headers: { host: domainName, ...(options.headers ?? {}) },
    ...(query ? { queryStringParameters: query } : {}),
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api0001',
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: { claims, scopes: [] },
      },
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.10', userAgent: 'jest' },
      requestId,
      routeKey: options.routeKey,
      stage,
      time: '01/Mar/2025:12:00:00 +0000',
      timeEpoch: 1740830400000,
    },
  };
}

/** The parsed JSON body of a response (fails the test when there is none). */
export function jsonBody<T = Record<string, unknown>>(result: APIGatewayProxyStructuredResultV2): T {
  if (typeof result.body !== 'string') throw new Error(`Response has no body (status ${result.statusCode}).`);
  return JSON.parse(result.body) as T;
}

/** The API's single error shape. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export const responseHeader = (
  result: APIGatewayProxyStructuredResultV2,
  name: string,
): string | undefined => {
  const value = result.headers?.[name.toLowerCase()];
  return value === undefined ? undefined : String(value);
};

/**
 * `Bearer <header>.<payload>.<signature>` carrying `claims`, as the client sent it and the JWT
 * authorizer verified it (the signature is not checked past the authorizer, so it is a dummy).
 */
export function bearerHeader(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  return `Bearer ${part({ alg: 'ES256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}
