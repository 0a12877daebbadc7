import { Token } from 'aws-cdk-lib';
import {
  WEBHOOK_INITIAL_DELAY_SECONDS_BOUNDS,
  WEBHOOK_MAX_ATTEMPTS_BOUNDS,
  WEBHOOK_MAX_DELAY_SECONDS_BOUNDS,
  type IntBounds,
} from '../../functions/commons/setting-bounds.js';
import { isOutcomeStatus } from '../../functions/domain/outcome-event.js';
import { checkWebhookUrl, DEPLOYED_TARGET_RULES } from '../../functions/domain/webhook-target.js';
import { retryHorizonMs, WEBHOOK_ID_PATTERN } from '../../functions/domain/webhooks.js';
import type { WebhookEndpointProps, WebhookRetryProps } from './props.js';

/** How long the webhook queues keep a delivery (SQS's longest retention). */
export const WEBHOOK_QUEUE_RETENTION_SECONDS = 14 * 86_400;
/** Time an attempt may hold a message before SQS hands it out again (six function timeouts). */
const ATTEMPT_VISIBILITY_SECONDS = 180;

export interface WebhookSettings {
  readonly webhooks: WebhookEndpointProps[];
  readonly webhookRetry: Required<WebhookRetryProps>;
}

/**
 * The webhook props checked at synth: ids, https URLs to hosts that are not inward literals,
 * Secrets Manager ARNs, filters, and a retry policy that ends within the queue's retention.
 */
export function resolveWebhookSettings(
  props: { webhooks?: WebhookEndpointProps[]; webhookRetry?: WebhookRetryProps },
  fail: (message: string) => never,
): WebhookSettings {
  const webhooks = props.webhooks ?? [];
  const ids = new Set<string>();
  for (const [index, webhook] of webhooks.entries()) {
    const name = `webhooks[${index}]`;
    if (!WEBHOOK_ID_PATTERN.test(webhook.id))
      fail(`${name}.id must be 1–63 lowercase letters, digits and dashes.`);
    if (ids.has(webhook.id)) fail(`${name}.id "${webhook.id}" is used twice.`);
    ids.add(webhook.id);
    if (Token.isUnresolved(webhook.url)) fail(`${name}.url must be a concrete URL.`);
    try {
      checkWebhookUrl(webhook.url, DEPLOYED_TARGET_RULES);
    } catch (error) {
      fail(`${name}.url (${webhook.id}): ${(error as Error).message}`);
    }
    if (
      !Token.isUnresolved(webhook.secretArn) &&
      !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(webhook.secretArn)
    ) {
      fail(
        `${name}.secretArn (${webhook.id}) must be a Secrets Manager secret ARN: on AWS the signing secret is read from Secrets Manager.`,
      );
    }
    if (
      webhook.statuses !== undefined &&
      (webhook.statuses.length === 0 || !webhook.statuses.every(isOutcomeStatus))
    )
      fail(
        `${name}.statuses must list terminal statuses (PROCESSED, REJECTED, FAILED, EXPIRED, QUARANTINED).`,
      );
    if (
      webhook.owners !== undefined &&
      (webhook.owners.length === 0 || webhook.owners.some((owner) => owner === ''))
    )
      fail(`${name}.owners must list owners (sub claims).`);
  }
  const whole = (value: number | undefined, bounds: IntBounds & { max: number }, field: string): number => {
    const resolved = value ?? bounds.default;
    if (!Number.isInteger(resolved) || resolved < bounds.min || resolved > bounds.max)
      fail(
        `webhookRetry.${field} must be a whole number from ${bounds.min} to ${bounds.max}, got ${resolved}.`,
      );
    return resolved;
  };
  const retry = props.webhookRetry ?? {};
  const webhookRetry = {
    maxAttempts: whole(retry.maxAttempts, WEBHOOK_MAX_ATTEMPTS_BOUNDS, 'maxAttempts'),
    initialDelaySeconds: whole(
      retry.initialDelaySeconds,
      WEBHOOK_INITIAL_DELAY_SECONDS_BOUNDS,
      'initialDelaySeconds',
    ),
    maxDelaySeconds: whole(retry.maxDelaySeconds, WEBHOOK_MAX_DELAY_SECONDS_BOUNDS, 'maxDelaySeconds'),
  };
  if (webhookRetry.maxDelaySeconds < webhookRetry.initialDelaySeconds)
    fail('webhookRetry.maxDelaySeconds must be at least initialDelaySeconds.');
  const horizonSeconds =
    retryHorizonMs({
      maxAttempts: webhookRetry.maxAttempts,
      initialDelayMs: webhookRetry.initialDelaySeconds * 1000,
      maxDelayMs: webhookRetry.maxDelaySeconds * 1000,
    }) /
      1000 +
    webhookRetry.maxAttempts * ATTEMPT_VISIBILITY_SECONDS;
  if (horizonSeconds >= WEBHOOK_QUEUE_RETENTION_SECONDS)
    fail(
      `webhookRetry would try a delivery for up to ${Math.round(horizonSeconds / 86_400)} days, longer than the 14 days SQS keeps it: fewer attempts or shorter pauses.`,
    );
  return { webhooks, webhookRetry };
}
