import { CopyObjectCommand, HeadObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ObjectStore } from '../../../functions/adapters/object-store.js';
import type { OnDemandScanner } from '../../../functions/adapters/on-demand-scanner.js';
import { ScanResultStore } from '../../../functions/adapters/scan-result-store.js';
import { UploadStore } from '../../../functions/adapters/upload-store.js';
import type { ObjectRef } from '../../../functions/domain/model.js';
import { GUARDDUTY_SOURCE, SCAN_RESULT_DETAIL_TYPE } from '../../../functions/domain/scan-result-event.js';
import { makeRescanHandler } from '../../../functions/rescan.js';
import { makeScanResultHandler } from '../../../functions/scan-result.js';
import * as samples from '../../fixtures/samples.js';
import { FakeAws } from '../statemachine/fake-aws.js';
import { OTHER_UPLOAD_ID, UPLOAD_ID, recordItem } from './aws-fakes.js';

/**
 * The scan-result intake (stores results by exact version; quarantines a promoted file a rescan
 * found infected) and the rescan (pages through PROCESSED uploads), over a stateful fake AWS.
 */

const BUCKET = 'airlock-test-bucket';
const TABLE = 'airlock-test-table';
const NOW = new Date('2025-03-01T13:00:00.000Z');
const QUARANTINE_KEY = `quarantine/${UPLOAD_ID}`;
const CLEAN_KEY = `clean/${UPLOAD_ID}`;

