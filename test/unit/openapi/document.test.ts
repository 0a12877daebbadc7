import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ApiEvent, ApiResult } from '../../../functions/commons/http.js';
import {
  REASON_CODES,
  UPLOAD_STATUSES,
  type AuditAction,
  type UploadStatus,
} from '../../../functions/domain/model.js';
import type { AuditEventView, UploadView } from '../../../functions/domain/status-view.js';
import type { CreateUploadRequest } from '../../../functions/domain/upload-request.js';
import { startApiServer, type ApiServerOptions } from '../../../local/api-server.js';
import { openApiStaticRoute } from '../../../local/openapi-route.js';
import {
  loadOpenApiDocument,
  type OpenApiDocument,
  type ParameterObject,
  type ResponseObject,
} from '../../../openapi/index.js';
import {
  OAS_SCHEMA_KEYWORDS,
  OpenApiValidator,
  documentedOperations,
  jsonPointer,
  resolveLocalRef,
} from '../../support/openapi-validator.js';

/**
 * The OpenAPI document itself: a well-formed OpenAPI 3.1 document whose schemas compile, whose
 * error responses all use the one error shape with the codes of their status, whose enums and
 * fields are the domain's, and whose paths are exactly the routes the local server knows.
 */

const document = loadOpenApiDocument();
const operations = documentedOperations(document);
const operationKeys = operations.map(({ method, path }) => `${method.toUpperCase()} ${path}`);

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every `$ref` in the document, with the JSON pointer of the object holding it. */
function collectRefs(node: unknown, at: string[] = []): Array<{ at: string; ref: string }> {
  if (Array.isArray(node)) return node.flatMap((item, index) => collectRefs(item, [...at, String(index)]));
  if (!isObject(node)) return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === '$ref' && typeof value === 'string'
      ? [{ at: jsonPointer(at), ref: value }]
      : collectRefs(value, [...at, key]),
  );
}

/** JSON pointers of every place that holds a schema (components, parameters, headers, content). */
function schemaPointers(doc: OpenApiDocument): string[] {
  const pointers = Object.keys(doc.components?.schemas ?? {}).map((name) =>
    jsonPointer(['components', 'schemas', name]),
  );
  const walk = (node: unknown, at: string[]): void => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => walk(item, [...at, String(index)]));
      return;
    }
    if (!isObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      const inSchemaHolder = ['parameters', 'headers', 'content', 'requestBody', 'responses'].some((holder) =>
        at.includes(holder),
      );
      if (key === 'schema' && inSchemaHolder) pointers.push(jsonPointer([...at, key]));
      else walk(value, [...at, key]);
    }
  };
  walk(doc.paths, ['paths']);
  const { schemas: _schemas, ...components } = doc.components ?? {};
  walk(components, ['components']);
  return pointers;
}

/** The response object for an operation's status, with a `$ref` followed. */
function responseOf(path: string, method: string, status: string): ResponseObject {
  const raw = document.paths[path]?.[method as 'get']?.responses[status];
  const resolved = isObject(raw) && typeof raw.$ref === 'string' ? resolveLocalRef(document, raw.$ref) : raw;
  if (!isObject(resolved)) throw new Error(`${method} ${path} ${status} does not resolve`);
  return resolved as unknown as ResponseObject;
}

/**
 * The error codes an error response's JSON schema admits: the schema must be one of the per-code
 * error schemas (each a `$ref` to `Error` with a `const` code) or a oneOf of them.
 */
function errorCodesOf(schema: unknown): string[] | undefined {
  if (!isObject(schema)) return undefined;
  if (Array.isArray(schema.oneOf)) {
    const parts = schema.oneOf.map(errorCodesOf);
    return parts.every((part) => part !== undefined) ? parts.flat() : undefined;
  }
  if (typeof schema.$ref !== 'string') return undefined;
  const target = resolveLocalRef(document, schema.$ref);
  if (!isObject(target) || target.$ref !== '#/components/schemas/Error') return undefined;
  const errorProperty = isObject(target.properties) ? target.properties.error : undefined;
  const codeProperty =
    isObject(errorProperty) && isObject(errorProperty.properties) ? errorProperty.properties.code : undefined;
  const code = isObject(codeProperty) ? codeProperty.const : undefined;
  return typeof code === 'string' ? [code] : undefined;
}

