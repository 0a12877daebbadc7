import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  isReleasedGrant,
  QuotaExceededError,
  secondsUntilAGrantFrees,
  secondsUntilNextUtcDay,
  utcDay,
  type QuotaLimits,
} from '../domain/quota.js';
import type { UploadRecord } from '../domain/model.js';
import { errorName, toPipelineError } from './aws-errors.js';
import { recordKey } from './upload-store.js';

/**
 * One counter item per owner, `pk=QUOTA#<sha256(owner)> sk=QUOTA`, changed only by single-item
 * conditional writes (dynalite has no transactions):
 *   openGrants  string set of the owner's upload ids that may still receive bytes
 *   day         the UTC day `dayBytes` counts, YYYY-MM-DD
 *   dayBytes    declared bytes granted that day
 * A grant is added and the bytes counted in one UpdateItem whose condition is both limits, so
 * concurrent requests can never pass a limit together. Ids leave the set by DELETE, which is
 * idempotent: the claim releases its id, and at the limit the set is healed from the records
 * themselves (ids whose upload left PENDING_UPLOAD or whose grant expired), so a lost release
 * never locks an owner out and a late one never counts twice.
 */
export class QuotaStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    private readonly tableName: string,
    client: DynamoDBClient = new DynamoDBClient({}),
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  /**
   * Counts a new grant (`uploadId`, `size` declared bytes) against the owner's limits, or throws
   * QuotaExceededError with when to retry. Counting the same id again adds no open grant.
   */
  async reserve(params: {
    owner: string;
    uploadId: string;
    size: number;
    now: Date;
    limits: QuotaLimits;
    grantTtlSeconds: number;
  }): Promise<void> {
    const { owner, uploadId, size, now, limits } = params;
    const day = utcDay(now);
    if (size > limits.bytesPerDay) {
      throw new QuotaExceededError('bytesPerDay', limits.bytesPerDay, secondsUntilNextUtcDay(now));
    }
    let healed = false;
    for (let attempt = 0; attempt < 4; attempt++) {
      if (await this.count(owner, uploadId, size, day, limits)) return;
      const item = await this.read(owner);
      const open = item?.openGrants ?? new Set<string>();
      if (item?.day === day && (item.dayBytes ?? 0) + size > limits.bytesPerDay) {
        throw new QuotaExceededError('bytesPerDay', limits.bytesPerDay, secondsUntilNextUtcDay(now));
      }
      if (open.size >= limits.openGrants && !open.has(uploadId)) {
        if (healed || (await this.heal(owner, open, now)) === 0) {
          const retryAfter = secondsUntilAGrantFrees(open, params.grantTtlSeconds, now);
          throw new QuotaExceededError('openGrants', limits.openGrants, retryAfter);
        }
        healed = true;
      }
      // Otherwise another request changed the item in between: count again.
    }
    throw toPipelineError('UpdateItem(quota)', new Error('The quota item kept changing.'));
  }

  /** Gives a grant back (its upload was claimed or expired). Idempotent. */
  async release(owner: string, uploadId: string): Promise<void> {
    await this.update('UpdateItem(quota release)', {
      Key: quotaKey(owner),
      UpdateExpression: 'DELETE openGrants :ids',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':ids': new Set([uploadId]) },
    });
  }

  /** Takes back bytes counted for a grant that was not issued after all (a lost race). */
  async refund(owner: string, size: number, now: Date): Promise<void> {
    await this.update('UpdateItem(quota refund)', {
      Key: quotaKey(owner),
      UpdateExpression: 'SET dayBytes = dayBytes - :size',
      ConditionExpression: '#day = :day AND dayBytes >= :size',
      ExpressionAttributeNames: { '#day': 'day' },
      ExpressionAttributeValues: { ':size': size, ':day': utcDay(now) },
    });
  }

  /** One conditional UpdateItem: true when the grant was counted within both limits. */
  private async count(
    owner: string,
    uploadId: string,
    size: number,
    day: string,
    limits: QuotaLimits,
  ): Promise<boolean> {
    const open =
      '(attribute_not_exists(openGrants) OR size(openGrants) < :maxOpen OR contains(openGrants, :id))';
    const common = {
      Key: quotaKey(owner),
      ExpressionAttributeNames: { '#day': 'day', '#owner': 'owner' },
    };
    const values = { ':owner': owner, ':ids': new Set([uploadId]), ':id': uploadId, ':size': size };
    const sameDay = await this.update('UpdateItem(quota)', {
      ...common,
      UpdateExpression: 'SET #owner = :owner, dayBytes = dayBytes + :size ADD openGrants :ids',
      ConditionExpression: `#day = :day AND dayBytes <= :room AND ${open}`,
      ExpressionAttributeValues: {
        ...values,
        ':day': day,
        ':room': limits.bytesPerDay - size,
        ':maxOpen': limits.openGrants,
      },
    });
    if (sameDay) return true;
    return this.update('UpdateItem(quota new day)', {
      ...common,
      UpdateExpression: 'SET #owner = :owner, #day = :day, dayBytes = :size ADD openGrants :ids',
      ConditionExpression: `(attribute_not_exists(#day) OR #day <> :day) AND ${open}`,
      ExpressionAttributeValues: { ...values, ':day': day, ':maxOpen': limits.openGrants },
    });
  }

  /**
   * Removes the ids that are no longer open grants, as their records say; returns how many. Ids
   * without a record are kept while their issuance may still be under way.
   */
  private async heal(owner: string, open: ReadonlySet<string>, now: Date): Promise<number> {
    const released: string[] = [];
    const ids = [...open];
    for (let start = 0; start < ids.length; start += 100) {
      const chunk = ids.slice(start, start + 100);
      const records = await this.records(chunk);
      for (const id of chunk) if (isReleasedGrant(id, records.get(id), now)) released.push(id);
    }
    if (released.length === 0) return 0;
    await this.update('UpdateItem(quota heal)', {
      Key: quotaKey(owner),
      UpdateExpression: 'DELETE openGrants :ids',
      ExpressionAttributeValues: { ':ids': new Set(released) },
    });
    return released.length;
  }

  /** Status and expiry of up to 100 uploads, by id (BatchGetItem, unprocessed keys read again). */
  private async records(ids: string[]): Promise<Map<string, Pick<UploadRecord, 'status' | 'expiresAt'>>> {
    const found = new Map<string, Pick<UploadRecord, 'status' | 'expiresAt'>>();
    let keys: Array<Record<string, unknown>> = ids.map(recordKey);
    for (let round = 0; keys.length > 0 && round < 5; round++) {
      const out = await this.send('BatchGetItem(quota heal)', () =>
        this.doc.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: {
                Keys: keys,
                ConsistentRead: true,
                ProjectionExpression: 'uploadId, #status, expiresAt',
                ExpressionAttributeNames: { '#status': 'status' },
              },
            },
          }),
        ),
      );
      for (const item of out.Responses?.[this.tableName] ?? []) {
        const record = item as Pick<UploadRecord, 'uploadId' | 'status' | 'expiresAt'>;
        found.set(record.uploadId, record);
      }
      keys = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    // Ids still unread count as unknown; a fresh id is kept, an old one released (see heal).
    return found;
  }

  private async read(
    owner: string,
  ): Promise<{ openGrants?: Set<string>; day?: string; dayBytes?: number } | undefined> {
    const out = await this.send('GetItem(quota)', () =>
      this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: quotaKey(owner), ConsistentRead: true }),
      ),
    );
    return out.Item as { openGrants?: Set<string>; day?: string; dayBytes?: number } | undefined;
  }

  /** An UpdateItem: false when its condition failed. */
  private async update(
    operation: string,
    input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>,
  ): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.tableName, ...input }));
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw toPipelineError(operation, error);
    }
  }

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw toPipelineError(operation, error);
    }
  }
}

/** The owner is hashed: any `sub` fits the key, and the key's length is fixed. */
function quotaKey(owner: string): { pk: string; sk: string } {
  return { pk: `QUOTA#${createHash('sha256').update(owner).digest('hex')}`, sk: 'QUOTA' };
}
