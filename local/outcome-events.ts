import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { WebhookEndpointConfig, WebhookRetryConfig } from '../config/events-config.js';
import { HttpWebhookSender } from '../functions/adapters/webhook-sender.js';
import { OUTCOME_EVENT_SOURCE, type OutcomeEvent } from '../functions/domain/outcome-event.js';
import { LOCAL_TARGET_RULES } from '../functions/domain/webhook-target.js';
import { parseWebhookSecret, type RetryPolicy } from '../functions/domain/webhooks.js';
import { LocalOutcomeBus, type LocalWebhookEndpoint } from './outcome-bus.js';

/**
 * The configured endpoints with their secrets, read where the configuration says (a file,
 * relative to the data dir, or an environment variable). A secret that cannot be read or is not
 * a Standard Webhooks secret stops the runtime at start, naming the endpoint, never the secret.
 */
export function localWebhookEndpoints(
  webhooks: readonly WebhookEndpointConfig[],
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): LocalWebhookEndpoint[] {
  return webhooks.map((webhook) => {
    const source = `the secret of webhook ${webhook.id}`;
    let text: string | undefined;
    if (webhook.secret.file !== undefined) {
      const path = isAbsolute(webhook.secret.file) ? webhook.secret.file : join(dataDir, webhook.secret.file);
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        throw new Error(`${source}: its file cannot be read.`);
      }
    } else if (webhook.secret.env !== undefined) {
      text = env[webhook.secret.env];
      if (text === undefined) throw new Error(`${source}: ${webhook.secret.env} is not set.`);
    } else {
      throw new Error(`${source}: locally it comes from a file or an environment variable.`);
    }
    return {
      id: webhook.id,
      url: webhook.url,
      secret: parseWebhookSecret(text, source),
      ...(webhook.statuses ? { statuses: webhook.statuses } : {}),
      ...(webhook.owners ? { owners: webhook.owners } : {}),
    };
  });
}

export const retryPolicyOf = (retry: WebhookRetryConfig): RetryPolicy => ({
  maxAttempts: retry.maxAttempts,
  initialDelayMs: retry.initialDelaySeconds * 1000,
  maxDelayMs: retry.maxDelaySeconds * 1000,
});

/** The local bus: the outcome events' journal and feed, delivering to loopback endpoints too. */
export function startLocalOutcomeBus(options: {
  dataDir: string;
  webhooks: readonly WebhookEndpointConfig[];
  retry: WebhookRetryConfig;
  onError?: (message: string, error: unknown) => void;
}): LocalOutcomeBus {
  return new LocalOutcomeBus({
    dir: join(options.dataDir, 'outcome-events'),
    endpoints: localWebhookEndpoints(options.webhooks, options.dataDir),
    retry: retryPolicyOf(options.retry),
    sender: new HttpWebhookSender({ rules: LOCAL_TARGET_RULES }),
    ...(options.onError ? { onError: options.onError } : {}),
  });
}

/**
 * PutEvents as EventBridge answers it, for the bus named `busName`: entries of another bus or
 * source, or whose detail is not an event, are refused one by one (FailedEntryCount), the rest
 * journaled before the answer.
 */
export function putEventsOn(bus: LocalOutcomeBus, busName: string) {
  return (input: { Entries?: unknown[] }) => {
    const entries = (input.Entries ?? []) as PutEventsRequestEntry[];
    const accepted: OutcomeEvent[] = [];
    const answers = entries.map((entry) => {
      if (entry.EventBusName !== busName || entry.Source !== OUTCOME_EVENT_SOURCE) {
        return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not this bus or source.' };
      }
      try {
        const event = JSON.parse(entry.Detail ?? '') as OutcomeEvent;
        accepted.push(event);
        return { EventId: event.id };
      } catch {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is not JSON.' };
      }
    });
    bus.put(accepted);
    return Promise.resolve({
      FailedEntryCount: answers.filter((answer) => 'ErrorCode' in answer).length,
      Entries: answers,
    });
  };
}