/** The error table of docs/api.md: which codes each status carries. */
const CODES_BY_STATUS: Readonly<Record<string, readonly string[]>> = {
  '400': ['INVALID_JSON', 'INVALID_REQUEST', 'INVALID_QUERY', 'INVALID_CURSOR', 'INVALID_IDEMPOTENCY_KEY'],
  '401': ['UNAUTHORIZED'],
  '403': ['FORBIDDEN'],
  '404': ['NOT_FOUND'],
  '409': ['IDEMPOTENCY_KEY_USED'],
  '413': ['FILE_TOO_LARGE', 'REQUEST_TOO_LARGE'],
  '415': ['UNSUPPORTED_MEDIA_TYPE'],
  '422': ['IDEMPOTENCY_KEY_MISMATCH'],
  '429': ['QUOTA_EXCEEDED'],
  '500': ['INTERNAL_ERROR'],
  '503': ['SERVICE_UNAVAILABLE'],
};

/** The unauthenticated routes of the local runtime, which answer in their own shapes. */
const PUBLIC_OPERATIONS = new Set(['GET /health', 'GET /openapi.json']);

const API_SERVER_SOURCE = readFileSync(new URL('../../../local/api-server.ts', import.meta.url), 'utf8');

/** The routes local/api-server.ts declares: its `route('METHOD', '/path', …)` table and /health. */
function routesInServerSource(): string[] {
  const table = [...API_SERVER_SOURCE.matchAll(/\broute\(\s*'([A-Z]+)',\s*'([^']+)'/g)].map(
    ([, method, path]) => `${method} ${path}`,
  );
  const builtIn = [
    ...API_SERVER_SOURCE.matchAll(/request\.method === '([A-Z]+)' && url\.pathname === '([^']+)'/g),
  ].map(([, method, path]) => `${method} ${path}`);
  return [...table, ...builtIn];
}

const staticRouteKeys = Object.keys(openApiStaticRoute()).map((path) => `GET ${path}`);

