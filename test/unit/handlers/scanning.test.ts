import { CopyObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { ObjectStore } from '../../../functions/adapters/object-store.js';
import type { OnDemandScanner } from '../../../functions/adapters/on-demand-scanner.js';
import { ScanResultStore } from '../../../functions/adapters/scan-result-store.js';
import { UploadStore } from '../../../functions/adapters/upload-store.js';
import { nextEventTime } from '../../../functions/domain/audit-trail.js';
import type { ObjectRef, UploadRecord } from '../../../functions/domain/model.js';
import { GUARDDUTY_SOURCE, SCAN_RESULT_DETAIL_TYPE } from '../../../functions/domain/scan-result-event.js';
import { makeRescanHandler } from '../../../functions/rescan.js';
import { makeScanResultHandler } from '../../../functions/scan-result.js';
import { quarantinedEvent } from '../../../functions/domain/transition-events.js';
import * as samples from '../../fixtures/samples.js';
import { FakeAws } from '../statemachine/fake-aws.js';
import { OTHER_UPLOAD_ID, UPLOAD_ID, uploadRecord } from './aws-fakes.js';

/**
 * The scan-result intake (stores results by exact version; quarantines a promoted file a rescan
 * found infected) and the rescan (pages through PROCESSED uploads), over a real DynamoDB in
 * memory (dynalite) and a stateful fake S3.
 */

const BUCKET = 'airlock-test-bucket';
const NOW = new Date('2025-03-01T13:00:00.000Z');
const QUARANTINE_KEY = `quarantine/${UPLOAD_ID}`;
const CLEAN_KEY = `clean/${UPLOAD_ID}`;

let aws: FakeAws;
let tags: Array<{ key: string; versionId: string; tags: Record<string, string> }>;
beforeEach(async () => {
  aws = await FakeAws.create();
  tags = [];
  aws.s3
    .on(PutObjectTaggingCommand)
    .callsFake(
      (input: {
        Key: string;
        VersionId: string;
        Tagging: { TagSet: Array<{ Key: string; Value: string }> };
      }) => {
        tags.push({
          key: input.Key,
          versionId: input.VersionId,
          tags: Object.fromEntries(input.Tagging.TagSet.map((tag) => [tag.Key, tag.Value])),
        });
        return {};
      },
    );
});
afterEach(() => aws.restore());
afterAll(() => FakeAws.shutdown());

const intake = () =>
  makeScanResultHandler(() => ({
    results: new ScanResultStore(aws.table, aws.documentClient),
    store: new UploadStore(aws.table, aws.documentClient),
    objects: new ObjectStore(aws.s3Client),
    bucket: BUCKET,
    now: () => NOW,
  }));

type Answer = 'NO_THREATS_FOUND' | 'THREATS_FOUND' | 'FAILED';
function event(key: string, versionId: string, answer: Answer, bucket = BUCKET) {
  return {
    version: '0',
    id: `e-${key}-${answer}`,
    'detail-type': SCAN_RESULT_DETAIL_TYPE,
    source: GUARDDUTY_SOURCE,
    time: '2025-03-01T12:59:00Z',
    detail: {
      scanStatus: answer === 'FAILED' ? 'FAILED' : 'COMPLETED',
      s3ObjectDetails: { bucketName: bucket, objectKey: key, versionId, eTag: 'e' },
      scanResultDetails: {
        scanResultStatus: answer,
        threats: answer === 'THREATS_FOUND' ? [{ name: 'EICAR-Test-File (not a virus)' }] : null,
      },
    },
  };
}
async function storedResult(versionId: string) {
  const stored = await new ScanResultStore(aws.table, aws.documentClient).get(UPLOAD_ID, versionId);
  return stored?.kind === 'RESULT' ? stored.result : undefined;
}

/** An upload that ended `status` at `updatedAt` (the pipeline's writes: ISSUED, CLAIMED, the outcome). */
function finished(
  status: 'PROCESSED' | 'REJECTED',
  overrides: Partial<UploadRecord> & { uploadId: string; updatedAt: string },
): Promise<UploadRecord> {
  const { trailHead: _issuedOnly, ...upload } = uploadRecord({
    createdAt: '2025-03-01T09:00:00.000Z',
    ...overrides,
    status,
  });
  return aws.putOutcome(
    { ...upload, versionId: 'v1' },
    status === 'PROCESSED'
      ? { status, storedKey: `clean/${upload.uploadId}`, scan: { status: 'NO_THREATS_FOUND' } }
      : {
          status,
          storedKey: `rejected/${upload.uploadId}`,
          reasons: [{ code: 'TYPE_MISMATCH', message: 'The content is not what its type says.' }],
        },
  );
}

describe('scan-result intake: results of quarantine versions', () => {
  it('stores a result by the exact version it is about', async () => {
    // Act
    const outcome = await intake()(event(QUARANTINE_KEY, 'v1', 'NO_THREATS_FOUND'));

    // Assert
    expect(outcome).toEqual({ handled: 'stored' });
    expect((await storedResult('v1'))?.scanResultDetails.scanResultStatus).toBe('NO_THREATS_FOUND');
    expect(await storedResult('v2')).toBeUndefined();
  });

  it('never replaces a result that decided (a late or duplicate delivery), but replaces a failed one', async () => {
    // Arrange
    await intake()(event(QUARANTINE_KEY, 'v1', 'FAILED'));

    // Act
    const answered = await intake()(event(QUARANTINE_KEY, 'v1', 'THREATS_FOUND'));
    const late = await intake()(event(QUARANTINE_KEY, 'v1', 'NO_THREATS_FOUND'));

    // Assert
    expect([answered, late]).toEqual([{ handled: 'stored' }, { handled: 'duplicate' }]);
    expect((await storedResult('v1'))?.scanResultDetails.scanResultStatus).toBe('THREATS_FOUND');
  });

  it("ignores results about another bucket's objects or keys that are not uploads", async () => {
    expect(await intake()(event(QUARANTINE_KEY, 'v1', 'NO_THREATS_FOUND', 'someone-else'))).toEqual({
      handled: 'ignored',
    });
    expect(await intake()(event('quarantine/../etc', 'v1', 'NO_THREATS_FOUND'))).toEqual({
      handled: 'ignored',
    });
    expect(await aws.items()).toEqual([]);
  });

  it('refuses an event that is not an Object Scan Result (EventBridge retries it, then its DLQ keeps it)', async () => {
    await expect(intake()({ 'detail-type': 'Object Created', detail: {} })).rejects.toMatchObject({
      name: 'InvalidTaskInputError',
    });
  });
});

describe('scan-result intake: a rescan finds a promoted file infected', () => {
  async function promoted() {
    const record = await finished('PROCESSED', {
      uploadId: UPLOAD_ID,
      updatedAt: '2025-03-01T12:00:00.000Z',
    });
    aws.putObject(CLEAN_KEY, 'c1', samples.pdf());
    return record;
  }

  it('tags the copy first (downloads stop), records QUARANTINED with its audit event, keeps it in rejected/, deletes it from clean/', async () => {
    // Arrange
    await promoted();
    const history = await aws.auditActions(UPLOAD_ID);
    const order: string[] = [];
    aws.s3
      .on(PutObjectTaggingCommand)
      .callsFake(
        (input: {
          Key: string;
          VersionId: string;
          Tagging: { TagSet: Array<{ Key: string; Value: string }> };
        }) => {
          order.push('tag');
          tags.push({
            key: input.Key,
            versionId: input.VersionId,
            tags: Object.fromEntries(input.Tagging.TagSet.map((t) => [t.Key, t.Value])),
          });
          return {};
        },
      );
    aws.beforeDynamo('UpdateItemCommand', { pk: `UPLOAD#${UPLOAD_ID}`, sk: 'RECORD' }, () => {
      order.push('record');
    });

    // Act
    const outcome = await intake()(event(CLEAN_KEY, 'c1', 'THREATS_FOUND'));

    // Assert
    expect(outcome).toEqual({ handled: 'quarantined' });
    expect(tags).toEqual([{ key: CLEAN_KEY, versionId: 'c1', tags: { 'airlock-status': 'quarantined' } }]);
    expect(order).toEqual(['tag', 'record']);
    expect(await aws.record(UPLOAD_ID)).toMatchObject({
      status: 'QUARANTINED',
      previousStatus: 'PROCESSED',
      storedKey: `rejected/${UPLOAD_ID}`,
      reasons: [{ code: 'MALWARE_DETECTED', message: 'Malware detected: EICAR-Test-File (not a virus).' }],
      scan: { status: 'THREATS_FOUND', threats: ['EICAR-Test-File (not a virus)'] },
    });
    expect(await aws.auditActions(UPLOAD_ID)).toEqual([...history, 'QUARANTINED']);
    expect(aws.objectsUnder(`rejected/${UPLOAD_ID}@`)).toHaveLength(1);
    expect(aws.hasObject(CLEAN_KEY, 'c1')).toBe(false);
    // The copy does not carry the source's tags over (nothing reads them from the source).
    expect(aws.s3.commandCalls(CopyObjectCommand)[0]?.args[0].input).toMatchObject({
      TaggingDirective: 'REPLACE',
    });
  });

  it('a repeated detection finishes what is left and writes nothing twice', async () => {
    // Arrange: the first handling stopped after the record was written (the copy failed).
    await promoted();
    const history = await aws.auditActions(UPLOAD_ID);
    aws.s3
      .on(CopyObjectCommand)
      .rejectsOnce(Object.assign(new Error('slow down'), { name: 'SlowDown', $retryable: {} }));
    await expect(intake()(event(CLEAN_KEY, 'c1', 'THREATS_FOUND'))).rejects.toMatchObject({
      name: 'TransientError',
    });
    const quarantinedAt = (await aws.record(UPLOAD_ID))?.updatedAt;
    const recordWrites = () =>
      aws.dynamoCallsOf('UpdateItemCommand', { pk: `UPLOAD#${UPLOAD_ID}`, sk: 'RECORD' });
    const writesBefore = recordWrites().length;

    // Act
    aws.s3.on(CopyObjectCommand).callsFake((input) => {
      aws.putObject(`rejected/${UPLOAD_ID}`, 'r1', samples.pdf());
      aws.heads.set(`rejected/${UPLOAD_ID}`, {
        VersionId: 'r1',
        Metadata: (input as { Metadata: Record<string, string> }).Metadata,
      });
      return { VersionId: 'r1' };
    });
    await intake()(event(CLEAN_KEY, 'c1', 'THREATS_FOUND'));
    await intake()(event(CLEAN_KEY, 'c1', 'THREATS_FOUND'));

    // Assert
    expect(await aws.record(UPLOAD_ID)).toMatchObject({ status: 'QUARANTINED', updatedAt: quarantinedAt });
    expect(await aws.auditActions(UPLOAD_ID)).toEqual([...history, 'QUARANTINED']);
    expect(recordWrites()).toHaveLength(writesBefore); // nor tried to write the record again
    expect(aws.s3.commandCalls(CopyObjectCommand)).toHaveLength(2); // the failed one, then one copy
    expect(aws.hasObject(CLEAN_KEY, 'c1')).toBe(false);
  });

  it('leaves a promoted file that the rescan found clean, keeping the result as evidence', async () => {
    await promoted();
    expect(await intake()(event(CLEAN_KEY, 'c1', 'NO_THREATS_FOUND'))).toEqual({ handled: 'rescanned' });
    expect((await aws.record(UPLOAD_ID))?.status).toBe('PROCESSED');
    expect(tags).toEqual([]);
    const rescans = (await aws.items()).filter((item) => String(item.sk).startsWith('RESCAN#'));
    expect(rescans).toEqual([
      expect.objectContaining({ pk: `UPLOAD#${UPLOAD_ID}`, versionId: 'c1', result: expect.any(Object) }),
    ]);
  });

  it('does not quarantine an upload that is not PROCESSED', async () => {
    await finished('REJECTED', { uploadId: UPLOAD_ID, updatedAt: '2025-03-01T12:00:00.000Z' });
    const history = await aws.auditActions(UPLOAD_ID);
    await intake()(event(CLEAN_KEY, 'c1', 'THREATS_FOUND'));
    expect((await aws.record(UPLOAD_ID))?.status).toBe('REJECTED');
    expect(await aws.auditActions(UPLOAD_ID)).toEqual(history);
    expect(tags).toEqual([]);
  });

  it('the store writes QUARANTINED only from PROCESSED, whatever record it is handed', async () => {
    // Arrange: a REJECTED upload, and a PROCESSED one (the write that must go through).
    const rejected = await finished('REJECTED', {
      uploadId: UPLOAD_ID,
      updatedAt: '2025-03-01T12:00:00.000Z',
    });
    const processed = await finished('PROCESSED', {
      uploadId: OTHER_UPLOAD_ID,
      updatedAt: '2025-03-01T12:00:00.000Z',
    });
    const store = new UploadStore(aws.table, aws.documentClient);
    const quarantine = (record: UploadRecord) => {
      const reasons = [{ code: 'MALWARE_DETECTED' as const, message: 'Malware detected: EICAR.' }];
      const scan = { status: 'THREATS_FOUND' as const, threats: ['EICAR'] };
      return store.quarantine({
        record,
        event: quarantinedEvent({ record, at: nextEventTime(NOW, record.trailHead), reasons, scan }),
        reasons,
        scan,
        storedKey: `rejected/${record.uploadId}`,
      });
    };

    // Act
    const fromRejected = await quarantine(rejected);
    const fromProcessed = await quarantine(processed);

    // Assert
    expect(fromRejected).toEqual({ written: false });
    expect(await aws.record(UPLOAD_ID)).toEqual(rejected);
    expect(fromProcessed).toMatchObject({ written: true, record: { status: 'QUARANTINED' } });
  });
});

describe('rescan', () => {
  const requested: ObjectRef[] = [];
  const scanner: OnDemandScanner = {
    engine: 'test',
    request: (object) => {
      requested.push(object);
      return Promise.resolve();
    },
  };
  beforeEach(() => (requested.length = 0));

  function rescan(clock: () => Date = () => NOW, budgetMs = 60_000) {
    return makeRescanHandler(() => ({
      store: new UploadStore(aws.table, aws.documentClient),
      objects: new ObjectStore(aws.s3Client),
      scanner,
      bucket: BUCKET,
      now: clock,
      pageSize: 1,
      concurrency: 1,
      budgetMs,
    }));
  }
  /** Two PROCESSED uploads (the rescan reads one a page), only the older one with a copy in clean/. */
  async function processedPages() {
    for (const [index, uploadId] of [UPLOAD_ID, OTHER_UPLOAD_ID].entries()) {
      await finished('PROCESSED', { uploadId, updatedAt: `2025-03-01T1${index}:00:00.000Z` });
    }
    aws.putObject(CLEAN_KEY, 'c1', samples.pdf());
    aws.heads.set(CLEAN_KEY, { VersionId: 'c1', Metadata: {} });
  }

  it('asks the engine to scan the current version of every promoted copy, page after page', async () => {
    await processedPages();
    const report = await rescan()();
    expect(report).toEqual({
      requested: [UPLOAD_ID],
      skipped: [{ uploadId: OTHER_UPLOAD_ID, why: 'no promoted copy in clean/' }],
    });
    expect(requested).toEqual([{ bucket: BUCKET, key: CLEAN_KEY, versionId: 'c1' }]);
    const queries = aws.dynamoCallsOf('QueryCommand').map((call) => call.input);
    expect(queries[0]).toMatchObject({
      IndexName: 'byStatus',
      ExpressionAttributeValues: { ':status': 'PROCESSED' },
      ScanIndexForward: true,
      Limit: 1,
    });
    // Page after page: each next page starts where the one before ended.
    expect(queries.length).toBeGreaterThanOrEqual(2);
    expect(queries[1]).toMatchObject({
      ExclusiveStartKey: expect.objectContaining({ pk: `UPLOAD#${UPLOAD_ID}` }),
    });
  });

  it('stops at its budget with a cursor, and resumes from it', async () => {
    // Arrange: a clock that passes the budget once the first upload is handled.
    await processedPages();
    let ticks = 0;
    const clock = () => new Date(NOW.getTime() + (ticks++ > 2 ? 120_000 : 0));

    // Act
    const first = await rescan(clock, 60_000)();
    const second = await rescan()({ cursor: first.cursor });

    // Assert
    expect(first.requested).toEqual([UPLOAD_ID]);
    expect(first.cursor).toEqual(expect.any(String));
    expect(second).toEqual({
      requested: [],
      skipped: [{ uploadId: OTHER_UPLOAD_ID, why: 'no promoted copy in clean/' }],
    });
    expect(requested).toHaveLength(1);
  });

  it('refuses a cursor it could not have made, and unknown fields', async () => {
    await expect(rescan()({ cursor: 'bm90LWEtY3Vyc29y' })).rejects.toMatchObject({
      name: 'InvalidCursorError',
    });
    await expect(rescan()({ uploadIds: [] } as never)).rejects.toMatchObject({ name: 'InvalidRequestError' });
  });
});
