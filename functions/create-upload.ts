import { apiBaseUrl, apiHandler, callerFrom, decodeJsonBody, header, jsonResponse } from './commons/http.js';
import { lazy, makeDynamoDbClient, makeS3Client, readConfig } from './commons/config.js';
import { logger } from './commons/logger.js';
import { IdempotencyStore } from './adapters/idempotency-store.js';
import { Presigner } from './adapters/presigner.js';
import { QuotaStore } from './adapters/quota-store.js';
import { UploadStore, type NewUpload } from './adapters/upload-store.js';
import { abandonedRecordExpiry } from './domain/audit-trail.js';
import {
  IDEMPOTENCY_KEY_TTL_SECONDS,
  IdempotencyKeyMismatchError,
  IdempotencyKeyUsedError,
  parseIdempotencyKey,
  requestFingerprint,
} from './domain/idempotency.js';
import type { UploadRecord } from './domain/model.js';
import { issuedEvent } from './domain/transition-events.js';
import type { QuotaLimits } from './domain/quota.js';
import { checkDeclaredType, type TypePolicy } from './domain/type-policy.js';
import { postGrant, putGrant, putHeaders } from './domain/upload-grant.js';
import { newUploadId } from './domain/upload-id.js';
import { parseCreateUploadRequest, type CreateUploadRequest } from './domain/upload-request.js';

export interface CreateUploadDeps {
  store: UploadStore;
  presigner: Presigner;
  policy: TypePolicy;
  uploadTtlSeconds: number;
  /** An abandoned record may be deleted (DynamoDB TTL) this long after its grant expired. */
  abandonedRecordRetentionSeconds: number;
  now: () => Date;
  quotas: QuotaStore;
  quotaLimits: QuotaLimits;
  idempotency: IdempotencyStore;
}

/**
 * POST /uploads: checks the declaration against the type policy, counts it against the owner's
 * quotas (429 QUOTA_EXCEEDED), records PENDING_UPLOAD holding its ISSUED event (one write), and returns a presigned
 * POST (or PUT) pinned to quarantine/<uploadId>. With an Idempotency-Key, a retry of the same
 * request by the same owner gets the same upload (with its grant signed anew), never a second.
 */
export function makeCreateUploadHandler(deps: () => CreateUploadDeps) {
  return apiHandler(async (event) => {
    const caller = callerFrom(event);
    const request = parseCreateUploadRequest(decodeJsonBody(event.body, event.isBase64Encoded));
    const idempotencyKey = parseIdempotencyKey(header(event, 'idempotency-key'));
    const d = deps();
    checkDeclaredType(d.policy, request.contentType, request.size);

    const now = d.now();
    let uploadId = newUploadId(now.getTime());
    if (idempotencyKey !== undefined) {
      const fingerprint = requestFingerprint(request);
      const reserved = await d.idempotency.reserve({
        owner: caller.sub,
        key: idempotencyKey,
        uploadId,
        fingerprint,
        now,
        ttlSeconds: IDEMPOTENCY_KEY_TTL_SECONDS,
      });
      if (!reserved.fresh) {
        if (reserved.fingerprint !== fingerprint) throw new IdempotencyKeyMismatchError();
        uploadId = reserved.uploadId;
        const existing = await d.store.get(uploadId);
        // No record yet: the first request is under way or died before writing it. Either way
        // this one issues the same id; the record's conditional put lets one of them through.
        if (existing !== undefined) return replay(existing, d, apiBaseUrl(event));
      }
    }
    logger.appendKeys({ uploadId });

    const expiresAt = new Date(now.getTime() + d.uploadTtlSeconds * 1000).toISOString();
    const pending: NewUpload = {
      uploadId,
      owner: caller.sub,
      status: 'PENDING_UPLOAD',
      fileName: request.fileName,
      contentType: request.contentType,
      size: request.size,
      ...(request.sha256 ? { declaredSha256: request.sha256 } : {}),
      method: request.method,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt,
    };
    await d.quotas.reserve({
      owner: caller.sub,
      uploadId,
      size: request.size,
      now,
      limits: d.quotaLimits,
      grantTtlSeconds: d.uploadTtlSeconds,
    });
    // TTL backstop: the sweeper expires it long before (and sets the TTL again from then).
    const record = await d.store.createPending(
      pending,
      issuedEvent(uploadId, caller.sub, pending.createdAt),
      abandonedRecordExpiry(expiresAt, d.abandonedRecordRetentionSeconds),
    );
    if (record === undefined) {
      // A retry with the same key wrote it first: its bytes were counted once already.
      await d.quotas.refund(caller.sub, request.size, now);
      const existing = await d.store.get(uploadId);
      if (existing === undefined) throw new Error('The upload record vanished after its creation.');
      return replay(existing, d, apiBaseUrl(event));
    }
    logger.info('upload issued', {
      method: request.method,
      contentType: request.contentType,
      size: request.size,
    });
    return created(record, request, d, apiBaseUrl(event), d.uploadTtlSeconds, {});
  });
}

