/**
 * The typed Airlock client: the HTTP API v1 and the presigned S3 uploads it hands out.
 *
 * Only web-standard APIs are used here (fetch, Headers, Blob, ReadableStream, TextEncoder,
 * AbortSignal, crypto.getRandomValues), so that browsers can bundle this module as well as Node.
 * Node-only helpers (opening a file from disk with its size and SHA-256) are in `./node.ts`.
 * The API's types are generated from openapi/airlock.openapi.json (`npm run gen:api`).
 */

export type * from './types.js';
export type { components, operations, paths } from './generated/airlock-api.js';
export * from './errors.js';
export { UPLOAD_STATUSES, TERMINAL_STATUSES, isTerminal, contentTypeFor } from './statuses.js';
export { AirlockClient, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, newIdempotencyKey } from './airlock-client.js';
export { parseRetryAfter } from './transport.js';
export { multipartParts } from './s3-upload.js';
export {
  verifyWebhook,
  WebhookVerificationError,
  WEBHOOK_TOLERANCE_SECONDS,
  type OutcomeEvent,
} from './webhooks.js';
