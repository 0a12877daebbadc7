import { verifyTrail } from '../../../functions/domain/audit-chain.js';
import { GetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UploadStore, type NewUpload } from '../../../functions/adapters/upload-store.js';
import { startInMemoryDynamo, type InMemoryDynamo } from '../../support/dynalite.js';
import {
  abandonedRecordExpiry,
  canRedrive,
  discardPlan,
  MAX_EVENT_REASONS,
  MAX_LISTED_DISCARDS,
  MAX_REASON_MESSAGE_LENGTH,
  MAX_TRAIL_EVENTS,
  nextEventTime,
} from '../../../functions/domain/audit-trail.js';
import type { Reason, UploadRecord } from '../../../functions/domain/model.js';
import { MAX_CAUSE_LENGTH } from '../../../functions/domain/redaction.js';
import {
  claimEvent,
  discardedEvent,
  expiredEvent,
  issuedEvent,
  outcomeEvent,
} from '../../../functions/domain/transition-events.js';
import { ensureTable } from '../../../local/dynamo.js';

/**
 * The upload store's trail, against a real DynamoDB implementation (dynalite, in memory, the table
 * created as CDK creates it): each status change and its event in one conditional write, the
 * trail's numbering, the guard against interleaved appends, the bounds, the TTL of abandoned
 * records, what the indexes carry, and the largest item a trail can grow to.
 */

let client: DynamoDBClient;
let store: UploadStore;
let table = '';
let tables = 0;
const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const RETENTION_SECONDS = 90 * 86_400;
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:airlock:exec-1';

let dynamo: InMemoryDynamo;

beforeAll(async () => {
  dynamo = await startInMemoryDynamo();
  client = dynamo.client;
});

afterAll(() => dynamo.close());

beforeEach(async () => {
  table = `trail-${++tables}`;
  await ensureTable(client, table);
  store = new UploadStore(table, client);
});

const iso = (ms: number) => new Date(ms).toISOString();

function newUpload(id: string, overrides: Partial<NewUpload> = {}): NewUpload {
  return {
    uploadId: id,
    owner: 'owner-1',
    status: 'PENDING_UPLOAD',
    fileName: 'a.pdf',
    contentType: 'application/pdf',
    size: 10,
    method: 'PUT',
    createdAt: iso(T0),
    updatedAt: iso(T0),
    expiresAt: iso(T0 + 15 * 60_000),
    ...overrides,
  };
}

async function create(id: string, overrides: Partial<NewUpload> = {}): Promise<UploadRecord> {
  const upload = newUpload(id, overrides);
  const record = await store.createPending(
    upload,
    issuedEvent(id, upload.owner, upload.createdAt),
    abandonedRecordExpiry(upload.expiresAt, RETENTION_SECONDS),
  );
  if (record === undefined) throw new Error(`A record ${id} exists already.`);
  return record;
}

/** The item as stored, in DynamoDB's own format (for its TTL and its size). */
async function rawItem(id: string, sk = 'RECORD'): Promise<Record<string, AttributeValue>> {
  const out = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: `UPLOAD#${id}` }, sk: { S: sk } } }),
  );
  if (out.Item === undefined) throw new Error(`No item UPLOAD#${id} ${sk}`);
  return out.Item;
}

const claimOf = (
  record: UploadRecord,
  at: number,
  versionId = 'v1',
  action: 'CLAIMED' | 'REDRIVEN' | 'LATE_UPLOAD' = 'CLAIMED',
) =>
  store.claim({
    record,
    from: record.status,
    versionId,
    executionId: EXECUTION,
    event: claimEvent({
      uploadId: record.uploadId,
      at: nextEventTime(new Date(at), record.trailHead),
      from: record.status,
      action,
      versionId,
      executionId: EXECUTION,
    }),
  });

