import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { AuditEvent, Reason, UploadRecord, UploadStatus } from '../domain/model.js';
import type { OutcomeGuard, Outcome } from '../domain/transitions.js';
import type { VerdictFacts } from '../domain/verdict.js';
import { errorName, toPipelineError } from './aws-errors.js';
import {
  boundedQuery,
  decodeAuditCursor,
  decodeCursor,
  encodeAuditCursor,
  encodeCursor,
  READ_BUDGET,
} from './paging.js';

export { READ_BUDGET } from './paging.js';

/**
 * Table layout (one table, single-item conditional writes only: dynalite has no transactions):
 *   upload record   pk=UPLOAD#<id>  sk=RECORD
 *   audit event     pk=UPLOAD#<id>  sk=EVENT#<at>#<action>[#<versionId>]   (put once, never changed)
 *   GSI byOwner     ownerKey=<owner>         createdKey=<createdAt>#<id>   (a caller's uploads, newest first)
 *   GSI byStatus    statusKey=<status>       updatedKey=<updatedAt>#<id>   (sweeper, auditors)
 *   sweeper state   pk=SWEEPER      sk=STATE   (its lease and cursors: adapters/sweep-state.ts)
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  byOwner: { indexName: 'byOwner', partitionKey: 'ownerKey', sortKey: 'createdKey' },
  byStatus: { indexName: 'byStatus', partitionKey: 'statusKey', sortKey: 'updatedKey' },
  /** DynamoDB's TTL attribute (epoch seconds): only items that may expire carry it. */
  ttlAttribute: 'ttl',
} as const;

const RECORD_SK = 'RECORD';

const uploadPk = (uploadId: string) => `UPLOAD#${uploadId}`;

/** The key of an upload's record item. */
export const recordKey = (uploadId: string): { pk: string; sk: string } => ({
  pk: uploadPk(uploadId),
  sk: RECORD_SK,
});

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

export type ConditionalResult = { written: true; record: UploadRecord } | { written: false };

