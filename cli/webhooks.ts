import { emit, EXIT, type Context } from './context.js';
import { cell, table } from './format.js';

interface EndpointStatus {
  id: string;
  delivered: number;
  pending: number;
  deadLettered: number;
  failedAttempts: number;
  lastError?: string;
  lastDeliveredAt?: string;
}

/**
 * `airlock webhooks status`: each endpoint's deliveries on the local runtime (delivered, waiting
 * for an attempt, dead-lettered, failed attempts, the last error). Exit 1 when any delivery is
 * dead-lettered. On AWS the same facts are the webhook queues' (the stack's
 * WebhookDeadLetterQueueUrl output, alarmed when not empty) and the delivery function's logs.
 */
export async function webhooksStatusCommand(ctx: Context): Promise<number> {
  const response = await fetch(new URL('/_local/webhooks', ctx.apiUrl));
  if (response.status === 404) {
    throw new Error(
      'webhooks status reads the local runtime; on AWS, see the webhook dead-letter queue (stack output WebhookDeadLetterQueueUrl) and its alarm',
    );
  }
  if (!response.ok) throw new Error(`GET /_local/webhooks answered ${response.status}`);
  const { endpoints } = (await response.json()) as { endpoints: EndpointStatus[] };
  if (ctx.json) await emit(ctx.stdout, `${JSON.stringify({ endpoints }, null, 2)}\n`);
  else
    await emit(
      ctx.stdout,
      table(
        ['endpoint', 'delivered', 'pending', 'deadLettered', 'failedAttempts', 'lastError'],
        endpoints.map((endpoint) => [
          cell(endpoint.id),
          cell(endpoint.delivered),
          cell(endpoint.pending),
          cell(endpoint.deadLettered),
          cell(endpoint.failedAttempts),
          cell(endpoint.lastError),
        ]),
      ),
    );
  return endpoints.some((endpoint) => endpoint.deadLettered > 0) ? EXIT.NOT_PROCESSED : EXIT.OK;
}
