import { apiHandler, callerFrom, jsonResponse } from './commons/http.js';
import { lazy, makeDynamoDbClient, readConfig } from './commons/config.js';
import { BadRequestError } from './commons/http-errors.js';
import { UploadStore } from './adapters/upload-store.js';
import { UPLOAD_STATUSES, type UploadStatus } from './domain/model.js';
import { audienceOf, isAuditor, toUploadView } from './domain/status-view.js';

export interface ListUploadsDeps {
  store: UploadStore;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/**
 * GET /uploads: the caller's uploads, newest first, `?status=&limit=&cursor=`. Auditors may add
 * `?owner=` to list anyone's; for others `owner` other than themselves is refused.
 */
export function makeListUploadsHandler(deps: () => ListUploadsDeps) {
  return apiHandler(async (event) => {
    const caller = callerFrom(event);
    const query = event.queryStringParameters ?? {};
    const invalid = (message: string) => new BadRequestError('INVALID_QUERY', message);

    const known = new Set(['status', 'limit', 'cursor', 'owner']);
    const unknown = Object.keys(query).filter((name) => !known.has(name));
    if (unknown.length > 0) throw invalid(`Unknown query parameter(s): ${unknown.join(', ')}.`);

    let status: UploadStatus | undefined;
    if (query.status !== undefined) {
      if (!(UPLOAD_STATUSES as readonly string[]).includes(query.status)) {
        throw invalid(`status must be one of ${UPLOAD_STATUSES.join(', ')}.`);
      }
      status = query.status as UploadStatus;
    }
    let limit = DEFAULT_LIMIT;
    if (query.limit !== undefined) {
      limit = Number(query.limit);
      if (!/^\d+$/.test(query.limit) || limit < 1 || limit > MAX_LIMIT) {
        throw invalid(`limit must be an integer from 1 to ${MAX_LIMIT}.`);
      }
    }
    let owner = caller.sub;
    if (query.owner !== undefined && query.owner !== caller.sub) {
      // Not 403: a non-auditor learns nothing about other owners.
      if (!isAuditor(caller)) throw invalid('owner may only be given by auditors.');
      owner = query.owner;
    }
    if (query.cursor !== undefined && query.cursor.length > 2048) throw invalid('cursor is too long.');

    const page = await deps().store.listByOwner({
      owner,
      limit,
      ...(status ? { status } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
    return jsonResponse(200, {
      items: page.items.map((record) => toUploadView(record, audienceOf(caller))),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    });
  });
}

const defaultDeps = lazy((): ListUploadsDeps => {
  const config = readConfig();
  return { store: new UploadStore(config.tableName, makeDynamoDbClient(config)) };
});

export const handler = makeListUploadsHandler(defaultDeps);
