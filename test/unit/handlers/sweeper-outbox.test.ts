import { readFileSync } from 'node:fs';
import { mockClient } from 'aws-sdk-client-mock';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { OutcomeOutbox } from '../../../functions/adapters/outcome-outbox.js';
import type { OutcomePublisher } from '../../../functions/adapters/outcome-publisher.js';
import { SweepStateStore } from '../../../functions/adapters/sweep-state.js';
import { UploadStore } from '../../../functions/adapters/upload-store.js';
import type { SweepSettings } from '../../../functions/commons/sweep-settings.js';
import {
  TERMINAL_STATUSES,
  type ScanSummary,
  type UploadRecord,
  type UploadStatus,
} from '../../../functions/domain/model.js';
import type { OutcomeEvent } from '../../../functions/domain/outcome-event.js';
import {
  claimEvent,
  expiredEvent,
  issuedEvent,
  outcomeEvent as transitionEvent,
  quarantinedEvent,
} from '../../../functions/domain/transition-events.js';
import type { Outcome } from '../../../functions/domain/transitions.js';
import { makeSweeperHandler } from '../../../functions/sweeper.js';
import { ensureTable } from '../../../local/dynamo.js';
import { startInMemoryDynamo, type InMemoryDynamo } from '../../support/dynalite.js';
import { OUTCOME_EVENT_SCHEMA_PATH, outcomeEventProblems } from '../../support/outcome-events.js';
import { BUCKET, FakeExecutions, newObjectStore } from './aws-fakes.js';

/**
 * The sweeper as the outbox's last resort: a terminal transition recorded but never published (a
 * crash between Record and Publish, a bus that was away) is published by the next sweep, whatever
 * the status. Which statuses must be repaired is taken from the outside contract (the event
 * schema's `type` enum, and the domain's terminal statuses), never from the sweeper's own lanes,
 * so that a lane dropped from the sweeper fails here. Real table (dynalite), real outbox; S3 and
 * the bus are fakes.
 */

const s3 = mockClient(S3Client);
const MINUTE = 60_000;
/** The sweep runs ten minutes after the uploads' transitions: inside its recent window. */
const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const NOW = new Date(T0 + 10 * MINUTE);
const SETTINGS: SweepSettings = {
  intervalMs: 5 * MINUTE,
  budgetMs: 60_000,
  pageSize: 10,
  concurrency: 2,
  lostEventAfterMs: 5 * MINUTE,
  expiryGraceMs: MINUTE,
};
const SHA = 'b'.repeat(64);
const SCAN: ScanSummary = { status: 'THREATS_FOUND', threats: ['Eicar-Test-Signature'] };

/** Every status an outcome event may carry, as the published schema lists them. */
const schema = JSON.parse(readFileSync(OUTCOME_EVENT_SCHEMA_PATH, 'utf8')) as {
  properties: { type: { enum: string[] } };
};
const CONTRACT_STATUSES = schema.properties.type.enum.map(
  (type) => type.replace(/^airlock\.upload\./, '').toUpperCase() as UploadStatus,
);

let dynamo: InMemoryDynamo;
let client: DynamoDBClient;
let store: UploadStore;
let outbox: OutcomeOutbox;
let tableName = '';
let tables = 0;

beforeAll(async () => {
  dynamo = await startInMemoryDynamo();
  client = dynamo.client;
});
afterAll(() => dynamo.close());

beforeEach(async () => {
  tableName = `airlock-outbox-test-${++tables}`;
  await ensureTable(client, tableName);
  store = new UploadStore(tableName, client);
  outbox = new OutcomeOutbox(tableName, client);
  s3.reset();
  s3.on(ListObjectVersionsCommand).resolves({ Versions: [] });
});

/** Crockford base32, as upload ids (ULIDs) are. */
const uploadId = (index: number) => `01JNB8Y6Z4Q2W7E5R3T9K1M0${'0123456789ABCDEFGHJKMNPQRSTVWXYZ'[index]}A`;
const at = (offsetSeconds: number) => new Date(T0 + offsetSeconds * 1000).toISOString();

