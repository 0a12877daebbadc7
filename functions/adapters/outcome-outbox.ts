import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent, UploadRecord } from '../domain/model.js';
import { errorName, toPipelineError } from './aws-errors.js';
import { recordKey } from './upload-store.js';

/**
 * The attributes of the upload record that say which transition's event went out last: its
 * number, and its time (the record's updatedAt after that transition, so that a reader of the
 * status index sees a pending event without reading the trail).
 */
export const PUBLISHED_SEQ_ATTRIBUTE = 'publishedSeq';
export const PUBLISHED_AT_ATTRIBUTE = 'publishedAt';

/** An upload as its outcome event needs it: the record, its trail in order, what was published. */
export interface OutboxEntry {
  record: UploadRecord;
  /** The audit trail, oldest first, each event numbered by its seq. */
  trail: AuditEvent[];
  /** The sequence number of the last transition whose event was published (0: none). */
  publishedSeq: number;
}

/**
 * The record as the outbox of its own outcome events: a terminal transition is recorded by the
 * pipeline's one write of the record, and its event is pending until `publishedSeq` reaches the
 * transition's number. The publish step and the sweeper read it here and mark it once published;
 * marking never touches the status, its index keys or the trail.
 */
export class OutcomeOutbox {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    private readonly tableName: string,
    client: DynamoDBClient = new DynamoDBClient({}),
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /** The record with its trail (embedded in it, numbered by seq): one consistent GetItem. */
  async read(uploadId: string): Promise<OutboxEntry | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      item = (
        await this.doc.send(
          new GetCommand({ TableName: this.tableName, Key: recordKey(uploadId), ConsistentRead: true }),
        )
      ).Item;
    } catch (error) {
      throw toPipelineError('GetItem(outbox)', error);
    }
    if (item === undefined) return undefined;
    return this.entryOf(item, Array.isArray(item['events']) ? (item['events'] as AuditEvent[]) : []);
  }

  private entryOf(item: Record<string, unknown>, trail: AuditEvent[]): OutboxEntry {
    const published = item[PUBLISHED_SEQ_ATTRIBUTE];
    return {
      record: item as unknown as UploadRecord,
      trail,
      publishedSeq: typeof published === 'number' ? published : 0,
    };
  }

  /** Marks the transition numbered `seq` (at `at`) published; false when a later one already is. */
  async markPublished(uploadId: string, seq: number, at: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: recordKey(uploadId),
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(#published) OR #published < :seq)',
          UpdateExpression: 'SET #published = :seq, #publishedAt = :at',
          ExpressionAttributeNames: {
            '#published': PUBLISHED_SEQ_ATTRIBUTE,
            '#publishedAt': PUBLISHED_AT_ATTRIBUTE,
          },
          ExpressionAttributeValues: { ':seq': seq, ':at': at },
        }),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw toPipelineError('UpdateItem(outbox)', error);
    }
  }
}
