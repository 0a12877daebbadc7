import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { errorName, toPipelineError } from './aws-errors.js';

/**
 * Idempotency keys of POST /uploads, one item each: `pk=IDEMPOTENCY#<sha256(owner, key)>
 * sk=KEY`, holding the upload id the key stands for and the fingerprint of its request. Written
 * once by a conditional put (or over an expired one); it never holds a grant or any URL: a retry
 * signs its grant anew. `ttl` (epoch seconds) lets DynamoDB's TTL remove it when enabled on the
 * table; until then an expired key is simply overwritten.
 */
export type KeyReservation = { fresh: true } | { fresh: false; uploadId: string; fingerprint: string };

export class IdempotencyStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    private readonly tableName: string,
    client: DynamoDBClient = new DynamoDBClient({}),
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  /**
   * Ties `key` (scoped to `owner`) to `uploadId` unless a live reservation exists; returns that
   * one's upload id and fingerprint then.
   */
  async reserve(params: {
    owner: string;
    key: string;
    uploadId: string;
    fingerprint: string;
    now: Date;
    ttlSeconds: number;
  }): Promise<KeyReservation> {
    const Key = idempotencyKey(params.owner, params.key);
    const nowSeconds = Math.floor(params.now.getTime() / 1000);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...Key,
              entity: 'IdempotencyKey',
              uploadId: params.uploadId,
              fingerprint: params.fingerprint,
              createdAt: params.now.toISOString(),
              ttl: nowSeconds + params.ttlSeconds,
            },
            ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':now': nowSeconds },
          }),
        );
        return { fresh: true };
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') {
          throw toPipelineError('PutItem(idempotency key)', error);
        }
      }
      const out = await this.send('GetItem(idempotency key)', () =>
        this.doc.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true })),
      );
      const item = out.Item as { uploadId?: unknown; fingerprint?: unknown; ttl?: unknown } | undefined;
      if (
        item !== undefined &&
        typeof item.uploadId === 'string' &&
        typeof item.fingerprint === 'string' &&
        typeof item.ttl === 'number' &&
        item.ttl >= nowSeconds
      ) {
        return { fresh: false, uploadId: item.uploadId, fingerprint: item.fingerprint };
      }
      // Expired or removed between the two calls: try the put again.
    }
    throw toPipelineError('PutItem(idempotency key)', new Error('The idempotency key kept changing.'));
  }

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw toPipelineError(operation, error);
    }
  }
}

/** Owner and key are hashed together: keys of different owners never meet, any length fits. */
function idempotencyKey(owner: string, key: string): { pk: string; sk: string } {
  const digest = createHash('sha256').update(owner).update('\u0000').update(key).digest('hex');
  return { pk: `IDEMPOTENCY#${digest}`, sk: 'KEY' };
}
