import { IdempotencyStore } from '../../../functions/adapters/idempotency-store.js';
import { QuotaStore } from '../../../functions/adapters/quota-store.js';
import { mockClient } from 'aws-sdk-client-mock';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { SweepStateStore } from '../../../functions/adapters/sweep-state.js';
import { makeClaimHandler } from '../../../functions/claim.js';
import { makeCreateUploadHandler } from '../../../functions/create-upload.js';
import { makeRecordOutcomeHandler } from '../../../functions/record-outcome.js';
import { makeSweeperHandler } from '../../../functions/sweeper.js';
import type { UploadRecord } from '../../../functions/domain/model.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import { apiEvent } from './api-events.js';
import {
  BUCKET,
  FakeExecutions,
  TABLE_NAME,
  UPLOAD_ID,
  newDynamoDbClient,
  newObjectStore,
  newPresigner,
  newUploadStore,
  recordItem,
} from './aws-fakes.js';

/**
 * Each status change and its audit event are one write: whichever writer makes a transition
 * (create-upload, Claim, Record, the sweeper), DynamoDB receives exactly one PutItem or UpdateItem
 * for it, never a record write and then, separately, an event write that a crash could separate.
 */

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
const NOW = new Date('2025-03-01T13:00:00.000Z');
const EXECUTION_ID = 'arn:aws:states:us-east-1:123456789012:execution:airlock-pipeline:exec-1';
const VERSION_ID = 'v-1';
const KEY = `quarantine/${UPLOAD_ID}`;
const store = newUploadStore();

/**
 * Writes to upload records and trails: the sweeper's own lease item and the owner's quota counter
 * (QUOTA#, adapters/quota-store.ts) are no upload's.
 */
const writes = () =>
  [...ddb.commandCalls(PutCommand), ...ddb.commandCalls(UpdateCommand)].filter((call) => {
    const pk = (call.args[0].input as { Key?: { pk?: string } }).Key?.pk ?? '';
    return pk !== 'SWEEPER' && !pk.startsWith('QUOTA#');
  });
const quotas = new QuotaStore(TABLE_NAME, newDynamoDbClient());

/** The record as read, and as an update leaves it (whatever the update's value names). */
function stored(record: Partial<UploadRecord>) {
  ddb.on(GetCommand).resolves({ Item: recordItem(record) });
  ddb.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
    const values = input.ExpressionAttributeValues ?? {};
    const status = (values[':status'] ?? values[':to'] ?? record.status) as UploadRecord['status'];
    return {
      Attributes: recordItem({ ...record, status, versionId: VERSION_ID, executionId: EXECUTION_ID }),
    };
  });
  ddb.on(PutCommand).resolves({});
}

beforeEach(() => {
  ddb.reset();
  s3.reset();
});

const detail = (versionId = VERSION_ID) => ({
  bucket: { name: BUCKET },
  object: { key: KEY, size: 10, 'version-id': versionId, sequencer: '00A1' },
});
const claim = makeClaimHandler(() => ({ store, now: () => NOW, quotas }));
const record = makeRecordOutcomeHandler(() => ({ store, now: () => NOW }));
const claimInput = (versionId?: string) => ({
  detail: detail(versionId),
  eventTime: '2025-03-01T12:59:59Z',
  executionId: EXECUTION_ID,
});
const PROCESSING: Partial<UploadRecord> = {
  status: 'PROCESSING',
  versionId: VERSION_ID,
  executionId: EXECUTION_ID,
  trailHead: { seq: 2, at: '2025-03-01T12:00:00.000Z' },
};

