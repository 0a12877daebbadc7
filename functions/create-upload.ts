import {
  apiHandler,
  callerFrom,
  decodeJsonBody,
  header,
  jsonResponse,
  type ApiEvent,
} from './commons/http.js';
import { lazy, makeDynamoDbClient, makeS3Client, readConfig } from './commons/config.js';
import { logger } from './commons/logger.js';
import { Presigner } from './adapters/presigner.js';
import { UploadStore, type NewUpload } from './adapters/upload-store.js';
import { abandonedRecordExpiry } from './domain/audit-trail.js';
import { issuedEvent } from './domain/transition-events.js';
import { checkDeclaredType, type TypePolicy } from './domain/type-policy.js';
import { postGrant, putGrant, putHeaders } from './domain/upload-grant.js';
import { newUploadId } from './domain/upload-id.js';
import { parseCreateUploadRequest } from './domain/upload-request.js';

export interface CreateUploadDeps {
  store: UploadStore;
  presigner: Presigner;
  policy: TypePolicy;
  uploadTtlSeconds: number;
  /** An abandoned record may be deleted (DynamoDB TTL) this long after its grant expired. */
  abandonedRecordRetentionSeconds: number;
  now: () => Date;
}

/**
 * POST /uploads: checks the declaration against the type policy, records PENDING_UPLOAD holding
 * its ISSUED event (one write), and returns a presigned POST (or PUT) pinned to
 * quarantine/<uploadId>.
 */
export function makeCreateUploadHandler(deps: () => CreateUploadDeps) {
  return apiHandler(async (event) => {
    const caller = callerFrom(event);
    const request = parseCreateUploadRequest(decodeJsonBody(event.body, event.isBase64Encoded));
    const { store, presigner, policy, uploadTtlSeconds, abandonedRecordRetentionSeconds, now } = deps();
    checkDeclaredType(policy, request.contentType, request.size);

    const createdAt = now();
    const uploadId = newUploadId(createdAt.getTime());
    logger.appendKeys({ uploadId });
    const expiresAt = new Date(createdAt.getTime() + uploadTtlSeconds * 1000).toISOString();
    const pending: NewUpload = {
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
    // TTL backstop: the sweeper expires it long before (and sets the TTL again from then).
    const record = await store.createPending(
      pending,
      issuedEvent(uploadId, caller.sub, pending.createdAt),
      abandonedRecordExpiry(expiresAt, abandonedRecordRetentionSeconds),
    );

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

    const statusUrl = `${baseUrl(event)}/uploads/${uploadId}`;
    return jsonResponse(201, { uploadId, status: record.status, upload, statusUrl }, { location: statusUrl });
  });
}

/** The API's own origin, as the client addressed it (API Gateway sets domainName and stage). */
function baseUrl(event: ApiEvent): string {
  const forwarded = header(event, 'x-forwarded-proto');
  const proto = forwarded === 'http' ? 'http' : 'https'; // never echo anything else into a URL
  const stage =
    event.requestContext.stage && event.requestContext.stage !== '$default'
      ? `/${event.requestContext.stage}`
      : '';
  return `${proto}://${event.requestContext.domainName}${stage}`;
}

const defaultDeps = lazy((): CreateUploadDeps => {
  const config = readConfig();
  return {
    store: new UploadStore(config.tableName, makeDynamoDbClient(config)),
    presigner: new Presigner(config.bucketName, makeS3Client(config)),
    policy: config.typePolicy,
    uploadTtlSeconds: config.uploadUrlTtlSeconds,
    abandonedRecordRetentionSeconds: config.abandonedRecordRetentionSeconds,
    now: () => new Date(),
  };
});

export const handler = makeCreateUploadHandler(defaultDeps);
