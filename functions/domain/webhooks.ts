import { Webhook } from 'standardwebhooks';
import type { OutcomeEvent, OutcomeStatus } from './outcome-event.js';

/**
 * Webhook deliveries of outcome events, as the Standard Webhooks specification has them: the body
 * is the event's JSON, signed with the endpoint's secret over `<webhook-id>.<webhook-timestamp>.<body>`
 * (HMAC-SHA256, `v1,<base64>`), and `webhook-id` is the event id, the same on every attempt, so a
 * consumer deduplicates on it. Signing uses the `standardwebhooks` library itself, the one
 * consumers verify with. Pure: no I/O.
 */

/** An endpoint an operator registered (airlock.config.json `webhooks`), without its secret. */
export interface WebhookEndpoint {
  /** A name of the operator's choice: lowercase letters, digits and dashes. */
  id: string;
  url: string;
  /** Only events of these statuses (default all). */
  statuses?: readonly OutcomeStatus[];
  /** Only events of these owners (default all). */
  owners?: readonly string[];
}

export const WEBHOOK_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Whether the endpoint wants this event (its status and owner filters). */
export function endpointWants(endpoint: Pick<WebhookEndpoint, 'statuses' | 'owners'>, event: OutcomeEvent) {
  const { statuses, owners } = endpoint;
  return (
    (statuses === undefined || statuses.includes(event.data.status)) &&
    (owners === undefined || owners.includes(event.data.owner))
  );
}

/** A secret that cannot be used: the message never quotes it. */
export class WebhookSecretError extends Error {
  override readonly name = 'WebhookSecretError';
}

/**
 * A signing secret as Standard Webhooks writes it: `whsec_` and the base64 of 24 to 64 random
 * bytes (`echo "whsec_$(openssl rand -base64 32)"`). Returns it trimmed.
 */
export function parseWebhookSecret(text: string, source: string): string {
  const secret = text.trim();
  const body = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : undefined;
  if (body === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw new WebhookSecretError(`${source}: a webhook secret is "whsec_" followed by base64.`);
  }
  const bytes = Math.floor((body.length * 3) / 4) - (body.match(/=+$/)?.[0].length ?? 0);
  if (bytes < 24 || bytes > 64) {
    throw new WebhookSecretError(`${source}: a webhook secret holds 24 to 64 bytes, this one ${bytes}.`);
  }
  return secret;
}

/** One attempt's request: the body and the headers, signed for this moment. */
export interface SignedDelivery {
  body: string;
  headers: Record<string, string>;
}

export const WEBHOOK_USER_AGENT = 'Airlock-Webhooks/1';

/**
 * The request of one delivery attempt. The body is the same bytes on every attempt; the timestamp
 * (and so the signature) is the attempt's, as the specification asks.
 */
export function signDelivery(event: OutcomeEvent, secret: string, now: Date): SignedDelivery {
  const body = JSON.stringify(event);
  const signature = new Webhook(secret).sign(event.id, now, body);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': WEBHOOK_USER_AGENT,
      'webhook-id': event.id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signature,
    },
  };
}

/** How a failed delivery is retried: exponential backoff with jitter, a bounded number of times. */
export interface RetryPolicy {
  /** Attempts in all, the first included; after the last failure the delivery is dead-lettered. */
  maxAttempts: number;
  /** The pause after the first failure (before jitter). */
  initialDelayMs: number;
  /** The longest pause. */
  maxDelayMs: number;
}

/** 10 attempts: pauses of 10 s, 20 s, 40 s, … (at most 1 h), 85 minutes in all before jitter. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 10,
  initialDelayMs: 10_000,
  maxDelayMs: 3_600_000,
};

/**
 * The pause before the next attempt after `failedAttempts` failures, or undefined when the
 * attempts are spent (dead-letter it). "Equal jitter": between half and all of the exponential
 * step, so that deliveries failing together spread out but never retry at once.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  failedAttempts: number,
  random: () => number = Math.random,
): number | undefined {
  if (failedAttempts >= policy.maxAttempts) return undefined;
  const step = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(failedAttempts - 1, 0));
  return Math.round(step / 2 + random() * (step / 2));
}

/** The longest a delivery can take from its first attempt to its dead-letter (pauses only). */
export function retryHorizonMs(policy: RetryPolicy): number {
  let total = 0;
  for (let failed = 1; failed < policy.maxAttempts; failed++) {
    total += Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (failed - 1));
  }
  return total;
}

/** What an attempt came to: delivered (2xx), or why not. Only 2xx counts (redirects are not followed). */
export type AttemptResult = { delivered: true; status: number } | { delivered: false; error: string };

export function attemptResultOf(status: number): AttemptResult {
  return status >= 200 && status < 300
    ? { delivered: true, status }
    : { delivered: false, error: `HTTP ${status}` };
}
