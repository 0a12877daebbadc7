import {
  acceptsJson,
  apiBaseUrl,
  apiHandler,
  callerFrom,
  header,
  jsonResponse,
  type ApiEvent,
  type ApiResult,
} from './commons/http.js';
import { lazy, makeDynamoDbClient, makeS3Client, readConfig } from './commons/config.js';
import { NotFoundError } from './commons/http-errors.js';
import { logger } from './commons/logger.js';
import { Presigner } from './adapters/presigner.js';
import { UploadStore } from './adapters/upload-store.js';
import { contentDisposition, downloadName } from './domain/file-name.js';
import { cleanKey, type UploadRecord } from './domain/model.js';
import {
  audienceOf,
  canRead,
  entityTag,
  matchesIfNoneMatch,
  retryAfterSeconds,
  toUploadView,
  type Audience,
  type Caller,
  type UploadView,
} from './domain/status-view.js';
import type { TypePolicy } from './domain/type-policy.js';
import { isUploadId } from './domain/upload-id.js';
import { downloadTtlSeconds as signedDownloadTtl } from './domain/upload-grant.js';

export interface GetUploadDeps {
  store: UploadStore;
  presigner: Presigner;
  policy: TypePolicy;
  downloadTtlSeconds: number;
  now: () => Date;
}

/** The route that hands out download URLs; the status links to it. */
export const DOWNLOAD_ROUTE = 'GET /uploads/{id}/download';

/**
 * One function for two routes, with the same grants (GetItem; GetObject on clean/):
 * - GET /uploads/{id}: the status for its owner or an auditor (404 for anyone else). A PROCESSED
 *   upload links to its download route; the body holds nothing that expires, so its ETag (and a
 *   304) never keeps a dead URL alive.
 * - GET /uploads/{id}/download: a freshly signed, short-lived GET of clean/<uploadId>, only for a
 *   PROCESSED upload: 303 to it, or 200 `{url, expiresAt}` to a client that asks for JSON.
 */
export function makeGetUploadHandler(deps: () => GetUploadDeps) {
  return apiHandler(async (event) => {
    const caller = callerFrom(event);
    const uploadId = event.pathParameters?.id ?? '';
    if (!isUploadId(uploadId)) throw new NotFoundError();
    logger.appendKeys({ uploadId });
    const record = await readable(deps().store, uploadId, caller);
    return event.routeKey === DOWNLOAD_ROUTE
      ? download(event, record, deps())
      : status(event, record, audienceOf(caller));
  });
}

async function readable(store: UploadStore, uploadId: string, caller: Caller): Promise<UploadRecord> {
  const record = await store.get(uploadId);
  if (record === undefined || !canRead(caller, record)) throw new NotFoundError();
  return record;
}

function status(event: ApiEvent, record: UploadRecord, audience: Audience): ApiResult {
  const etag = entityTag(record);
  const retryAfter = retryAfterSeconds(record.status);
  const headers: Record<string, string> = {
    etag,
    'cache-control': 'private, no-cache',
    ...(retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {}),
  };
  if (matchesIfNoneMatch(header(event, 'if-none-match'), etag)) {
    return { statusCode: 304, headers };
  }
  // A QUARANTINED file (a rescan found a threat) gets no download link: only PROCESSED does.
  const view: UploadView = toUploadView(record, audience);
  if (record.status === 'PROCESSED') {
    view.download = { url: `${apiBaseUrl(event)}/uploads/${record.uploadId}/download` };
  }
  return jsonResponse(200, view, headers);
}

async function download(event: ApiEvent, record: UploadRecord, deps: GetUploadDeps): Promise<ApiResult> {
  // Only clean/ is ever signed, and only once the pipeline put the file there.
  if (record.status !== 'PROCESSED') throw new NotFoundError();
  const { presigner, policy, downloadTtlSeconds, now } = deps;
  const extensions = policy[record.contentType]?.extensions ?? [];
  const url = await presigner.signDownload({
    key: cleanKey(record.uploadId),
    contentType: record.detectedType ?? record.contentType,
    contentDisposition: contentDisposition(downloadName(record.fileName, extensions)),
    ttlSeconds: downloadTtlSeconds,
  });
  const lifetime = signedDownloadTtl(downloadTtlSeconds);
  const body = { url, expiresAt: new Date(now().getTime() + lifetime * 1000).toISOString() };
  logger.info('download signed', { ttlSeconds: lifetime });
  if (acceptsJson(event)) return jsonResponse(200, body);
  return jsonResponse(303, body, { location: url });
}

const defaultDeps = lazy((): GetUploadDeps => {
  const config = readConfig();
  return {
    store: new UploadStore(config.tableName, makeDynamoDbClient(config)),
    presigner: new Presigner(config.bucketName, makeS3Client(config)),
    policy: config.typePolicy,
    downloadTtlSeconds: config.downloadUrlTtlSeconds,
    now: () => new Date(),
  };
});

export const handler = makeGetUploadHandler(defaultDeps);
