import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';
import type { ApiEvent, ApiResult } from '../functions/commons/http.js';
import type { Verifier } from './auth.js';
import { serveRuntimeRoute, type RuntimeRoutes } from './runtime-routes.js';

export type ApiHandler = (event: ApiEvent) => Promise<ApiResult>;

interface Route {
  method: string;
  pattern: RegExp;
  routeKey: string;
  params: string[];
  handler: ApiHandler;
}

export interface ApiServerOptions {
  port: number;
  verify: Verifier;
  handlers: {
    createUpload: ApiHandler;
    getUpload: ApiHandler;
    listUploads: ApiHandler;
    getUploadEvents: ApiHandler;
    auditUploads: ApiHandler;
    auditDigests: ApiHandler;
  };
  /** Origins allowed by CORS (the console's). */
  allowedOrigins: string[];
  /** 200 only when every part answers. */
  health: () => Promise<{ ok: boolean; parts: Record<string, boolean> }>;
  /** Extra unauthenticated GET routes (console, OpenAPI), by path. */
  staticRoutes?: Record<string, { contentType: string; body: () => Promise<Buffer | string> }>;
  /** Headers of every static route: the console's security headers, as CloudFront sends them. */
  staticHeaders?: Record<string, string>;
  /**
   * The runtime's own routes, for its operator and its tests (loopback only, never from a
   * browser): `GET /_local/iam` (what the local IAM checked and denied) and
   * `POST /_local/functions/{name}/invoke` (an operator's `aws lambda invoke`, e.g. the redrive).
   */
  local?: RuntimeRoutes;
}

const MAX_BODY_BYTES = 64 * 1024;

/**
 * The local HTTP API: maps requests to API Gateway HTTP API (payload 2.0) events for the same
 * handlers AWS runs, after verifying the bearer token as the JWT authorizer does.
 */
export async function startApiServer(
  options: ApiServerOptions,
): Promise<{ server: Server; url: string; stop(): Promise<void> }> {
  const routes: Route[] = [
    route('POST', '/uploads', options.handlers.createUpload),
    route('GET', '/uploads', options.handlers.listUploads),
    route('GET', '/uploads/{id}', options.handlers.getUpload),
    route('GET', '/uploads/{id}/download', options.handlers.getUpload), // the same function on AWS
    route('GET', '/uploads/{id}/events', options.handlers.getUploadEvents),
    route('GET', '/audit/uploads', options.handlers.auditUploads),
    route('GET', '/audit/digests', options.handlers.auditDigests),
    route('GET', '/audit/public-key', options.handlers.auditDigests), // the same function on AWS
  ];

  const server = createServer((request, response) => {
    void handle(request, response).catch(() => {
      if (!response.headersSent)
        send(response, 500, errorBody('INTERNAL_ERROR', 'An internal error occurred.'));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const origin = request.headers.origin;
    const cors = corsHeaders(origin, options.allowedOrigins);
    if (request.method === 'OPTIONS') {
      response.writeHead(cors ? 204 : 403, {
        ...(cors ?? {}),
        ...(cors
          ? {
              'access-control-allow-methods': 'GET, POST, OPTIONS',
              'access-control-allow-headers': 'authorization, content-type, if-none-match, idempotency-key',
              'access-control-max-age': '3600',
            }
          : {}),
      });
      response.end();
      return;
    }
    if (request.method === 'GET' && url.pathname === '/health') {
      const health = await options.health();
      send(
        response,
        health.ok ? 200 : 503,
        JSON.stringify({ status: health.ok ? 'ok' : 'unavailable', parts: health.parts }),
        cors,
      );
      return;
    }
    if (url.pathname.startsWith('/_local/') && options.local !== undefined) {
      await serveRuntimeRoute(request, response, url, options.local);
      return;
    }
    const staticRoute = request.method === 'GET' ? options.staticRoutes?.[url.pathname] : undefined;
    if (staticRoute) {
      response.writeHead(200, {
        ...(options.staticHeaders ?? {}),
        'content-type': staticRoute.contentType,
        'cache-control': 'no-cache',
        ...(cors ?? {}),
      });
      response.end(await staticRoute.body());
      return;
    }

    const matched = matchRoute(routes, request.method ?? 'GET', url.pathname);
    if (!matched) {
      send(response, 404, errorBody('NOT_FOUND', 'No such route.'), cors);
      return;
    }
    const claims = await options.verify(request.headers.authorization);
    if (!claims) {
      send(response, 401, errorBody('UNAUTHORIZED', 'A valid bearer token is required.'), cors, {
        'www-authenticate': 'Bearer',
      });
      return;
    }
    const body = await readBody(request);
    if (body === undefined) {
      send(
        response,
        413,
        errorBody('REQUEST_TOO_LARGE', `The request body may be at most ${MAX_BODY_BYTES} bytes.`),
        cors,
      );
      return;
    }
    const event = toApiEvent(request, url, matched.route, matched.params, body, claims);
    const result = await matched.route.handler(event);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
    response.writeHead(result.statusCode ?? 200, { ...headers, ...(cors ?? {}) });
    response.end(result.body ?? '');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  return {
    server,
    url: `http://localhost:${options.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function route(method: string, path: string, handler: ApiHandler): Route {
  const params: string[] = [];
  const pattern = new RegExp(
    `^${path.replace(/\{(\w+)\}/g, (_match, name: string) => {
      params.push(name);
      return '([^/]+)';
    })}$`,
  );
  return { method, pattern, routeKey: `${method} ${path}`, params, handler };
}

function matchRoute(
  routes: Route[],
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | undefined {
  for (const candidate of routes) {
    if (candidate.method !== method) continue;
    const match = candidate.pattern.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    candidate.params.forEach((name, index) => {
      params[name] = safeDecode(match[index + 1] ?? '');
    });
    return { route: candidate, params };
  }
  return undefined;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Claims as API Gateway passes them to Lambda: arrays become "[a b]", numbers strings. */
function apiGatewayClaims(payload: JWTPayload): Record<string, string | number | boolean | string[]> {
  const claims: Record<string, string | number | boolean | string[]> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (Array.isArray(value)) claims[name] = `[${value.map(String).join(' ')}]`;
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      claims[name] = value;
    else if (value !== undefined && value !== null) claims[name] = JSON.stringify(value);
  }
  return claims;
}

function toApiEvent(
  request: IncomingMessage,
  url: URL,
  matched: Route,
  pathParameters: Record<string, string>,
  body: string,
  claims: JWTPayload,
): ApiEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: matched.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers: { ...headers, 'x-forwarded-proto': 'http' },
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    ...(body !== '' ? { body } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: matched.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: { claims: apiGatewayClaims(claims), scopes: [] },
      },
    },
  };
}

function corsHeaders(origin: string | undefined, allowed: string[]): Record<string, string> | undefined {
  if (origin === undefined || !allowed.includes(origin)) return undefined;
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': 'etag, retry-after, location',
    vary: 'origin',
  };
}

export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export function send(
  response: ServerResponse,
  status: number,
  body: string,
  cors?: Record<string, string>,
  extra: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...(cors ?? {}),
    ...extra,
  });
  response.end(body);
}