const outcomeOf = (
  record: UploadRecord,
  outcome: 'PROCESSED' | 'REJECTED' | 'FAILED',
  at: number,
  extra: { reasons?: Reason[]; failure?: { error: string; cause: string } } = {},
) =>
  store.recordOutcome({
    record,
    outcome,
    guard: { from: ['PROCESSING'], executionId: EXECUTION },
    event: outcomeEvent({
      record,
      outcome,
      at: nextEventTime(new Date(at), record.trailHead),
      executionId: EXECUTION,
      ...extra,
    }),
    ...extra,
  });

const written = (result: { written: boolean; record?: UploadRecord }): UploadRecord => {
  if (!result.written || result.record === undefined) throw new Error('The write was refused.');
  return result.record;
};

describe('the trail in the record', () => {
  it('starts at issuance with ISSUED numbered 1, and numbers every status change after it', async () => {
    // Act
    const pending = await create('01TRAIL');
    const claimed = written(await claimOf(pending, T0 + 1000));
    written(await outcomeOf(claimed, 'PROCESSED', T0 + 2000));

    // Assert
    const events = await store.listAudit('01TRAIL');
    expect(events.map((event) => [event.seq, event.action, event.from, event.to])).toEqual([
      [1, 'ISSUED', null, 'PENDING_UPLOAD'],
      [2, 'CLAIMED', 'PENDING_UPLOAD', 'PROCESSING'],
      [3, 'PROCESSED', 'PROCESSING', 'PROCESSED'],
    ]);
    const record = await store.get('01TRAIL');
    expect(record?.trailHead).toEqual({ seq: 3, at: events[2]?.at, hash: events[2]?.hash });
    // Chained from issuance: each event names the hash of the one before it.
    expect(events.map((event) => event.prevHash)).toEqual([null, events[0]?.hash, events[1]?.hash]);
    expect(verifyTrail('01TRAIL', events)).toMatchObject({ verdict: 'verified', events: 3 });
    expect(record?.updatedAt).toBe(events[2]?.at);
  });

  it('refuses an append made from a stale read: two writers never interleave their events', async () => {
    // Arrange: two claims decided on the same read
    const pending = await create('01RACE');
    // Act
    const first = await claimOf(pending, T0 + 1000, 'v1');
    const second = await claimOf(pending, T0 + 1000, 'v2');
    // Assert
    expect([first.written, second.written]).toEqual([true, false]);
    expect((await store.listAudit('01RACE')).map((event) => event.seq)).toEqual([1, 2]);
  });

  it('refuses a discard made from a stale read as well, and lists each discarded version once', async () => {
    // Arrange
    const processed = written(
      await outcomeOf(written(await claimOf(await create('01DISCARD'), T0 + 1000)), 'PROCESSED', T0 + 2000),
    );
    const discard = (record: UploadRecord, versionId: string) =>
      store.discard({
        record,
        plan: 'LIST',
        event: discardedEvent({
          uploadId: record.uploadId,
          at: nextEventTime(new Date(T0 + 3000), record.trailHead),
          status: record.status,
          reason: { code: 'ALREADY_PROCESSED', message: 'm' },
          versionId,
          executionId: EXECUTION,
        }),
      });
    // Act
    const results = [await discard(processed, 'v2'), await discard(processed, 'v3')];
    const fresh = (await store.get('01DISCARD'))!;
    const again = await discard(fresh, 'v2');
    // Assert: the stale second one is refused; the repeat of v2 is refused by the list of versions
    expect([...results, again]).toEqual(['WRITTEN', 'TRAIL_MOVED', 'TRAIL_MOVED']);
    expect(discardPlan(fresh, 'v2')).toBe('ALREADY_LISTED');
    expect(fresh.discardedVersions).toEqual(['v2']);
    expect((await store.listAudit('01DISCARD')).map((event) => event.action)).toEqual([
      'ISSUED',
      'CLAIMED',
      'PROCESSED',
      'DISCARDED',
    ]);
  });

  it('moves the record in the byStatus index on every append, a listed discard too', async () => {
    // Arrange: a PROCESSED record, then a discard of another version a minute later
    const processed = written(
      await outcomeOf(written(await claimOf(await create('01MOVED'), T0 + 1000)), 'PROCESSED', T0 + 2000),
    );
    const discardAt = iso(T0 + 60_000);
    await store.discard({
      record: processed,
      plan: 'LIST',
      event: discardedEvent({
        uploadId: '01MOVED',
        at: discardAt,
        status: 'PROCESSED',
        reason: { code: 'ALREADY_PROCESSED', message: 'm' },
        versionId: 'v2',
        executionId: EXECUTION,
      }),
    });
    // Act: what changed from the discard's time on, as the digest writer and auditors query it
    const changedSince = async (from: string) =>
      (await store.pageByStatus({ status: 'PROCESSED', from, to: '9', limit: 10 })).items.map((record) => [
        record.uploadId,
        record.updatedAt,
      ]);
    // Assert
    expect(await changedSince(discardAt)).toEqual([['01MOVED', discardAt]]);
    expect((await store.get('01MOVED'))?.trailHead.at).toBe(discardAt);
  });

  it('keeps the trail of an object key with no upload apart, numbered from 1, and reads it', async () => {
    // Arrange
    const key = 'quarantine/dropped.bin';
    const event = (versionId: string, head?: UploadRecord['trailHead']) =>
      discardedEvent({
        uploadId: key,
        at: nextEventTime(new Date(T0), head),
        status: null,
        reason: { code: 'UNSOLICITED', message: 'm' },
        versionId,
        executionId: EXECUTION,
      });
    // Act
    const first = await store.discardUnsolicited({ trail: {}, event: event('v1'), plan: 'LIST' });
    const trail = await store.getUnsolicited(key);
    const second = await store.discardUnsolicited({
      trail,
      event: event('v2', trail.trailHead),
      plan: 'LIST',
    });
    const stale = await store.discardUnsolicited({ trail: {}, event: event('v3'), plan: 'LIST' });
    // Assert
    expect([first, second, stale]).toEqual(['WRITTEN', 'WRITTEN', 'TRAIL_MOVED']);
    const page = await store.pageEvents(key);
    expect(page.record).toBeUndefined();
    expect(page.events.map((e) => [e.seq, e.versionId, e.from, e.to])).toEqual([
      [1, 'v1', null, null],
      [2, 'v2', null, null],
    ]);
  });

  it('pages a trail with a cursor bound to its upload', async () => {
    // Arrange
    const claimed = written(await claimOf(await create('01PAGES'), T0 + 1000));
    written(await outcomeOf(claimed, 'PROCESSED', T0 + 2000));
    await create('01OTHER');
    // Act
    const first = await store.pageEvents('01PAGES', { limit: 2 });
    const second = await store.pageEvents('01PAGES', {
      limit: 2,
      ...(first.cursor ? { cursor: first.cursor } : {}),
    });
    // Assert
    expect(first.events.map((event) => event.seq)).toEqual([1, 2]);
    expect(second.events.map((event) => event.seq)).toEqual([3]);
    expect(second.cursor).toBeUndefined();
    await expect(store.pageEvents('01OTHER', { limit: 2, cursor: first.cursor! })).rejects.toMatchObject({
      name: 'InvalidCursorError',
    });
  });
});

