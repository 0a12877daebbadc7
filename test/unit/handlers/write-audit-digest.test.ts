import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FileDigestSigner } from '../../../functions/adapters/digest-signer.js';
import { DigestStateStore } from '../../../functions/adapters/digest-state.js';
import { UploadStore } from '../../../functions/adapters/upload-store.js';
import { verifyDigestChain, type Digest } from '../../../functions/domain/audit-digest.js';
import { duePeriodEnds, headAsOf } from '../../../functions/domain/audit-digest-schedule.js';
import { abandonedRecordExpiry, nextEventTime } from '../../../functions/domain/audit-trail.js';
import type { UploadRecord } from '../../../functions/domain/model.js';
import { claimEvent, issuedEvent } from '../../../functions/domain/transition-events.js';
import {
  makeWriteAuditDigestHandler,
  type WriteAuditDigestDeps,
} from '../../../functions/write-audit-digest.js';
import { ensureTable } from '../../../local/dynamo.js';
import { startInMemoryDynamo, type InMemoryDynamo } from '../../support/dynalite.js';

/**
 * The digest writer against a real table (dynalite): which periods are due, what each digest
 * lists, the chain a verifier checks with the public key, and two runs that race or a run that
 * crashed between its digest and its cursor.
 */

const MINUTE = 60_000;
const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const schedule = { intervalMs: 15 * MINUTE, settleMs: 5 * MINUTE };
const iso = (ms: number) => new Date(ms).toISOString();

let dynamo: InMemoryDynamo;
let client: DynamoDBClient;
let tables = 0;
const keyDir = mkdtempSync(join(tmpdir(), 'airlock-digest-key-'));
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keyFile = join(keyDir, 'key.pem');
writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

beforeAll(async () => {
  dynamo = await startInMemoryDynamo();
  client = dynamo.client;
});
afterAll(() => dynamo.close());

/** A bucket in memory, counting the puts of each key (S3 would keep each as a version). */
class MemoryBucket {
  readonly objects = new Map<string, Digest[]>();
  find(key: string): Promise<unknown> {
    return Promise.resolve(this.objects.get(key)?.at(-1));
  }
  put(key: string, digest: Digest): Promise<void> {
    this.objects.set(key, [...(this.objects.get(key) ?? []), JSON.parse(JSON.stringify(digest)) as Digest]);
    return Promise.resolve();
  }
  stored(): Array<{ name: string; content: unknown }> {
    return [...this.objects].map(([name, versions]) => ({ name, content: versions[0] }));
  }
}

async function setUp() {
  const table = `digest-${++tables}`;
  await ensureTable(client, table);
  const store = new UploadStore(table, client);
  const bucket = new MemoryBucket();
  const state = new DigestStateStore(table, client);
  let clock = T0;
  const deps = (): WriteAuditDigestDeps => ({
    state,
    digests: bucket,
    trails: store,
    signer: new FileDigestSigner(keyFile),
    schedule,
    budgetMs: MINUTE,
    now: () => new Date(clock),
  });
  const run = makeWriteAuditDigestHandler(deps);
  const create = async (id: string, at: number): Promise<UploadRecord> => {
    const upload = {
      uploadId: id,
      owner: 'owner-1',
      status: 'PENDING_UPLOAD' as const,
      fileName: 'a.pdf',
      contentType: 'application/pdf',
      size: 10,
      method: 'PUT' as const,
      createdAt: iso(at),
      updatedAt: iso(at),
      expiresAt: iso(at + 15 * MINUTE),
    };
    const record = await store.createPending(
      upload,
      issuedEvent(id, 'owner-1', iso(at)),
      abandonedRecordExpiry(upload.expiresAt, 86_400),
    );
    return record!;
  };
  const claim = (record: UploadRecord, at: number) =>
    store.claim({
      record,
      from: 'PENDING_UPLOAD',
      versionId: 'v1',
      executionId: 'exec-1',
      event: claimEvent({
        uploadId: record.uploadId,
        at: nextEventTime(new Date(at), record.trailHead),
        from: 'PENDING_UPLOAD',
        action: 'CLAIMED',
        versionId: 'v1',
        executionId: 'exec-1',
      }),
    });
  return { store, bucket, state, run, create, claim, setClock: (ms: number) => (clock = ms) };
}

describe('which periods are due', () => {
  it('ends each period on the interval grid, a settle time before now, oldest first', () => {
    // 12:34 with a 5-minute settle: the latest period that may be digested ends at 12:15.
    const now = new Date(T0 + 34 * MINUTE);
    expect(duePeriodEnds(schedule, now, undefined)).toEqual([iso(T0 + 15 * MINUTE)]);
    expect(duePeriodEnds(schedule, now, iso(T0 - 30 * MINUTE))).toEqual([
      iso(T0 - 15 * MINUTE),
      iso(T0),
      iso(T0 + 15 * MINUTE),
    ]);
    // 12:19 is within the settle time of 12:15: nothing after 12:00 is due yet.
    expect(duePeriodEnds(schedule, new Date(T0 + 19 * MINUTE), iso(T0))).toEqual([]);
  });
});