describe('the OpenAPI document: structure', () => {
  it('is OpenAPI 3.1.0 in the JSON Schema 2020-12 dialect, with a local and an AWS server', () => {
    // Assert
    expect(document.openapi).toBe('3.1.0');
    expect(document.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(document.info).toEqual(
      expect.objectContaining({ title: expect.any(String), version: expect.stringMatching(/^1\.\d+\.\d+$/) }),
    );
    expect(document.servers?.map((server) => server.url)).toEqual([
      'http://localhost:3000',
      expect.stringMatching(/^https:\/\/.*amazonaws\.com/),
    ]);
  });

  it('requires a bearer JWT globally, and only /health and /openapi.json opt out', () => {
    // Arrange
    const optedOut = operations
      .filter(({ operation }) => operation.security !== undefined)
      .map(({ method, path, operation }) => ({
        key: `${method.toUpperCase()} ${path}`,
        security: operation.security,
      }));
    // Assert
    expect(document.components?.securitySchemes?.bearerAuth).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
    );
    expect(document.security).toEqual([{ bearerAuth: [] }]);
    expect(optedOut).toEqual([
      { key: 'GET /health', security: [] },
      { key: 'GET /openapi.json', security: [] },
    ]);
  });

  it('resolves every $ref to something in the document', () => {
    // Arrange
    const refs = collectRefs(document);
    // Act
    const unresolved = refs.filter(({ ref }) => resolveLocalRef(document, ref) === undefined);
    // Assert
    expect(refs.length).toBeGreaterThan(50);
    expect(unresolved).toEqual([]);
  });

  it('uses every component it defines', () => {
    // Arrange
    const referenced = new Set(collectRefs(document).map(({ ref }) => ref));
    const components = ['schemas', 'responses', 'parameters', 'headers'].flatMap((kind) =>
      Object.keys((document.components?.[kind] as JsonObject | undefined) ?? {}).map(
        (name) => `#/components/${kind}/${name}`,
      ),
    );
    // Act
    const unused = components.filter((ref) => !referenced.has(ref));
    // Assert
    expect(components.length).toBeGreaterThan(30);
    expect(unused).toEqual([]);
  });

  it('has schemas that are valid JSON Schema 2020-12 and compile with unknown keywords and formats refused', () => {
    // Arrange
    const ajv = new Ajv2020({
      strictSchema: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      validateSchema: false,
      allErrors: true,
    });
    addFormats.default(ajv);
    for (const keyword of OAS_SCHEMA_KEYWORDS) ajv.addKeyword(keyword);
    // Ajv compiles the document's root object as a schema too: its OpenAPI fields are not keywords.
    for (const field of Object.keys(document)) ajv.addKeyword(field);
    ajv.addSchema(document, 'urn:airlock:openapi-strict');
    const pointers = schemaPointers(document);
    // Act
    const problems = pointers.flatMap((pointer) => {
      const schema = resolveLocalRef(document, `#${pointer}`);
      if (!ajv.validateSchema(schema as object)) return [`${pointer}: ${ajv.errorsText(ajv.errors)}`];
      try {
        const fragment = pointer.split('/').map(encodeURIComponent).join('/');
        ajv.getSchema(`urn:airlock:openapi-strict#${fragment}`);
        return [];
      } catch (error) {
        return [`${pointer}: ${(error as Error).message}`];
      }
    });
    // Assert
    expect(pointers.length).toBeGreaterThan(40);
    expect(problems).toEqual([]);
  });

  it('gives every operation a unique operationId, a summary and at least one 2xx response', () => {
    // Arrange
    const ids = operations.map(({ operation }) => operation.operationId);
    // Assert
    expect(new Set(ids).size).toBe(operations.length);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(operations.filter(({ operation }) => typeof operation.summary !== 'string')).toEqual([]);
    expect(
      operations
        .filter(({ operation }) => !Object.keys(operation.responses).some((status) => /^2\d\d$/.test(status)))
        .map(({ method, path }) => `${method} ${path}`),
    ).toEqual([]);
  });

  it('declares every path template parameter as a required path parameter, and no others', () => {
    // Arrange
    const mismatches = operations.flatMap(({ method, path, operation }) => {
      const inTemplate = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name).sort();
      const declared = [...(document.paths[path]?.parameters ?? []), ...(operation.parameters ?? [])]
        .map((parameter) =>
          typeof parameter.$ref === 'string'
            ? (resolveLocalRef(document, parameter.$ref) as ParameterObject)
            : (parameter as ParameterObject),
        )
        .filter((parameter) => parameter.in === 'path');
      const names = declared.map((parameter) => parameter.name).sort();
      const optional = declared.filter((parameter) => parameter.required !== true);
      return JSON.stringify(names) === JSON.stringify(inTemplate) && optional.length === 0
        ? []
        : [{ operation: `${method} ${path}`, inTemplate, declared: names }];
    });
    // Assert
    expect(mismatches).toEqual([]);
  });
});

