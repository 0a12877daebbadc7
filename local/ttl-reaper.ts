import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';

/**
 * DynamoDB's time to live, which dynalite lacks: items whose TTL attribute (epoch seconds) has
 * passed are deleted, a scan of the table every `intervalMs`, so within about that long. On AWS
 * the service itself deletes them (typically within a few days, at no cost, in no function's
 * name): here too the reaper runs as the runtime, not as any function, under no function's role.
 *
 * As DynamoDB does, it deletes only what is still expired when the delete happens: a write that
 * removed or moved the TTL meanwhile (a late upload claiming an EXPIRED record) keeps the item.
 * Items whose TTL attribute is not a number, or is more than five years in the past, are left
 * alone (DynamoDB ignores those too).
 */
export interface TtlReaper {
  /** One pass now: how many items it deleted. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

const FIVE_YEARS_SECONDS = 5 * 365 * 86_400;

export function startTtlReaper(options: {
  client: DynamoDBClient;
  table: string;
  attribute: string;
  intervalMs: number;
  now?: () => Date;
  onError?: (message: string, error: unknown) => void;
}): TtlReaper {
  const doc = DynamoDBDocumentClient.from(options.client);
  const now = options.now ?? (() => new Date());
  const names = { '#ttl': options.attribute };

  const sweep = async (): Promise<number> => {
    const nowSeconds = Math.floor(now().getTime() / 1000);
    const values = { ':now': nowSeconds, ':oldest': nowSeconds - FIVE_YEARS_SECONDS };
    let deleted = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({
          TableName: options.table,
          FilterExpression: '#ttl <= :now AND #ttl >= :oldest',
          ProjectionExpression: 'pk, sk',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        try {
          await doc.send(
            new DeleteCommand({
              TableName: options.table,
              Key: { pk: item.pk as string, sk: item.sk as string },
              ConditionExpression: '#ttl <= :now AND #ttl >= :oldest',
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
            }),
          );
          deleted++;
        } catch (error) {
          if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return deleted;
  };

  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return; // one pass at a time
    running = sweep()
      .catch((error: unknown) => options.onError?.('TTL reaper pass failed', error))
      .finally(() => (running = undefined));
  }, options.intervalMs);
  timer.unref();
  return {
    sweep,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
