import { InvalidCursorError } from '../domain/errors.js';
import type { UploadRecord, UploadStatus } from '../domain/model.js';

/**
 * Table layout (one table, single-item conditional writes only: dynalite has no transactions):
 *   upload record   pk=UPLOAD#<id>        sk=RECORD       the record, its trail (`events`, oldest
 *                                                         first, numbered by `seq`) and the trail's
 *                                                         head (`trailHead`); each status change and
 *                                                         its event are one conditional UpdateItem
 *   unsolicited     pk=UPLOAD#<key or id> sk=UNSOLICITED  the DISCARDED events of objects no upload
 *                                                         was issued for (no record, no index keys)
 *   GSI byOwner     ownerKey=<owner>      createdKey=<createdAt>#<id>   (a caller's uploads, newest first)
 *   GSI byStatus    statusKey=<status>    updatedKey=<updatedAt>#<id>   (sweeper, auditors)
 *   sweeper state   pk=SWEEPER            sk=STATE        (its lease and cursors: adapters/sweep-state.ts)
 * The indexes project the record's own fields (INDEX_PROJECTION), never its trail: a status change
 * writes the index items at the record's size, not the trail's. `ttl` (epoch seconds) is
 * DynamoDB's time-to-live attribute: set on abandoned records only (PENDING_UPLOAD, EXPIRED)
 * among the records; quota counters and Idempotency-Key items (adapters/quota-store.ts,
 * adapters/idempotency-store.ts) share the table with keys of their own.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  byOwner: { indexName: 'byOwner', partitionKey: 'ownerKey', sortKey: 'createdKey' },
  byStatus: { indexName: 'byStatus', partitionKey: 'statusKey', sortKey: 'updatedKey' },
  /** DynamoDB's TTL attribute (epoch seconds): only items that may expire carry it. */
  ttlAttribute: 'ttl',
} as const;

export const RECORD_SK = 'RECORD';
export const UNSOLICITED_SK = 'UNSOLICITED';
export const uploadPk = (uploadId: string): string => `UPLOAD#${uploadId}`;

/** The key of an upload's record item. */
export const recordKey = (uploadId: string): { pk: string; sk: string } => ({
  pk: uploadPk(uploadId),
  sk: RECORD_SK,
});

/**
 * Every field of a record, and whether the indexes carry it. A new field of UploadRecord fails to
 * compile here until it is placed: carried by the indexes (and then added to the projection of a
 * deployed table, which replaces both indexes), or read from the table item only.
 */
const RECORD_FIELDS = {
  uploadId: 'index',
  owner: 'index',
  status: 'index',
  previousStatus: 'index',
  fileName: 'index',
  contentType: 'index',
  size: 'index',
  declaredSha256: 'index',
  method: 'index',
  createdAt: 'index',
  updatedAt: 'index',
  expiresAt: 'index',
  versionId: 'index',
  sequencer: 'index',
  executionId: 'index',
  sha256: 'index',
  detectedType: 'index',
  storedKey: 'index',
  reasons: 'index',
  scan: 'index',
  failure: 'index',
  trailHead: 'index',
  discardedVersions: 'table',
  unlistedDiscards: 'table',
  // The outbox mark (adapters/outcome-outbox.ts): the sweeper reads publishedAt from the index.
  publishedSeq: 'table',
  publishedAt: 'index',
} as const satisfies Record<keyof UploadRecord, 'index' | 'table'>;

/** The non-key attributes both indexes project (ProjectionType INCLUDE). */
export const INDEX_PROJECTION: readonly string[] = Object.entries(RECORD_FIELDS)
  .filter(([, where]) => where === 'index')
  .map(([field]) => field);

/** Attributes of the item that are the table's own bookkeeping, never part of a record. */
const INTERNAL_ATTRIBUTES = [
  'pk',
  'sk',
  'entity',
  'ownerKey',
  'createdKey',
  'statusKey',
  'updatedKey',
  'events',
  'lastUnlistedDiscard',
  TABLE_KEYS.ttlAttribute,
];

/** The record an item (of the table or of an index) holds. */
export function recordFromItem(item: Record<string, unknown>): UploadRecord {
  const record = { ...item };
  for (const attribute of INTERNAL_ATTRIBUTES) delete record[attribute];
  return record as unknown as UploadRecord;
}

/** A new record's item: the record, its index keys and the table's own attributes. */
export function recordItem(record: UploadRecord, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    pk: uploadPk(record.uploadId),
    sk: RECORD_SK,
    entity: 'Upload',
    ...record,
    ownerKey: record.owner,
    createdKey: `${record.createdAt}#${record.uploadId}`,
    statusKey: record.status,
    updatedKey: statusSortKey(record),
    ...extra,
  };
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

export function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function parseCursor(cursor: string): Record<string, unknown> {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new InvalidCursorError();
  return key as Record<string, unknown>;
}

/** Cursors are opaque to clients but checked here: one cannot page into another owner's list. */
export function decodeOwnerCursor(cursor: string, owner: string): Record<string, unknown> {
  const key = parseCursor(cursor);
  const entries = Object.entries(key);
  const expected = new Set(['pk', 'sk', TABLE_KEYS.byOwner.partitionKey, TABLE_KEYS.byOwner.sortKey]);
  if (
    entries.length !== expected.size ||
    entries.some(([k, v]) => !expected.has(k) || typeof v !== 'string') ||
    key[TABLE_KEYS.byOwner.partitionKey] !== owner
  ) {
    throw new InvalidCursorError();
  }
  return key;
}

/** A position in one upload's trail: the events after `after` (a seq) come next. */
export function encodeEventsCursor(uploadId: string, after: number): string {
  return encodeCursor({ upload: uploadId, after });
}

/** Bound to its upload: a cursor of another upload's trail is refused. */
export function decodeEventsCursor(cursor: string, uploadId: string): number {
  const { upload, after, ...rest } = parseCursor(cursor);
  if (
    Object.keys(rest).length > 0 ||
    upload !== uploadId ||
    typeof after !== 'number' ||
    !Number.isInteger(after) ||
    after < 1
  ) {
    throw new InvalidCursorError();
  }
  return after;
}