describe('the OpenAPI document: error responses', () => {
  const errorResponses = operations.flatMap(({ method, path }) =>
    Object.keys(document.paths[path]?.[method]?.responses ?? {})
      .filter((status) => /^[45]\d\d$/.test(status))
      .filter((status) => !(PUBLIC_OPERATIONS.has(`${method.toUpperCase()} ${path}`) && status === '503'))
      .map((status) => ({ method, path, status })),
  );

  it('documents every error code of the README once, in ErrorCode', () => {
    // Arrange
    const errorCode = document.components?.schemas?.ErrorCode as { enum?: string[] };
    // Assert
    expect([...(errorCode.enum ?? [])].sort()).toEqual(Object.values(CODES_BY_STATUS).flat().sort());
  });

  it('answers every 4xx and 5xx in the one error shape, with only the codes of that status', () => {
    // Act
    const problems = errorResponses.flatMap(({ method, path, status }) => {
      const response = responseOf(path, method, status);
      const codes = errorCodesOf(response.content?.['application/json']?.schema);
      const label = `${method.toUpperCase()} ${path} ${status}`;
      if (codes === undefined) return [`${label}: not a per-code error schema`];
      const foreign = codes.filter((code) => !(CODES_BY_STATUS[status] ?? []).includes(code));
      return foreign.length > 0 ? [`${label}: codes ${foreign.join(', ')} do not belong to ${status}`] : [];
    });
    // Assert
    expect(errorResponses.length).toBeGreaterThan(20);
    expect(problems).toEqual([]);
  });

  it('closes the error envelope: no field besides code, message and details', () => {
    // Arrange
    const error = document.components?.schemas?.Error as JsonObject;
    const inner = (error.properties as JsonObject).error as JsonObject;
    // Assert
    expect(error.additionalProperties).toBe(false);
    expect(inner.additionalProperties).toBe(false);
    expect(Object.keys(inner.properties as JsonObject).sort()).toEqual(['code', 'details', 'message']);
  });

  it('documents 401, 500 and 503 on every authenticated operation, and 404 wherever an id is in the path', () => {
    // Act
    const missing = operations
      .filter(({ method, path }) => !PUBLIC_OPERATIONS.has(`${method.toUpperCase()} ${path}`))
      .flatMap(({ method, path, operation }) =>
        ['401', '500', '503', ...(path.includes('{id}') ? ['404'] : [])]
          .filter((status) => operation.responses[status] === undefined)
          .map((status) => `${method.toUpperCase()} ${path} ${status}`),
      );
    // Assert
    expect(missing).toEqual([]);
  });

  it('pins the codes each operation can really answer', () => {
    // Arrange
    const codes = (path: string, method: string, status: string) =>
      errorCodesOf(responseOf(path, method, status).content?.['application/json']?.schema);
    // Assert
    expect(codes('/uploads', 'post', '400')).toEqual([
      'INVALID_JSON',
      'INVALID_REQUEST',
      'INVALID_IDEMPOTENCY_KEY',
    ]);
    expect(codes('/uploads', 'post', '409')).toEqual(['IDEMPOTENCY_KEY_USED']);
    expect(codes('/uploads', 'post', '422')).toEqual(['IDEMPOTENCY_KEY_MISMATCH']);
    expect(codes('/uploads', 'post', '429')).toEqual(['QUOTA_EXCEEDED']);
    expect(codes('/uploads', 'post', '413')).toEqual(['FILE_TOO_LARGE', 'REQUEST_TOO_LARGE']);
    expect(codes('/uploads', 'post', '415')).toEqual(['UNSUPPORTED_MEDIA_TYPE']);
    expect(codes('/uploads', 'get', '400')).toEqual(['INVALID_QUERY', 'INVALID_CURSOR']);
    expect(codes('/audit/uploads', 'get', '403')).toEqual(['FORBIDDEN']);
    expect(codes('/uploads/{id}', 'get', '404')).toEqual(['NOT_FOUND']);
  });
});