export class UploadStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    private readonly tableName: string,
    client: DynamoDBClient = new DynamoDBClient({}),
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /**
   * Writes a new PENDING_UPLOAD record unless one with its id exists; false then (an idempotent
   * retry that raced another request with the same key and lost).
   */
  async createPending(record: UploadRecord): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.toItem(record),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw toPipelineError('PutItem(upload)', error);
    }
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
    return out.Item ? fromItem(out.Item) : undefined;
  }

  /** PENDING_UPLOAD|FAILED → PROCESSING for one object version, if the record is still in `from`. */
  async claim(params: {
    uploadId: string;
    from: UploadStatus;
    versionId: string;
    sequencer?: string;
    executionId: string;
    at: string;
  }): Promise<ConditionalResult> {
    const guard =
      params.from === 'FAILED'
        ? '#status = :from AND (attribute_not_exists(versionId) OR versionId = :versionId)'
        : '#status = :from';
    return this.conditionalUpdate('UpdateItem(claim)', {
      Key: { pk: uploadPk(params.uploadId), sk: RECORD_SK },
      ConditionExpression: `attribute_exists(pk) AND ${guard}`,
      UpdateExpression:
        'SET previousStatus = #status, #status = :to, statusKey = :to, updatedAt = :at, updatedKey = :updatedKey, versionId = :versionId, ' +
        'executionId = :executionId' +
        (params.sequencer ? ', sequencer = :sequencer' : '') +
        ' REMOVE failure',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':from': params.from,
        ':to': 'PROCESSING',
        ':at': params.at,
        ':updatedKey': `${params.at}#${params.uploadId}`,
        ':versionId': params.versionId,
        ':executionId': params.executionId,
        ...(params.sequencer ? { ':sequencer': params.sequencer } : {}),
      },
    });
  }

  /** Writes a terminal outcome if the guard holds: a terminal status is never overwritten. */
  async recordOutcome(params: {
    uploadId: string;
    outcome: Outcome;
    guard: OutcomeGuard;
    at: string;
    facts?: VerdictFacts;
    storedKey?: string;
    reasons?: Reason[];
    failure?: { error: string; cause: string };
  }): Promise<ConditionalResult> {
    // Operands read the item as it was before this update, so previousStatus gets the old status.
    const sets = [
      'previousStatus = #status',
      '#status = :to',
      'statusKey = :to',
      'updatedAt = :at',
      'updatedKey = :updatedKey',
      'executionId = :executionId',
    ];
    const values: Record<string, unknown> = {
      ':to': params.outcome,
      ':at': params.at,
      ':updatedKey': `${params.at}#${params.uploadId}`,
      ':executionId': params.guard.executionId,
      ':processing': 'PROCESSING',
    };
    const optional: Array<[string, unknown]> = [
      ['sha256', params.facts?.sha256],
      ['detectedType', params.facts?.detectedType ?? undefined],
      ['storedKey', params.storedKey],
      ['reasons', params.reasons],
      ['failure', params.failure],
    ];
    for (const [attribute, value] of optional) {
      if (value === undefined) continue;
      sets.push(`${attribute} = :${attribute}`);
      values[`:${attribute}`] = value;
    }
    const claimedByUs = '(#status = :processing AND executionId = :executionId)';
    const condition = params.guard.from.includes('PENDING_UPLOAD')
      ? `(${claimedByUs} OR #status = :pending)`
      : claimedByUs;
    if (params.guard.from.includes('PENDING_UPLOAD')) values[':pending'] = 'PENDING_UPLOAD';
    return this.conditionalUpdate(`UpdateItem(${params.outcome})`, {
      Key: { pk: uploadPk(params.uploadId), sk: RECORD_SK },
      ConditionExpression: `attribute_exists(pk) AND ${condition}`,
      UpdateExpression: `SET ${sets.join(', ')}`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
    });
  }

  /** PENDING_UPLOAD → EXPIRED, only if nothing was claimed meanwhile. */
  async expire(uploadId: string, at: string): Promise<ConditionalResult> {
    return this.conditionalUpdate('UpdateItem(expire)', {
      Key: { pk: uploadPk(uploadId), sk: RECORD_SK },
      ConditionExpression: 'attribute_exists(pk) AND #status = :pending',
      UpdateExpression:
        'SET previousStatus = #status, #status = :to, statusKey = :to, updatedAt = :at, updatedKey = :updatedKey',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':pending': 'PENDING_UPLOAD',
        ':to': 'EXPIRED',
        ':at': at,
        ':updatedKey': `${at}#${uploadId}`,
      },
    });
  }

  /**
   * Appends an audit event with a conditional put. Its key is derived from the transition, so a
   * retried step finds it written and adds nothing: returns false then.
   */
  async appendAudit(event: AuditEvent): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: uploadPk(event.uploadId), sk: auditSortKey(event), entity: 'AuditEvent', ...event },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw toPipelineError('PutItem(audit)', error);
    }
  }

  /** An upload's audit trail, oldest first. */
  async listAudit(uploadId: string): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.send('Query(audit)', () =>
        this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': uploadPk(uploadId), ':prefix': 'EVENT#' },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of out.Items ?? []) events.push(auditFromItem(item));
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
    return events;
  }

  /**
   * One page of an upload's audit trail, oldest first: at most `limit` events, from one Query,
   * and an opaque cursor when more follow. The cursor says nothing of how events are stored: it
   * is checked here, bound to the upload, and a cursor this method did not write is
   * InvalidCursorError.
   */
  async listAuditPage(query: {
    uploadId: string;
    limit: number;
    cursor?: string;
  }): Promise<{ events: AuditEvent[]; cursor?: string }> {
    const after = query.cursor === undefined ? undefined : decodeAuditCursor(query.cursor, query.uploadId);
    const out = await this.send('Query(audit page)', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': uploadPk(query.uploadId), ':prefix': 'EVENT#' },
          ConsistentRead: true,
          // One more than asked: whether more follow is known without a trailing empty page.
          Limit: query.limit + 1,
          ...(after !== undefined ? { ExclusiveStartKey: { pk: uploadPk(query.uploadId), sk: after } } : {}),
        }),
      ),
    );
    const items = out.Items ?? [];
    const page = items.slice(0, query.limit);
    const more = items.length > query.limit || out.LastEvaluatedKey !== undefined;
    const last = page.at(-1);
    return {
      events: page.map(auditFromItem),
      ...(more && last !== undefined ? { cursor: encodeAuditCursor(query.uploadId, String(last.sk)) } : {}),
    };
  }

  /**
   * A caller's uploads, newest first, optionally of one status, with an opaque cursor. With a
   * status filter, at most READ_BUDGET items are evaluated: a sparse filter may give a short (or
   * empty) page with a cursor.
   */
  async listByOwner(query: ListQuery): Promise<Page<UploadRecord>> {
    const { indexName, partitionKey, sortKey } = TABLE_KEYS.byOwner;
    const startKey = query.cursor === undefined ? undefined : decodeCursor(query.cursor, query.owner);
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
      items: page.items.map(fromItem),
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
        ...(query.owner !== undefined ? { FilterExpression: 'ownerKey = :owner' } : {}),
      },
      {
        limit: query.limit,
        budget: query.budget ?? READ_BUDGET,
        keyAttributes: ['pk', 'sk', partitionKey, sortKey],
        ...(query.startKey ? { startKey: query.startKey } : {}),
      },
    );
    return { ...page, items: page.items.map(fromItem) };
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
    return { items: (out.Items ?? []).map(fromItem), ...(lastKey ? { lastKey } : {}) };
  }

  private queryPage(operation: string): (input: QueryCommandInput) => Promise<QueryCommandOutput> {
    return (input) => this.send(operation, () => this.doc.send(new QueryCommand(input)));
  }

  private async conditionalUpdate(
    operation: string,
    input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>,
  ): Promise<ConditionalResult> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({ TableName: this.tableName, ReturnValues: 'ALL_NEW', ...input }),
      );
      return { written: true, record: fromItem(out.Attributes ?? {}) };
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return { written: false };
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

  private toItem(record: UploadRecord): Record<string, unknown> {
    return {
      pk: uploadPk(record.uploadId),
      sk: RECORD_SK,
      entity: 'Upload',
      ...record,
      ownerKey: record.owner,
      createdKey: `${record.createdAt}#${record.uploadId}`,
      statusKey: record.status,
      updatedKey: statusSortKey(record),
    };
  }
}

