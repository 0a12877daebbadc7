import { nextEventTime } from '../../../functions/domain/audit-trail.js';
import { claimEvent } from '../../../functions/domain/transition-events.js';
import { IdempotencyStore } from '../../../functions/adapters/idempotency-store.js';
import { QuotaStore } from '../../../functions/adapters/quota-store.js';
import { makeCreateUploadHandler, type CreateUploadDeps } from '../../../functions/create-upload.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import { newUploadId } from '../../../functions/domain/upload-id.js';
import { apiEvent, jsonBody, responseHeader, type ErrorBody } from './api-events.js';
import { newPresigner } from './aws-fakes.js';
import { startRealTable, type RealTable } from './real-table.js';

/**
 * Issuance under abuse, against a real table (dynalite): per-owner quotas enforced atomically by
 * one conditional counter item (issue 13 item 6), and Idempotency-Key on POST /uploads
 * (item 9).
 */

const TTL_SECONDS = 600;
const LIMITS = { openGrants: 3, bytesPerDay: 10_000 };
let table: RealTable;
let now = new Date('2025-03-01T12:00:00.000Z');
let owners = 0;

beforeAll(async () => {
  table = await startRealTable();
});
afterAll(async () => {
  await table?.stop();
});
beforeEach(() => {
  now = new Date('2025-03-01T12:00:00.000Z');
});

const deps = (): CreateUploadDeps => ({
  store: table.store,
  presigner: newPresigner(),
  policy: DEFAULT_TYPE_POLICY,
  uploadTtlSeconds: TTL_SECONDS,
  abandonedRecordRetentionSeconds: 90 * 86_400,
  now: () => now,
  quotas: new QuotaStore(table.tableName, table.client),
  quotaLimits: LIMITS,
  idempotency: new IdempotencyStore(table.tableName, table.client),
});
const handler = makeCreateUploadHandler(deps);

/** Claims a PENDING_UPLOAD as the claim step does (one write, with its CLAIMED event). */
async function claimPending(uploadId: string): Promise<void> {
  const record = await table.store.get(uploadId);
  if (record === undefined) throw new Error(`No record ${uploadId}.`);
  const result = await table.store.claim({
    record,
    from: 'PENDING_UPLOAD',
    versionId: 'v1',
    executionId: 'exec-1',
    event: claimEvent({
      uploadId,
      at: nextEventTime(new Date(now.getTime() + 1000), record.trailHead),
      from: 'PENDING_UPLOAD',
      action: 'CLAIMED',
      versionId: 'v1',
      executionId: 'exec-1',
    }),
  });
  if (!result.written) throw new Error(`The claim of ${uploadId} was refused.`);
}
const newOwner = () => `owner-${++owners}`;
const body = (size = 100, fileName = 'report.txt') => ({ fileName, contentType: 'text/plain', size });

const create = (owner: string, request: unknown = body(), key?: string) =>
  handler(
    apiEvent({
      routeKey: 'POST /uploads',
      sub: owner,
      body: request,
      headers: {
        'content-type': 'application/json',
        ...(key !== undefined ? { 'idempotency-key': key } : {}),
      },
    }),
  );

interface Created {
  uploadId: string;
  upload: { url: string; expiresAt: string; fields: Record<string, string> };
}

async function uploadsOf(owner: string): Promise<string[]> {
  const page = await table.store.listByOwner({ owner, limit: 100 });
  return page.items.map((item) => item.uploadId);
}

