import { z } from 'zod';
import { ConfigurationError } from '../domain/errors.js';
import type { RetryPolicy } from '../domain/webhooks.js';
import { WEBHOOK_ID_PATTERN } from '../domain/webhooks.js';
import { intEnv, requireEnv } from './env.js';
import { ENV_NAMES } from './env-names.js';
import {
  WEBHOOK_INITIAL_DELAY_SECONDS_BOUNDS,
  WEBHOOK_MAX_ATTEMPTS_BOUNDS,
  WEBHOOK_MAX_DELAY_SECONDS_BOUNDS,
} from './setting-bounds.js';

/** An endpoint as the deployed delivery function knows it: where its secret is, never the secret. */
export interface DeployedWebhookEndpoint {
  id: string;
  url: string;
  secretArn: string;
}

const endpointsSchema = z.array(
  z
    .object({
      id: z.string().regex(WEBHOOK_ID_PATTERN),
      url: z.string().min(1),
      secretArn: z.string().min(1),
    })
    .strict(),
);

/** The delivery function's settings (the construct sets them). */
export interface WebhookDeliveryConfig {
  endpoints: ReadonlyMap<string, DeployedWebhookEndpoint>;
  queueUrl: string;
  retry: RetryPolicy;
}

/** The retry policy as environment variables: what readRetryPolicy reads back. */
export function retryPolicyEnvironment(retry: {
  maxAttempts: number;
  initialDelaySeconds: number;
  maxDelaySeconds: number;
}): Record<string, string> {
  return {
    [ENV_NAMES.webhookMaxAttempts]: String(retry.maxAttempts),
    [ENV_NAMES.webhookInitialDelaySeconds]: String(retry.initialDelaySeconds),
    [ENV_NAMES.webhookMaxDelaySeconds]: String(retry.maxDelaySeconds),
  };
}

export function readRetryPolicy(env: NodeJS.ProcessEnv = process.env): RetryPolicy {
  const seconds = (name: string, bounds: { min: number; max: number; default: number }) =>
    intEnv(name, bounds.default, bounds, env) * 1000;
  return {
    maxAttempts: intEnv(
      ENV_NAMES.webhookMaxAttempts,
      WEBHOOK_MAX_ATTEMPTS_BOUNDS.default,
      WEBHOOK_MAX_ATTEMPTS_BOUNDS,
      env,
    ),
    initialDelayMs: seconds(ENV_NAMES.webhookInitialDelaySeconds, WEBHOOK_INITIAL_DELAY_SECONDS_BOUNDS),
    maxDelayMs: seconds(ENV_NAMES.webhookMaxDelaySeconds, WEBHOOK_MAX_DELAY_SECONDS_BOUNDS),
  };
}

export function readWebhookDeliveryConfig(env: NodeJS.ProcessEnv = process.env): WebhookDeliveryConfig {
  let endpoints: DeployedWebhookEndpoint[];
  try {
    endpoints = endpointsSchema.parse(JSON.parse(requireEnv(ENV_NAMES.webhookEndpoints, env)));
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    throw new ConfigurationError(
      `Environment variable ${ENV_NAMES.webhookEndpoints} is not a list of endpoints.`,
    );
  }
  return {
    endpoints: new Map(endpoints.map((endpoint) => [endpoint.id, endpoint])),
    queueUrl: requireEnv(ENV_NAMES.webhookQueueUrl, env),
    retry: readRetryPolicy(env),
  };
}