/** A record's sort key in the byStatus index: where queries by status find it, and page from. */
export function statusSortKey(record: Pick<UploadRecord, 'updatedAt' | 'uploadId'>): string {
  return `${record.updatedAt}#${record.uploadId}`;
}

/** The byStatus position of a record as a query of `status` read it (to resume just after it). */
export function statusIndexKey(
  record: Pick<UploadRecord, 'updatedAt' | 'uploadId'>,
  status: UploadStatus,
): Record<string, string> {
  return {
    pk: uploadPk(record.uploadId),
    sk: RECORD_SK,
    [TABLE_KEYS.byStatus.partitionKey]: status,
    [TABLE_KEYS.byStatus.sortKey]: statusSortKey(record),
  };
}

/** `EVENT#<at>#<action>`, plus the version for discards (several versions may be discarded). */
export function auditSortKey(event: Pick<AuditEvent, 'at' | 'action' | 'versionId'>): string {
  const suffix = event.action === 'DISCARDED' && event.versionId ? `#${event.versionId}` : '';
  return `EVENT#${event.at}#${event.action}${suffix}`;
}

const INTERNAL_ATTRIBUTES = ['pk', 'sk', 'entity', 'ownerKey', 'createdKey', 'statusKey', 'updatedKey'];

function fromItem(item: Record<string, unknown>): UploadRecord {
  const record = { ...item };
  for (const attribute of INTERNAL_ATTRIBUTES) delete record[attribute];
  return record as unknown as UploadRecord;
}

function auditFromItem(item: Record<string, unknown>): AuditEvent {
  const event = { ...item };
  for (const attribute of INTERNAL_ATTRIBUTES) delete event[attribute];
  return event as unknown as AuditEvent;
}