describe('DynamoDB TTL of abandoned records', () => {
  it('a new record may be deleted a retention after its grant expired (a backstop)', async () => {
    // Act
    await create('01NEW');
    // Assert
    expect((await rawItem('01NEW')).ttl).toEqual({ N: String(T0 / 1000 + 15 * 60 + RETENTION_SECONDS) });
  });

  it('an EXPIRED record may be deleted a retention after it expired', async () => {
    // Arrange
    const pending = await create('01EXPIRE');
    const at = nextEventTime(new Date(T0 + 20 * 60_000), pending.trailHead);
    // Act
    written(
      await store.expire({
        record: pending,
        event: expiredEvent('01EXPIRE', at),
        deleteAfter: abandonedRecordExpiry(at, RETENTION_SECONDS),
      }),
    );
    // Assert
    expect((await rawItem('01EXPIRE')).ttl).toEqual({ N: String(Date.parse(at) / 1000 + RETENTION_SECONDS) });
  });

  it.each([
    ['a claim', 'PENDING_UPLOAD'],
    ['a late upload', 'EXPIRED'],
  ] as const)('%s ends the TTL in the same write: the record is kept', async (_label, from) => {
    // Arrange
    let record = await create('01KEEP');
    if (from === 'EXPIRED') {
      const at = nextEventTime(new Date(T0 + 20 * 60_000), record.trailHead);
      record = written(await store.expire({ record, event: expiredEvent('01KEEP', at), deleteAfter: 1 }));
    }
    // Act
    const claimed = await claimOf(
      record,
      T0 + 30 * 60_000,
      'v1',
      from === 'EXPIRED' ? 'LATE_UPLOAD' : 'CLAIMED',
    );
    // Assert
    expect(claimed.written).toBe(true);
    expect((await rawItem('01KEEP')).ttl).toBeUndefined();
    expect((await store.listAudit('01KEEP')).at(-1)).toMatchObject({
      action: from === 'EXPIRED' ? 'LATE_UPLOAD' : 'CLAIMED',
      from,
    });
  });

  it('a late upload is taken once: a second version finds the record claimed', async () => {
    // Arrange
    const pending = await create('01LATE');
    const at = nextEventTime(new Date(T0 + 20 * 60_000), pending.trailHead);
    const expired = written(
      await store.expire({ record: pending, event: expiredEvent('01LATE', at), deleteAfter: 1 }),
    );
    // Act
    const first = await claimOf(expired, T0 + 21 * 60_000, 'v1', 'LATE_UPLOAD');
    const second = await claimOf(expired, T0 + 21 * 60_000, 'v2', 'LATE_UPLOAD');
    // Assert
    expect([first.written, second.written]).toEqual([true, false]);
    expect((await store.get('01LATE'))?.versionId).toBe('v1');
  });
});

