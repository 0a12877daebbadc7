import { z } from 'zod';
import {
  WEBHOOK_INITIAL_DELAY_SECONDS_BOUNDS,
  WEBHOOK_MAX_ATTEMPTS_BOUNDS,
  WEBHOOK_MAX_DELAY_SECONDS_BOUNDS,
} from '../functions/commons/setting-bounds.js';
import { OUTCOME_STATUSES } from '../functions/domain/outcome-event.js';
import { WEBHOOK_ID_PATTERN } from '../functions/domain/webhooks.js';

/**
 * The outcome-event settings of airlock.config.json: the bus (AWS), the webhook endpoints and
 * their retry policy. Secrets are never in the file: an endpoint names where its secret is, a
 * Secrets Manager secret on AWS, a file or an environment variable locally.
 */

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const EVENT_BUS_ARN = /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]+$/;

export const webhookSecretSchema = z
  .object({
    secretArn: z
      .string()
      .regex(SECRET_ARN, { error: 'must be a Secrets Manager secret ARN' })
      .optional()
      .describe('AWS: the Secrets Manager secret holding the signing secret (its SecretString).'),
    file: z
      .string()
      .min(1)
      .optional()
      .describe('Local runtime: a file holding the signing secret (relative paths are under the data dir).'),
    env: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be an environment variable name' })
      .optional()
      .describe('Local runtime: an environment variable holding the signing secret.'),
  })
  .strict()
  .refine((secret) => secret.secretArn ?? secret.file ?? secret.env, {
    error: 'must name secretArn (AWS), file or env (local runtime)',
  })
  .refine((secret) => !(secret.file && secret.env), { error: 'names either file or env, not both' })
  .describe(
    'Where the endpoint\'s signing secret is ("whsec_" and the base64 of 24–64 random bytes); never the secret itself.',
  );

export const webhookEndpointSchema = z
  .object({
    id: z
      .string()
      .regex(WEBHOOK_ID_PATTERN, { error: 'must be 1–63 lowercase letters, digits and dashes' })
      .describe('A name for the endpoint (status, metrics and dead letters use it).'),
    url: z
      .string()
      .regex(/^https?:\/\/\S+$/i, { error: 'must be an https URL (http only for loopback, locally)' })
      .refine((url) => URL.canParse(url), { error: 'must be a URL' })
      .describe(
        'Where deliveries are POSTed. https only on AWS, to a public address; locally http and loopback are allowed.',
      ),
    secret: webhookSecretSchema,
    statuses: z
      .array(z.enum(OUTCOME_STATUSES))
      .min(1)
      .optional()
      .describe('Only events of these statuses (default all).'),
    owners: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("Only events of these owners (the uploader's sub claim; default all)."),
  })
  .strict();

const wholeNumber = (bounds: { min: number; max: number; default: number }, unit: string) => {
  const error = `must be a whole number of ${unit} from ${bounds.min} to ${bounds.max}`;
  return z.number({ error }).int({ error }).min(bounds.min, { error }).max(bounds.max, { error });
};

export const webhookRetrySchema = z
  .object({
    maxAttempts: wholeNumber(WEBHOOK_MAX_ATTEMPTS_BOUNDS, 'attempts').default(
      WEBHOOK_MAX_ATTEMPTS_BOUNDS.default,
    ),
    initialDelaySeconds: wholeNumber(WEBHOOK_INITIAL_DELAY_SECONDS_BOUNDS, 'seconds').default(
      WEBHOOK_INITIAL_DELAY_SECONDS_BOUNDS.default,
    ),
    maxDelaySeconds: wholeNumber(WEBHOOK_MAX_DELAY_SECONDS_BOUNDS, 'seconds').default(
      WEBHOOK_MAX_DELAY_SECONDS_BOUNDS.default,
    ),
  })
  .strict()
  .refine((retry) => retry.maxDelaySeconds >= retry.initialDelaySeconds, {
    error: 'maxDelaySeconds must be at least initialDelaySeconds',
  })
  .describe(
    `How failed deliveries are retried: exponential backoff with jitter from initialDelaySeconds, at most maxDelaySeconds apart, maxAttempts in all (default ${WEBHOOK_MAX_ATTEMPTS_BOUNDS.default}, ${WEBHOOK_INITIAL_DELAY_SECONDS_BOUNDS.default} s, ${WEBHOOK_MAX_DELAY_SECONDS_BOUNDS.default} s); then the delivery is dead-lettered.`,
  );

export const eventsSchema = z
  .object({
    eventBusArn: z
      .string()
      .regex(EVENT_BUS_ARN, { error: 'must be an EventBridge event bus ARN' })
      .optional()
      .describe('AWS: publish outcome events to this existing bus (default a new bus of the stack).'),
  })
  .strict()
  .describe('Outcome events (one per terminal transition).');

/** The three settings as they sit in airlock.config.json. */
export const EVENTS_CONFIG_FIELDS = {
  events: eventsSchema.default({}),
  webhooks: z
    .array(webhookEndpointSchema)
    .max(50, { error: 'at most 50 endpoints' })
    .default([])
    .refine((endpoints) => new Set(endpoints.map((endpoint) => endpoint.id)).size === endpoints.length, {
      error: 'endpoint ids must be unique',
    })
    .describe(
      'Webhook endpoints that receive outcome events, signed per the Standard Webhooks specification.',
    ),
  webhookRetry: webhookRetrySchema.default({
    maxAttempts: WEBHOOK_MAX_ATTEMPTS_BOUNDS.default,
    initialDelaySeconds: WEBHOOK_INITIAL_DELAY_SECONDS_BOUNDS.default,
    maxDelaySeconds: WEBHOOK_MAX_DELAY_SECONDS_BOUNDS.default,
  }),
};

export type WebhookEndpointConfig = z.output<typeof webhookEndpointSchema>;
export type WebhookRetryConfig = z.output<typeof webhookRetrySchema>;

/**
 * The CDK context key the local runtime synthesizes the app with (local/iam/template.ts): its
 * template then has no webhook delivery, which the runtime does itself (local/outcome-bus.ts) to
 * endpoints whose secrets are files or variables rather than Secrets Manager ARNs.
 */
export const LOCAL_RUNTIME_CONTEXT = 'airlock:localRuntime';
