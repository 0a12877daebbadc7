import { makeAuditUploadsHandler } from '../../../functions/audit-uploads.js';
import { makeGetUploadEventsHandler } from '../../../functions/get-upload-events.js';
import { makeListUploadsHandler } from '../../../functions/list-uploads.js';
import { READ_BUDGET } from '../../../functions/adapters/upload-store.js';
import { MAX_TRAIL_EVENTS } from '../../../functions/domain/audit-trail.js';
import type { AuditEvent } from '../../../functions/domain/model.js';
import { newUploadId } from '../../../functions/domain/upload-id.js';
import { apiEvent, jsonBody, type ErrorBody } from './api-events.js';
import { recordItem } from './aws-fakes.js';
import { startRealTable, type RealTable } from './real-table.js';

/**
 * Bounded reads (issue 13 item 8), against a real table (dynalite): a sparse filter over
 * thousands of non-matching items costs each request at most READ_BUDGET evaluated items and
 * answers with a cursor; the trail of events comes a page at a time.
 */

const CROWD = 3000;
const BASE = Date.parse('2025-03-01T00:00:00.000Z');
const NOW = new Date(BASE + 24 * 3600 * 1000);
const at = (ms: number) => new Date(BASE + ms).toISOString();

let table: RealTable;
const pendingId = newUploadId(BASE - 1000);
const needleId = newUploadId(BASE - 2000);
const chattyId = newUploadId(BASE - 3000);
/** The longest trail there can be (its record holds it): every listed discard and redrive. */
const EVENT_COUNT = MAX_TRAIL_EVENTS;

beforeAll(async () => {
  table = await startRealTable();
  const items: Array<Record<string, unknown>> = [];
  // The crowd: thousands of PROCESSED uploads, newer than the one PENDING_UPLOAD among them.
  for (let i = 0; i < CROWD; i++) {
    const created = at(i * 10);
    items.push(
      recordItem({
        uploadId: newUploadId(BASE + i * 10),
        owner: 'crowd',
        status: 'PROCESSED',
        createdAt: created,
        updatedAt: created,
      }),
    );
  }
  items.push(
    recordItem({
      uploadId: pendingId,
      owner: 'crowd',
      status: 'PENDING_UPLOAD',
      createdAt: at(-1000),
      updatedAt: at(-1000),
    }),
    // The needle: one PROCESSED upload of another owner, changed before all of the crowd's.
    recordItem({
      uploadId: needleId,
      owner: 'needle',
      status: 'PROCESSED',
      createdAt: at(-2000),
      updatedAt: at(-2000),
    }),
  );
  // An upload with the longest trail there can be, held in its record.
  const trail = Array.from({ length: EVENT_COUNT }, (_, i) => ({
    uploadId: chattyId,
    seq: i + 1,
    at: at(-3000 + i),
    actor: { type: 'system' as const, id: 'claim' },
    action: 'DISCARDED' as const,
    from: 'PROCESSED' as const,
    to: 'PROCESSED' as const,
    reasons: [{ code: 'ALREADY_PROCESSED' as const, message: 'Another version.' }],
    versionId: `v-${String(i).padStart(4, '0')}`,
  })) satisfies Array<AuditEvent & { seq: number }>;
  items.push({
    ...recordItem({
      uploadId: chattyId,
      owner: 'chatty',
      status: 'PROCESSED',
      createdAt: at(-3000),
      updatedAt: at(-3000),
      trailHead: { seq: EVENT_COUNT, at: at(-3000 + EVENT_COUNT - 1) },
    }),
    events: trail,
  });
  await table.putItems(items);
}, 120_000);

afterAll(async () => {
  await table?.stop();
});

beforeEach(() => table.resetReads());

const list = (query: Record<string, string>) =>
  makeListUploadsHandler(() => ({ store: table.store }))(
    apiEvent({ routeKey: 'GET /uploads', sub: 'crowd', queryStringParameters: query }),
  );
const audit = (query: Record<string, string>) =>
  makeAuditUploadsHandler(() => ({ store: table.store, now: () => NOW }))(
    apiEvent({
      routeKey: 'GET /audit/uploads',
      sub: 'auditor',
      groups: ['auditors'],
      queryStringParameters: query,
    }),
  );
const events = (query?: Record<string, string>) =>
  makeGetUploadEventsHandler(() => ({ store: table.store }))(
    apiEvent({
      routeKey: 'GET /uploads/{id}/events',
      sub: 'chatty',
      pathParameters: { id: chattyId },
      ...(query ? { queryStringParameters: query } : {}),
    }),
  );

interface Page {
  items: Array<{ uploadId: string }>;
  cursor?: string;
}