describe('the indexes', () => {
  it("carry every field of a record but not its trail: a listed record equals the record read, less the trail's bookkeeping", async () => {
    // Arrange: a record with every field set, and a listed discard
    const claimed = written(
      await claimOf(await create('01FULL', { declaredSha256: 'a'.repeat(64) }), T0 + 1000, 'v1'),
    );
    const rejected = written(
      await outcomeOf(claimed, 'REJECTED', T0 + 2000, {
        reasons: [{ code: 'TYPE_MISMATCH', message: 'm' }],
      }),
    );
    await store.discard({
      record: rejected,
      plan: 'LIST',
      event: discardedEvent({
        uploadId: '01FULL',
        at: nextEventTime(new Date(T0 + 3000), rejected.trailHead),
        status: 'REJECTED',
        reason: { code: 'ALREADY_PROCESSED', message: 'm' },
        versionId: 'v2',
        executionId: EXECUTION,
      }),
    });
    const read = (await store.get('01FULL'))!;
    // Act
    const listed = (await store.listByOwner({ owner: 'owner-1', limit: 10 })).items[0];
    const byStatus = (await store.pageByStatus({ status: 'REJECTED', from: '0', to: '9', limit: 10 }))
      .items[0];
    // Assert
    const { discardedVersions, ...withoutBookkeeping } = read;
    expect(discardedVersions).toEqual(['v2']);
    expect(listed).toEqual(withoutBookkeeping);
    expect(byStatus).toEqual(withoutBookkeeping);
  });
});

