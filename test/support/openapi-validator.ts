import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import {
  HTTP_METHODS,
  loadOpenApiDocument,
  type HeaderObject,
  type HttpMethod,
  type OpenApiDocument,
  type OperationObject,
  type ResponseObject,
} from '../../openapi/index.js';

/**
 * Checks real responses against the OpenAPI document: the status must be documented for the
 * operation, every required header present and every documented header well-formed, the
 * content type one of those documented, and the body valid against the response's JSON Schema
 * (Ajv, JSON Schema 2020-12, formats checked). A status documented without content must come
 * with no body.
 */

/** A response as a handler returns it or as fetch received it. */
export interface ResponseLike {
  /** fetch's Headers, or a handler's header map (names in any case). */
  headers?: Headers | Record<string, string | number | boolean | undefined> | undefined;
  /** The raw body text as sent; undefined or '' for none. */
  body?: string | undefined;
}

/** One operation of the document. */
export interface DocumentedOperation {
  method: HttpMethod;
  path: string;
  operation: OperationObject;
}

/** The id under which the document is registered with Ajv; JSON pointers resolve against it. */
const DOCUMENT_ID = 'urn:airlock:openapi';

/** Keywords of the OpenAPI 3.1 schema dialect beyond JSON Schema 2020-12 (annotations only). */
export const OAS_SCHEMA_KEYWORDS = ['discriminator', 'xml', 'externalDocs', 'example'] as const;

/** A JSON pointer (RFC 6901) from its unescaped parts. */
export function jsonPointer(parts: readonly string[]): string {
  return parts.map((part) => `/${part.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** The value a local `$ref` (`#/...`) points at in the document, or undefined. */
export function resolveLocalRef(document: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const pointer = decodeURIComponent(ref.slice(1));
  if (pointer === '') return document;
  if (!pointer.startsWith('/')) return undefined;
  let node: unknown = document;
  for (const raw of pointer.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Every operation of the document, in document order. */
export function documentedOperations(document: OpenApiDocument): DocumentedOperation[] {
  const operations: DocumentedOperation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation !== undefined) operations.push({ method, path, operation });
    }
  }
  return operations;
}

const isReference = (value: unknown): value is { $ref: string } =>
  typeof value === 'object' && value !== null && typeof (value as { $ref?: unknown }).$ref === 'string';

/** The essence of a media type: `Application/JSON; charset=utf-8` → `application/json`. */
const mediaEssence = (value: string): string => value.split(';', 1)[0]?.trim().toLowerCase() ?? '';

const isJsonMediaType = (essence: string): boolean =>
  essence === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(essence);

function headerMap(headers: ResponseLike['headers']): Map<string, string> {
  const map = new Map<string, string>();
  if (headers === undefined) return map;
  // Duck-typed rather than `instanceof Headers`: fetch's Headers may come from another realm.
  if (typeof headers.forEach === 'function' && typeof headers.get === 'function') {
    (headers as Headers).forEach((value, name) => map.set(name.toLowerCase(), value));
    return map;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) map.set(name.toLowerCase(), String(value));
  }
  return map;
}

/** Header values are text; coerce them to the schema's primitive type (simple style). */
function coerceHeaderValue(value: string, schema: unknown): unknown {
  const type =
    typeof schema === 'object' && schema !== null ? (schema as { type?: unknown }).type : undefined;
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value.trim())) {
    return Number(value.trim());
  }
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function formatErrors(where: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => {
    const at = error.instancePath === '' ? '' : ` at ${error.instancePath}`;
    return `${where}${at}: ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`;
  });
}

export class OpenApiValidator {
  readonly document: OpenApiDocument;
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(document: OpenApiDocument = loadOpenApiDocument()) {
    this.document = document;
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats.default(this.ajv);
    // The whole document is registered once; schemas are compiled by JSON pointer into it, so
    // every `#/components/...` reference inside them resolves against the document.
    this.ajv.addSchema(document, DOCUMENT_ID);
  }

  /** The operation for a method and a documented path template, if documented. */
  operation(method: string, pathTemplate: string): OperationObject | undefined {
    const item = Object.hasOwn(this.document.paths, pathTemplate)
      ? this.document.paths[pathTemplate]
      : undefined;
    const key = method.toLowerCase() as HttpMethod;
    return (HTTP_METHODS as readonly string[]).includes(key) ? item?.[key] : undefined;
  }

  /**
   * The Response Object documented for a status (exact code, then `4XX`-style range, then
   * `default`), with `$ref`s followed, and the JSON pointer where it lives.
   */
  response(
    method: string,
    pathTemplate: string,
    status: number,
  ): { response: ResponseObject; pointer: string } | { error: string } {
    const label = `${method.toUpperCase()} ${pathTemplate}`;
    const operation = this.operation(method, pathTemplate);
    if (operation === undefined) return { error: `${label} is not documented` };
    const candidates = [String(status), `${String(status).charAt(0)}XX`, 'default'];
    const key = candidates.find((candidate) => Object.hasOwn(operation.responses, candidate));
    if (key === undefined) return { error: `${label} documents no ${status} response` };
    let pointer = jsonPointer(['paths', pathTemplate, method.toLowerCase(), 'responses', key]);
    let node: unknown = operation.responses[key];
    for (let hops = 0; isReference(node); hops++) {
      if (hops > 10) return { error: `${label} ${status}: $ref cycle at ${pointer}` };
      const target = resolveLocalRef(this.document, node.$ref);
      if (target === undefined) return { error: `${label} ${status}: unresolved $ref ${node.$ref}` };
      pointer = decodeURIComponent(node.$ref.slice(1));
      node = target;
    }
    return { response: node as ResponseObject, pointer };
  }

