import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DigestLink } from '../domain/audit-digest.js';
import { errorName, toPipelineError } from './aws-errors.js';

/** The digest writer's item: its cursor (the last digest written) and the lease of a run. */
const STATE_KEY = { pk: 'AUDIT_DIGEST', sk: 'STATE' };

export interface DigestState {
  /** The last digest written (none before the first). */
  last?: DigestLink;
  lease?: { runId: string; until: string };
}

/**
 * The writer's cursor and lease in the uploads table, each move a conditional write: two runs
 * that race cannot both write the next digest (the lease), and a run only moves the cursor from
 * where it read it. The table and not the bucket: a conditional write on an item is the one
 * compare-and-set both DynamoDB and dynalite do (RadosGW 16 ignores If-None-Match on a versioned
 * bucket), and the cursor is read with one GetItem instead of a listing. It is no trust anchor:
 * verifiers check the chain of the stored digests themselves.
 */
export class DigestStateStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    private readonly tableName: string,
    client: DynamoDBClient = new DynamoDBClient({}),
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async read(): Promise<DigestState> {
    try {
      const out = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: STATE_KEY, ConsistentRead: true }),
      );
      const item = out.Item ?? {};
      return {
        ...(item.last ? { last: item.last as DigestLink } : {}),
        ...(item.lease ? { lease: item.lease as DigestState['lease'] } : {}),
      };
    } catch (error) {
      throw toPipelineError('GetItem(digest state)', error);
    }
  }

  /** Takes the lease until `until` if no other run holds one and the cursor is still at `last`. */
  async acquire(runId: string, now: Date, until: Date, last: DigestLink | undefined): Promise<boolean> {
    return this.conditional('UpdateItem(digest lease)', {
      UpdateExpression: 'SET lease = :lease',
      ConditionExpression: `(attribute_not_exists(lease) OR lease.#until < :now) AND ${atCursor(last)}`,
      ExpressionAttributeNames: {
        '#until': 'until',
        '#last': 'last',
        ...(last ? { '#number': 'number' } : {}),
      },
      ExpressionAttributeValues: {
        ':lease': { runId, until: until.toISOString() },
        ':now': now.toISOString(),
        ...(last ? { ':number': last.number } : {}),
      },
    });
  }

  /** Moves the cursor from `from` to `to`, under this run's lease. */
  async advance(runId: string, from: DigestLink | undefined, to: DigestLink): Promise<boolean> {
    return this.conditional('UpdateItem(digest cursor)', {
      UpdateExpression: 'SET #last = :to',
      ConditionExpression: `lease.runId = :runId AND ${atCursor(from)}`,
      ExpressionAttributeNames: { '#last': 'last', ...(from ? { '#number': 'number' } : {}) },
      ExpressionAttributeValues: { ':to': to, ':runId': runId, ...(from ? { ':number': from.number } : {}) },
    });
  }

  async release(runId: string): Promise<void> {
    await this.conditional('UpdateItem(digest lease)', {
      UpdateExpression: 'REMOVE lease',
      ConditionExpression: 'lease.runId = :runId',
      ExpressionAttributeValues: { ':runId': runId },
    });
  }

  private async conditional(
    operation: string,
    update: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.tableName, Key: STATE_KEY, ...update }));
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw toPipelineError(operation, error);
    }
  }
}

/** The condition that the cursor is at `last` (nothing written yet when undefined). */
const atCursor = (last: DigestLink | undefined): string =>
  last === undefined ? 'attribute_not_exists(#last)' : '#last.#number = :number';
