import { apiBaseUrl, apiHandler, callerFrom, decodeJsonBody, jsonResponse } from './commons/http.js';
import { lazy, makeDynamoDbClient, makeS3Client, readConfig } from './commons/config.js';
import { logger } from './commons/logger.js';
import { Presigner } from './adapters/presigner.js';
import { UploadStore } from './adapters/upload-store.js';
import type { UploadRecord } from './domain/model.js';
import { checkDeclaredType, type TypePolicy } from './domain/type-policy.js';
import { postGrant, putGrant, putHeaders } from './domain/upload-grant.js';
import { newUploadId } from './domain/upload-id.js';
import { parseCreateUploadRequest } from './domain/upload-request.js';

export interface CreateUploadDeps {
  store: UploadStore;
  presigner: Presigner;
  policy: TypePolicy;
  uploadTtlSeconds: number;
  now: () => Date;
}

/**
 * POST /uploads: checks the declaration against the type policy, records PENDING_UPLOAD with its
 * audit event, and returns a presigned POST (or PUT) pinned to quarantine/<uploadId>.
 */
export function makeCreateUploadHandler(deps: () => CreateUploadDeps) {
  return apiHandler(async (event) => {
    const caller = callerFrom(event);
    const request = parseCreateUploadRequest(decodeJsonBody(event.body, event.isBase64Encoded));
    const { store, presigner, policy, uploadTtlSeconds, now } = deps();
    checkDeclaredType(policy, request.contentType, request.size);

    const createdAt = now();
    const uploadId = newUploadId(createdAt.getTime());
    logger.appendKeys({ uploadId });
    const expiresAt = new Date(createdAt.getTime() + uploadTtlSeconds * 1000).toISOString();
    const record: UploadRecord = {
      uploadId,
      owner: caller.sub,
      status: 'PENDING_UPLOAD',
      fileName: request.fileName,
      contentType: request.contentType,
      size: request.size,
      ...(request.sha256 ? { declaredSha256: request.sha256 } : {}),
      method: request.method,
      createdAt: createdAt.toISOString(),
      updatedAt: createdAt.toISOString(),
      expiresAt,
    };
    await store.createPending(record);
    await store.appendAudit({
      uploadId,
      at: record.createdAt,
      actor: { type: 'user', id: caller.sub },
      action: 'ISSUED',
      from: null,
      to: 'PENDING_UPLOAD',
      reasons: [],
    });

    const grantInput = {
      uploadId,
      contentType: request.contentType,
      size: request.size,
      ...(request.sha256 ? { sha256: request.sha256 } : {}),
      ttlSeconds: uploadTtlSeconds,
    };
    let upload: Record<string, unknown>;
    if (request.method === 'PUT') {
      const grant = putGrant(grantInput);
      upload = { method: 'PUT', url: await presigner.signPut(grant), headers: putHeaders(grant), expiresAt };
    } else {
      const signed = await presigner.signPost(postGrant(grantInput));
      upload = { method: 'POST', url: signed.url, fields: signed.fields, expiresAt };
    }
    logger.info('upload issued', {
      method: request.method,
      contentType: request.contentType,
      size: request.size,
    });

    const statusUrl = `${apiBaseUrl(event)}/uploads/${uploadId}`;
    return jsonResponse(201, { uploadId, status: record.status, upload, statusUrl }, { location: statusUrl });
  });
}

const defaultDeps = lazy((): CreateUploadDeps => {
  const config = readConfig();
  return {
    store: new UploadStore(config.tableName, makeDynamoDbClient(config)),
    presigner: new Presigner(config.bucketName, makeS3Client(config)),
    policy: config.typePolicy,
    uploadTtlSeconds: config.uploadUrlTtlSeconds,
    now: () => new Date(),
  };
});

export const handler = makeCreateUploadHandler(defaultDeps);
