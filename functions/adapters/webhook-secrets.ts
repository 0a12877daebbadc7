import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseWebhookSecret } from '../domain/webhooks.js';
import { toPipelineError } from './aws-errors.js';

/** Where a delivery gets an endpoint's signing secret. */
export interface WebhookSecretSource {
  secretOf(endpointId: string, reference: string): Promise<string>;
}

/**
 * Signing secrets from Secrets Manager (the SecretString of the endpoint's secretArn), each kept
 * for a few minutes so that a batch reads it once and a rotation takes effect soon after.
 */
export class SecretsManagerSecrets implements WebhookSecretSource {
  /** Reads in flight are shared: a batch of deliveries to one endpoint reads its secret once. */
  private readonly cache = new Map<string, { secret: Promise<string>; until: number }>();

  constructor(
    private readonly client: SecretsManagerClient = new SecretsManagerClient({}),
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  secretOf(endpointId: string, secretArn: string): Promise<string> {
    const cached = this.cache.get(secretArn);
    if (cached && cached.until > this.now()) return cached.secret;
    const secret = this.read(endpointId, secretArn);
    this.cache.set(secretArn, { secret, until: this.now() + this.ttlMs });
    secret.catch(() => this.cache.delete(secretArn)); // a failed read is not kept
    return secret;
  }

  private async read(endpointId: string, secretArn: string): Promise<string> {
    let text: string | undefined;
    try {
      text = (await this.client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
    } catch (error) {
      throw toPipelineError(`GetSecretValue(webhook ${endpointId})`, error);
    }
    return parseWebhookSecret(text ?? '', `the secret of webhook ${endpointId}`);
  }
}
