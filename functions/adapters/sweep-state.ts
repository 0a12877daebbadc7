import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidCursorError } from '../domain/errors.js';
import type { UploadStatus } from '../domain/model.js';
import { errorName, toPipelineError } from './aws-errors.js';
import { TABLE_KEYS } from './upload-store.js';

/** A position in a byStatus query (DynamoDB's LastEvaluatedKey). */
export type IndexKey = Record<string, unknown>;

/** The sweeper's own item in the uploads table: in no index, so no query of uploads meets it. */
const SWEEP_STATE_KEY = { pk: 'SWEEPER', sk: 'STATE' };

/**
 * What one sweeper run leaves the next: a lease, so that two runs never work at once (a schedule
 * may fire twice, a retried run may overlap the next), and where each of its queries stopped.
 * Only UpdateItem, which the sweeper may already do on the table.
 */
export class SweepStateStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    private readonly tableName: string,
    client: DynamoDBClient = new DynamoDBClient({}),
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /**
   * Takes the lease until `until`, unless another run holds it past `at`; answers the cursors
   * the previous run left (one conditional update returning the item as it was).
   */
  async takeLease(params: {
    at: string;
    until: string;
  }): Promise<{ taken: true; cursors: Record<string, IndexKey> } | { taken: false }> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: SWEEP_STATE_KEY,
          ConditionExpression: 'attribute_not_exists(#lease) OR #lease < :at',
          UpdateExpression: 'SET #lease = :until, entity = :entity',
          ExpressionAttributeNames: { '#lease': 'leaseUntil' },
          ExpressionAttributeValues: { ':at': params.at, ':until': params.until, ':entity': 'SweepState' },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const cursors = out.Attributes?.cursors as Record<string, IndexKey> | undefined;
      return { taken: true, cursors: cursors ?? {} };
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return { taken: false };
      throw toPipelineError('UpdateItem(sweep lease)', error);
    }
  }

  /**
   * Leaves `cursors` for the next run and gives the lease back, if this run still holds it:
   * false when its lease ran out and another run took over (whose cursors then win).
   */
  async releaseLease(params: {
    until: string;
    at: string;
    cursors: Record<string, IndexKey>;
  }): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: SWEEP_STATE_KEY,
          ConditionExpression: '#lease = :until',
          UpdateExpression: 'SET #cursors = :cursors, lastRunAt = :at REMOVE #lease',
          ExpressionAttributeNames: { '#lease': 'leaseUntil', '#cursors': 'cursors' },
          ExpressionAttributeValues: { ':until': params.until, ':cursors': params.cursors, ':at': params.at },
        }),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw toPipelineError('UpdateItem(sweep release)', error);
    }
  }
}

/** A byStatus position as an opaque cursor (the redrive answers one to continue from). */
export function encodeStatusCursor(key: IndexKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Reads a cursor made by `encodeStatusCursor` for `status`: exactly the index keys, all strings. */
export function decodeStatusCursor(cursor: string, status: UploadStatus): IndexKey {
  const invalid = new InvalidCursorError();
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw invalid;
  const { partitionKey, sortKey } = TABLE_KEYS.byStatus;
  const expected = new Set(['pk', 'sk', partitionKey, sortKey]);
  const entries = Object.entries(key);
  if (
    entries.length !== expected.size ||
    entries.some(([name, value]) => !expected.has(name) || typeof value !== 'string') ||
    (key as IndexKey)[partitionKey] !== status
  ) {
    throw invalid;
  }
  return key as IndexKey;
}