let aws: FakeAws;
let tags: Array<{ key: string; versionId: string; tags: Record<string, string> }>;
beforeEach(() => {
  aws = new FakeAws();
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

const intake = () =>
  makeScanResultHandler(() => ({
    results: new ScanResultStore(TABLE, aws.documentClient),
    store: new UploadStore(TABLE, aws.documentClient),
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
const storedResult = (versionId: string) =>
  aws.items.get(`UPLOAD#${UPLOAD_ID}|SCAN#${versionId}`)?.result as
    { scanResultDetails: { scanResultStatus: string } } | undefined;

describe('scan-result intake: results of quarantine versions', () => {
  it('stores a result by the exact version it is about', async () => {
    // Act
    const outcome = await intake()(event(QUARANTINE_KEY, 'v1', 'NO_THREATS_FOUND'));

    // Assert
    expect(outcome).toEqual({ handled: 'stored' });
    expect(storedResult('v1')?.scanResultDetails.scanResultStatus).toBe('NO_THREATS_FOUND');
    expect(storedResult('v2')).toBeUndefined();
  });

  it('never replaces a result that decided (a late or duplicate delivery), but replaces a failed one', async () => {
    // Arrange
    await intake()(event(QUARANTINE_KEY, 'v1', 'FAILED'));

    // Act
    const answered = await intake()(event(QUARANTINE_KEY, 'v1', 'THREATS_FOUND'));
    const late = await intake()(event(QUARANTINE_KEY, 'v1', 'NO_THREATS_FOUND'));

    // Assert
    expect([answered, late]).toEqual([{ handled: 'stored' }, { handled: 'duplicate' }]);
    expect(storedResult('v1')?.scanResultDetails.scanResultStatus).toBe('THREATS_FOUND');
  });

  it("ignores results about another bucket's objects or keys that are not uploads", async () => {
    expect(await intake()(event(QUARANTINE_KEY, 'v1', 'NO_THREATS_FOUND', 'someone-else'))).toEqual({
      handled: 'ignored',
    });
    expect(await intake()(event('quarantine/../etc', 'v1', 'NO_THREATS_FOUND'))).toEqual({
      handled: 'ignored',
    });
    expect(aws.items.size).toBe(0);
  });

  it('refuses an event that is not an Object Scan Result (EventBridge retries it, then its DLQ keeps it)', async () => {
    await expect(intake()({ 'detail-type': 'Object Created', detail: {} })).rejects.toMatchObject({
      name: 'InvalidTaskInputError',
    });
  });
});

describe('scan-result intake: a rescan finds a promoted file infected', () => {
  function promoted() {
    aws.putRecord({
      ...recordItem({ status: 'PROCESSED', versionId: 'v1', updatedAt: '2025-03-01T12:00:00.000Z' }),
      uploadId: UPLOAD_ID,
      storedKey: CLEAN_KEY,
      scan: { status: 'NO_THREATS_FOUND' },
    });
    aws.putObject(CLEAN_KEY, 'c1', samples.pdf());
  }

  it('tags the copy first (downloads stop), records QUARANTINED with its audit event, keeps it in rejected/, deletes it from clean/', async () => {
    // Arrange
    promoted();
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
    const applyUpdate = (aws as unknown as { applyUpdate(input: unknown): unknown }).applyUpdate.bind(aws);
    aws.ddb.on(UpdateCommand).callsFake((input: unknown) => {
      order.push('record');
      return applyUpdate(input);
    });

    // Act
    const outcome = await intake()(event(CLEAN_KEY, 'c1', 'THREATS_FOUND'));

    // Assert
    expect(outcome).toEqual({ handled: 'quarantined' });
    expect(tags).toEqual([{ key: CLEAN_KEY, versionId: 'c1', tags: { 'airlock-status': 'quarantined' } }]);
    expect(order).toEqual(['tag', 'record']);
    expect(aws.record(UPLOAD_ID)).toMatchObject({
      status: 'QUARANTINED',
      previousStatus: 'PROCESSED',
      storedKey: `rejected/${UPLOAD_ID}`,
      reasons: [{ code: 'MALWARE_DETECTED', message: 'Malware detected: EICAR-Test-File (not a virus).' }],
      scan: { status: 'THREATS_FOUND', threats: ['EICAR-Test-File (not a virus)'] },
    });
    expect(aws.auditActions(UPLOAD_ID)).toEqual(['QUARANTINED']);
    expect(aws.objectsUnder(`rejected/${UPLOAD_ID}@`)).toHaveLength(1);
    expect(aws.hasObject(CLEAN_KEY, 'c1')).toBe(false);
    // The copy does not carry the source's tags over (nothing reads them from the source).
    expect(aws.s3.commandCalls(CopyObjectCommand)[0]?.args[0].input).toMatchObject({
      TaggingDirective: 'REPLACE',
    });
  });

  it('a repeated detection finishes what is left and writes nothing twice', async () => {
    // Arrange: the first handling stopped after the record was written (the copy failed).
    promoted();
    aws.s3
      .on(CopyObjectCommand)
      .rejectsOnce(Object.assign(new Error('slow down'), { name: 'SlowDown', $retryable: {} }));
    await expect(intake()(event(CLEAN_KEY, 'c1', 'THREATS_FOUND'))).rejects.toMatchObject({
      name: 'TransientError',
    });
    const quarantinedAt = aws.record(UPLOAD_ID)?.updatedAt;

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
    expect(aws.record(UPLOAD_ID)).toMatchObject({ status: 'QUARANTINED', updatedAt: quarantinedAt });
    expect(aws.auditActions(UPLOAD_ID)).toEqual(['QUARANTINED']);
    expect(aws.s3.commandCalls(CopyObjectCommand)).toHaveLength(2); // the failed one, then one copy
    expect(aws.hasObject(CLEAN_KEY, 'c1')).toBe(false);
  });

  it('leaves a promoted file that the rescan found clean, keeping the result as evidence', async () => {
    promoted();
    expect(await intake()(event(CLEAN_KEY, 'c1', 'NO_THREATS_FOUND'))).toEqual({ handled: 'rescanned' });
    expect(aws.record(UPLOAD_ID)?.status).toBe('PROCESSED');
    expect(tags).toEqual([]);
    expect([...aws.items.keys()].filter((key) => key.includes('|RESCAN#'))).toHaveLength(1);
  });

  it('does not quarantine an upload that is not PROCESSED', async () => {
    aws.putRecord({ ...recordItem({ status: 'REJECTED' }), uploadId: UPLOAD_ID });
    await intake()(event(CLEAN_KEY, 'c1', 'THREATS_FOUND'));
    expect(aws.record(UPLOAD_ID)?.status).toBe('REJECTED');
    expect(tags).toEqual([]);
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
      store: new UploadStore(TABLE, aws.documentClient),
      objects: new ObjectStore(aws.s3Client),
      scanner,
      bucket: BUCKET,
      now: clock,
      pageSize: 1,
      concurrency: 1,
      budgetMs,
    }));
  }
  function processedPages() {
    const pages = [UPLOAD_ID, OTHER_UPLOAD_ID].map((uploadId, index) => ({
      Items: [recordItem({ uploadId, status: 'PROCESSED', updatedAt: `2025-03-01T1${index}:00:00.000Z` })],
      ...(index === 0
        ? {
            LastEvaluatedKey: {
              pk: `UPLOAD#${uploadId}`,
              sk: 'RECORD',
              statusKey: 'PROCESSED',
              updatedKey: `2025-03-01T10:00:00.000Z#${uploadId}`,
            },
          }
        : {}),
    }));
    aws.ddb
      .on(QueryCommand)
      .callsFake((input: { ExclusiveStartKey?: unknown }) => (input.ExclusiveStartKey ? pages[1] : pages[0]));
    aws.s3
      .on(HeadObjectCommand)
      .callsFake((input: { Key: string }) =>
        input.Key === `clean/${UPLOAD_ID}`
          ? { VersionId: 'c1', Metadata: {} }
          : Promise.reject(
              Object.assign(new Error('nf'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
            ),
      );
  }

  it('asks the engine to scan the current version of every promoted copy, page after page', async () => {
    processedPages();
    const report = await rescan()();
    expect(report).toEqual({
      requested: [UPLOAD_ID],
      skipped: [{ uploadId: OTHER_UPLOAD_ID, why: 'no promoted copy in clean/' }],
    });
    expect(requested).toEqual([{ bucket: BUCKET, key: CLEAN_KEY, versionId: 'c1' }]);
    expect(aws.ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      IndexName: 'byStatus',
      ExpressionAttributeValues: { ':status': 'PROCESSED' },
    });
  });

  it('stops at its budget with a cursor, and resumes from it', async () => {
    // Arrange: a clock that passes the budget once the first upload is handled.
    processedPages();
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