const TRANSITIONS: Array<[string, () => Promise<unknown>]> = [
  [
    'issuance (create-upload): null → PENDING_UPLOAD',
    async () => {
      ddb.on(PutCommand).resolves({});
      const deps = {
        store,
        presigner: newPresigner(),
        policy: DEFAULT_TYPE_POLICY,
        uploadTtlSeconds: 900,
        abandonedRecordRetentionSeconds: 90 * 86_400,
        now: () => NOW,
        quotas,
        quotaLimits: { openGrants: 10, bytesPerDay: 1024 ** 3 },
        idempotency: new IdempotencyStore(TABLE_NAME, newDynamoDbClient()),
      };
      const body = { fileName: 'a.pdf', contentType: 'application/pdf', size: 10 };
      await makeCreateUploadHandler(() => deps)(apiEvent({ routeKey: 'POST /uploads', body }));
    },
  ],
  [
    'claim: PENDING_UPLOAD → PROCESSING',
    async () => {
      stored({ status: 'PENDING_UPLOAD' });
      await claim(claimInput());
    },
  ],
  [
    'redrive claim: FAILED → PROCESSING',
    async () => {
      stored({
        status: 'FAILED',
        versionId: VERSION_ID,
        trailHead: { seq: 3, at: '2025-03-01T12:00:00.000Z' },
      });
      await claim(claimInput());
    },
  ],
  [
    'discard of another version (no status change)',
    async () => {
      stored({ ...PROCESSING, status: 'PROCESSED', executionId: 'exec-other' });
      await claim(claimInput('v-2'));
    },
  ],
  [
    'discard of an object with no upload (no status change)',
    async () => {
      ddb.on(GetCommand).resolves({});
      ddb.on(UpdateCommand).resolves({});
      ddb.on(PutCommand).resolves({});
      await claim(claimInput());
    },
  ],
  ...(['PROCESSED', 'REJECTED', 'FAILED'] as const).map((outcome): [string, () => Promise<unknown>] => [
    `outcome (Record): PROCESSING → ${outcome}`,
    async () => {
      stored(PROCESSING);
      await record({
        outcome,
        detail: detail(),
        executionId: EXECUTION_ID,
        ...(outcome === 'FAILED' ? { failure: { Error: 'DependencyError' } } : {}),
      });
    },
  ]),
  [
    'expiry (sweeper): PENDING_UPLOAD → EXPIRED',
    async () => {
      sweeperSees({ status: 'PENDING_UPLOAD', expiresAt: '2025-03-01T12:15:00.000Z' });
      await sweeper();
    },
  ],
  [
    'stall (sweeper): PROCESSING → FAILED',
    async () => {
      sweeperSees(PROCESSING);
      await sweeper();
    },
  ],
];

/** The sweeper's lease is free and its query of `record.status` finds `record`. */
function sweeperSees(record: Partial<UploadRecord>) {
  stored(record);
  ddb.on(UpdateCommand, { Key: { pk: 'SWEEPER', sk: 'STATE' } }).resolves({ Attributes: {} });
  ddb
    .on(QueryCommand)
    .resolves({ Items: [] })
    .on(QueryCommand, { ExpressionAttributeValues: { ':status': record.status } }, false)
    .resolves({ Items: [recordItem(record)] });
  s3.on(ListObjectVersionsCommand).resolves({ Versions: [] });
}

const sweeper = () =>
  makeSweeperHandler(() => ({
    store,
    sweepState: new SweepStateStore(TABLE_NAME, newDynamoDbClient()),
    objects: newObjectStore(),
    executions: new FakeExecutions(),
    bucket: BUCKET,
    now: () => NOW,
    processingTimeoutMs: 60_000,
    uploadTtlMs: 900_000,
    abandonedRecordRetentionSeconds: 90 * 86_400,
    sweep: {
      intervalMs: 60_000,
      budgetMs: 60_000,
      pageSize: 10,
      concurrency: 1,
      lostEventAfterMs: 1_000,
      expiryGraceMs: 1_000,
    },
  }))();

describe('one write per transition', () => {
  it.each(TRANSITIONS)(
    '%s: exactly one write, holding the status change and its event',
    async (_name, run) => {
      // Act
      await run();

      // Assert
      expect(writes()).toHaveLength(1);
    },
  );
});
