import { readOpenApiDocumentText } from '../openapi/index.js';

/** The path the local runtime serves the OpenAPI document at. */
export const OPENAPI_ROUTE_PATH = '/openapi.json';

/**
 * The `staticRoutes` entry that serves the OpenAPI document, unauthenticated, at GET /openapi.json.
 * Spread it into the options of `startApiServer`. The file is read on each request, so the served
 * document is always the one in the repository.
 */
export function openApiStaticRoute(): Record<string, { contentType: string; body: () => Promise<string> }> {
  return {
    [OPENAPI_ROUTE_PATH]: {
      contentType: 'application/json; charset=utf-8',
      body: readOpenApiDocumentText,
    },
  };
}
