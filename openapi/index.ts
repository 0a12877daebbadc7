import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * The OpenAPI 3.1 document of the HTTP API (API contract v1). The JSON file beside this module is
 * the single source: the local runtime serves it at GET /openapi.json, and the tests check real
 * responses against it.
 */
export const OPENAPI_DOCUMENT_PATH = fileURLToPath(new URL('./airlock.openapi.json', import.meta.url));

/** The parts of an OpenAPI 3.1 document that the runtime and the tests read. */
export interface OpenApiDocument {
  openapi: string;
  jsonSchemaDialect?: string;
  info: { title: string; version: string; [key: string]: unknown };
  servers?: Array<{ url: string; description?: string; [key: string]: unknown }>;
  security?: Array<Record<string, string[]>>;
  paths: Record<string, PathItem>;
  components?: {
    schemas?: Record<string, JsonSchema>;
    responses?: Record<string, ResponseObject | Reference>;
    parameters?: Record<string, ParameterObject | Reference>;
    headers?: Record<string, HeaderObject | Reference>;
    securitySchemes?: Record<string, Record<string, unknown>>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export type PathItem = Partial<Record<HttpMethod, OperationObject>> & {
  parameters?: Array<ParameterObject | Reference>;
  servers?: Array<{ url: string; description?: string }>;
  [key: string]: unknown;
};

export interface OperationObject {
  operationId?: string;
  parameters?: Array<ParameterObject | Reference>;
  requestBody?: { required?: boolean; content: Record<string, MediaTypeObject> } | Reference;
  responses: Record<string, ResponseObject | Reference>;
  security?: Array<Record<string, string[]>>;
  [key: string]: unknown;
}

export interface ParameterObject {
  name: string;
  in: 'query' | 'header' | 'path' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
  [key: string]: unknown;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject | Reference>;
  content?: Record<string, MediaTypeObject>;
  [key: string]: unknown;
}

export interface HeaderObject {
  required?: boolean;
  schema?: JsonSchema;
  [key: string]: unknown;
}

export interface MediaTypeObject {
  schema?: JsonSchema;
  [key: string]: unknown;
}

export interface Reference {
  $ref: string;
}

/** A JSON Schema 2020-12 schema (the document's dialect). */
export type JsonSchema = boolean | { [keyword: string]: unknown };

/** The document as kept in the repository, parsed. */
export function loadOpenApiDocument(): OpenApiDocument {
  return JSON.parse(readFileSync(OPENAPI_DOCUMENT_PATH, 'utf8')) as OpenApiDocument;
}

/** The document's text, as served at GET /openapi.json. */
export function readOpenApiDocumentText(): Promise<string> {
  return readFile(OPENAPI_DOCUMENT_PATH, 'utf8');
}
