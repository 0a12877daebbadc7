import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { lazy } from './commons/config.js';
import { logger } from './commons/logger.js';
import { readWebhookDeliveryConfig, type DeployedWebhookEndpoint } from './commons/webhook-settings.js';
import { SqsDeliveryQueue } from './adapters/delivery-queue.js';
import { SecretsManagerSecrets, type WebhookSecretSource } from './adapters/webhook-secrets.js';
import { HttpWebhookSender, type WebhookSender } from './adapters/webhook-sender.js';
import { OUTCOME_STATUSES, type OutcomeEvent } from './domain/outcome-event.js';
import { DEPLOYED_TARGET_RULES } from './domain/webhook-target.js';
import { retryDelayMs, signDelivery, type RetryPolicy } from './domain/webhooks.js';

export interface DeliverWebhooksDeps {
  endpoints: ReadonlyMap<string, DeployedWebhookEndpoint>;
  secrets: WebhookSecretSource;
  sender: WebhookSender;
  queue: Pick<SqsDeliveryQueue, 'retryAfter'>;
  retry: RetryPolicy;
  now: () => Date;
  random?: () => number;
}

/**
 * What the endpoint's rule puts in the queue: the endpoint's id and the outcome event (the
 * EventBridge event's detail). Checked loosely: the event was built and published by Airlock.
 */
const queuedDelivery = z.object({
  endpoint: z.string().min(1),
  event: z
    .object({
      id: z.string().min(1),
      data: z.object({ status: z.enum(OUTCOME_STATUSES), owner: z.string() }).loose(),
    })
    .loose(),
});

/**
 * Delivers outcome events to one webhook endpoint each, from the SQS queue its rules fill (one
 * message per event and endpoint, so endpoints are retried independently). A delivered message is
 * done; a failed one stays in the queue, hidden for the retry policy's pause, and after the last
 * attempt SQS moves it to the dead-letter queue, which is alarmed. Answers with the batch's
 * failures only (ReportBatchItemFailures), so that one slow endpoint never redelivers another's.
 * This function is the only part that talks to endpoints: the pipeline only publishes.
 */
export function makeDeliverWebhooksHandler(deps: () => DeliverWebhooksDeps) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const resolved = deps();
    const failures = await Promise.all(event.Records.map((record) => deliverOne(resolved, record)));
    return {
      batchItemFailures: failures.flatMap((failed, index) =>
        failed ? [{ itemIdentifier: event.Records[index]?.messageId ?? '' }] : [],
      ),
    };
  };
}

/** Delivers one message; true when it failed (and stays in the queue). */
async function deliverOne(deps: DeliverWebhooksDeps, record: SQSRecord): Promise<boolean> {
  const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
  let parsed: z.infer<typeof queuedDelivery>;
  try {
    parsed = queuedDelivery.parse(JSON.parse(record.body));
  } catch {
    // Not Airlock's: it can never be delivered; the dead-letter queue keeps it for a look.
    logger.error('webhook message unreadable', { messageId: record.messageId, attempt });
    await deps.queue.retryAfter(record.receiptHandle, 0).catch(() => undefined);
    return true;
  }
  const { endpoint: endpointId } = parsed;
  const outcome = parsed.event as unknown as OutcomeEvent;
  const log = { endpoint: endpointId, eventId: outcome.id, attempt };
  const endpoint = deps.endpoints.get(endpointId);
  if (endpoint === undefined) {
    logger.warn('webhook endpoint no longer configured: delivery dropped', log);
    return false;
  }
  let error: string;
  try {
    const secret = await deps.secrets.secretOf(endpoint.id, endpoint.secretArn);
    const result = await deps.sender.send(endpoint.url, signDelivery(outcome, secret, deps.now()));
    if (result.delivered) {
      logger.info('webhook delivered', { ...log, status: result.status });
      return false;
    }
    error = result.error;
  } catch (caught) {
    error = (caught as Error).name; // a secret that cannot be read or used: never its message
  }
  const pauseMs = retryDelayMs(deps.retry, attempt, deps.random);
  // After the last attempt the message becomes visible at once, and SQS dead-letters it.
  await deps.queue.retryAfter(record.receiptHandle, pauseMs === undefined ? 0 : pauseMs / 1000);
  logger.warn(pauseMs === undefined ? 'webhook failed: dead-lettered' : 'webhook failed: retrying', {
    ...log,
    error,
    ...(pauseMs === undefined ? {} : { retryInSeconds: Math.ceil(pauseMs / 1000) }),
  });
  return true;
}

const defaultDeps = lazy((): DeliverWebhooksDeps => {
  const config = readWebhookDeliveryConfig();
  return {
    endpoints: config.endpoints,
    secrets: new SecretsManagerSecrets(),
    sender: new HttpWebhookSender({ rules: DEPLOYED_TARGET_RULES }),
    queue: new SqsDeliveryQueue(config.queueUrl),
    retry: config.retry,
    now: () => new Date(),
  };
});

export const handler = makeDeliverWebhooksHandler(defaultDeps);
