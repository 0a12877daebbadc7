import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, readBody, send } from './api-server.js';

/** The local runtime's own routes (not Airlock's API: AWS has no counterpart of them). */
export interface RuntimeRoutes {
  /** What the local IAM checked and denied (local/iam/). */
  iamReport: () => unknown;
  /** Invokes an operator function (the redrive) with an event, as `aws lambda invoke` does. */
  invoke: (name: string, event: unknown) => Promise<unknown>;
  /** Each webhook endpoint's deliveries: delivered, pending, dead-lettered, last error. */
  webhooks?: () => unknown;
}

/**
 * The runtime's own routes. Refused to browsers (a request with an Origin header): a page must
 * not make the operator's runtime redrive. An invocation answers as Lambda's Invoke does: the
 * result, or `{errorType, errorMessage}` with `x-amz-function-error: Unhandled`.
 */
export async function serveRuntimeRoute(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  local: RuntimeRoutes,
): Promise<void> {
  if (request.headers.origin !== undefined) {
    send(response, 403, errorBody('FORBIDDEN', 'The runtime routes are not for browsers.'));
    return;
  }
  if (url.pathname === '/_local/iam' && request.method === 'GET') {
    send(response, 200, JSON.stringify(local.iamReport()));
    return;
  }
  if (url.pathname === '/_local/webhooks' && request.method === 'GET' && local.webhooks) {
    send(response, 200, JSON.stringify({ endpoints: local.webhooks() }));
    return;
  }
  const invoke = /^\/_local\/functions\/([a-z-]+)\/invoke$/.exec(url.pathname);
  if (request.method === 'POST' && invoke?.[1] !== undefined) {
    const body = await readBody(request);
    let event: unknown;
    try {
      event = body === undefined || body === '' ? {} : (JSON.parse(body) as unknown);
    } catch {
      send(response, 400, errorBody('INVALID_JSON', 'The event is not JSON.'));
      return;
    }
    try {
      send(response, 200, JSON.stringify((await local.invoke(invoke[1], event)) ?? null));
    } catch (error) {
      const failure = { errorType: (error as Error).name, errorMessage: (error as Error).message };
      send(response, 200, JSON.stringify(failure), undefined, { 'x-amz-function-error': 'Unhandled' });
    }
    return;
  }
  send(response, 404, errorBody('NOT_FOUND', 'No such route.'));
}