/**
 * The answer to a retry with a known key: the same upload, its grant signed again with the same
 * key and conditions and the remaining lifetime, while it can still receive bytes; 409 after.
 */
async function replay(record: UploadRecord, d: CreateUploadDeps, base: string) {
  const remaining = Math.floor((Date.parse(record.expiresAt) - d.now().getTime()) / 1000);
  if (record.status !== 'PENDING_UPLOAD' || remaining < 1) {
    throw new IdempotencyKeyUsedError(record.uploadId, record.status);
  }
  logger.appendKeys({ uploadId: record.uploadId });
  logger.info('upload issued again (idempotent retry)');
  const request: CreateUploadRequest = {
    fileName: record.fileName,
    contentType: record.contentType,
    size: record.size,
    ...(record.declaredSha256 ? { sha256: record.declaredSha256 } : {}),
    method: record.method,
  };
  return created(record, request, d, base, remaining, { 'idempotent-replayed': 'true' });
}

async function created(
  record: UploadRecord,
  request: CreateUploadRequest,
  d: CreateUploadDeps,
  base: string,
  ttlSeconds: number,
  headers: Record<string, string>,
) {
  const { uploadId } = record;
  const grantInput = {
    uploadId,
    contentType: request.contentType,
    size: request.size,
    ...(request.sha256 ? { sha256: request.sha256 } : {}),
    ttlSeconds,
  };
  const expiresAt = new Date(
    Math.min(Date.parse(record.expiresAt), d.now().getTime() + ttlSeconds * 1000),
  ).toISOString();
  let upload: Record<string, unknown>;
  if (request.method === 'PUT') {
    const grant = putGrant(grantInput);
    upload = { method: 'PUT', url: await d.presigner.signPut(grant), headers: putHeaders(grant), expiresAt };
  } else {
    const signed = await d.presigner.signPost(postGrant(grantInput));
    upload = { method: 'POST', url: signed.url, fields: signed.fields, expiresAt };
  }
  const statusUrl = `${base}/uploads/${uploadId}`;
  return jsonResponse(
    201,
    { uploadId, status: record.status, upload, statusUrl },
    { location: statusUrl, ...headers },
  );
}

const defaultDeps = lazy((): CreateUploadDeps => {
  const config = readConfig();
  const dynamoDb = makeDynamoDbClient(config);
  return {
    store: new UploadStore(config.tableName, dynamoDb),
    presigner: new Presigner(config.bucketName, makeS3Client(config)),
    policy: config.typePolicy,
    uploadTtlSeconds: config.uploadUrlTtlSeconds,
    abandonedRecordRetentionSeconds: config.abandonedRecordRetentionSeconds,
    now: () => new Date(),
    quotas: new QuotaStore(config.tableName, dynamoDb),
    quotaLimits: config.quotas,
    idempotency: new IdempotencyStore(config.tableName, dynamoDb),
  };
});

export const handler = makeCreateUploadHandler(defaultDeps);
