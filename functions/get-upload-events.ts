import { apiHandler, callerFrom, jsonResponse } from './commons/http.js';
import { lazy, makeDynamoDbClient, readConfig } from './commons/config.js';
import { NotFoundError } from './commons/http-errors.js';
import { logger } from './commons/logger.js';
import { UploadStore } from './adapters/upload-store.js';
import { canRead, isAuditor, toAuditEventView } from './domain/status-view.js';

export interface GetUploadEventsDeps {
  store: UploadStore;
}

/**
 * GET /uploads/{id}/events: the immutable audit trail, oldest first. Owners and auditors only;
 * auditors may also read the trail of objects that had no upload (UNSOLICITED).
 */
export function makeGetUploadEventsHandler(deps: () => GetUploadEventsDeps) {
  return apiHandler(async (event) => {
    const caller = callerFrom(event);
    const uploadId = event.pathParameters?.id ?? '';
    if (uploadId === '' || uploadId.length > 1024) throw new NotFoundError();
    logger.appendKeys({ uploadId });
    const { store } = deps();
    const record = await store.get(uploadId);
    const allowed = record === undefined ? isAuditor(caller) : canRead(caller, record);
    if (!allowed) throw new NotFoundError();
    const events = await store.listAudit(uploadId);
    if (record === undefined && events.length === 0) throw new NotFoundError();
    const viewer = { auditor: isAuditor(caller) };
    return jsonResponse(200, { uploadId, events: events.map((entry) => toAuditEventView(entry, viewer)) });
  });
}

const defaultDeps = lazy((): GetUploadEventsDeps => {
  const config = readConfig();
  return { store: new UploadStore(config.tableName, makeDynamoDbClient(config)) };
});

export const handler = makeGetUploadEventsHandler(defaultDeps);
