import type { ExecutionGateway } from '../../../functions/adapters/execution-gateway.js';
import {
  DynamoDBClient,
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { IdempotencyStore } from '../../../functions/adapters/idempotency-store.js';
import { ObjectStore } from '../../../functions/adapters/object-store.js';
import { QuotaStore } from '../../../functions/adapters/quota-store.js';
import { Presigner } from '../../../functions/adapters/presigner.js';
import { UploadStore } from '../../../functions/adapters/upload-store.js';
import type { UploadRecord } from '../../../functions/domain/model.js';

/**
 * Real adapters over SDK clients whose `send` the tests replace with aws-sdk-client-mock. The
 * credentials are fake but distinctive, so that a leak of the secret into a response shows.
 */

export const TABLE_NAME = 'airlock-test';
export const BUCKET = 'airlock-test-bucket';
export const TEST_ACCESS_KEY_ID = 'AKIDAIRLOCKTESTKEY01';
export const TEST_SECRET_ACCESS_KEY = 'zQ9wAirlockUnitTestSecretKey/DoNotLeak+7xY';

const clientConfig = {
  region: 'us-east-1',
  credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
};

export const newDynamoDbClient = (): DynamoDBClient => new DynamoDBClient(clientConfig);
export const newUploadStore = (): UploadStore => new UploadStore(TABLE_NAME, newDynamoDbClient());

/** Configured as the functions' own S3 client is (functions/commons/config.ts). */
export const newS3Client = (): S3Client =>
  new S3Client({
    ...clientConfig,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

export const newPresigner = (): Presigner => new Presigner(BUCKET, newS3Client());

export const newQuotaStore = (): QuotaStore => new QuotaStore(TABLE_NAME, new DynamoDBClient(clientConfig));
export const newIdempotencyStore = (): IdempotencyStore =>
  new IdempotencyStore(TABLE_NAME, new DynamoDBClient(clientConfig));

/** Quotas no test of issuance without them reaches (the quota tests set their own). */
export const GENEROUS_QUOTAS = { openGrants: 5000, bytesPerDay: Number.MAX_SAFE_INTEGER };

/** What POST /uploads needs besides its store, presigner, policy, ttl and clock. */
export const issuanceGuards = () => ({
  quotas: newQuotaStore(),
  quotaLimits: GENEROUS_QUOTAS,
  idempotency: newIdempotencyStore(),
});
export const newObjectStore = (): ObjectStore => new ObjectStore(newS3Client());

// --- SDK errors, shaped as the SDK throws them -------------------------------------------------

const metadata = (httpStatusCode: number) => ({
  httpStatusCode,
  requestId: 'sdk-req-1',
  attempts: 1,
  totalRetryDelay: 0,
});

export const conditionalCheckFailed = (): ConditionalCheckFailedException =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: metadata(400),
  });

export const throttling = (): ThrottlingException =>
  new ThrottlingException({
    message: 'Rate of requests exceeds the allowed throughput.',
    $metadata: metadata(400),
  });

export const dynamoValidationException = (
  message = 'One or more parameter values were invalid',
): DynamoDBServiceException =>
  new DynamoDBServiceException({
    name: 'ValidationException',
    $fault: 'client',
    message,
    $metadata: metadata(400),
  });

export const s3Error = (name: string, httpStatusCode: number): S3ServiceException =>
  new S3ServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    message: name,
    $metadata: metadata(httpStatusCode),
  });

// --- Stored items ------------------------------------------------------------------------------

/** Valid ULIDs (Crockford base32, 26 chars). */
export const UPLOAD_ID = '01JNB8Y6Z4Q2W7E5R3T9K1M0PA';
export const OTHER_UPLOAD_ID = '01JNB8Y6Z4Q2W7E5R3T9K1M0PB';

export const OWNER = 'user-alice';

export function uploadRecord(overrides: Partial<UploadRecord> = {}): UploadRecord {
  return {
    uploadId: UPLOAD_ID,
    owner: OWNER,
    status: 'PENDING_UPLOAD',
    fileName: 'Q3 report.pdf',
    contentType: 'application/pdf',
    size: 1234,
    method: 'POST',
    createdAt: '2025-03-01T11:59:00.000Z',
    updatedAt: '2025-03-01T11:59:00.000Z',
    expiresAt: '2025-03-01T12:14:00.000Z',
    trailHead: { seq: 1, at: '2025-03-01T11:59:00.000Z' },
    ...overrides,
  };
}

/** The record as the table stores it (what GetItem/Query/UpdateItem ALL_NEW return). */
export function recordItem(overrides: Partial<UploadRecord> = {}): Record<string, unknown> {
  const record = uploadRecord(overrides);
  return {
    pk: `UPLOAD#${record.uploadId}`,
    sk: 'RECORD',
    entity: 'Upload',
    ...record,
    ownerKey: record.owner,
    createdKey: `${record.createdAt}#${record.uploadId}`,
    statusKey: record.status,
    updatedKey: `${record.updatedAt}#${record.uploadId}`,
  };
}

/** An in-memory execution gateway: which executions run, and what was started. */
export class FakeExecutions implements ExecutionGateway {
  readonly started: Array<{ input: unknown; dedupeKey: string }> = [];
  constructor(private readonly running: Set<string> = new Set()) {}
  isRunning(executionId: string): Promise<boolean> {
    return Promise.resolve(this.running.has(executionId));
  }
  start(input: unknown, dedupeKey: string): Promise<void> {
    this.started.push({ input, dedupeKey });
    return Promise.resolve();
  }
}
