import { apiHandler, callerFrom, jsonResponse } from './commons/http.js';
import { lazy, makeDynamoDbClient, readConfig } from './commons/config.js';
import { BadRequestError, ForbiddenError } from './commons/http-errors.js';
import { READ_BUDGET, UploadStore } from './adapters/upload-store.js';
import { UPLOAD_STATUSES, type UploadStatus } from './domain/model.js';
import { decodeAuditCursor, encodeAuditCursor } from './domain/audit-query.js';
import { InvalidCursorError } from './domain/errors.js';
import { isAuditor, toUploadView } from './domain/status-view.js';

export interface AuditUploadsDeps {
  store: UploadStore;
  now: () => Date;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;
const DEFAULT_WINDOW_MS = 30 * 24 * 3600 * 1000;

/**
 * GET /audit/uploads: for auditors, every upload whose last change falls within [from, to]
 * (default: the last 30 days), optionally of one status and one owner, grouped by status and
 * oldest first within each, with the owner shown. Others get 403: the route itself is
 * privileged, and answering it reveals no upload id.
 */
export function makeAuditUploadsHandler(deps: () => AuditUploadsDeps) {
  return apiHandler(async (event) => {
    const caller = callerFrom(event);
    if (!isAuditor(caller)) throw new ForbiddenError();
    const query = event.queryStringParameters ?? {};
    const invalid = (message: string) => new BadRequestError('INVALID_QUERY', message);

    const known = new Set(['from', 'to', 'status', 'owner', 'limit', 'cursor']);
    const unknown = Object.keys(query).filter((name) => !known.has(name));
    if (unknown.length > 0) throw invalid(`Unknown query parameter(s): ${unknown.join(', ')}.`);

    const { store, now } = deps();
    const to = query.to === undefined ? now() : parseTime(query.to, 'to', invalid);
    const from =
      query.from === undefined
        ? new Date(to.getTime() - DEFAULT_WINDOW_MS)
        : parseTime(query.from, 'from', invalid);
    if (from > to) throw invalid('from must not be after to.');
    let statuses: readonly UploadStatus[] = UPLOAD_STATUSES;
    if (query.status !== undefined) {
      if (!(UPLOAD_STATUSES as readonly string[]).includes(query.status)) {
        throw invalid(`status must be one of ${UPLOAD_STATUSES.join(', ')}.`);
      }
      statuses = [query.status as UploadStatus];
    }
    let limit = DEFAULT_LIMIT;
    if (query.limit !== undefined) {
      limit = Number(query.limit);
      if (!/^\d+$/.test(query.limit) || limit < 1 || limit > MAX_LIMIT) {
        throw invalid(`limit must be an integer from 1 to ${MAX_LIMIT}.`);
      }
    }
    if (query.owner !== undefined && (query.owner === '' || query.owner.length > 256)) {
      throw invalid('owner must be a user id.');
    }
    let position =
      query.cursor === undefined ? { status: 0 } : decodeAuditCursor(query.cursor, statuses.length);
    if (position.key !== undefined && position.key.statusKey !== statuses[position.status]) {
      throw new InvalidCursorError();
    }

    const items: Array<ReturnType<typeof toUploadView> & { owner: string }> = [];
    let cursor: string | undefined;
    // Every status partition and the owner filter share one read budget per request.
    let budget = READ_BUDGET;
    while (position.status < statuses.length && items.length < limit && budget > 0) {
      const status = statuses[position.status] as UploadStatus;
      const page = await store.listByStatusBetween({
        status,
        from: from.toISOString(),
        to: to.toISOString(),
        ...(query.owner !== undefined ? { owner: query.owner } : {}),
        limit: limit - items.length,
        budget,
        ...(position.key ? { startKey: position.key } : {}),
      });
      budget -= page.evaluated;
      for (const record of page.items)
        items.push({ ...toUploadView(record, 'auditor'), owner: record.owner });
      position = page.lastKey
        ? { status: position.status, key: page.lastKey }
        : { status: position.status + 1 };
    }
    if (position.status < statuses.length) cursor = encodeAuditCursor(position);
    return jsonResponse(200, { items, ...(cursor ? { cursor } : {}) });
  });
}

function parseTime(value: string, name: string, invalid: (message: string) => Error): Date {
  const parsed = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(parsed.getTime())) {
    throw invalid(`${name} must be an ISO 8601 date-time.`);
  }
  return parsed;
}

const defaultDeps = lazy((): AuditUploadsDeps => {
  const config = readConfig();
  return { store: new UploadStore(config.tableName, makeDynamoDbClient(config)), now: () => new Date() };
});

export const handler = makeAuditUploadsHandler(defaultDeps);
