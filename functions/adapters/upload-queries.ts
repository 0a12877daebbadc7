import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { InvalidCursorError } from '../domain/errors.js';
import type { RecordedEvent, UploadRecord, UploadStatus } from '../domain/model.js';
import { toPipelineError } from './aws-errors.js';
import { boundedQuery, READ_BUDGET } from './paging.js';
import {
  decodeEventsCursor,
  decodeOwnerCursor,
  encodeCursor,
  encodeEventsCursor,
  RECORD_SK,
  recordFromItem,
  TABLE_KEYS,
  UNSOLICITED_SK,
  uploadPk,
} from './table-layout.js';

export interface Page<T> {
  items: T[];
  cursor?: string;
}

export interface ListQuery {
  owner: string;
  status?: UploadStatus;
  limit: number;
  cursor?: string;
}

/** One page of a trail, and the record it belongs to (none for an unsolicited object's key). */
export interface EventsPage {
  record?: UploadRecord;
  events: RecordedEvent[];
  cursor?: string;
  /** The record's TTL (epoch seconds), when the table may delete it (an abandoned upload). */
  ttl?: number;
}

/**
 * A page of a trail read whole: at most `limit` events after the cursor's, and a cursor when more
 * follow. The cursor is opaque to clients and bound to the upload (InvalidCursorError otherwise).
 */
export function pageOfTrail(
  trail: RecordedEvent[],
  uploadId: string,
  page: { limit?: number; cursor?: string },
): { events: RecordedEvent[]; cursor?: string } {
  const after = page.cursor === undefined ? 0 : decodeEventsCursor(page.cursor, uploadId);
  if (after > trail.length) throw new InvalidCursorError();
  const end = page.limit === undefined ? trail.length : Math.min(trail.length, after + page.limit);
  return {
    events: trail.slice(after, end),
    ...(end < trail.length ? { cursor: encodeEventsCursor(uploadId, end) } : {}),
  };
}

/** The reads of the uploads table (layout: table-layout.ts); UploadStore adds the writes. */
export class UploadQueries {
  protected readonly doc: DynamoDBDocumentClient;

