import { apiHandler, callerFrom, header, jsonResponse } from './commons/http.js';
import { lazy, makeDynamoDbClient, makeS3Client, readConfig } from './commons/config.js';
import { NotFoundError } from './commons/http-errors.js';
import { logger } from './commons/logger.js';
import { Presigner } from './adapters/presigner.js';
import { UploadStore } from './adapters/upload-store.js';
import { contentDisposition, downloadName } from './domain/file-name.js';
import { cleanKey } from './domain/model.js';
import {
  canRead,
  entityTag,
  isAuditor,
  matchesIfNoneMatch,
  retryAfterSeconds,
  toUploadView,
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

/**
 * GET /uploads/{id}: the status for its owner or an auditor (404 for anyone else). Only a
 * PROCESSED upload gets a download URL, and only ever for clean/<uploadId>.
 */
export function makeGetUploadHandler(deps: () => GetUploadDeps) {
  return apiHandler(async (event) => {
    const caller = callerFrom(event);
    const uploadId = event.pathParameters?.id ?? '';
    if (!isUploadId(uploadId)) throw new NotFoundError();
    const { store, presigner, policy, downloadTtlSeconds, now } = deps();
    logger.appendKeys({ uploadId });
    const record = await store.get(uploadId);
    if (record === undefined || !canRead(caller, record)) throw new NotFoundError();

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

    // A QUARANTINED file (a rescan found a threat) is never signed again: only PROCESSED is.
    const view: UploadView = toUploadView(record, { auditor: isAuditor(caller) });
    if (record.status === 'PROCESSED') {
      const contentType = record.detectedType ?? record.contentType;
      const extensions = policy[record.contentType]?.extensions ?? [];
      const url = await presigner.signDownload({
        key: cleanKey(uploadId),
        contentType,
        contentDisposition: contentDisposition(downloadName(record.fileName, extensions)),
        ttlSeconds: downloadTtlSeconds,
      });
      const lifetime = signedDownloadTtl(downloadTtlSeconds);
      view.download = { url, expiresAt: new Date(now().getTime() + lifetime * 1000).toISOString() };
    }
    return jsonResponse(200, view, headers);
  });
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
