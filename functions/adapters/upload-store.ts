import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { appendEvent } from '../domain/audit-trail.js';
import type {
  AuditEvent,
  Reason,
  ScanSummary,
  TrailHead,
  UploadRecord,
  UploadStatus,
} from '../domain/model.js';
import type { OutcomeGuard, Outcome } from '../domain/transitions.js';
import type { VerdictFacts } from '../domain/verdict.js';
import { crashAfterWrite, type CrashPoint } from '../commons/faults.js';
import { errorName, toPipelineError } from './aws-errors.js';
import {
  RECORD_SK,
  recordFromItem,
  recordItem,
  statusSortKey,
  TABLE_KEYS,
  UNSOLICITED_SK,
  uploadPk,
} from './table-layout.js';
import { UploadQueries } from './upload-queries.js';

export { recordKey, statusIndexKey, statusSortKey, TABLE_KEYS } from './table-layout.js';
export { READ_BUDGET } from './paging.js';
export type { EventsPage, ListQuery, Page } from './upload-queries.js';

export type ConditionalResult = { written: true; record: UploadRecord } | { written: false };

/** A new upload's record, before its trail exists. */
export type NewUpload = Omit<UploadRecord, 'trailHead'>;

/** The trail of objects with no upload, kept under their key (no record, in no index). */
export interface UnsolicitedTrail {
  trailHead?: TrailHead;
  discardedVersions?: string[];
}

/** The update a status change adds to the append of its event. */
interface Change {
  sets?: Record<string, unknown>;
  removes?: string[];
  /** The guard of the transition (status, version, execution), over `#status` and `values`. */
  condition?: string;
  values?: Record<string, unknown>;
  /** A discarded version to list beside its event, unless it is listed already. */
  appendVersion?: string;
}

/** What became of a discard: written now, found written by an earlier try, or the trail moved on. */
export type DiscardResult = 'WRITTEN' | 'ALREADY_WRITTEN' | 'TRAIL_MOVED';

const STATUS_CHANGE_NAMES = { '#status': 'status' };

/**
 * The uploads table: its reads (UploadQueries) and every write of a record and its trail. Each
 * status change and its audit event are one conditional write of the record's item.
 */
export class UploadStore extends UploadQueries {
  /**
   * Writes a new PENDING_UPLOAD record holding its ISSUED event: one put, refused if the id exists
   * (undefined then: an idempotent retry that raced another request with the same key and lost).
   * `deleteAfter` (epoch seconds) lets DynamoDB's TTL remove it should it ever be abandoned
   * without expiring (a backstop: the sweeper expires it long before).
   */
  async createPending(
    upload: NewUpload,
    issued: AuditEvent,
    deleteAfter: number,
  ): Promise<UploadRecord | undefined> {
    const { event, head } = appendEvent(undefined, issued);
    const record: UploadRecord = { ...upload, trailHead: head };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: recordItem(record, { events: [event], [TABLE_KEYS.ttlAttribute]: deleteAfter }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return undefined;
      throw toPipelineError('PutItem(upload)', error);
    }
    crashAfterWrite('crash.create');
    return record;
  }

  /**
   * PENDING_UPLOAD|FAILED|EXPIRED → PROCESSING for one object version, with its event, if the
   * record is still in `from` (a FAILED one for this version, an EXPIRED one never claimed) and its
   * trail still ends where `record` was read. Leaving an abandoned status ends its TTL.
   */
  async claim(params: {
    record: UploadRecord;
    from: UploadStatus;
    versionId: string;
    sequencer?: string;
    executionId: string;
    event: AuditEvent;
  }): Promise<ConditionalResult> {
    const guard =
      params.from === 'FAILED'
        ? '#status = :from AND (attribute_not_exists(versionId) OR versionId = :versionId)'
        : params.from === 'EXPIRED'
          ? '#status = :from AND attribute_not_exists(versionId)'
          : '#status = :from';
    return this.append('UpdateItem(claim)', 'crash.claim', params.record, params.event, {
      sets: {
        previousStatus: params.record.status,
        status: 'PROCESSING',
        versionId: params.versionId,
        executionId: params.executionId,
        ...(params.sequencer ? { sequencer: params.sequencer } : {}),
      },
      removes: ['failure', TABLE_KEYS.ttlAttribute],
      condition: guard,
      values: { ':from': params.from, ':versionId': params.versionId },
    });
  }