describe('the largest trail fits in one item', () => {
  it(`${MAX_TRAIL_EVENTS} events at every field's limit stay under DynamoDB's 400 KB item limit`, async () => {
    // Arrange: every field at the most it can hold. File names are 1,024 UTF-16 units (3 bytes in
    // UTF-8 each at most); owners are capped by the byOwner key (2,048 bytes); S3 version ids are
    // taken as up to 1,024 bytes and execution ARNs as up to 2,048; causes are redacted to 2,000
    // characters; reasons are bounded by appendEvent.
    const id = '01WORSTCASE';
    const version = 'v'.repeat(1024);
    const execution = 'e'.repeat(2048);
    const reason = (code: Reason['code']): Reason => ({
      code,
      message: 'm'.repeat(MAX_REASON_MESSAGE_LENGTH * 2),
    });
    const failure = { error: 'E'.repeat(MAX_REASON_MESSAGE_LENGTH * 2), cause: '€'.repeat(MAX_CAUSE_LENGTH) };
    let clock = T0;
    const at = (record: UploadRecord) => nextEventTime(new Date((clock += 1000)), record.trailHead);
    let record = await create(id, {
      owner: 'o'.repeat(2048),
      fileName: '€'.repeat(1024),
      contentType: 'c'.repeat(255),
      declaredSha256: 'a'.repeat(64),
    });
    const step = async (next: Promise<{ written: boolean; record?: UploadRecord }>) => {
      record = written(await next);
    };
    const claimAs = (action: 'LATE_UPLOAD' | 'REDRIVEN', from: UploadRecord['status']) =>
      store.claim({
        record,
        from,
        versionId: version,
        executionId: execution,
        event: claimEvent({
          uploadId: id,
          at: at(record),
          from,
          action,
          versionId: version,
          executionId: execution,
        }),
      });
    const fail = () =>
      store.recordOutcome({
        record,
        outcome: 'FAILED',
        guard: { from: ['PROCESSING'], executionId: execution },
        event: outcomeEvent({ record, outcome: 'FAILED', at: at(record), executionId: execution, failure }),
        failure,
      });
    // Expired, then claimed late, then failed and redriven for as long as a redrive is allowed.
    await step(store.expire({ record, event: expiredEvent(id, at(record)), deleteAfter: 1 }));
    await step(claimAs('LATE_UPLOAD', 'EXPIRED'));
    await step(fail());
    while (canRedrive(record)) {
      await step(claimAs('REDRIVEN', 'FAILED'));
      if (canRedrive(record)) await step(fail());
    }
    // Every listed discard, then the outcome with as many reasons as an event keeps.
    for (let index = 0; index < MAX_LISTED_DISCARDS; index++) {
      const versionId = `${index}`.padStart(1024, 'x');
      const result = await store.discard({
        record,
        plan: 'LIST',
        event: discardedEvent({
          uploadId: id,
          at: at(record),
          status: 'PROCESSING',
          reason: reason('ALREADY_PROCESSED'),
          versionId,
          executionId: execution,
        }),
      });
      expect(result).toBe('WRITTEN');
      record = (await store.get(id))!;
    }
    const reasons = Array.from({ length: MAX_EVENT_REASONS * 2 }, () => reason('TYPE_MISMATCH'));
    await step(
      store.recordOutcome({
        record,
        outcome: 'REJECTED',
        guard: { from: ['PROCESSING'], executionId: execution },
        event: outcomeEvent({ record, outcome: 'REJECTED', at: at(record), executionId: execution, reasons }),
        reasons: reasons.slice(0, MAX_EVENT_REASONS),
      }),
    );

    // Act
    const bytes = itemBytes(await rawItem(id));

    // Assert
    const trail = await store.listAudit(id);
    expect(trail).toHaveLength(MAX_TRAIL_EVENTS);
    expect(trail.map((event) => event.seq)).toEqual(trail.map((_, index) => index + 1));
    expect(trail.at(-1)?.reasons).toHaveLength(MAX_EVENT_REASONS);
    expect(trail.at(-1)?.reasons[0]?.message).toHaveLength(MAX_REASON_MESSAGE_LENGTH);
    expect(bytes).toBeLessThan(400 * 1024);
    process.stdout.write(`worst-case trail item: ${bytes} bytes (${(bytes / 1024).toFixed(1)} KiB)\n`);
  });
});

/** An item's size as DynamoDB counts it: names and values in UTF-8, numbers, lists and maps. */
function itemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce(
    (total, [name, value]) => total + Buffer.byteLength(name, 'utf8') + valueBytes(value),
    0,
  );
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S, 'utf8');
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((total, item) => total + 1 + valueBytes(item), 0);
  if (value.M !== undefined) return 3 + itemBytes(value.M) + Object.keys(value.M).length;
  throw new Error(`An attribute type the trail does not use: ${JSON.stringify(value)}`);
}
