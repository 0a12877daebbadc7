import { Readable } from 'node:stream';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GuardDutyClient, SendObjectMalwareScanCommand } from '@aws-sdk/client-guardduty';
import { PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import {
  ListObjectsV2Command,
  ListObjectVersionsCommand as ListDigestVersions,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { generateKeyPairSync } from 'node:crypto';
import { DigestBucket } from '../../../functions/adapters/digest-bucket.js';
import { KmsDigestSigner } from '../../../functions/adapters/digest-signer.js';
import { DigestStateStore } from '../../../functions/adapters/digest-state.js';
import { makeAuditDigestsHandler } from '../../../functions/audit-digests.js';
import { makeWriteAuditDigestHandler } from '../../../functions/write-audit-digest.js';
import { defaultDigestBucket } from '../../../local/iam/roles.js';
import type { SQSEvent } from 'aws-lambda';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { SqsDeliveryQueue } from '../../../functions/adapters/delivery-queue.js';
import { StepFunctionsGateway } from '../../../functions/adapters/execution-gateway.js';
import { IdempotencyStore } from '../../../functions/adapters/idempotency-store.js';
import { QuotaStore } from '../../../functions/adapters/quota-store.js';
import { SecretsManagerSecrets } from '../../../functions/adapters/webhook-secrets.js';
import type { WebhookSender } from '../../../functions/adapters/webhook-sender.js';
import { makeDeliverWebhooksHandler } from '../../../functions/deliver-webhooks.js';
import { outcomeEvent } from '../../../functions/domain/outcome-event.js';
import { SweepStateStore } from '../../../functions/adapters/sweep-state.js';
import { OutcomeOutbox } from '../../../functions/adapters/outcome-outbox.js';
import { EventBridgePublisher } from '../../../functions/adapters/outcome-publisher.js';
import type { OutcomePublicationDeps } from '../../../functions/commons/outcome-publication.js';
import { makePublishOutcomeHandler } from '../../../functions/publish-outcome.js';
import { installLocalHooks, type GrantToSign } from '../../../functions/commons/local-hooks.js';
import { makeAuditUploadsHandler } from '../../../functions/audit-uploads.js';
import { makeClaimHandler } from '../../../functions/claim.js';
import { makeCreateUploadHandler } from '../../../functions/create-upload.js';
import { makeGetUploadEventsHandler } from '../../../functions/get-upload-events.js';
import { makeGetUploadHandler } from '../../../functions/get-upload.js';
import { makeListUploadsHandler } from '../../../functions/list-uploads.js';
import { makePromoteHandler } from '../../../functions/promote.js';
import { makeRecordOutcomeHandler } from '../../../functions/record-outcome.js';
import { makeRedriveHandler } from '../../../functions/redrive.js';
import { makeRejectHandler } from '../../../functions/reject.js';
import { makeReleaseQuarantineHandler } from '../../../functions/release-quarantine.js';
import { makeSweeperHandler } from '../../../functions/sweeper.js';
import { makeValidateHandler } from '../../../functions/validate.js';
import { makeScanHandler } from '../../../functions/scan.js';
import { makeScanResultHandler } from '../../../functions/scan-result.js';
import { makeRescanHandler } from '../../../functions/rescan.js';
import { GuardDutyOnDemandScanner } from '../../../functions/adapters/on-demand-scanner.js';
import { ScanResultStore } from '../../../functions/adapters/scan-result-store.js';
import { GUARDDUTY_SOURCE, SCAN_RESULT_DETAIL_TYPE } from '../../../functions/domain/scan-result-event.js';
import type { UploadRecord } from '../../../functions/domain/model.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import type { PipelineFunction } from '../../../infra/upload-pipeline.js';
import * as samples from '../../fixtures/samples.js';
import { apiEvent } from '../../unit/handlers/api-events.js';
import {
  BUCKET,
  OWNER,
  TABLE_NAME,
  UPLOAD_ID,
  conditionalCheckFailed,
  newDynamoDbClient,
  newObjectStore,
  newPresigner,
  newUploadStore,
  recordItem,
  s3Error,
} from '../../unit/handlers/aws-fakes.js';

/** One request a function made: an SDK command it sent, or a grant it signed. */
export interface SentCall {
  service: 's3' | 'dynamodb' | 'sfn' | 'guardduty' | 'secretsmanager' | 'sqs' | 'events' | 'kms';
  command: string;
  input: Record<string, unknown>;
}

export { BUCKET, TABLE_NAME };
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:airlock-pipeline';
const EXECUTION_ARN = 'arn:aws:states:us-east-1:000000000000:execution:airlock-pipeline:exec-1';
const NOW = new Date('2025-03-01T12:30:00.000Z');
const VERSION_ID = 'v-0001';
const KEY = `quarantine/${UPLOAD_ID}`;
const PDF = samples.pdf();

/** The webhook endpoint of the census's stack (grants.test.ts synthesizes it with this one). */
export const WEBHOOK_SECRET_ARN =
  'arn:aws:secretsmanager:us-east-1:000000000000:secret:airlock/billing-AbCdEf';
export const CENSUS_WEBHOOK = {
  id: 'billing',
  url: 'https://hooks.example.com/airlock',
  secretArn: WEBHOOK_SECRET_ARN,
};
/** The webhook queue's URL as the template's resolution names it (its logical id): set by the caller. */
let webhookQueueUrl = 'https://sqs.us-east-1.amazonaws.com/000000000000/WebhookQueue';
/** The outcome-event bus as the template's resolution names it (its logical id): set by the caller. */
let eventBusName = 'OutcomeEventBus';

const ddb = mockClient(DynamoDBDocumentClient);
const secretsManager = mockClient(SecretsManagerClient);
const sqs = mockClient(SQSClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const guardDuty = mockClient(GuardDutyClient);
const eventBridge = mockClient(EventBridgeClient);
const kmsClient = mockClient(KMSClient);
/** The digest bucket and key as the template's resolution names them (the key by its logical id). */
export const DIGEST_BUCKET = defaultDigestBucket(BUCKET);
let digestKeyArn = 'arn:aws:kms:us-east-1:000000000000:key/AuditDigestKey';
/** An object body as the SDK gives it (transformToString). */
const body = (text: string) => ({ transformToString: () => Promise.resolve(text) });

const store = newUploadStore();
const sweepState = new SweepStateStore(TABLE_NAME, newDynamoDbClient());
const quotas = new QuotaStore(TABLE_NAME, newDynamoDbClient());
const idempotency = new IdempotencyStore(TABLE_NAME, newDynamoDbClient());
const objects = newObjectStore();
const presigner = newPresigner();
const executions = new StepFunctionsGateway(STATE_MACHINE_ARN, new SFNClient({ region: 'us-east-1' }));
const results = new ScanResultStore(TABLE_NAME, newDynamoDbClient());
const onDemand = new GuardDutyOnDemandScanner(new GuardDutyClient({ region: 'us-east-1' }));
const CLEAN_KEY = `clean/${UPLOAD_ID}`;
/** GuardDuty's Object Scan Result event for a version of `key`. */
const scanResult = (key: string, status: 'NO_THREATS_FOUND' | 'THREATS_FOUND') => ({
  version: '0',
  id: 'scan-event-1',
  'detail-type': SCAN_RESULT_DETAIL_TYPE,
  source: GUARDDUTY_SOURCE,
  time: '2025-03-01T12:00:04Z',
  detail: {
    scanStatus: 'COMPLETED',
    s3ObjectDetails: { bucketName: BUCKET, objectKey: key, versionId: VERSION_ID, eTag: 'e' },
    scanResultDetails: {
      scanResultStatus: status,
      threats: status === 'THREATS_FOUND' ? [{ name: 'EICAR-Test-File' }] : null,
    },
  },
});
const detail = { bucket: { name: BUCKET }, object: { key: KEY, size: PDF.length, 'version-id': VERSION_ID } };
const object = { bucket: BUCKET, key: KEY, versionId: VERSION_ID };
const item = (overrides: Partial<UploadRecord>) => ({ Item: recordItem(overrides) });
const updated = (status: UploadRecord['status']) => (input: UpdateCommandInput) => ({
  Attributes: recordItem({
    status,
    updatedAt: String(input.ExpressionAttributeValues?.[':updatedAt'] ?? NOW.toISOString()),
    ...(input.ExpressionAttributeValues?.[':executionId']
      ? { executionId: String(input.ExpressionAttributeValues[':executionId']) }
      : {}),
    versionId: VERSION_ID,
  }),
});
/** Publishing an outcome: the record and its trail, the promoted copy's version, the bus, the mark. */
const publication = (): OutcomePublicationDeps => ({
  outbox: new OutcomeOutbox(TABLE_NAME, newDynamoDbClient()),
  objects,
  publisher: new EventBridgePublisher(eventBusName, new EventBridgeClient({ region: 'us-east-1' })),
  bucket: BUCKET,
});
/** A PROCESSED record whose event is pending: its trail, the copy's HEAD, PutEvents accepting. */
const pendingProcessed = () => {
  ddb.on(GetCommand).resolves({
    Item: {
      ...recordItem({
        status: 'PROCESSED',
        versionId: VERSION_ID,
        storedKey: `clean/${UPLOAD_ID}`,
        sha256: 'a'.repeat(64),
        detectedType: 'application/pdf',
      }),
      events: [
        {
          uploadId: UPLOAD_ID,
          at: NOW.toISOString(),
          action: 'PROCESSED',
          from: 'PROCESSING',
          to: 'PROCESSED',
          reasons: [],
          seq: 1,
        },
      ],
    },
  });
  s3.on(HeadObjectCommand, { Key: `clean/${UPLOAD_ID}` }, false).resolves({ VersionId: 'v-clean' });
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
};
const versions = () => ({
  Versions: [{ Key: KEY, VersionId: VERSION_ID, Size: PDF.length, LastModified: NOW }],
});

/**
 * Each function's paths, walked with its real adapters over mocked clients (aws-sdk-client-mock,
 * as the unit tests do). Every command a handler can send, on any path, must appear here: a
 * path left out would leave a grant looking unused, and the derived check fails on that too.
 */
const SCENARIOS: Record<PipelineFunction, () => Promise<unknown>> = {
  'create-upload': async () => {
    const handler = makeCreateUploadHandler(() => ({
      store,
      presigner,
      policy: DEFAULT_TYPE_POLICY,
      uploadTtlSeconds: 900,
      abandonedRecordRetentionSeconds: 90 * 86_400,
      now: () => NOW,
      quotas,
      quotaLimits: { openGrants: 1, bytesPerDay: 10 * 1024 ** 3 },
      idempotency,
    }));
    const create = (method: string, headers: Record<string, string> = {}) =>
      handler(
        apiEvent({
          routeKey: 'POST /uploads',
          body: { fileName: 'a.pdf', contentType: 'application/pdf', size: PDF.length, method },
          headers,
        }),
      );
    // Both grant kinds, within the quota.
    ddb.on(PutCommand).resolves({}).on(UpdateCommand).resolves({});
    for (const method of ['POST', 'PUT']) await create(method);
    // A retry with its Idempotency-Key: the key is taken, so its upload is read back.
    ddb
      .on(PutCommand)
      .rejects(conditionalCheckFailed())
      .on(GetCommand)
      .resolves({ Item: { uploadId: UPLOAD_ID, fingerprint: 'another request', ttl: 4_102_444_800 } });
    await create('POST', { 'idempotency-key': 'retry-0001' });
    // At the open-grant limit: the counter is read and healed from the records, then counted.
    ddb.reset();
    ddb
      .on(PutCommand)
      .resolves({})
      .on(UpdateCommand)
      .rejectsOnce(conditionalCheckFailed())
      .rejectsOnce(conditionalCheckFailed())
      .resolves({})
      .on(GetCommand)
      .resolves({
        Item: { openGrants: new Set(['01JOLDUPLOAD0000000000000']), day: '2025-03-01', dayBytes: 1 },
      })
      .on(BatchGetCommand)
      .resolves({
        Responses: {
          [TABLE_NAME]: [recordItem({ uploadId: '01JOLDUPLOAD0000000000000', status: 'PROCESSED' })],
        },
      });
    await create('PUT');
  },
  'get-upload': async () => {
    ddb.on(GetCommand).resolves(item({ status: 'PROCESSED', detectedType: 'application/pdf' }));
    const handler = makeGetUploadHandler(() => ({
      store,
      presigner,
      policy: DEFAULT_TYPE_POLICY,
      downloadTtlSeconds: 300,
      now: () => NOW,
    }));
    await handler(apiEvent({ routeKey: 'GET /uploads/{id}', pathParameters: { id: UPLOAD_ID }, sub: OWNER }));
    await handler(
      apiEvent({ routeKey: 'GET /uploads/{id}/download', pathParameters: { id: UPLOAD_ID }, sub: OWNER }),
    );
  },
  'list-uploads': async () => {
    ddb.on(QueryCommand).resolves({ Items: [recordItem({})] });
    await makeListUploadsHandler(() => ({ store }))(apiEvent({ routeKey: 'GET /uploads', sub: OWNER }));
  },
  'get-upload-events': async () => {
    // One Query of the upload's partition: its record holds the trail.
    ddb.on(QueryCommand).resolves({ Items: [recordItem({})] });
    const handler = makeGetUploadEventsHandler(() => ({ store }));
    await handler(
      apiEvent({ routeKey: 'GET /uploads/{id}/events', pathParameters: { id: UPLOAD_ID }, sub: OWNER }),
    );
  },
  'audit-uploads': async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    const handler = makeAuditUploadsHandler(() => ({ store, now: () => NOW }));
    await handler(apiEvent({ routeKey: 'GET /audit/uploads', groups: ['auditors'] }));
  },
  claim: async () => {
    const handler = makeClaimHandler(() => ({ store, now: () => NOW, quotas }));
    const run = (key = KEY) =>
      handler({
        detail: { ...detail, object: { ...detail.object, key } },
        eventTime: '2025-03-01T12:00:05Z',
        executionId: EXECUTION_ARN,
      });
    // A claim; then an object no upload was issued for, audited in its key's own trail.
    ddb.on(GetCommand).resolves(item({ status: 'PENDING_UPLOAD', size: PDF.length }));
    ddb.on(UpdateCommand).callsFake(updated('PROCESSING'));
    await run();
    ddb.on(GetCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    await run('quarantine/not-an-upload');
  },
  validate: async () => {
    s3.on(GetObjectCommand).callsFake((): Partial<GetObjectCommandOutput> => ({
      Body: Readable.from([PDF]) as GetObjectCommandOutput['Body'],
      ContentLength: PDF.length,
    }));
    const handler = makeValidateHandler(() => ({ objects, policy: DEFAULT_TYPE_POLICY }));
    await handler({
      uploadId: UPLOAD_ID,
      object,
      declared: { contentType: 'application/pdf', size: PDF.length },
    });
  },
  scan: async () => {
    const handler = makeScanHandler(() => ({ results, scanner: 'guardduty', onDemand, now: () => NOW }));
    const input = {
      uploadId: UPLOAD_ID,
      object,
      verdict: { accepted: true, reasons: [], facts: { size: PDF.length, sha256: null, detectedType: null } },
      claimedAt: '2025-03-01T12:00:05.000Z',
      detail: { reason: 'PutObject' },
    };
    // A result that decides: read only.
    ddb.on(GetCommand).resolves({
      Item: {
        result: {
          scanStatus: 'COMPLETED',
          scanResultDetails: { scanResultStatus: 'NO_THREATS_FOUND', threats: null },
          engine: { name: 'e', version: '1' },
          database: { name: 'd', version: '1' },
          engineReply: '',
          scannedAt: '2025-03-01T12:00:04Z',
        },
        storedAt: '2025-03-01T12:00:04Z',
      },
    });
    await handler(input);
    // A failed scan from before the claim: a new one is asked for and noted.
    ddb.on(GetCommand).resolves({
      Item: {
        result: {
          scanStatus: 'FAILED',
          scanResultDetails: { scanResultStatus: 'FAILED', threats: null },
          engine: { name: 'e', version: '1' },
          database: { name: 'd', version: '1' },
          engineReply: '',
          scannedAt: '2025-03-01T12:00:01Z',
        },
        storedAt: '2025-03-01T12:00:01Z',
      },
    });
    ddb.on(PutCommand).resolves({});
    guardDuty.on(SendObjectMalwareScanCommand).resolves({});
    await handler(input).catch((error: Error) => {
      if (error.name !== 'ScanPending') throw error;
    });
  },
  'scan-result': async () => {
    ddb.on(PutCommand).resolves({}).on(UpdateCommand).callsFake(updated('QUARANTINED'));
    ddb.on(GetCommand).resolves(item({ status: 'PROCESSED', versionId: VERSION_ID }));
    s3.on(PutObjectTaggingCommand)
      .resolves({})
      .on(HeadObjectCommand)
      .rejects(s3Error('NotFound', 404))
      .on(CopyObjectCommand)
      .resolves({ VersionId: 'r1' })
      .on(DeleteObjectCommand)
      .resolves({});
    const handler = makeScanResultHandler(() => ({
      results,
      store,
      objects,
      bucket: BUCKET,
      now: () => NOW,
    }));
    await handler(scanResult(KEY, 'NO_THREATS_FOUND')); // a new upload's result, stored
    await handler(scanResult(CLEAN_KEY, 'THREATS_FOUND')); // a rescan's detection: quarantined
  },
  rescan: async () => {
    ddb.on(QueryCommand).resolves({ Items: [recordItem({ status: 'PROCESSED', versionId: VERSION_ID })] });
    s3.on(HeadObjectCommand).resolves({ VersionId: 'clean-v1', Metadata: {} });
    guardDuty.on(SendObjectMalwareScanCommand).resolves({});
    const handler = makeRescanHandler(() => ({
      store,
      objects,
      scanner: onDemand,
      bucket: BUCKET,
      now: () => NOW,
      pageSize: 10,
      concurrency: 2,
      budgetMs: 60_000,
    }));
    await handler({});
  },
  promote: async () => {
    s3.on(HeadObjectCommand)
      .rejects(s3Error('NotFound', 404))
      .on(CopyObjectCommand)
      .resolves({ VersionId: 'c1' });
    await makePromoteHandler(() => ({ objects }))({ uploadId: UPLOAD_ID, object });
  },
  reject: async () => {
    s3.on(HeadObjectCommand)
      .rejects(s3Error('NotFound', 404))
      .on(CopyObjectCommand)
      .resolves({ VersionId: 'r1' });
    await makeRejectHandler(() => ({ objects }))({ uploadId: UPLOAD_ID, object });
  },
  'record-outcome': async () => {
    const handler = makeRecordOutcomeHandler(() => ({ store, now: () => NOW }));
    const input = { outcome: 'PROCESSED' as const, detail, executionId: EXECUTION_ARN };
    ddb
      .on(GetCommand)
      .resolves(item({ status: 'PROCESSING', executionId: EXECUTION_ARN, versionId: VERSION_ID }));
    ddb.on(UpdateCommand).callsFake(updated('PROCESSED'));
    await handler(input);
    // A retried task finds its outcome written: it only reads the record.
    ddb.on(UpdateCommand).rejects(conditionalCheckFailed());
    ddb
      .on(GetCommand)
      .resolves(item({ status: 'PROCESSED', executionId: EXECUTION_ARN, versionId: VERSION_ID }));
    await handler(input);
  },
  'publish-outcome': async () => {
    ddb.on(QueryCommand).resolves({ Items: [] }).on(UpdateCommand).resolves({});
    pendingProcessed();
    await makePublishOutcomeHandler(publication)({ detail });
  },
  'release-quarantine': async () => {
    s3.on(DeleteObjectCommand).resolves({});
    await makeReleaseQuarantineHandler(() => ({ objects }))({ uploadId: UPLOAD_ID, object });
  },
  'write-audit-digest': async () => {
    // Two uploads changed; the first run finds a digest a crashed run left for the first period
    // (ListObjectsV2, GetObject), signs and puts the second, moving its cursor under its lease.
    ddb
      .on(GetCommand)
      .resolves({})
      .on(UpdateCommand)
      .resolves({})
      .on(QueryCommand)
      .resolves({ Items: [] })
      .on(QueryCommand, { ExpressionAttributeValues: { ':status': 'PROCESSED' } }, false)
      .resolves({ Items: [recordItem({ status: 'PROCESSED' })] })
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': `UPLOAD#${UPLOAD_ID}` } }, false)
      .resolves({ Items: [{ ...recordItem({ status: 'PROCESSED' }), sk: 'RECORD', events: [] }] });
    s3.on(ListObjectsV2Command).resolves({ Contents: [] }).on(PutObjectCommand).resolves({});
    kmsClient.on(SignCommand).resolves({ Signature: new Uint8Array([48, 6, 2, 1, 1, 2, 1, 1]) });
    const handler = makeWriteAuditDigestHandler(() => ({
      state: new DigestStateStore(TABLE_NAME, newDynamoDbClient()),
      digests: new DigestBucket(DIGEST_BUCKET, new S3Client({ region: 'us-east-1' })),
      trails: store,
      signer: new KmsDigestSigner(digestKeyArn, new KMSClient({ region: 'us-east-1' })),
      schedule: { intervalMs: 15 * 60_000, settleMs: 60_000 },
      budgetMs: 60_000,
      now: () => NOW,
    }));
    await handler();
    // A crashed run's digest under the key: read back (it does not follow: refused, not rewritten).
    s3.on(ListObjectsV2Command).callsFake((input: { Prefix: string }) => ({
      Contents: [{ Key: input.Prefix }],
    }));
    s3.on(GetObjectCommand).resolves({
      Body: body(JSON.stringify({ number: 1, previous: null, signature: 's', uploads: [] })),
    } as never);
    await handler().catch(() => undefined);
  },
  'audit-digests': async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    kmsClient.on(GetPublicKeyCommand).resolves({
      PublicKey: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
    });
    s3.on(ListDigestVersions).resolves({
      Versions: [{ Key: 'digests/2025-03-01T12:15:00.000Z.json', VersionId: 'v1', IsLatest: true }],
    });
    s3.on(GetObjectCommand).resolves({ Body: body('{}') } as never);
    const handler = makeAuditDigestsHandler(() => ({
      digests: new DigestBucket(DIGEST_BUCKET, new S3Client({ region: 'us-east-1' })),
      signer: new KmsDigestSigner(digestKeyArn, new KMSClient({ region: 'us-east-1' })),
    }));
    const auditor = { groups: ['auditors'] };
    await handler(apiEvent({ routeKey: 'GET /audit/public-key', ...auditor }));
    await handler(apiEvent({ routeKey: 'GET /audit/digests', ...auditor }));
  },
  sweeper: async () => {
    const old = '2025-03-01T11:00:00.000Z';
    ddb
      .on(QueryCommand)
      .resolves({ Items: [] })
      .on(QueryCommand, { ExpressionAttributeValues: { ':status': 'PENDING_UPLOAD' } }, false)
      .resolves({ Items: [recordItem({ status: 'PENDING_UPLOAD', expiresAt: old, updatedAt: old })] })
      .on(QueryCommand, { ExpressionAttributeValues: { ':status': 'PROCESSING' } }, false)
      .resolves({ Items: [recordItem({ status: 'PROCESSING', executionId: EXECUTION_ARN, updatedAt: old })] })
      .on(QueryCommand, { ExpressionAttributeValues: { ':status': 'PROCESSED' } }, false)
      .resolves({ Items: [recordItem({ status: 'PROCESSED', versionId: 'v-claimed', updatedAt: old })] });
    ddb.on(UpdateCommand).callsFake(updated('EXPIRED'));
    pendingProcessed(); // what it publishes after its own transitions
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED' }).on(StartExecutionCommand).resolves({});
    const handler = makeSweeperHandler(() => ({
      store,
      objects,
      executions,
      bucket: BUCKET,
      sweepState,
      now: () => NOW,
      publication: publication(),
      processingTimeoutMs: 60_000,
      uploadTtlMs: 3_600_000,
      abandonedRecordRetentionSeconds: 90 * 86_400,
      sweep: {
        intervalMs: 60_000,
        budgetMs: 60_000,
        pageSize: 10,
        concurrency: 2,
        lostEventAfterMs: 1_000,
        expiryGraceMs: 1_000,
      },
    }));
    // A lost event and a stray version (their object is in quarantine), then an expiry (none is).
    s3.on(ListObjectVersionsCommand).resolves(versions());
    await handler();
    s3.on(ListObjectVersionsCommand).resolves({ Versions: [] });
    await handler();
  },
  'deliver-webhooks': async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    const event = outcomeEvent(
      { uploadId: UPLOAD_ID, owner: OWNER, size: 1 },
      { status: 'FAILED', at: NOW.toISOString(), seq: 3 },
    );
    // One delivery the endpoint refuses: it reads the secret, then hides the message for the backoff.
    const refusing: WebhookSender = { send: () => Promise.resolve({ delivered: false, error: 'HTTP 500' }) };
    const handler = makeDeliverWebhooksHandler(() => ({
      endpoints: new Map([[CENSUS_WEBHOOK.id, CENSUS_WEBHOOK]]),
      secrets: new SecretsManagerSecrets(new SecretsManagerClient({ region: 'us-east-1' })),
      sender: refusing,
      queue: new SqsDeliveryQueue(webhookQueueUrl, new SQSClient({ region: 'us-east-1' })),
      retry: { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 1000 },
      now: () => NOW,
    }));
    const message = { endpoint: CENSUS_WEBHOOK.id, event };
    await handler({
      Records: [{ messageId: 'm1', receiptHandle: 'rh', body: JSON.stringify(message), attributes: {} }],
    } as unknown as SQSEvent);
  },
  redrive: async () => {
    ddb.on(QueryCommand).resolves({ Items: [recordItem({ status: 'FAILED', versionId: VERSION_ID })] });
    ddb.on(GetCommand).resolves(item({ status: 'FAILED', versionId: VERSION_ID }));
    s3.on(ListObjectVersionsCommand).resolves(versions());
    sfn.on(StartExecutionCommand).resolves({});
    const handler = makeRedriveHandler(() => ({
      store,
      objects,
      executions,
      bucket: BUCKET,
      now: () => NOW,
      pageSize: 10,
      concurrency: 2,
      budgetMs: 60_000,
    }));
    await handler({}); // the oldest FAILED uploads
    await handler({ uploadIds: [UPLOAD_ID] }); // named ones
  },
};

/**
 * What Lambda's SQS event source mapping sends with the function's role, around each invocation:
 * it long-polls the queue, reads its attributes and deletes what the batch did not report failed.
 */
const queuePollerCalls = (queueUrl: string): SentCall[] =>
  ['ReceiveMessage', 'GetQueueAttributes', 'DeleteMessageBatch'].map((command) => ({
    service: 'sqs',
    command,
    input: { QueueUrl: queueUrl },
  }));

/** What each function sends (commands) and signs (grants), over all its paths. */
export async function commandCensus(
  options: { webhookQueueUrl?: string; eventBusName?: string; digestKeyArn?: string } = {},
): Promise<Map<PipelineFunction, SentCall[]>> {
  if (options.webhookQueueUrl) webhookQueueUrl = options.webhookQueueUrl;
  if (options.digestKeyArn) digestKeyArn = options.digestKeyArn;
  if (options.eventBusName) eventBusName = options.eventBusName;
  const census = new Map<PipelineFunction, SentCall[]>();
  let grants: GrantToSign[] = [];
  installLocalHooks({
    instrument: () => undefined,
    checkGrant: (grant) => {
      grants.push(grant);
      return Promise.resolve();
    },
  });
  try {
    for (const [name, run] of Object.entries(SCENARIOS) as Array<
      [PipelineFunction, () => Promise<unknown>]
    >) {
      ddb.reset();
      s3.reset();
      sfn.reset();
      guardDuty.reset();
      secretsManager.reset();
      sqs.reset();
      eventBridge.reset();
      kmsClient.reset();
      grants = [];
      await run();
      const sent = (service: SentCall['service'], calls: Array<{ args: unknown[] }>): SentCall[] =>
        calls.map((call) => {
          const command = call.args[0] as { constructor: { name: string }; input: Record<string, unknown> };
          return { service, command: command.constructor.name, input: command.input };
        });
      census.set(name, [
        ...sent('dynamodb', ddb.calls()),
        ...sent('s3', s3.calls()),
        ...sent('sfn', sfn.calls()),
        ...sent('guardduty', guardDuty.calls()),
        ...sent('secretsmanager', secretsManager.calls()),
        ...sent('sqs', sqs.calls()),
        ...sent('events', eventBridge.calls()),
        ...sent('kms', kmsClient.calls()),
        ...(name === 'deliver-webhooks' ? queuePollerCalls(webhookQueueUrl) : []),
        ...grants.map((grant): SentCall => ({
          service: 's3',
          command: grant.operation,
          input: { Bucket: grant.bucket, Key: grant.key },
        })),
      ]);
    }
  } finally {
    installLocalHooks(undefined);
    ddb.restore();
    s3.restore();
    sfn.restore();
    guardDuty.restore();
    secretsManager.restore();
    sqs.restore();
    eventBridge.restore();
    kmsClient.restore();
  }
  return census;
}