  /** Writes a terminal outcome and its event if the guard holds: a terminal status is never overwritten. */
  async recordOutcome(params: {
    record: UploadRecord;
    outcome: Outcome;
    guard: OutcomeGuard;
    event: AuditEvent;
    facts?: VerdictFacts;
    storedKey?: string;
    reasons?: Reason[];
    scan?: ScanSummary;
    failure?: { error: string; cause: string };
  }): Promise<ConditionalResult> {
    const values: Record<string, unknown> = {
      ':processing': 'PROCESSING',
      ':executionId': params.guard.executionId,
    };
    const claimedByUs = '(#status = :processing AND executionId = :executionId)';
    const fromPending = params.guard.from.includes('PENDING_UPLOAD');
    if (fromPending) values[':pending'] = 'PENDING_UPLOAD';
    return this.append(`UpdateItem(${params.outcome})`, 'crash.outcome', params.record, params.event, {
      sets: {
        previousStatus: params.record.status,
        status: params.outcome,
        executionId: params.guard.executionId,
        sha256: params.facts?.sha256 ?? undefined,
        detectedType: params.facts?.detectedType ?? undefined,
        storedKey: params.storedKey,
        reasons: params.reasons,
        scan: params.scan,
        failure: params.failure,
      },
      // A FAILED upload straight from PENDING_UPLOAD is no longer abandoned: it keeps its record.
      removes: [TABLE_KEYS.ttlAttribute],
      condition: fromPending ? `(${claimedByUs} OR #status = :pending)` : claimedByUs,
      values,
    });
  }

  /**
   * PROCESSED → QUARANTINED with its event: a rescan found a threat in the promoted file. Only
   * from PROCESSED, so that a repeated detection writes nothing.
   */
  async quarantine(params: {
    record: UploadRecord;
    event: AuditEvent;
    reasons: Reason[];
    scan: ScanSummary;
    storedKey: string;
  }): Promise<ConditionalResult> {
    return this.append('UpdateItem(quarantine)', 'crash.outcome', params.record, params.event, {
      sets: {
        previousStatus: params.record.status,
        status: 'QUARANTINED',
        reasons: params.reasons,
        scan: params.scan,
        storedKey: params.storedKey,
      },
      condition: '#status = :processed',
      values: { ':processed': 'PROCESSED' },
    });
  }

  /**
   * PENDING_UPLOAD → EXPIRED with its event, only if nothing was claimed meanwhile. DynamoDB's TTL
   * may delete the record, trail included, from `deleteAfter` (epoch seconds) on.
   */
  async expire(params: {
    record: UploadRecord;
    event: AuditEvent;
    deleteAfter: number;
  }): Promise<ConditionalResult> {
    return this.append('UpdateItem(expire)', 'crash.expire', params.record, params.event, {
      sets: {
        previousStatus: params.record.status,
        status: 'EXPIRED',
        [TABLE_KEYS.ttlAttribute]: params.deleteAfter,
      },
      condition: '#status = :pending',
      values: { ':pending': 'PENDING_UPLOAD' },
    });
  }

  /**
   * A DISCARDED event for another version of an upload's key: listed in the trail (with the
   * version, so that a retried step finds it there), or, once MAX_LISTED_DISCARDS are listed,
   * only counted. TRAIL_MOVED: the record changed since it was read (read it again and decide).
   */
  async discard(params: {
    record: UploadRecord;
    event: AuditEvent;
    plan: 'LIST' | 'COUNT';
  }): Promise<DiscardResult> {
    const versionId = params.event.versionId ?? '';
    if (params.plan === 'COUNT') {
      return this.countDiscard(uploadPk(params.record.uploadId), RECORD_SK, versionId);
    }
    const result = await this.append('UpdateItem(discard)', 'crash.discard', params.record, params.event, {
      appendVersion: versionId,
    });
    return result.written ? 'WRITTEN' : 'TRAIL_MOVED';
  }

