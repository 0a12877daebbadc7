import 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { makeGetUploadHandler, type GetUploadDeps } from '../../../functions/get-upload.js';
import type { UploadRecord } from '../../../functions/domain/model.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import { apiEvent, bearerHeader, jsonBody, responseHeader, type ErrorBody } from './api-events.js';
import {
  BUCKET,
  OTHER_UPLOAD_ID,
  OWNER,
  TABLE_NAME,
  TEST_SECRET_ACCESS_KEY,
  UPLOAD_ID,
  newPresigner,
  newUploadStore,
  recordItem,
} from './aws-fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

const NOW = new Date('2025-03-01T12:00:00.000Z');
const DOWNLOAD_TTL_SECONDS = 300;

const deps: GetUploadDeps = {
  store: newUploadStore(),
  presigner: newPresigner(),
  policy: DEFAULT_TYPE_POLICY,
  downloadTtlSeconds: DOWNLOAD_TTL_SECONDS,
  now: () => NOW,
};
const handler = makeGetUploadHandler(() => deps);

const getEvent = (
  options: { id?: string; sub?: string; groups?: string[] | string; headers?: Record<string, string> } = {},
) =>
  apiEvent({
    routeKey: 'GET /uploads/{id}',
    pathParameters: { id: options.id ?? UPLOAD_ID },
    sub: options.sub ?? OWNER,
    ...(options.groups !== undefined ? { groups: options.groups } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  });

/** GET /uploads/{id}/download as the typed client asks it (JSON, not a redirect). */
const downloadEvent = () =>
  apiEvent({
    routeKey: 'GET /uploads/{id}/download',
    pathParameters: { id: UPLOAD_ID },
    sub: OWNER,
    headers: { accept: 'application/json' },
  });

interface SignedBody {
  url: string;
  expiresAt: string;
}

const stored = (overrides: Partial<UploadRecord> = {}) =>
  ddb.on(GetCommand).resolves({ Item: recordItem(overrides) });

const PROCESSED: Partial<UploadRecord> = {
  status: 'PROCESSED',
  previousStatus: 'PROCESSING',
  updatedAt: '2025-03-01T11:59:30.000Z',
  versionId: 'v-1',
  executionId: 'exec-1',
  sha256: 'a'.repeat(64),
  detectedType: 'application/pdf',
  storedKey: `clean/${UPLOAD_ID}`,
};

interface UploadBody {
  uploadId: string;
  status: string;
  fileName: string;
  reasons?: Array<{ code: string; message: string }>;
  download?: { url: string };
  [key: string]: unknown;
}

beforeEach(() => {
  ddb.reset();
  s3.reset();
});

describe('GET /uploads/{id} access', () => {
  it('shows the owner their upload', async () => {
    // Arrange
    stored();
    // Act
    const result = await handler(getEvent());
    // Assert
    expect(result.statusCode).toBe(200);
    expect(jsonBody<UploadBody>(result)).toMatchObject({
      uploadId: UPLOAD_ID,
      status: 'PENDING_UPLOAD',
      fileName: 'Q3 report.pdf',
      contentType: 'application/pdf',
      size: 1234,
    });
  });

  it('reads the record with a consistent GetItem on its key', async () => {
    // Arrange
    stored();
    // Act
    await handler(getEvent());
    // Assert
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: TABLE_NAME,
      Key: { pk: `UPLOAD#${UPLOAD_ID}`, sk: 'RECORD' },
      ConsistentRead: true,
    });
  });

  it('shows an auditor (groups claim as an array) an upload of someone else', async () => {
    // Arrange
    stored();
    // Act
    const result = await handler(getEvent({ sub: 'auditor-carol', groups: ['staff', 'auditors'] }));
    // Assert
    expect(result.statusCode).toBe(200);
    expect(jsonBody<UploadBody>(result).uploadId).toBe(UPLOAD_ID);
  });

  it('shows an auditor whose groups claim is the HTTP API string "[auditors]" (read back through the token)', async () => {
    // Arrange
    stored();
    // Act
    const result = await handler(
      getEvent({
        sub: 'auditor-carol',
        groups: '[auditors]',
        headers: { authorization: bearerHeader({ sub: 'auditor-carol', 'cognito:groups': ['auditors'] }) },
      }),
    );
    // Assert
    expect(result.statusCode).toBe(200);
  });

  it('shows an auditor whose groups claim is the space-separated string "[staff auditors]"', async () => {
    // Arrange
    stored();
    // Act
    const result = await handler(
      getEvent({
        sub: 'auditor-carol',
        groups: '[staff auditors]',
        headers: {
          authorization: bearerHeader({ sub: 'auditor-carol', 'cognito:groups': ['staff', 'auditors'] }),
        },
      }),
    );
    // Assert
    expect(result.statusCode).toBe(200);
  });

  it('answers 404 NOT_FOUND to another user, with the same body as for a missing upload', async () => {
    // Arrange
    stored();
    const foreign = await handler(getEvent({ sub: 'user-mallory' }));
    ddb.reset();
    ddb.on(GetCommand).resolves({});
    // Act
    const missing = await handler(getEvent({ id: OTHER_UPLOAD_ID, sub: 'user-mallory' }));
    // Assert
    expect(foreign.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect(jsonBody<ErrorBody>(foreign).error.code).toBe('NOT_FOUND');
    expect(foreign.body).toBe(missing.body);
  });

  it('does not treat a group merely containing "auditors" as the auditors group', async () => {
    // Arrange
    stored();
    // Act
    const result = await handler(getEvent({ sub: 'user-mallory', groups: ['not-auditors'] }));
    // Assert
    expect(result.statusCode).toBe(404);
  });

  it.each(['not-a-ulid', '01jnb8y6z4q2w7e5r3t9k1m0pa', `${UPLOAD_ID}X`, '../clean/x', ''])(
    'answers 404 for the malformed id %j without calling DynamoDB',
    async (id) => {
      // Act
      const result = await handler(getEvent({ id }));
      // Assert
      expect(result.statusCode).toBe(404);
      expect(jsonBody<ErrorBody>(result).error.code).toBe('NOT_FOUND');
      expect(ddb.calls()).toHaveLength(0);
    },
  );

  it('answers 401 without a sub claim and calls nothing', async () => {
    // Act
    const result = await handler(
      apiEvent({ routeKey: 'GET /uploads/{id}', pathParameters: { id: UPLOAD_ID }, sub: null }),
    );
    // Assert
    expect(result.statusCode).toBe(401);
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('GET /uploads/{id} by status', () => {
  it('sends Retry-After and no download while PENDING_UPLOAD', async () => {
    // Arrange
    stored();
    // Act
    const result = await handler(getEvent());
    // Assert
    expect(responseHeader(result, 'retry-after')).toBe('2');
    const body = jsonBody<UploadBody>(result);
    expect(body.download).toBeUndefined();
    expect(body.expiresAt).toBe('2025-03-01T12:14:00.000Z');
  });

  it('sends Retry-After and no download while PROCESSING', async () => {
    // Arrange
    stored({ status: 'PROCESSING', versionId: 'v-1', executionId: 'exec-1' });
    // Act
    const result = await handler(getEvent());
    // Assert
    expect(responseHeader(result, 'retry-after')).toBe('1');
    expect(jsonBody<UploadBody>(result).download).toBeUndefined();
  });

  it('signs downloads of a PROCESSED upload for clean/<id> only', async () => {
    // Arrange
    stored(PROCESSED);
    // Act
    const result = await handler(downloadEvent());
    // Assert
    const download = jsonBody<SignedBody>(result);
    const url = new URL(download?.url ?? 'invalid:');
    expect(url.hostname).toBe(`${BUCKET}.s3.us-east-1.amazonaws.com`);
    expect(url.pathname).toBe(`/clean/${UPLOAD_ID}`);
    expect(download?.url).not.toContain('quarantine');
    expect(download?.url).not.toContain('rejected');
  });

  it('signs the download as an attachment under the sanitized file name with the detected type', async () => {
    // Arrange
    stored(PROCESSED);
    // Act
    const result = await handler(downloadEvent());
    // Assert
    const url = new URL(jsonBody<SignedBody>(result).url);
    expect(url.searchParams.get('response-content-disposition')).toBe(
      `attachment; filename="Q3 report.pdf"; filename*=UTF-8''Q3%20report.pdf`,
    );
    expect(url.searchParams.get('response-content-type')).toBe('application/pdf');
  });

  it('makes the download URL expire within 300 seconds and reports when', async () => {
    // Arrange
    stored(PROCESSED);
    // Act
    const result = await handler(downloadEvent());
    // Assert
    const download = jsonBody<SignedBody>(result);
    const expires = Number(new URL(download?.url ?? 'invalid:').searchParams.get('X-Amz-Expires'));
    expect(expires).toBeGreaterThan(0);
    expect(expires).toBeLessThanOrEqual(300);
    expect(download?.expiresAt).toBe(new Date(NOW.getTime() + DOWNLOAD_TTL_SECONDS * 1000).toISOString());
  });

  it('sends no Retry-After for a PROCESSED upload and shows its measured facts', async () => {
    // Arrange
    stored(PROCESSED);
    // Act
    const result = await handler(getEvent());
    // Assert
    expect(responseHeader(result, 'retry-after')).toBeUndefined();
    expect(jsonBody<UploadBody>(result)).toMatchObject({
      status: 'PROCESSED',
      sha256: 'a'.repeat(64),
      detectedType: 'application/pdf',
    });
  });

  it('adds the canonical extension when the stored name does not end in one of the type', async () => {
    // Arrange
    stored({ ...PROCESSED, fileName: 'invoice.pdf.exe' });
    // Act
    const result = await handler(downloadEvent());
    // Assert
    const url = new URL(jsonBody<SignedBody>(result).url);
    expect(url.searchParams.get('response-content-disposition')).toContain('filename="invoice.pdf.exe.pdf"');
  });

  it('shows a REJECTED upload its reasons, with no download and no Retry-After', async () => {
    // Arrange
    const reasons = [
      {
        code: 'TYPE_MISMATCH' as const,
        message: 'The content is application/x-msdownload, but application/pdf was declared.',
      },
      {
        code: 'TYPE_NOT_ALLOWED' as const,
        message: 'Files of type application/x-msdownload are not allowed.',
      },
    ];
    stored({ status: 'REJECTED', previousStatus: 'PROCESSING', reasons, storedKey: `rejected/${UPLOAD_ID}` });
    // Act
    const result = await handler(getEvent());
    // Assert
    const body = jsonBody<UploadBody>(result);
    expect(body.status).toBe('REJECTED');
    expect(body.reasons).toEqual(reasons);
    expect(body.download).toBeUndefined();
    expect(responseHeader(result, 'retry-after')).toBeUndefined();
  });

  it('signs no download for a QUARANTINED upload (a rescan found a threat in the promoted file)', async () => {
    // Arrange: everything a PROCESSED upload has, then quarantined.
    const scan = {
      status: 'THREATS_FOUND' as const,
      engine: { name: 'ClamAV', version: '1.4.6' },
      database: { name: 'ClamAV', version: '27831' },
      scannedAt: '2025-03-01T11:59:50.000Z',
      threats: ['Win.Test.EICAR_HDB-1'],
    };
    const reasons = [
      { code: 'MALWARE_DETECTED' as const, message: 'Malware detected: Win.Test.EICAR_HDB-1.' },
    ];
    stored({ ...PROCESSED, status: 'QUARANTINED', previousStatus: 'PROCESSED', reasons, scan });
    // Act
    const owner = jsonBody<UploadBody>(await handler(getEvent()));
    const auditor = jsonBody<UploadBody & { scan?: unknown }>(
      await handler(getEvent({ sub: 'auditor-1', groups: ['auditors'] })),
    );
    // Assert
    expect(owner).toMatchObject({ status: 'QUARANTINED', reasons: [{ code: 'MALWARE_DETECTED' }] });
    expect(owner.download).toBeUndefined();
    expect(JSON.stringify(owner)).not.toContain('EICAR');
    expect(auditor).toMatchObject({ scan, reasons });
    expect(auditor.download).toBeUndefined();
    expect((await handler(downloadEvent())).statusCode).toBe(404);
  });

  it('shows a FAILED upload a generic reason and never its internal cause', async () => {
    // Arrange
    stored({ status: 'FAILED', failure: { error: 'DependencyError', cause: 'internal-cause-detail-77' } });
    // Act
    const result = await handler(getEvent());
    // Assert
    const body = jsonBody<UploadBody>(result);
    expect(body.reasons?.map((reason) => reason.code)).toEqual(['PROCESSING_FAILED']);
    expect(result.body).not.toContain('internal-cause-detail-77');
    expect(result.body).not.toContain('DependencyError');
    expect(body.download).toBeUndefined();
  });

  it('never returns internal attributes', async () => {
    // Arrange
    stored(PROCESSED);
    // Act
    const body = jsonBody<UploadBody>(await handler(getEvent()));
    // Assert
    for (const internal of [
      'owner',
      'pk',
      'sk',
      'ownerKey',
      'statusKey',
      'executionId',
      'versionId',
      'storedKey',
      'failure',
    ]) {
      expect(body).not.toHaveProperty(internal);
    }
  });

  it('never puts the secret access key into a download response', async () => {
    // Arrange
    stored(PROCESSED);
    // Act
    const result = await handler(getEvent());
    // Assert
    expect(JSON.stringify(result)).not.toContain(TEST_SECRET_ACCESS_KEY);
  });
});

describe('GET /uploads/{id} conditional requests', () => {
  it('sends an ETag that stays the same while the record does not change', async () => {
    // Arrange
    stored(PROCESSED);
    // Act
    const first = await handler(getEvent());
    const second = await handler(getEvent());
    // Assert
    const etag = responseHeader(first, 'etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(responseHeader(second, 'etag')).toBe(etag);
  });

  it('changes the ETag when the status changes', async () => {
    // Arrange
    stored();
    const pending = responseHeader(await handler(getEvent()), 'etag');
    stored({ status: 'PROCESSING', updatedAt: '2025-03-01T11:59:10.000Z' });
    // Act
    const processing = responseHeader(await handler(getEvent()), 'etag');
    // Assert
    expect(processing).not.toBe(pending);
  });

  it('answers 304 with no body when If-None-Match carries the current ETag', async () => {
    // Arrange
    stored(PROCESSED);
    const etag = responseHeader(await handler(getEvent()), 'etag') ?? '';
    // Act
    const result = await handler(getEvent({ headers: { 'If-None-Match': etag } }));
    // Assert
    expect(result.statusCode).toBe(304);
    expect(result.body).toBeUndefined();
    expect(responseHeader(result, 'etag')).toBe(etag);
  });

  it('answers 200 when If-None-Match carries another ETag', async () => {
    // Arrange
    stored(PROCESSED);
    // Act
    const result = await handler(getEvent({ headers: { 'if-none-match': '"something-else"' } }));
    // Assert
    expect(result.statusCode).toBe(200);
    expect(jsonBody<UploadBody>(result).download).toBeDefined();
  });

  it("does not reveal through If-None-Match that another user's upload exists", async () => {
    // Arrange
    stored(PROCESSED);
    // Act
    const result = await handler(getEvent({ sub: 'user-mallory', headers: { 'if-none-match': '*' } }));
    // Assert
    expect(result.statusCode).toBe(404);
  });
});