describe('the OpenAPI document: the domain it describes', () => {
  const schemas = document.components?.schemas ?? {};
  const schema = (name: string): JsonObject => {
    const found = schemas[name];
    if (!isObject(found)) throw new Error(`No schema ${name}`);
    return found;
  };

  /** Every audit action; `satisfies` and the check below make tsc fail when one is added or removed. */
  const AUDIT_ACTIONS = [
    'ISSUED',
    'CLAIMED',
    'REDRIVEN',
    'LATE_UPLOAD',
    'PROCESSED',
    'REJECTED',
    'FAILED',
    'EXPIRED',
    'DISCARDED',
    'QUARANTINED',
  ] as const satisfies readonly AuditAction[];
  const everyActionListed: [Exclude<AuditAction, (typeof AUDIT_ACTIONS)[number]>] extends [never]
    ? true
    : false = true;

  /** Field lists typed against the domain: tsc fails when a field is added to or removed from the types. */
  const UPLOAD_VIEW_FIELDS: Record<keyof UploadView, true> = {
    uploadId: true,
    status: true,
    fileName: true,
    contentType: true,
    size: true,
    sha256: true,
    detectedType: true,
    createdAt: true,
    updatedAt: true,
    expiresAt: true,
    reasons: true,
    scan: true,
    download: true,
  };
  const AUDIT_EVENT_FIELDS: Record<keyof AuditEventView, true> = {
    seq: true,
    prevHash: true,
    hash: true,
    at: true,
    actor: true,
    action: true,
    from: true,
    to: true,
    reasons: true,
    versionId: true,
    executionId: true,
    scan: true,
  };
  const CREATE_REQUEST_FIELDS: Record<keyof CreateUploadRequest, true> = {
    fileName: true,
    contentType: true,
    size: true,
    sha256: true,
    method: true,
  };
  const propertyNames = (name: string) => Object.keys(schema(name).properties as JsonObject).sort();

  it('lists the statuses, reason codes and audit actions of the domain model', () => {
    // Assert
    expect(everyActionListed).toBe(true);
    expect(schema('UploadStatus').enum).toEqual([...UPLOAD_STATUSES]);
    expect(schema('ReasonCode').enum).toEqual([...REASON_CODES]);
    expect(schema('AuditAction').enum).toEqual([...AUDIT_ACTIONS]);
  });

  it('describes exactly the fields of the upload view, the audit event view and the create request', () => {
    // Assert
    expect(propertyNames('UploadProperties')).toEqual(Object.keys(UPLOAD_VIEW_FIELDS).sort());
    expect(propertyNames('AuditEvent')).toEqual(Object.keys(AUDIT_EVENT_FIELDS).sort());
    expect(propertyNames('CreateUploadRequest')).toEqual(Object.keys(CREATE_REQUEST_FIELDS).sort());
  });

  it('closes every schema whose fields the handlers fully control', () => {
    // Arrange
    const closed = Object.entries(schemas)
      .filter(
        ([, value]) =>
          isObject(value) && (value.additionalProperties === false || value.unevaluatedProperties === false),
      )
      .map(([name]) => name)
      .sort();
    // Assert
    expect(closed).toEqual(
      [
        'AuditActor',
        'AuditDigestItem',
        'AuditDigestList',
        'AuditEvent',
        'AuditPublicKey',
        'AuditUpload',
        'AuditUploadList',
        'CreateUploadRequest',
        'CreatedUpload',
        'Download',
        'Error',
        'Health',
        'PostUploadGrant',
        'PutUploadGrant',
        'Reason',
        'ScanVerdict',
        'SignedDownload',
        'Upload',
        'UploadEvents',
        'UploadList',
      ].sort(),
    );
  });

  it('refuses an upload with a field the contract does not have, and an audit upload without its owner', () => {
    // Arrange
    const validator = new OpenApiValidator(document);
    const upload = {
      uploadId: '01JNB8Y6Z4Q2W7E5R3T9K1M0PA',
      status: 'PROCESSING' satisfies UploadStatus,
      fileName: 'a.pdf',
      contentType: 'application/pdf',
      size: 10,
      createdAt: '2025-03-01T12:00:00.000Z',
      updatedAt: '2025-03-01T12:00:00.000Z',
    };
    // Act
    const plain = validator.validateAt('/components/schemas/Upload', upload);
    const leaked = validator.validateAt('/components/schemas/Upload', { ...upload, owner: 'user-alice' });
    const audited = validator.validateAt('/components/schemas/AuditUpload', {
      ...upload,
      owner: 'user-alice',
    });
    const ownerless = validator.validateAt('/components/schemas/AuditUpload', upload);
    // Assert
    expect(plain).toEqual([]);
    expect(leaked.join('\n')).toMatch(/unevaluated/);
    expect(audited).toEqual([]);
    expect(ownerless.join('\n')).toMatch(/owner/);
  });
});