  /** Validates a value against the schema at a JSON pointer into the document. */
  validateAt(pointer: string, value: unknown, where = pointer): string[] {
    const validate = this.compiledAt(pointer);
    return validate(value) ? [] : formatErrors(where, validate.errors);
  }

  /** Validates a request body against the operation's documented JSON request schema. */
  validateRequestBody(method: string, pathTemplate: string, body: unknown): string[] {
    const label = `${method.toUpperCase()} ${pathTemplate}`;
    const requestBody = this.operation(method, pathTemplate)?.requestBody;
    if (requestBody === undefined || isReference(requestBody)) return [`${label} documents no request body`];
    if (requestBody.content['application/json']?.schema === undefined) {
      return [`${label} documents no application/json request schema`];
    }
    const pointer = jsonPointer([
      'paths',
      pathTemplate,
      method.toLowerCase(),
      'requestBody',
      'content',
      'application/json',
      'schema',
    ]);
    return this.validateAt(pointer, body, `${label} request body`);
  }

  /** Every way the response departs from the document; empty when it conforms. */
  validateResponse(method: string, pathTemplate: string, status: number, response: ResponseLike): string[] {
    const found = this.response(method, pathTemplate, status);
    if ('error' in found) return [found.error];
    const label = `${method.toUpperCase()} ${pathTemplate} ${status}`;
    const headers = headerMap(response.headers);
    return [
      ...this.checkHeaders(label, found.response, found.pointer, headers),
      ...this.checkBody(label, found.response, found.pointer, headers, response.body),
    ];
  }

  private checkHeaders(
    label: string,
    response: ResponseObject,
    pointer: string,
    headers: Map<string, string>,
  ): string[] {
    const problems: string[] = [];
    for (const [name, declared] of Object.entries(response.headers ?? {})) {
      // OpenAPI: a documented Content-Type header is ignored (the content map says it).
      if (name.toLowerCase() === 'content-type') continue;
      let header: unknown = declared;
      let headerPointer = `${pointer}${jsonPointer(['headers', name])}`;
      if (isReference(declared)) {
        header = resolveLocalRef(this.document, declared.$ref);
        headerPointer = decodeURIComponent(declared.$ref.slice(1));
        if (header === undefined) {
          problems.push(`${label}: header ${name} has an unresolved $ref ${declared.$ref}`);
          continue;
        }
      }
      const { required, schema } = header as HeaderObject;
      const value = headers.get(name.toLowerCase());
      if (value === undefined) {
        if (required === true) problems.push(`${label}: required header ${name} is missing`);
        continue;
      }
      if (schema !== undefined) {
        problems.push(
          ...this.validateAt(
            `${headerPointer}/schema`,
            coerceHeaderValue(value, schema),
            `${label} header ${name}=${JSON.stringify(value)}`,
          ),
        );
      }
    }
    return problems;
  }

  private checkBody(
    label: string,
    response: ResponseObject,
    pointer: string,
    headers: Map<string, string>,
    body: string | undefined,
  ): string[] {
    const content = response.content ?? {};
    const mediaTypes = Object.keys(content);
    const hasBody = body !== undefined && body !== '';
    if (mediaTypes.length === 0) {
      return hasBody ? [`${label}: documents no body, but one of ${body.length} characters was sent`] : [];
    }
    if (!hasBody) return [`${label}: documents a body (${mediaTypes.join(', ')}), but none was sent`];

    const contentType = headers.get('content-type');
    if (contentType === undefined) return [`${label}: the response has no Content-Type`];
    const essence = mediaEssence(contentType);
    const mediaType = mediaTypes.find((candidate) => {
      const documented = mediaEssence(candidate);
      if (documented === essence || documented === '*/*') return true;
      return documented.endsWith('/*') && essence.startsWith(documented.slice(0, -1));
    });
    if (mediaType === undefined) {
      return [`${label}: Content-Type ${contentType} is not one of ${mediaTypes.join(', ')}`];
    }
    if (!isJsonMediaType(essence) || content[mediaType]?.schema === undefined) return [];

    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return [`${label}: the body is not JSON: ${body.slice(0, 120)}`];
    }
    return this.validateAt(
      `${pointer}${jsonPointer(['content', mediaType, 'schema'])}`,
      parsed,
      `${label} body`,
    );
  }

  private compiledAt(pointer: string): ValidateFunction {
    let validate = this.validators.get(pointer);
    if (validate === undefined) {
      const fragment = pointer
        .split('/')
        .map((part) => encodeURIComponent(part))
        .join('/');
      validate = this.ajv.getSchema(`${DOCUMENT_ID}#${fragment}`);
      if (validate === undefined) throw new Error(`No schema at ${pointer} in the OpenAPI document.`);
      this.validators.set(pointer, validate);
    }
    return validate;
  }
}

let shared: OpenApiValidator | undefined;

/** One validator over the repository's document, compiled once per test file. */
export function openApiValidator(): OpenApiValidator {
  shared ??= new OpenApiValidator();
  return shared;
}

/**
 * Checks a response against the repository's document: method, path template (as documented,
 * e.g. `/uploads/{id}`), status and the response's headers and raw body. Returns the problems.
 */
export function validateResponse(
  method: string,
  pathTemplate: string,
  status: number,
  response: ResponseLike,
): string[] {
  return openApiValidator().validateResponse(method, pathTemplate, status, response);
}