describe('the digest writer', () => {
  it('digests each period once, chained and signed; a period with no change still gets one', async () => {
    // Arrange: one upload issued at 12:01 and claimed at 12:20; another issued at 12:40
    const { bucket, run, create, claim, setClock, store } = await setUp();
    const first = await create('01A', T0 + MINUTE);
    await claim(first, T0 + 20 * MINUTE);
    await create('01B', T0 + 40 * MINUTE);
    // Act: at 12:21 (only the period to 12:15 is due), then at 13:21, when three more are
    setClock(T0 + 21 * MINUTE);
    const early = await run();
    setClock(T0 + 81 * MINUTE);
    const late = await run();

    // Assert
    expect(early.written).toEqual([`digests/${iso(T0 + 15 * MINUTE)}.json`]);
    expect(late.written).toEqual(
      [30, 45, 60, 75].map((minutes) => `digests/${iso(T0 + minutes * MINUTE)}.json`),
    );
    const digests = [...bucket.objects.values()].map((versions) => versions[0]!);
    const trailA = await store.listAudit('01A');
    const trailB = await store.listAudit('01B');
    expect(digests.map((digest) => [digest.number, digest.periodEnd, digest.uploads])).toEqual([
      // Up to 12:15: 01A's ISSUED only (its claim came after the period's end)
      [1, iso(T0 + 15 * MINUTE), [{ uploadId: '01A', seq: 1, hash: trailA[0]!.hash }]],
      [2, iso(T0 + 30 * MINUTE), [{ uploadId: '01A', seq: 2, hash: trailA[1]!.hash }]],
      // 01B is still waiting for its bytes: its record carries the TTL of an abandoned upload, and
      // the digest says when the table may delete it (01A's claim removed its TTL).
      [
        3,
        iso(T0 + 45 * MINUTE),
        [{ uploadId: '01B', seq: 1, hash: trailB[0]!.hash, retainUntil: iso(T0 + 55 * MINUTE + 86_400_000) }],
      ],
      [4, iso(T0 + 60 * MINUTE), []],
      [5, iso(T0 + 75 * MINUTE), []],
    ]);
    expect([...bucket.objects.values()].every((versions) => versions.length === 1)).toBe(true);
    const verified = verifyDigestChain(bucket.stored(), publicKey, { at: new Date(T0 + 81 * MINUTE) });
    expect(verified.chainIntact).toBe(true);
    expect(verified.anchors.get('01A')).toEqual(headAsOf(trailA, iso(T0 + 75 * MINUTE)));
  });

  it('two runs that race write each digest once, and the verifier reports a missing tail', async () => {
    // Arrange
    const { bucket, run, state, create, setClock } = await setUp();
    await create('01RACE', T0 + MINUTE);
    setClock(T0 + 66 * MINUTE);
    // Each run reads the state before any of them takes the lease: they truly overlap.
    const read = state.read.bind(state);
    let arrived = 0;
    let allRead: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => (allRead = resolve));
    state.read = async () => {
      const found = await read();
      if (++arrived === 3) allRead();
      await barrier;
      return found;
    };
    // And any run that gets as far as looking for the digest waits until the others did or ended.
    let atFind = 0;
    let allThere: () => void = () => undefined;
    const findBarrier = new Promise<void>((resolve) => (allThere = resolve));
    const arrive = () => {
      if (++atFind === 3) allThere();
    };
    const find = bucket.find.bind(bucket);
    bucket.find = async (key: string) => {
      arrive();
      await findBarrier;
      return find(key);
    };
    // Act
    const reports = await Promise.all([run(), run(), run()].map((running) => running.finally(arrive)));
    // Assert: one run wrote the first digest (to 13:00: a first digest covers all before it), the
    // others found the lease taken
    expect(reports.map((report) => report.written.length).sort()).toEqual([0, 0, 1]);
    expect(reports.filter((report) => report.busy)).toHaveLength(2);
    expect([...bucket.objects.values()].map((versions) => versions.length)).toEqual([1]);
    // Two intervals and the settle time after the last period's end (13:00), a digest is missing.
    const laterStill = verifyDigestChain(bucket.stored(), publicKey, { at: new Date(T0 + 96 * MINUTE) });
    expect(laterStill.digests.at(-1)).toMatchObject({ number: 2, verdict: 'missing' });
    const inTime = verifyDigestChain(bucket.stored(), publicKey, { at: new Date(T0 + 94 * MINUTE) });
    expect(inTime.chainIntact).toBe(true);
  });

  it('adopts the digest a crashed run wrote before moving its cursor, instead of writing it again', async () => {
    // Arrange: a run whose cursor write fails after its digest is stored
    const { bucket, run, state, create, setClock } = await setUp();
    await create('01CRASH', T0 + MINUTE);
    setClock(T0 + 21 * MINUTE);
    const advance = state.advance.bind(state);
    state.advance = () => Promise.reject(new Error('crash'));
    await expect(run()).rejects.toThrow('crash');
    state.advance = advance;
    // Act
    const report = await run();
    // Assert
    expect(report.written).toEqual([`digests/${iso(T0 + 15 * MINUTE)}.json`]);
    expect([...bucket.objects.values()].map((versions) => versions.length)).toEqual([1]);
    expect((await state.read()).last?.number).toBe(1);
  });
});