  /** The trail of an object key with no upload, as far as it exists. */
  async getUnsolicited(key: string): Promise<UnsolicitedTrail> {
    const out = await this.send('GetItem(unsolicited)', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: uploadPk(key), sk: UNSOLICITED_SK },
          ConsistentRead: true,
          ProjectionExpression: 'trailHead, discardedVersions',
        }),
      ),
    );
    return (out.Item ?? {}) as UnsolicitedTrail;
  }

  /** Audits an object no upload was issued for (its event's uploadId is the key), as `discard` does. */
  async discardUnsolicited(params: {
    trail: UnsolicitedTrail;
    event: AuditEvent;
    plan: 'LIST' | 'COUNT';
  }): Promise<DiscardResult> {
    const versionId = params.event.versionId ?? '';
    if (params.plan === 'COUNT') {
      return this.countDiscard(uploadPk(params.event.uploadId), UNSOLICITED_SK, versionId);
    }
    const { event, head, expected } = appendEvent(params.trail.trailHead, params.event);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: uploadPk(params.event.uploadId), sk: UNSOLICITED_SK },
          ConditionExpression:
            expected === undefined ? 'attribute_not_exists(pk)' : '#trailHead.#seq = :expectedSeq',
          UpdateExpression:
            'SET #trailHead = :head, #events = list_append(if_not_exists(#events, :none), :events), ' +
            'discardedVersions = list_append(if_not_exists(discardedVersions, :none), :versions), entity = :entity',
          ExpressionAttributeNames: {
            '#trailHead': 'trailHead',
            '#events': 'events',
            ...(expected === undefined ? {} : { '#seq': 'seq' }),
          },
          ExpressionAttributeValues: {
            ':head': head,
            ':events': [event],
            ':none': [],
            ':versions': [versionId],
            ':entity': 'Unsolicited',
            ...(expected === undefined ? {} : { ':expectedSeq': expected.seq }),
          },
        }),
      );
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return 'TRAIL_MOVED';
      throw toPipelineError('UpdateItem(unsolicited)', error);
    }
    crashAfterWrite('crash.discard');
    return 'WRITTEN';
  }

  /**
   * The one write of every status change (and listed discard): appends the event to the record's
   * trail and applies `change`, in one conditional UpdateItem that also requires the trail to end
   * where `record` was read, so that no two appends ever interleave. Every append moves the record
   * in the byStatus index: its event's `at` becomes the record's `updatedAt`.
   */
  private async append(
    operation: string,
    crashPoint: CrashPoint,
    record: UploadRecord,
    auditEvent: AuditEvent,
    change: Change,
  ): Promise<ConditionalResult> {
    const { event, head, expected } = appendEvent(record.trailHead, auditEvent);
    const names: Record<string, string> = { '#trailHead': 'trailHead', '#seq': 'seq', '#events': 'events' };
    const values: Record<string, unknown> = {
      ':head': head,
      ':events': [event],
      ':expectedSeq': expected?.seq,
      ...change.values,
    };
    const updates = ['#trailHead = :head', '#events = list_append(#events, :events)'];
    const conditions = ['attribute_exists(pk)', '#trailHead.#seq = :expectedSeq'];
    const sets: Record<string, unknown> = { ...change.sets };
    // A status change moves the record to its status's partition of the byStatus index.
    if (sets.status !== undefined) sets.statusKey = sets.status;
    // Every append (a listed discard too) moves it to the time of its event within its partition:
    // the index then finds every trail that changed in a window (auditors, the digest writer).
    sets.updatedAt = event.at;
    sets.updatedKey = statusSortKey({ updatedAt: event.at, uploadId: record.uploadId });
    for (const [attribute, value] of Object.entries(sets)) {
      if (value === undefined) continue;
      names[`#${attribute}`] = attribute;
      updates.push(`#${attribute} = :${attribute}`);
      values[`:${attribute}`] = value;
    }
    if (change.appendVersion !== undefined) {
      names['#discarded'] = 'discardedVersions';
      updates.push('#discarded = list_append(if_not_exists(#discarded, :none), :versions)');
      conditions.push('NOT contains(#discarded, :version)');
      Object.assign(values, {
        ':none': [],
        ':versions': [change.appendVersion],
        ':version': change.appendVersion,
      });
    }
    if (change.condition !== undefined) {
      // AND-joined as given: a guard with OR brings its own parentheses.
      Object.assign(names, STATUS_CHANGE_NAMES);
      conditions.push(change.condition);
    }
    const removes = (change.removes ?? []).map((attribute) => {
      names[`#${attribute}`] = attribute;
      return `#${attribute}`;
    });
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: uploadPk(record.uploadId), sk: RECORD_SK },
          ConditionExpression: conditions.join(' AND '),
          UpdateExpression: `SET ${updates.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      crashAfterWrite(crashPoint);
      return { written: true, record: recordFromItem(out.Attributes ?? {}) };
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return { written: false };
      throw toPipelineError(operation, error);
    }
  }

  /**
   * Counts a discard past the listing bound. The version last counted is kept, so that a retried
   * step does not count its own discard twice.
   */
  private async countDiscard(pk: string, sk: string, versionId: string): Promise<DiscardResult> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk },
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(lastUnlistedDiscard) OR lastUnlistedDiscard <> :version)',
          UpdateExpression: 'SET lastUnlistedDiscard = :version ADD unlistedDiscards :one',
          ExpressionAttributeValues: { ':version': versionId, ':one': 1 },
        }),
      );
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return 'ALREADY_WRITTEN';
      throw toPipelineError('UpdateItem(count discard)', error);
    }
    crashAfterWrite('crash.discard');
    return 'WRITTEN';
  }
}