  constructor(
    protected readonly tableName: string,
    client: DynamoDBClient = new DynamoDBClient({}),
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async get(uploadId: string): Promise<UploadRecord | undefined> {
    const out = await this.send('GetItem(upload)', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: uploadPk(uploadId), sk: RECORD_SK },
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item ? recordFromItem(out.Item) : undefined;
  }

  /**
   * One page of a trail, oldest first, and the record it belongs to: one consistent Query of the
   * upload's partition (its record, or the trail of an object key with no upload). Without
   * `page`, the whole trail (at most MAX_TRAIL_EVENTS events: audit-trail.ts).
   */
  async pageEvents(uploadId: string, page: { limit?: number; cursor?: string } = {}): Promise<EventsPage> {
    const out = await this.send('Query(trail)', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': uploadPk(uploadId) },
          ConsistentRead: true,
        }),
      ),
    );
    const items = out.Items ?? [];
    const recordItemFound = items.find((item) => item.sk === RECORD_SK);
    const trailItem = recordItemFound ?? items.find((item) => item.sk === UNSOLICITED_SK);
    const all = ((trailItem?.events as RecordedEvent[] | undefined) ?? []).map((event) => ({
      ...event,
      uploadId,
    }));
    const ttl: unknown = recordItemFound?.[TABLE_KEYS.ttlAttribute];
    return {
      ...(recordItemFound ? { record: recordFromItem(recordItemFound) } : {}),
      ...(typeof ttl === 'number' ? { ttl } : {}),
      ...pageOfTrail(all, uploadId, page),
    };
  }

  /** An upload's whole trail, oldest first. */
  async listAudit(uploadId: string): Promise<RecordedEvent[]> {
    return (await this.pageEvents(uploadId)).events;
  }

  /**
   * A caller's uploads, newest first, optionally of one status, with an opaque cursor. With a
   * status filter, at most READ_BUDGET items are evaluated: a sparse filter may give a short (or
   * empty) page with a cursor.
   */
  async listByOwner(query: ListQuery): Promise<Page<UploadRecord>> {
    const { indexName, partitionKey, sortKey } = TABLE_KEYS.byOwner;
    const startKey = query.cursor === undefined ? undefined : decodeOwnerCursor(query.cursor, query.owner);
    const input: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: indexName,
      KeyConditionExpression: `${partitionKey} = :owner`,
      ExpressionAttributeValues: { ':owner': query.owner },
      ScanIndexForward: false,
    };
    if (query.status !== undefined) {
      input.FilterExpression = '#status = :status';
      input.ExpressionAttributeNames = { '#status': 'status' };
      input.ExpressionAttributeValues = { ...input.ExpressionAttributeValues, ':status': query.status };
    }
    const page = await boundedQuery(this.queryPage('Query(byOwner)'), input, {
      limit: query.limit,
      budget: READ_BUDGET,
      keyAttributes: ['pk', 'sk', partitionKey, sortKey],
      ...(startKey ? { startKey } : {}),
    });
    return {
      items: page.items.map(recordFromItem),
      ...(page.lastKey ? { cursor: encodeCursor(page.lastKey) } : {}),
    };
  }

  /**
   * Records of one status whose last change is within [from, to], oldest first, optionally of one
   * owner: the auditors' cross-owner query. Evaluates at most `budget` items (the owner filter
   * may match few of them); `lastKey` is where to go on, `evaluated` what it cost.
   */
  async listByStatusBetween(query: {
    status: UploadStatus;
    from: string;
    to: string;
    owner?: string;
    limit: number;
    /** Items it may evaluate (default READ_BUDGET). */
    budget?: number;
    startKey?: Record<string, unknown>;
  }): Promise<{ items: UploadRecord[]; lastKey?: Record<string, unknown>; evaluated: number }> {
    const { indexName, partitionKey, sortKey } = TABLE_KEYS.byStatus;
    const page = await boundedQuery(
      this.queryPage('Query(byStatus range)'),
      {
        TableName: this.tableName,
        IndexName: indexName,
        KeyConditionExpression: `${partitionKey} = :status AND ${sortKey} BETWEEN :from AND :to`,
        ExpressionAttributeValues: {
          ':status': query.status,
          ':from': query.from,
          // updatedKey is "<updatedAt>#<id>": extend `to` past any id of that instant.
          ':to': `${query.to}#~`,
          ...(query.owner !== undefined ? { ':owner': query.owner } : {}),
        },
        // `owner`, not `ownerKey`: the byStatus index projects the record's fields, not the
        // other index's key.
        ...(query.owner !== undefined
          ? { FilterExpression: '#owner = :owner', ExpressionAttributeNames: { '#owner': 'owner' } }
          : {}),
      },
      {
        limit: query.limit,
        budget: query.budget ?? READ_BUDGET,
        keyAttributes: ['pk', 'sk', partitionKey, sortKey],
        ...(query.startKey ? { startKey: query.startKey } : {}),
      },
    );
    return { ...page, items: page.items.map(recordFromItem) };
  }

  /**
   * One page of records of one status whose `updatedKey` ("<updatedAt>#<id>") lies within [from, to],
   * oldest first unless `newestFirst`, after `startKey`: one Query, so that the caller decides
   * between pages whether to go on (the sweeper's and redrive's paging).
   */
  async pageByStatus(query: {
    status: UploadStatus;
    from: string;
    to: string;
    newestFirst?: boolean;
    limit: number;
    startKey?: Record<string, unknown>;
  }): Promise<{ items: UploadRecord[]; lastKey?: Record<string, unknown> }> {
    const { indexName, partitionKey, sortKey } = TABLE_KEYS.byStatus;
    const out = await this.send('Query(byStatus page)', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: indexName,
          KeyConditionExpression: `${partitionKey} = :status AND ${sortKey} BETWEEN :from AND :to`,
          ExpressionAttributeValues: { ':status': query.status, ':from': query.from, ':to': query.to },
          ScanIndexForward: query.newestFirst !== true,
          Limit: query.limit,
          ExclusiveStartKey: query.startKey,
        }),
      ),
    );
    const lastKey = out.LastEvaluatedKey;
    return { items: (out.Items ?? []).map(recordFromItem), ...(lastKey ? { lastKey } : {}) };
  }

  private queryPage(operation: string): (input: QueryCommandInput) => Promise<QueryCommandOutput> {
    return (input) => this.send(operation, () => this.doc.send(new QueryCommand(input)));
  }

  protected async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw toPipelineError(operation, error);
    }
  }
}