/** A new grant, written as create-upload writes it. */
async function issue(id: string): Promise<UploadRecord> {
  const createdAt = at(0);
  const record = await store.createPending(
    {
      uploadId: id,
      owner: 'owner-1',
      status: 'PENDING_UPLOAD',
      fileName: 'report.pdf',
      contentType: 'application/pdf',
      size: 10,
      method: 'PUT',
      createdAt,
      updatedAt: createdAt,
      expiresAt: new Date(T0 + 15 * MINUTE).toISOString(),
    },
    issuedEvent(id, 'owner-1', createdAt),
    T0 / 1000 + 86_400,
  );
  if (record === undefined) throw new Error(`${id} exists already`);
  return record;
}

const written = (result: { written: true; record: UploadRecord } | { written: false }) => {
  if (!result.written) throw new Error('a transition of the arrangement was refused');
  return result.record;
};

/** PENDING_UPLOAD or FAILED → PROCESSING → `outcome`, through the store's own writes. */
async function claimAndRecord(record: UploadRecord, outcome: Outcome, second: number): Promise<UploadRecord> {
  const executionId = `exec-${record.uploadId}-${second}`;
  const claimed = written(
    await store.claim({
      record,
      from: record.status,
      versionId: 'v1',
      executionId,
      event: claimEvent({
        uploadId: record.uploadId,
        at: at(second),
        from: record.status,
        action: record.status === 'FAILED' ? 'REDRIVEN' : 'CLAIMED',
        versionId: 'v1',
        executionId,
      }),
    }),
  );
  const reasons =
    outcome === 'REJECTED' ? [{ code: 'TYPE_NOT_ALLOWED' as const, message: 'Not an allowed type.' }] : [];
  return written(
    await store.recordOutcome({
      record: claimed,
      outcome,
      guard: { from: ['PROCESSING'], executionId },
      event: transitionEvent({
        record: claimed,
        outcome,
        at: at(second + 1),
        executionId,
        reasons,
        ...(outcome === 'FAILED' ? { failure: { error: 'ValidationCrashed' } } : {}),
      }),
      facts: { size: 10, sha256: SHA, detectedType: 'application/pdf' },
      ...(outcome === 'PROCESSED' ? { storedKey: `clean/${record.uploadId}` } : {}),
      reasons,
      ...(outcome === 'FAILED' ? { failure: { error: 'ValidationCrashed', cause: 'test' } } : {}),
    }),
  );
}

/** A record that reached `status` by the path the pipeline (or sweeper, or rescan) takes to it. */
async function driveTo(id: string, status: UploadStatus): Promise<UploadRecord> {
  const issued = await issue(id);
  switch (status) {
    case 'PROCESSED':
    case 'REJECTED':
    case 'FAILED':
      return claimAndRecord(issued, status, 10);
    case 'EXPIRED':
      return written(await store.expire({ record: issued, event: expiredEvent(id, at(20)), deleteAfter: 0 }));
    case 'QUARANTINED': {
      const processed = await claimAndRecord(issued, 'PROCESSED', 10);
      return written(
        await store.quarantine({
          record: processed,
          event: quarantinedEvent({
            record: processed,
            at: at(30),
            reasons: [{ code: 'MALWARE_DETECTED', message: 'A rescan found a threat.' }],
            scan: SCAN,
          }),
          reasons: [{ code: 'MALWARE_DETECTED', message: 'A rescan found a threat.' }],
          scan: SCAN,
          storedKey: `clean/${id}`,
        }),
      );
    }
    default:
      throw new Error(`no path to ${status} is known to this test: add one`);
  }
}

/**
 * The number of the transition that moved the record to its status (its place in the trail,
 * oldest first, from 1): the transition whose event is due.
 */