/** Follows cursors; checks that every single request stayed within the read budget. */
async function everyPage(fetchPage: (cursor?: string) => ReturnType<typeof list>): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor: string | undefined;
  do {
    table.resetReads();
    const result = await fetchPage(cursor);
    expect(result.statusCode).toBe(200);
    expect(table.reads.evaluated).toBeLessThanOrEqual(READ_BUDGET);
    expect(table.reads.queries).toBeLessThanOrEqual(12);
    const page = jsonBody<Page>(result);
    pages.push(page);
    cursor = page.cursor;
    expect(pages.length).toBeLessThan(CROWD); // a cursor that never ends would fail here
  } while (cursor !== undefined);
  return pages;
}

describe('GET /uploads?status= over thousands of non-matching uploads', () => {
  it('reads at most the budget per request and answers with a cursor, even with no match yet', async () => {
    const result = await list({ status: 'PENDING_UPLOAD', limit: '20' });
    expect(result.statusCode).toBe(200);
    expect(READ_BUDGET).toBeLessThanOrEqual(1000);
    expect(table.reads.evaluated).toBeLessThanOrEqual(READ_BUDGET);
    const page = jsonBody<Page>(result);
    expect(page.items).toEqual([]);
    expect(page.cursor).toEqual(expect.any(String));
  });

  it('finds the one match by following the cursors, each request bounded', async () => {
    const pages = await everyPage((cursor) =>
      list({ status: 'PENDING_UPLOAD', limit: '20', ...(cursor ? { cursor } : {}) }),
    );
    expect(pages.flatMap((page) => page.items.map((item) => item.uploadId))).toEqual([pendingId]);
    expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(CROWD / READ_BUDGET));
  });

  it('without a filter reads no more than the page', async () => {
    const page = jsonBody<Page>(await list({ limit: '20' }));
    expect(page.items).toHaveLength(20);
    expect(table.reads.evaluated).toBeLessThanOrEqual(21);
  });

  it('with a dense filter returns full pages that continue exactly where they stopped', async () => {
    const first = jsonBody<Page>(await list({ status: 'PROCESSED', limit: '7' }));
    const second = jsonBody<Page>(await list({ status: 'PROCESSED', limit: '7', cursor: first.cursor! }));
    const both = jsonBody<Page>(await list({ status: 'PROCESSED', limit: '14' }));
    expect(first.items).toHaveLength(7);
    expect([...first.items, ...second.items].map((item) => item.uploadId)).toEqual(
      both.items.map((item) => item.uploadId),
    );
  });
});

describe('GET /audit/uploads?owner= over thousands of other owners', () => {
  it('reads at most the budget per request and finds the owner by following the cursors', async () => {
    const pages = await everyPage((cursor) =>
      audit({ status: 'PROCESSED', owner: 'needle', limit: '50', ...(cursor ? { cursor } : {}) }),
    );
    expect(pages.flatMap((page) => page.items.map((item) => item.uploadId))).toEqual([needleId]);
  });
});

describe('GET /uploads/{id}/events, a page at a time', () => {
  interface EventsPage {
    events: Array<{ at: string }>;
    cursor?: string;
  }

  it('returns the whole trail in one page by default (no trail outgrows a page), with one read', async () => {
    const page = jsonBody<EventsPage>(await events());
    expect(page.events).toHaveLength(EVENT_COUNT);
    expect(EVENT_COUNT).toBeLessThanOrEqual(100);
    expect(page.cursor).toBeUndefined();
    expect(table.reads.queries).toBe(1);
    expect(table.reads.evaluated).toBeLessThanOrEqual(1);
  });

  it('pages through the whole trail in order with limit and cursor', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let requests = 0;
    do {
      const page = jsonBody<EventsPage>(await events({ limit: '25', ...(cursor ? { cursor } : {}) }));
      expect(page.events.length).toBeLessThanOrEqual(25);
      seen.push(...page.events.map((event) => event.at));
      cursor = page.cursor;
      requests++;
    } while (cursor !== undefined && requests < 20);
    expect(seen).toHaveLength(EVENT_COUNT);
    expect([...seen].sort()).toEqual(seen);
    expect(requests).toBe(Math.ceil(EVENT_COUNT / 25));
  });

  it.each([
    [{ limit: '101' }, 'INVALID_QUERY'],
    [{ limit: '0' }, 'INVALID_QUERY'],
    [{ page: '2' }, 'INVALID_QUERY'],
    [{ cursor: 'not-a-cursor' }, 'INVALID_CURSOR'],
  ])('refuses %j with 400 %s', async (query, code) => {
    const result = await events(query);
    expect(result.statusCode).toBe(400);
    expect(jsonBody<ErrorBody>(result).error.code).toBe(code);
  });
});