describe('the OpenAPI document and the local server', () => {
  it('documents exactly the routes the local server knows: its route table, /health and /openapi.json', () => {
    // Arrange
    const parsed = routesInServerSource();
    const known = new Set([...parsed, ...staticRouteKeys]);
    // Act
    const undocumented = [...known].filter((route) => !operationKeys.includes(route));
    const unknownToServer = operationKeys.filter((route) => !known.has(route));
    // Assert
    expect(parsed).toEqual(
      expect.arrayContaining(['POST /uploads', 'GET /uploads/{id}', 'GET /audit/uploads', 'GET /health']),
    );
    expect(staticRouteKeys).toEqual(['GET /openapi.json']);
    expect(undocumented).toEqual([]);
    expect(unknownToServer).toEqual([]);
  });

  describe('a real local API server with stub handlers and the OpenAPI static route', () => {
    let server: Awaited<ReturnType<typeof startApiServer>>;
    let baseUrl: string;
    const validator = new OpenApiValidator(document);

    beforeAll(async () => {
      // Every handler answers with the route key it was called for.
      const stub = (_name: string) => (event: ApiEvent) =>
        Promise.resolve<ApiResult>({
          statusCode: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ routeKey: event.routeKey }),
        });
      const handlers = new Proxy({} as ApiServerOptions['handlers'], {
        get: (_target, name) => stub(String(name)),
      });
      server = await startApiServer({
        port: 0,
        verify: () => Promise.resolve({ sub: 'user-probe' }),
        handlers,
        allowedOrigins: [],
        health: () => Promise.resolve({ ok: true, parts: { dynamodb: true, s3: true } }),
        staticRoutes: openApiStaticRoute(),
      });
      baseUrl = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    });

    afterAll(() => server.stop());

    it('dispatches every route of its table to the handler of that route key', async () => {
      // Arrange
      const table = routesInServerSource().filter((route) => !route.endsWith(' /health'));
      // Act
      const answered = await Promise.all(
        table.map(async (route) => {
          const [method = 'GET', template = '/'] = route.split(' ');
          const path = template.replace(/\{\w+\}/g, '01JNB8Y6Z4Q2W7E5R3T9K1M0PA');
          const response = await fetch(`${baseUrl}${path}`, {
            method,
            headers: { authorization: 'Bearer probe' },
            ...(method === 'POST' ? { body: '{}' } : {}),
          });
          return ((await response.json()) as { routeKey?: string }).routeKey;
        }),
      );
      // Assert
      expect(table.length).toBeGreaterThanOrEqual(5);
      expect(answered).toEqual(table);
    });

    it('serves GET /openapi.json without a token, as JSON, equal to the document in the repository', async () => {
      // Act
      const response = await fetch(`${baseUrl}/openapi.json`);
      const text = await response.text();
      // Assert
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.parse(text)).toEqual(document);
      expect(
        validator.validateResponse('GET', '/openapi.json', response.status, {
          headers: response.headers,
          body: text,
        }),
      ).toEqual([]);
    });

    it('serves GET /health without a token in the documented shape', async () => {
      // Act
      const response = await fetch(`${baseUrl}/health`);
      const text = await response.text();
      // Assert
      expect(response.status).toBe(200);
      expect(
        validator.validateResponse('GET', '/health', response.status, {
          headers: response.headers,
          body: text,
        }),
      ).toEqual([]);
    });
  });
});