async function terminalSeq(id: string): Promise<number> {
  const entry = await outbox.read(id);
  const status = entry?.record.status;
  const index = entry?.trail.findLastIndex((event) => event.to === status && event.action === status) ?? -1;
  if (index < 0) throw new Error(`${id} has no terminal transition in its trail`);
  return index + 1;
}

function sweepOnce(published: OutcomeEvent[]) {
  const publisher: OutcomePublisher = {
    publish: (events) => {
      published.push(...events);
      return Promise.resolve();
    },
  };
  return makeSweeperHandler(() => ({
    store,
    sweepState: new SweepStateStore(tableName, client),
    objects: newObjectStore(),
    executions: new FakeExecutions(),
    bucket: BUCKET,
    now: () => NOW,
    processingTimeoutMs: 30 * MINUTE,
    uploadTtlMs: 15 * MINUTE,
    abandonedRecordRetentionSeconds: 90 * 86_400,
    sweep: SETTINGS,
    publication: {
      outbox,
      objects: { head: () => Promise.resolve({ versionId: 'v-clean-1', metadata: {} }) },
      publisher,
      bucket: BUCKET,
    },
  }))();
}

describe('sweeper: pending outcome events (outbox repair, dynalite)', () => {
  test('the schema and the domain agree on which statuses are terminal', () => {
    // The contract this suite derives its cases from: one event type per terminal status.
    expect(new Set(CONTRACT_STATUSES)).toEqual(new Set(TERMINAL_STATUSES));
  });

  test('publishes, once, the pending event of a recent upload in every terminal status; none already published', async () => {
    // Arrange: per status, one upload whose event is pending (publishedSeq below its terminal
    // transition's seq) and one whose event went out (marked as the publish step marks it).
    const pending = new Map<string, number>();
    const done: string[] = [];
    for (const [index, status] of CONTRACT_STATUSES.entries()) {
      const pendingId = uploadId(2 * index);
      await driveTo(pendingId, status);
      pending.set(pendingId, await terminalSeq(pendingId));
      const doneId = uploadId(2 * index + 1);
      const record = await driveTo(doneId, status);
      expect(await outbox.markPublished(doneId, await terminalSeq(doneId), record.updatedAt)).toBe(true);
      done.push(doneId);
    }
    const published: OutcomeEvent[] = [];

    // Act
    const report = await sweepOnce(published);

    // Assert: exactly the pending transitions, each under its derived id, valid against the schema
    expect(report).toMatchObject({ errors: 0, complete: true });
    const expectedIds = [...pending].map(([id, seq]) => `evt_${id}_${seq}`);
    expect(published.map((event) => event.id).sort()).toEqual(expectedIds.sort());
    expect(new Set(published.map((event) => event.data.status))).toEqual(new Set(CONTRACT_STATUSES));
    for (const event of published) expect(outcomeEventProblems(event)).toEqual([]);
    expect(report.published).toBe(pending.size);
    // …and marked: a second sweep publishes nothing more.
    for (const [id, seq] of pending) expect((await outbox.read(id))?.publishedSeq).toBe(seq);
    for (const id of done) expect(published.some((event) => event.data.uploadId === id)).toBe(false);
    const again: OutcomeEvent[] = [];
    await sweepOnce(again);
    expect(again).toEqual([]);
  });

  test('publishes a later transition whose event is pending although an earlier one of the upload went out', async () => {
    // Arrange: FAILED, its event published; redriven, then PROCESSED, that event pending.
    const id = uploadId(0);
    const failed = await driveTo(id, 'FAILED');
    await outbox.markPublished(id, await terminalSeq(id), failed.updatedAt);
    await claimAndRecord(failed, 'PROCESSED', 60);
    const seq = await terminalSeq(id);
    const published: OutcomeEvent[] = [];

    // Act
    await sweepOnce(published);

    // Assert
    expect(published.map((event) => event.id)).toEqual([`evt_${id}_${seq}`]);
    expect(published[0]?.data).toMatchObject({ status: 'PROCESSED', sequence: seq });
  });
});