describe('per-owner quota of open grants', () => {
  it('grants up to the limit, then answers 429 QUOTA_EXCEEDED with Retry-After', async () => {
    const owner = newOwner();
    const statuses = [];
    for (let i = 0; i < LIMITS.openGrants; i++) statuses.push((await create(owner)).statusCode);
    const refused = await create(owner);
    expect(statuses).toEqual([201, 201, 201]);
    expect(refused.statusCode).toBe(429);
    const error = jsonBody<ErrorBody>(refused).error;
    expect(error.code).toBe('QUOTA_EXCEEDED');
    expect(error.details).toMatchObject({ quota: 'openGrants', limit: LIMITS.openGrants });
    const retryAfter = Number(responseHeader(refused, 'retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(TTL_SECONDS);
    expect(await uploadsOf(owner)).toHaveLength(LIMITS.openGrants); // the refused one left nothing
  });

  it('lets exactly the limit through when many requests race', async () => {
    const owner = newOwner();
    const results = await Promise.all(Array.from({ length: 12 }, () => create(owner)));
    const statuses = results.map((result) => result.statusCode).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(LIMITS.openGrants);
    expect(statuses.filter((status) => status === 429)).toHaveLength(12 - LIMITS.openGrants);
    expect(await uploadsOf(owner)).toHaveLength(LIMITS.openGrants);
  });

  it('frees a grant once its upload is claimed, even when the release was lost (healed from the record)', async () => {
    const owner = newOwner();
    const ids: string[] = [];
    for (let i = 0; i < LIMITS.openGrants; i++) ids.push(jsonBody<Created>(await create(owner)).uploadId);
    expect((await create(owner)).statusCode).toBe(429);
    // The claim moves one upload on; its quota release is not sent (as if it were lost).
    await claimPending(ids[0]!);
    expect((await create(owner)).statusCode).toBe(201);
    expect((await create(owner)).statusCode).toBe(429);
  });

  it('frees a grant the claim released, once', async () => {
    const owner = newOwner();
    const quotas = new QuotaStore(table.tableName, table.client);
    const ids: string[] = [];
    for (let i = 0; i < LIMITS.openGrants; i++) ids.push(jsonBody<Created>(await create(owner)).uploadId);
    await quotas.release(owner, ids[0]!);
    await quotas.release(owner, ids[0]!); // a retried release takes nothing more
    expect((await create(owner)).statusCode).toBe(201);
    // ids[0] is still PENDING_UPLOAD with a live grant in its record: healing keeps the rest.
    expect((await create(owner)).statusCode).toBe(429);
  });

  it('frees grants that expired, and keeps counting an issuance still under way', async () => {
    const owner = newOwner();
    const quotas = new QuotaStore(table.tableName, table.client);
    for (let i = 0; i < LIMITS.openGrants - 1; i++) await create(owner);
    // An id counted by an issuance that has not written its record yet.
    await quotas.reserve({
      owner,
      uploadId: newUploadId(now.getTime()),
      size: 1,
      now,
      limits: LIMITS,
      grantTtlSeconds: TTL_SECONDS,
    });
    expect((await create(owner)).statusCode).toBe(429);
    now = new Date(now.getTime() + (TTL_SECONDS + 1) * 1000); // every grant has expired
    expect((await create(owner)).statusCode).toBe(201); // healed: the expired ones are gone
    expect((await create(owner)).statusCode).toBe(201);
  });

  it('keeps owners apart', async () => {
    const [a, b] = [newOwner(), newOwner()];
    for (let i = 0; i < LIMITS.openGrants; i++) await create(a);
    expect((await create(a)).statusCode).toBe(429);
    expect((await create(b)).statusCode).toBe(201);
  });
});

describe('per-owner quota of bytes per UTC day', () => {
  it("refuses what would pass the day's bytes until the next UTC day", async () => {
    const owner = newOwner();
    now = new Date('2025-03-01T23:00:00.000Z');
    expect((await create(owner, body(6000))).statusCode).toBe(201);
    const refused = await create(owner, body(6000));
    expect(refused.statusCode).toBe(429);
    expect(jsonBody<ErrorBody>(refused).error.details).toMatchObject({ quota: 'bytesPerDay', limit: 10_000 });
    expect(responseHeader(refused, 'retry-after')).toBe('3600');
    expect((await create(owner, body(4000))).statusCode).toBe(201); // exactly the limit
    now = new Date('2025-03-02T00:00:01.000Z');
    expect((await create(owner, body(6000))).statusCode).toBe(201);
  });

  it('refuses a single declaration over the daily quota', async () => {
    const refused = await create(newOwner(), body(10_001));
    expect(refused.statusCode).toBe(429);
    expect(jsonBody<ErrorBody>(refused).error.code).toBe('QUOTA_EXCEEDED');
  });
});

describe('Idempotency-Key on POST /uploads', () => {
  it('answers a retry with the same upload and a grant for the same key, writing nothing new', async () => {
    const owner = newOwner();
    const first = await create(owner, body(), 'key-1');
    now = new Date(now.getTime() + 5000);
    const retry = await create(owner, body(), 'key-1');
    expect([first.statusCode, retry.statusCode]).toEqual([201, 201]);
    const [a, b] = [jsonBody<Created>(first), jsonBody<Created>(retry)];
    expect(b.uploadId).toBe(a.uploadId);
    expect(b.upload.fields.key).toBe(a.upload.fields.key);
    expect(Date.parse(b.upload.expiresAt)).toBeLessThanOrEqual(Date.parse(a.upload.expiresAt));
    expect(responseHeader(retry, 'idempotent-replayed')).toBe('true');
    expect(responseHeader(first, 'idempotent-replayed')).toBeUndefined();
    expect(await uploadsOf(owner)).toEqual([a.uploadId]);
    expect((await table.store.listAudit(a.uploadId)).map((event) => event.action)).toEqual(['ISSUED']);
    // Counted once: two more grants still fit under a limit of three.
    expect((await create(owner)).statusCode).toBe(201);
    expect((await create(owner)).statusCode).toBe(201);
  });

  it('gives racing retries one upload', async () => {
    const owner = newOwner();
    const results = await Promise.all(Array.from({ length: 6 }, () => create(owner, body(), 'racy')));
    expect(results.map((result) => result.statusCode)).toEqual(Array(6).fill(201));
    expect(new Set(results.map((result) => jsonBody<Created>(result).uploadId)).size).toBe(1);
    expect(await uploadsOf(owner)).toHaveLength(1);
  });

  it('refuses the same key with another request: 422 IDEMPOTENCY_KEY_MISMATCH', async () => {
    const owner = newOwner();
    await create(owner, body(100, 'a.txt'), 'key-2');
    const other = await create(owner, body(100, 'b.txt'), 'key-2');
    expect(other.statusCode).toBe(422);
    expect(jsonBody<ErrorBody>(other).error.code).toBe('IDEMPOTENCY_KEY_MISMATCH');
    expect(await uploadsOf(owner)).toHaveLength(1);
  });

  it('scopes keys per owner', async () => {
    const [a, b] = [newOwner(), newOwner()];
    const mine = jsonBody<Created>(await create(a, body(), 'shared-key'));
    const theirs = jsonBody<Created>(await create(b, body(), 'shared-key'));
    expect(theirs.uploadId).not.toBe(mine.uploadId);
  });

  it('answers 409 IDEMPOTENCY_KEY_USED once the upload has moved on, naming it', async () => {
    const owner = newOwner();
    const { uploadId } = jsonBody<Created>(await create(owner, body(), 'key-3'));
    await claimPending(uploadId);
    const retry = await create(owner, body(), 'key-3');
    expect(retry.statusCode).toBe(409);
    expect(jsonBody<ErrorBody>(retry).error).toMatchObject({
      code: 'IDEMPOTENCY_KEY_USED',
      details: { uploadId, status: 'PROCESSING' },
    });
  });

  it('answers 409 once the grant has expired, and makes a new upload once the key has (24 h)', async () => {
    const owner = newOwner();
    const { uploadId } = jsonBody<Created>(await create(owner, body(), 'key-4'));
    now = new Date(now.getTime() + (TTL_SECONDS + 1) * 1000);
    expect((await create(owner, body(), 'key-4')).statusCode).toBe(409);
    now = new Date(now.getTime() + 24 * 3600 * 1000);
    const later = await create(owner, body(), 'key-4');
    expect(later.statusCode).toBe(201);
    expect(jsonBody<Created>(later).uploadId).not.toBe(uploadId);
  });

  it.each(['', 'has space', 'x'.repeat(256), 'quote"inside', 'é'])(
    'refuses the key %j with 400 INVALID_IDEMPOTENCY_KEY, writing nothing',
    async (key) => {
      const owner = newOwner();
      const result = await create(owner, body(), key);
      expect(result.statusCode).toBe(400);
      expect(jsonBody<ErrorBody>(result).error.code).toBe('INVALID_IDEMPOTENCY_KEY');
      expect(await uploadsOf(owner)).toEqual([]);
    },
  );

  it('accepts a key written as a Structured Field string', async () => {
    const owner = newOwner();
    const first = jsonBody<Created>(await create(owner, body(), '"8e03978e-40d5-43e8"'));
    const retry = jsonBody<Created>(await create(owner, body(), '8e03978e-40d5-43e8'));
    expect(retry.uploadId).toBe(first.uploadId);
  });
});
