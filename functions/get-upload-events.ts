import { apiHandler, callerFrom, jsonResponse } from './commons/http.js';
import { lazy, makeDynamoDbClient, readConfig } from './commons/config.js';
import { BadRequestError, NotFoundError } from './commons/http-errors.js';
import { logger } from './commons/logger.js';
import { UploadStore } from './adapters/upload-store.js';
import { pageOfTrail } from './adapters/upload-queries.js';
import {
  audienceOf,
  auditorFailureView,
  canRead,
  isAuditor,
  toAuditEventView,
} from './domain/status-view.js';

export interface GetUploadEventsDeps {
  store: UploadStore;
}

/** Events per page: `limit` defaults to, and may not exceed, this. */
export const MAX_EVENTS_PER_PAGE = 100;

/**
 * GET /uploads/{id}/events: the immutable audit trail, oldest first, numbered from 1 (`seq`), a
 * page at a time (`?limit=&cursor=`). Owners and auditors only; auditors may also read the trail
 * of objects that had no upload (UNSOLICITED). One consistent read of the upload's item (the
 * record holds its trail); the caller's right to read it is checked before the cursor.
 */
export function makeGetUploadEventsHandler(deps: () => GetUploadEventsDeps) {
  return apiHandler(async (event) => {
    const caller = callerFrom(event);
    const uploadId = event.pathParameters?.id ?? '';
    if (uploadId === '' || uploadId.length > 1024) throw new NotFoundError();
    logger.appendKeys({ uploadId });
    const { limit, cursor } = pageQuery(event.queryStringParameters ?? {});
    const { store } = deps();
    const { record, events: trail } = await store.pageEvents(uploadId);
    const allowed = record === undefined ? isAuditor(caller) : canRead(caller, record);
    if (!allowed) throw new NotFoundError();
    if (record === undefined && trail.length === 0) throw new NotFoundError();
    const page = pageOfTrail(trail, uploadId, { limit, ...(cursor !== undefined ? { cursor } : {}) });
    const audience = audienceOf(caller);
    const failure = audience === 'auditor' ? auditorFailureView(record?.failure) : undefined;
    return jsonResponse(200, {
      uploadId,
      events: page.events.map((recorded) => toAuditEventView(recorded, audience)),
      ...(page.cursor ? { cursor: page.cursor } : {}),
      ...(failure ? { failure } : {}),
    });
  });
}

function pageQuery(query: Record<string, string | undefined>): { limit: number; cursor?: string } {
  const invalid = (message: string) => new BadRequestError('INVALID_QUERY', message);
  const unknown = Object.keys(query).filter((name) => name !== 'limit' && name !== 'cursor');
  if (unknown.length > 0) throw invalid(`Unknown query parameter(s): ${unknown.join(', ')}.`);
  let limit = MAX_EVENTS_PER_PAGE;
  if (query.limit !== undefined) {
    limit = Number(query.limit);
    if (!/^\d+$/.test(query.limit) || limit < 1 || limit > MAX_EVENTS_PER_PAGE) {
      throw invalid(`limit must be an integer from 1 to ${MAX_EVENTS_PER_PAGE}.`);
    }
  }
  if (query.cursor !== undefined && query.cursor.length > 2048) throw invalid('cursor is too long.');
  return { limit, ...(query.cursor !== undefined ? { cursor: query.cursor } : {}) };
}

const defaultDeps = lazy((): GetUploadEventsDeps => {
  const config = readConfig();
  return { store: new UploadStore(config.tableName, makeDynamoDbClient(config)) };
});

export const handler = makeGetUploadEventsHandler(defaultDeps);
