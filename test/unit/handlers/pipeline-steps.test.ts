import { FAKE_HEAD_HASH, formatHash } from '../../support/trail-fixtures.js';
import 'aws-sdk-client-mock-jest';
import { Readable } from 'node:stream';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  CopyObjectCommand,
  HeadObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { makeClaimHandler } from '../../../functions/claim.js';
import { makePromoteHandler } from '../../../functions/promote.js';
import { makeRecordOutcomeHandler } from '../../../functions/record-outcome.js';
import { makeRejectHandler } from '../../../functions/reject.js';
import { makeReleaseQuarantineHandler } from '../../../functions/release-quarantine.js';
import { makeValidateHandler } from '../../../functions/validate.js';
import { MAX_LISTED_DISCARDS, REDRIVE_CEILING } from '../../../functions/domain/audit-trail.js';
import type { RecordedEvent, UploadRecord } from '../../../functions/domain/model.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import * as samples from '../../fixtures/samples.js';
import {
  BUCKET,
  OWNER,
  TABLE_NAME,
  UPLOAD_ID,
  conditionalCheckFailed,
  dynamoValidationException,
  newObjectStore,
  newUploadStore,
  recordItem,
  s3Error,
  throttling,
} from './aws-fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

const NOW = new Date('2025-03-01T12:00:10.000Z');
const EXECUTION_ID = 'arn:aws:states:us-east-1:123456789012:execution:airlock-pipeline:exec-1';
/** The execution as the trail names it: its name, never its ARN. */
const EXECUTION_NAME = 'exec-1';
const OTHER_EXECUTION_ID = 'arn:aws:states:us-east-1:123456789012:execution:airlock-pipeline:exec-2';
const VERSION_ID = '3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY';
const KEY = `quarantine/${UPLOAD_ID}`;
const PDF = samples.pdf();
const PDF_SHA256 = samples.sha256Hex(PDF);

const store = newUploadStore();
const objects = newObjectStore();

/** The "Object Created" detail as EventBridge delivers it. */
const detail = (key = KEY, versionId = VERSION_ID) => ({
  bucket: { name: BUCKET },
  object: { key, size: PDF.length, 'version-id': versionId, sequencer: '0062E99A88DC407460', etag: 'abc' },
});
const objectRef = (key = KEY) => ({ bucket: BUCKET, key, versionId: VERSION_ID });

const updateInput = (index = 0): UpdateCommandInput => {
  const call = ddb.commandCalls(UpdateCommand)[index];
  if (call === undefined) throw new Error(`No UpdateCommand #${index} was sent.`);
  return call.args[0].input;
};

/** A rejection, caught, so that its name and message can be asserted. */
async function failure(run: Promise<unknown>): Promise<Error> {
  try {
    await run;
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected the step to throw, but it returned.');
}

/** An UpdateItem ALL_NEW result: the stored record with the update's values applied. */
function updatedItem(
  before: Partial<UploadRecord>,
  input: UpdateCommandInput,
  changes: Partial<UploadRecord>,
) {
  const values = input.ExpressionAttributeValues ?? {};
  return {
    Attributes: recordItem({
      ...before,
      previousStatus: before.status ?? 'PENDING_UPLOAD',
      updatedAt: String(values[':updatedAt']),
      executionId: String(values[':executionId']),
      trailHead: values[':head'] as UploadRecord['trailHead'],
      ...changes,
    }),
  };
}

/** The event an update appends to the trail (there is exactly one, or none). */
const appended = (input: UpdateCommandInput) => {
  const events = input.ExpressionAttributeValues?.[':events'] as RecordedEvent[] | undefined;
  expect(events?.length ?? 0).toBeLessThanOrEqual(1);
  return events?.[0];
};
const writes = () => ddb.commandCalls(PutCommand).length + ddb.commandCalls(UpdateCommand).length;

beforeEach(() => {
  ddb.reset();
  s3.reset();
  // By default no copy exists yet at the destination.
  s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
});

describe('Claim', () => {
  const released: Array<[string, string]> = [];
  const quotas = {
    release: (owner: string, uploadId: string) => Promise.resolve(void released.push([owner, uploadId])),
  };
  const handler = makeClaimHandler(() => ({ store, now: () => NOW, quotas }));
  const input = (key = KEY) => ({
    detail: detail(key),
    eventTime: '2025-03-01T12:00:05Z',
    executionId: EXECUTION_ID,
  });
  const ISSUED_AT = '2025-03-01T11:59:00.000Z';
  const PENDING: Partial<UploadRecord> = {
    status: 'PENDING_UPLOAD',
    size: PDF.length,
    declaredSha256: PDF_SHA256,
    trailHead: { seq: 1, at: ISSUED_AT, hash: FAKE_HEAD_HASH },
  };

  const claimSucceeds = (before: Partial<UploadRecord> = PENDING) =>
    ddb
      .on(UpdateCommand)
      .callsFake((update: UpdateCommandInput) =>
        updatedItem(before, update, { status: 'PROCESSING', versionId: VERSION_ID }),
      );

  it("gives the owner's open grant back once the claim took the upload out of PENDING_UPLOAD", async () => {
    // Arrange
    released.length = 0;
    ddb.on(GetCommand).resolves({ Item: recordItem(PENDING) });
    claimSucceeds();
    // Act
    await handler(input());
    // Assert
    expect(released).toEqual([[OWNER, UPLOAD_ID]]);
  });

  it('claims even when the quota release fails (the quota heals it later)', async () => {
    // Arrange
    const failing = makeClaimHandler(() => ({
      store,
      now: () => NOW,
      quotas: { release: () => Promise.reject(throttling()) },
    }));
    ddb.on(GetCommand).resolves({ Item: recordItem(PENDING) });
    claimSucceeds();
    // Act
    const result = await failing(input());
    // Assert
    expect(result).toMatchObject({ outcome: 'CLAIMED' });
  });

  it('claims a PENDING_UPLOAD with one conditional update that holds its CLAIMED event, and nothing else', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({ Item: recordItem(PENDING) });
    claimSucceeds();
    // Act
    await handler(input());
    // Assert: one write, guarded by the status and by the trail's head as read
    expect(writes()).toBe(1);
    const update = updateInput();
    expect(update.TableName).toBe(TABLE_NAME);
    expect(update.Key).toEqual({ pk: `UPLOAD#${UPLOAD_ID}`, sk: 'RECORD' });
    expect(update.ConditionExpression).toBe(
      'attribute_exists(pk) AND #trailHead.#seq = :expectedSeq AND #status = :from',
    );
    expect(update.UpdateExpression).toContain('#events = list_append(#events, :events)');
    expect(update.UpdateExpression).toMatch(/ REMOVE .*#ttl/);
    expect(update.ExpressionAttributeNames).toMatchObject({ '#status': 'status', '#ttl': 'ttl' });
    expect(update.ExpressionAttributeValues).toMatchObject({
      ':expectedSeq': 1,
      ':from': 'PENDING_UPLOAD',
      ':status': 'PROCESSING',
      ':versionId': VERSION_ID,
      ':executionId': EXECUTION_ID,
      ':updatedAt': NOW.toISOString(),
      ':head': { seq: 2, at: NOW.toISOString() },
    });
    // Chained to the head the write was conditioned on (the record as read).
    const expected = {
      seq: 2,
      prevHash: FAKE_HEAD_HASH,
      uploadId: UPLOAD_ID,
      at: NOW.toISOString(),
      actor: { type: 'system' as const, id: 'claim' },
      action: 'CLAIMED' as const,
      from: 'PENDING_UPLOAD' as const,
      to: 'PROCESSING' as const,
      reasons: [],
      versionId: VERSION_ID,
      executionId: EXECUTION_NAME,
    };
    expect(appended(update)).toEqual({ ...expected, hash: formatHash(expected) });
    expect(update.ReturnValues).toBe('ALL_NEW');
  });

  it('reads the record consistently before deciding', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({ Item: recordItem(PENDING) });
    claimSucceeds();
    // Act
    await handler(input());
    // Assert
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      Key: { pk: `UPLOAD#${UPLOAD_ID}`, sk: 'RECORD' },
      ConsistentRead: true,
    });
  });

  it('returns CLAIMED with the object and the declared content type, size and sha256', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({ Item: recordItem(PENDING) });
    claimSucceeds();
    // Act
    const result = await handler(input());
    // Assert
    expect(result).toMatchObject({
      outcome: 'CLAIMED',
      uploadId: UPLOAD_ID,
      object: { bucket: BUCKET, key: KEY, versionId: VERSION_ID },
      declared: { contentType: 'application/pdf', size: PDF.length, sha256: PDF_SHA256 },
    });
  });

  it("writes the claim strictly after the trail's last event when the clock lags behind it", async () => {
    // Arrange
    const later = '2025-03-01T12:00:30.000Z';
    const record = { ...PENDING, updatedAt: later, trailHead: { seq: 1, at: later, hash: FAKE_HEAD_HASH } };
    ddb.on(GetCommand).resolves({ Item: recordItem(record) });
    claimSucceeds(record);
    // Act
    await handler(input());
    // Assert
    expect(updateInput().ExpressionAttributeValues?.[':updatedAt']).toBe('2025-03-01T12:00:30.001Z');
    expect(appended(updateInput())?.at).toBe('2025-03-01T12:00:30.001Z');
  });

  it('ends as DUPLICATE, writing nothing more, when the update loses to another execution of the same version', async () => {
    // Arrange
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: recordItem(PENDING) })
      .resolvesOnce({
        Item: recordItem({
          ...PENDING,
          status: 'PROCESSING',
          versionId: VERSION_ID,
          executionId: OTHER_EXECUTION_ID,
        }),
      });
    ddb.on(UpdateCommand).rejects(conditionalCheckFailed());
    // Act
    const result = await handler(input());
    // Assert
    expect(result).toEqual({ outcome: 'DUPLICATE', uploadId: UPLOAD_ID, object: objectRef() });
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 2);
    expect(writes()).toBe(1);
  });

  it("audits an object with no record as UNSOLICITED in its key's own trail, with one write", async () => {
    // Arrange: no record, and no trail yet for the key
    ddb.on(GetCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    // Act
    const result = await handler(input());
    // Assert
    expect(result).toMatchObject({
      outcome: 'DISCARD',
      uploadId: UPLOAD_ID,
      object: objectRef(),
      reason: { code: 'UNSOLICITED' },
    });
    expect(writes()).toBe(1);
    const update = updateInput();
    expect(update.Key).toEqual({ pk: `UPLOAD#${UPLOAD_ID}`, sk: 'UNSOLICITED' });
    expect(update.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(appended(update)).toMatchObject({
      seq: 1,
      action: 'DISCARDED',
      actor: { type: 'system', id: 'claim' },
      from: null,
      to: null,
      reasons: [expect.objectContaining({ code: 'UNSOLICITED' })],
      versionId: VERSION_ID,
      executionId: EXECUTION_NAME,
    });
    expect(update.ExpressionAttributeValues?.[':versions']).toEqual([VERSION_ID]);
  });

  it.each([
    ['a name that is not a ULID', 'quarantine/evil.exe', 'evil.exe'],
    ['a lowercase ULID', `quarantine/${UPLOAD_ID.toLowerCase()}`, UPLOAD_ID.toLowerCase()],
    ['a nested key', `quarantine/${UPLOAD_ID}/x`, `${UPLOAD_ID}/x`],
  ])('discards %s as UNSOLICITED without reading any record', async (_label, key, auditId) => {
    // Arrange
    ddb.on(GetCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    // Act
    const result = await handler(input(key));
    // Assert: only the key's own trail is read and written
    expect(result).toMatchObject({ outcome: 'DISCARD', reason: { code: 'UNSOLICITED' } });
    expect(ddb.commandCalls(GetCommand).map((call) => call.args[0].input.Key)).toEqual([
      { pk: `UPLOAD#${auditId}`, sk: 'UNSOLICITED' },
    ]);
    expect(updateInput().Key).toEqual({ pk: `UPLOAD#${auditId}`, sk: 'UNSOLICITED' });
    expect(appended(updateInput())).toMatchObject({ uploadId: auditId, action: 'DISCARDED' });
  });

  it('lists another version of a processed upload as ALREADY_PROCESSED in its trail, changing no status', async () => {
    // Arrange
    const processed = {
      ...PENDING,
      status: 'PROCESSED' as const,
      versionId: 'older-version',
      executionId: OTHER_EXECUTION_ID,
      trailHead: { seq: 3, at: '2025-03-01T12:00:09.000Z', hash: FAKE_HEAD_HASH },
    };
    ddb.on(GetCommand).resolves({ Item: recordItem(processed) });
    ddb.on(UpdateCommand).resolves({ Attributes: recordItem(processed) });
    // Act
    const result = await handler(input());
    // Assert
    expect(result).toMatchObject({ outcome: 'DISCARD', reason: { code: 'ALREADY_PROCESSED' } });
    expect(writes()).toBe(1);
    const update = updateInput();
    expect(update.ConditionExpression).toBe(
      'attribute_exists(pk) AND #trailHead.#seq = :expectedSeq AND NOT contains(#discarded, :version)',
    );
    expect(update.ExpressionAttributeValues).not.toHaveProperty(':status');
    expect(update.ExpressionAttributeValues).toMatchObject({ ':expectedSeq': 3, ':versions': [VERSION_ID] });
    expect(appended(update)).toMatchObject({
      seq: 4,
      action: 'DISCARDED',
      from: 'PROCESSED',
      to: 'PROCESSED',
      at: NOW.toISOString(),
    });
  });

  it('writes nothing for a version whose discard is already listed (a retried step)', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({
      Item: recordItem({
        ...PENDING,
        status: 'PROCESSED',
        versionId: 'older-version',
        executionId: OTHER_EXECUTION_ID,
        discardedVersions: [VERSION_ID],
      }),
    });
    // Act
    const result = await handler(input());
    // Assert
    expect(result).toMatchObject({ outcome: 'DISCARD', reason: { code: 'ALREADY_PROCESSED' } });
    expect(writes()).toBe(0);
  });

  it(`only counts a discard once ${MAX_LISTED_DISCARDS} are listed: the trail stays bounded`, async () => {
    // Arrange
    const listed = Array.from({ length: MAX_LISTED_DISCARDS }, (_, index) => `v-${index}`);
    ddb.on(GetCommand).resolves({
      Item: recordItem({
        ...PENDING,
        status: 'PROCESSED',
        versionId: 'older-version',
        executionId: OTHER_EXECUTION_ID,
        discardedVersions: listed,
      }),
    });
    ddb.on(UpdateCommand).resolves({});
    // Act
    const result = await handler(input());
    // Assert
    expect(result).toMatchObject({ outcome: 'DISCARD' });
    expect(writes()).toBe(1);
    expect(updateInput().UpdateExpression).toBe(
      'SET lastUnlistedDiscard = :version ADD unlistedDiscards :one',
    );
    expect(updateInput().ExpressionAttributeValues).not.toHaveProperty(':events');
  });

  it('redrives a FAILED upload of the same version only if its version is still that one', async () => {
    // Arrange
    const failed = {
      ...PENDING,
      status: 'FAILED' as const,
      versionId: VERSION_ID,
      trailHead: { seq: 3, at: ISSUED_AT, hash: FAKE_HEAD_HASH },
    };
    ddb.on(GetCommand).resolves({ Item: recordItem(failed) });
    claimSucceeds(failed);
    // Act
    const result = await handler(input());
    // Assert
    expect(result).toMatchObject({ outcome: 'CLAIMED' });
    expect(writes()).toBe(1);
    expect(updateInput().ConditionExpression).toContain(
      '#status = :from AND (attribute_not_exists(versionId) OR versionId = :versionId)',
    );
    expect(updateInput().ExpressionAttributeValues?.[':from']).toBe('FAILED');
    expect(appended(updateInput())).toMatchObject({
      seq: 4,
      action: 'REDRIVEN',
      from: 'FAILED',
      to: 'PROCESSING',
    });
  });

  it('ends quietly, writing nothing, when a FAILED trail has no room for another redrive', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({
      Item: recordItem({
        ...PENDING,
        status: 'FAILED',
        versionId: VERSION_ID,
        trailHead: { seq: REDRIVE_CEILING + 1, at: ISSUED_AT, hash: FAKE_HEAD_HASH },
      }),
    });
    // Act
    const result = await handler(input());
    // Assert
    expect(result).toEqual({ outcome: 'DUPLICATE', uploadId: UPLOAD_ID, object: objectRef() });
    expect(writes()).toBe(0);
  });

  it("processes the first version of an EXPIRED upload as LATE_UPLOAD, ends its TTL and gives the owner's grant back", async () => {
    // Arrange: the sweeper expired it while the transfer was still under way
    released.length = 0;
    const expired = {
      ...PENDING,
      status: 'EXPIRED' as const,
      trailHead: { seq: 2, at: '2025-03-01T12:00:02.000Z', hash: FAKE_HEAD_HASH },
    };
    ddb.on(GetCommand).resolves({ Item: recordItem(expired) });
    claimSucceeds(expired);
    // Act
    const result = await handler(input());
    // Assert
    expect(result).toMatchObject({ outcome: 'CLAIMED', declared: { size: PDF.length } });
    expect(writes()).toBe(1);
    expect(updateInput().ConditionExpression).toContain(
      '#status = :from AND attribute_not_exists(versionId)',
    );
    expect(updateInput().ExpressionAttributeValues?.[':from']).toBe('EXPIRED');
    expect(updateInput().UpdateExpression).toMatch(/ REMOVE .*#ttl/);
    expect(appended(updateInput())).toMatchObject({
      seq: 3,
      action: 'LATE_UPLOAD',
      from: 'EXPIRED',
      to: 'PROCESSING',
      versionId: VERSION_ID,
    });
    expect(released).toEqual([[OWNER, UPLOAD_ID]]);
  });

  it('a run resumed after its outcome was written only releases quarantine: nothing to write', async () => {
    // Arrange: PROCESSED by this very execution (the process died after the write)
    ddb.on(GetCommand).resolves({
      Item: recordItem({
        ...PENDING,
        status: 'PROCESSED',
        previousStatus: 'PROCESSING',
        versionId: VERSION_ID,
        executionId: EXECUTION_ID,
        updatedAt: '2025-03-01T12:00:09.000Z',
      }),
    });
    // Act
    const result = await handler(input());
    // Assert
    expect(result).toMatchObject({ outcome: 'RELEASE' });
    expect(writes()).toBe(0);
  });

  it('finishes a retried claim of this execution without writing anything', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({
      Item: recordItem({
        ...PENDING,
        status: 'PROCESSING',
        previousStatus: 'PENDING_UPLOAD',
        versionId: VERSION_ID,
        executionId: EXECUTION_ID,
        updatedAt: NOW.toISOString(),
      }),
    });
    // Act
    const result = await handler(input());
    // Assert
    expect(result).toMatchObject({ outcome: 'CLAIMED', declared: { size: PDF.length } });
    expect(writes()).toBe(0);
  });

  it('throws TransitionConflictError after losing three races in a row', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({ Item: recordItem(PENDING) });
    ddb.on(UpdateCommand).rejects(conditionalCheckFailed());
    // Act
    const error = await failure(handler(input()));
    // Assert
    expect(error.name).toBe('TransitionConflictError');
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 3);
  });

  it.each([
    ['an empty object', {}],
    [
      'a missing version id',
      { detail: { bucket: { name: BUCKET }, object: { key: KEY } }, eventTime: 'x', executionId: 'e' },
    ],
    ['an empty execution id', { detail: detail(), eventTime: '2025-03-01T12:00:05Z', executionId: '' }],
    ['null', null],
  ])('throws InvalidTaskInputError for %s without calling DynamoDB', async (_label, bad) => {
    // Act
    const error = await failure(handler(bad));
    // Assert
    expect(error.name).toBe('InvalidTaskInputError');
    expect(ddb.calls()).toHaveLength(0);
  });

  it('throws TransientError when DynamoDB throttles', async () => {
    // Arrange
    ddb.on(GetCommand).rejects(throttling());
    // Act
    const error = await failure(handler(input()));
    // Assert
    expect(error.name).toBe('TransientError');
  });

  it('throws TransientError when the claim update is throttled', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({ Item: recordItem(PENDING) });
    ddb.on(UpdateCommand).rejects(throttling());
    // Act
    const error = await failure(handler(input()));
    // Assert
    expect(error.name).toBe('TransientError');
    expect(writes()).toBe(1);
  });

  it('throws DependencyError for a ValidationException', async () => {
    // Arrange
    ddb.on(GetCommand).rejects(dynamoValidationException());
    // Act
    const error = await failure(handler(input()));
    // Assert
    expect(error.name).toBe('DependencyError');
    expect(error.message).toContain('ValidationException');
  });
});

describe('Validate', () => {
  const handler = makeValidateHandler(() => ({ objects, policy: DEFAULT_TYPE_POLICY }));
  const serve = (bytes: Buffer, contentLength = bytes.length) =>
    s3.on(GetObjectCommand).callsFake(() => ({
      ContentLength: contentLength,
      Body: Readable.from([bytes]) as unknown as GetObjectCommandOutput['Body'],
    }));
  const input = (declared: { contentType: string; size: number; sha256?: string }) => ({
    uploadId: UPLOAD_ID,
    object: objectRef(),
    declared,
  });

  it('reads exactly the claimed version', async () => {
    // Arrange
    serve(PDF);
    // Act
    await handler(input({ contentType: 'application/pdf', size: PDF.length }));
    // Assert
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: BUCKET,
      Key: KEY,
      VersionId: VERSION_ID,
    });
  });

  it('accepts a PDF that matches its declaration, with the measured facts', async () => {
    // Arrange
    serve(PDF);
    // Act
    const verdict = await handler(
      input({ contentType: 'application/pdf', size: PDF.length, sha256: PDF_SHA256 }),
    );
    // Assert
    expect(verdict).toEqual({
      accepted: true,
      reasons: [],
      facts: { size: PDF.length, sha256: PDF_SHA256, detectedType: 'application/pdf' },
      scan: null, // the Scan step gives the scan verdict
    });
  });

  it.each(samples.VALID_SAMPLES)(
    'accepts the $name sample declared as $contentType',
    async ({ contentType, bytes }) => {
      // Arrange
      serve(bytes);
      // Act
      const verdict = await handler(input({ contentType, size: bytes.length }));
      // Assert
      expect(verdict.accepted).toBe(true);
      expect(verdict.facts.sha256).toBe(samples.sha256Hex(bytes));
    },
  );

  it('rejects an executable declared as a PDF, naming the detected type', async () => {
    // Arrange
    const exe = samples.exe();
    serve(exe);
    // Act
    const verdict = await handler(input({ contentType: 'application/pdf', size: exe.length }));
    // Assert
    expect(verdict.accepted).toBe(false);
    expect(verdict.reasons.map((reason) => reason.code)).toEqual(['TYPE_MISMATCH', 'TYPE_NOT_ALLOWED']);
    expect(verdict.facts.detectedType).toBe('application/x-msdownload');
    expect(verdict.facts.sha256).toBe(samples.sha256Hex(exe));
  });

  it('rejects PNG bytes declared as a PDF as TYPE_MISMATCH only', async () => {
    // Arrange
    const png = samples.png();
    serve(png);
    // Act
    const verdict = await handler(input({ contentType: 'application/pdf', size: png.length }));
    // Assert
    expect(verdict.reasons.map((reason) => reason.code)).toEqual(['TYPE_MISMATCH']);
    expect(verdict.facts.detectedType).toBe('image/png');
  });

  it('rejects content whose SHA-256 differs from the declared one', async () => {
    // Arrange
    serve(PDF);
    // Act
    const verdict = await handler(
      input({ contentType: 'application/pdf', size: PDF.length, sha256: 'f'.repeat(64) }),
    );
    // Assert
    expect(verdict.reasons.map((reason) => reason.code)).toEqual(['CHECKSUM_MISMATCH']);
  });

  it('rejects an empty file', async () => {
    // Arrange
    serve(Buffer.alloc(0));
    // Act
    const verdict = await handler(input({ contentType: 'text/plain', size: 0 }));
    // Assert
    expect(verdict.accepted).toBe(false);
    expect(verdict.reasons.map((reason) => reason.code)).toEqual(['EMPTY_FILE']);
  });

  it('rejects a file larger than declared, with the size S3 reports and no partial hash', async () => {
    // Arrange
    serve(PDF);
    // Act
    const verdict = await handler(input({ contentType: 'application/pdf', size: 100 }));
    // Assert
    expect(verdict.accepted).toBe(false);
    expect(verdict.reasons.map((reason) => reason.code)).toContain('SIZE_MISMATCH');
    expect(verdict.facts).toEqual({ size: PDF.length, sha256: null, detectedType: 'application/pdf' });
  });

  it('states the real size in the SIZE_MISMATCH message of a file larger than declared', async () => {
    // Arrange: S3 streams large objects in chunks; reading stops after the first one past the declared size.
    const big = Buffer.concat([PDF, Buffer.alloc(256 * 1024, 0x20)]);
    s3.on(GetObjectCommand).callsFake(() => ({
      ContentLength: big.length,
      Body: Readable.from([
        big.subarray(0, 64 * 1024),
        big.subarray(64 * 1024),
      ]) as unknown as GetObjectCommandOutput['Body'],
    }));
    // Act
    const verdict = await handler(input({ contentType: 'application/pdf', size: 1000 }));
    // Assert
    const sizeReason = verdict.reasons.find((reason) => reason.code === 'SIZE_MISMATCH');
    expect(sizeReason?.message).toBe(`The file has ${big.length} bytes; 1000 were declared.`);
    expect(verdict.facts.size).toBe(big.length);
  });

  it('rejects a file smaller than declared as SIZE_MISMATCH', async () => {
    // Arrange
    serve(PDF);
    // Act
    const verdict = await handler(input({ contentType: 'application/pdf', size: PDF.length + 1 }));
    // Assert
    expect(verdict.reasons.map((reason) => reason.code)).toEqual(['SIZE_MISMATCH']);
    expect(verdict.facts).toEqual({ size: PDF.length, sha256: PDF_SHA256, detectedType: 'application/pdf' });
  });

  it('throws ObjectVersionMissingError when the version no longer exists', async () => {
    // Arrange
    s3.on(GetObjectCommand).rejects(s3Error('NoSuchVersion', 404));
    // Act
    const error = await failure(handler(input({ contentType: 'application/pdf', size: PDF.length })));
    // Assert
    expect(error.name).toBe('ObjectVersionMissingError');
  });

  it('throws TransientError when S3 asks to slow down', async () => {
    // Arrange
    s3.on(GetObjectCommand).rejects(s3Error('SlowDown', 503));
    // Act
    const error = await failure(handler(input({ contentType: 'application/pdf', size: PDF.length })));
    // Assert
    expect(error.name).toBe('TransientError');
  });

  it('throws InvalidTaskInputError without a version id and reads nothing', async () => {
    // Act
    const error = await failure(
      handler({
        uploadId: UPLOAD_ID,
        object: { bucket: BUCKET, key: KEY },
        declared: { contentType: 'application/pdf', size: 1 },
      }),
    );
    // Assert
    expect(error.name).toBe('InvalidTaskInputError');
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('Promote and Reject', () => {
  const promote = makePromoteHandler(() => ({ objects }));
  const reject = makeRejectHandler(() => ({ objects }));
  const facts = { size: PDF.length, sha256: PDF_SHA256, detectedType: 'application/pdf' };
  const input = { uploadId: UPLOAD_ID, object: objectRef(), facts };
  const expectedCopySource = `${BUCKET}/quarantine%2F${UPLOAD_ID}?versionId=${encodeURIComponent(VERSION_ID)}`;

  it('promotes with a server-side copy of exactly the claimed version to clean/<id>', async () => {
    // Arrange
    s3.on(CopyObjectCommand).resolves({ VersionId: 'clean-v1' });
    // Act
    const result = await promote(input);
    // Assert
    expect(s3).toHaveReceivedCommandTimes(CopyObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, {
      Bucket: BUCKET,
      Key: `clean/${UPLOAD_ID}`,
      CopySource: expectedCopySource,
      MetadataDirective: 'REPLACE',
      ContentType: 'application/pdf',
      Metadata: { 'upload-id': UPLOAD_ID, 'source-version-id': VERSION_ID, sha256: PDF_SHA256 },
    });
    expect(result).toEqual({ storedKey: `clean/${UPLOAD_ID}`, storedVersionId: 'clean-v1' });
  });

  it('does not copy again when clean/<id> already holds this version (a resumed execution)', async () => {
    // Arrange
    s3.on(HeadObjectCommand).resolves({
      VersionId: 'clean-v1',
      Metadata: { 'source-version-id': VERSION_ID },
    });
    // Act
    const result = await promote(input);
    // Assert
    expect(s3).toHaveReceivedCommandTimes(CopyObjectCommand, 0);
    expect(result).toEqual({ storedKey: `clean/${UPLOAD_ID}`, storedVersionId: 'clean-v1' });
  });

  it('copies when clean/<id> holds a copy of another version', async () => {
    // Arrange
    s3.on(HeadObjectCommand).resolves({ VersionId: 'clean-v0', Metadata: { 'source-version-id': 'other' } });
    s3.on(CopyObjectCommand).resolves({ VersionId: 'clean-v2' });
    // Act
    const result = await promote(input);
    // Assert
    expect(s3).toHaveReceivedCommandTimes(CopyObjectCommand, 1);
    expect(result).toEqual({ storedKey: `clean/${UPLOAD_ID}`, storedVersionId: 'clean-v2' });
  });

  it('encodes the version id in the copy source', async () => {
    // Arrange
    s3.on(CopyObjectCommand).resolves({});
    // Act
    await promote(input);
    // Assert
    const copySource = s3.commandCalls(CopyObjectCommand)[0]?.args[0].input.CopySource ?? '';
    expect(copySource).toContain('versionId=3%2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY');
    expect(new URLSearchParams(copySource.split('?')[1]).get('versionId')).toBe(VERSION_ID);
  });

  it('labels a promoted copy without a detected type as opaque bytes', async () => {
    // Arrange
    s3.on(CopyObjectCommand).resolves({});
    // Act
    const result = await promote({ ...input, facts: { ...facts, detectedType: null } });
    // Assert
    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, { ContentType: 'application/octet-stream' });
    expect(result).toEqual({ storedKey: `clean/${UPLOAD_ID}` });
  });

  it('keeps a rejected version under rejected/<id>, always as application/octet-stream', async () => {
    // Arrange
    s3.on(CopyObjectCommand).resolves({ VersionId: 'rej-v1' });
    // Act
    const result = await reject({ ...input, facts: { ...facts, detectedType: 'application/x-msdownload' } });
    // Assert
    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, {
      Bucket: BUCKET,
      Key: `rejected/${UPLOAD_ID}`,
      CopySource: expectedCopySource,
      MetadataDirective: 'REPLACE',
      ContentType: 'application/octet-stream',
    });
    expect(result).toEqual({ storedKey: `rejected/${UPLOAD_ID}`, storedVersionId: 'rej-v1' });
  });

  it('never copies anywhere but clean/ or rejected/ and never deletes', async () => {
    // Arrange
    s3.on(CopyObjectCommand).resolves({});
    // Act
    await promote(input);
    await reject(input);
    // Assert
    const keys = s3.commandCalls(CopyObjectCommand).map((call) => call.args[0].input.Key);
    expect(keys).toEqual([`clean/${UPLOAD_ID}`, `rejected/${UPLOAD_ID}`]);
    expect(s3).not.toHaveReceivedCommand(DeleteObjectCommand);
  });

  it('throws ObjectVersionMissingError when the source version is gone', async () => {
    // Arrange
    s3.on(CopyObjectCommand).rejects(s3Error('NoSuchVersion', 404));
    // Act
    const error = await failure(promote(input));
    // Assert
    expect(error.name).toBe('ObjectVersionMissingError');
  });

  it('throws TransientError on a 500 from S3', async () => {
    // Arrange
    s3.on(CopyObjectCommand).rejects(s3Error('InternalError', 500));
    // Act
    const error = await failure(reject(input));
    // Assert
    expect(error.name).toBe('TransientError');
  });
});

describe('ReleaseQuarantine', () => {
  const handler = makeReleaseQuarantineHandler(() => ({ objects }));

  it('deletes exactly the claimed quarantine version', async () => {
    // Arrange
    s3.on(DeleteObjectCommand).resolves({});
    // Act
    const result = await handler({ uploadId: UPLOAD_ID, object: objectRef() });
    // Assert
    expect(result).toEqual({ released: true });
    expect(s3).toHaveReceivedCommandTimes(DeleteObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, {
      Bucket: BUCKET,
      Key: KEY,
      VersionId: VERSION_ID,
    });
  });

  it('treats a version that is already gone as released', async () => {
    // Arrange
    s3.on(DeleteObjectCommand).rejects(s3Error('NoSuchVersion', 404));
    // Act
    const result = await handler({ uploadId: UPLOAD_ID, object: objectRef() });
    // Assert
    expect(result).toEqual({ released: true });
  });

  it.each([`clean/${UPLOAD_ID}`, `rejected/${UPLOAD_ID}`, `quarantine-evil/${UPLOAD_ID}`, UPLOAD_ID])(
    'refuses to release %s with InvalidTaskInputError and deletes nothing',
    async (key) => {
      // Act
      const error = await failure(handler({ uploadId: UPLOAD_ID, object: objectRef(key) }));
      // Assert
      expect(error.name).toBe('InvalidTaskInputError');
      expect(s3.calls()).toHaveLength(0);
    },
  );

  it('throws TransientError when S3 throttles the delete', async () => {
    // Arrange
    s3.on(DeleteObjectCommand).rejects(s3Error('SlowDown', 503));
    // Act
    const error = await failure(handler({ uploadId: UPLOAD_ID, object: objectRef() }));
    // Assert
    expect(error.name).toBe('TransientError');
  });
});

describe('RecordOutcome', () => {
  const handler = makeRecordOutcomeHandler(() => ({ store, now: () => NOW }));
  const CLAIMED_AT = '2025-03-01T12:00:06.000Z';
  const PROCESSING: Partial<UploadRecord> = {
    status: 'PROCESSING',
    previousStatus: 'PENDING_UPLOAD',
    versionId: VERSION_ID,
    executionId: EXECUTION_ID,
    updatedAt: CLAIMED_AT,
    trailHead: { seq: 2, at: CLAIMED_AT, hash: FAKE_HEAD_HASH },
  };
  const facts = { size: PDF.length, sha256: PDF_SHA256, detectedType: 'application/pdf' };
  const processedInput = {
    outcome: 'PROCESSED' as const,
    detail: detail(),
    executionId: EXECUTION_ID,
    claimedAt: CLAIMED_AT,
    facts,
    storedKey: `clean/${UPLOAD_ID}`,
  };
  const holding = (record: Partial<UploadRecord> = PROCESSING) =>
    ddb.on(GetCommand).resolves({ Item: recordItem(record) });
  const outcomeWritten = (status: UploadRecord['status'], before: Partial<UploadRecord> = PROCESSING) => {
    holding(before);
    ddb.on(UpdateCommand).callsFake((update: UpdateCommandInput) => updatedItem(before, update, { status }));
  };

  it('reads the record, then writes PROCESSED and its event with one update, only if this execution holds the claim', async () => {
    // Arrange
    outcomeWritten('PROCESSED');
    // Act
    const result = await handler(processedInput);
    // Assert
    expect(result).toEqual({ recorded: true, status: 'PROCESSED' });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      Key: { pk: `UPLOAD#${UPLOAD_ID}`, sk: 'RECORD' },
      ConsistentRead: true,
    });
    expect(writes()).toBe(1);
    const update = updateInput();
    expect(update.Key).toEqual({ pk: `UPLOAD#${UPLOAD_ID}`, sk: 'RECORD' });
    expect(update.ConditionExpression).toBe(
      'attribute_exists(pk) AND #trailHead.#seq = :expectedSeq AND (#status = :processing AND executionId = :executionId)',
    );
    expect(update.ExpressionAttributeValues).toMatchObject({
      ':expectedSeq': 2,
      ':processing': 'PROCESSING',
      ':executionId': EXECUTION_ID,
      ':status': 'PROCESSED',
      ':updatedAt': NOW.toISOString(),
      ':sha256': PDF_SHA256,
      ':detectedType': 'application/pdf',
      ':storedKey': `clean/${UPLOAD_ID}`,
    });
    expect(update.ExpressionAttributeValues).not.toHaveProperty(':pending');
    // Chained to the head the write was conditioned on (the record as read).
    const expected = {
      seq: 3,
      prevHash: FAKE_HEAD_HASH,
      uploadId: UPLOAD_ID,
      at: NOW.toISOString(),
      actor: { type: 'system' as const, id: 'record' },
      action: 'PROCESSED' as const,
      from: 'PROCESSING' as const,
      to: 'PROCESSED' as const,
      reasons: [],
      versionId: VERSION_ID,
      executionId: EXECUTION_NAME,
    };
    expect(appended(update)).toEqual({ ...expected, hash: formatHash(expected) });
  });

  it("records the outcome strictly after the trail's last event when the clock lags behind it", async () => {
    // Arrange
    const late = '2025-03-01T12:05:00.000Z';
    outcomeWritten('PROCESSED', {
      ...PROCESSING,
      updatedAt: late,
      trailHead: { seq: 2, at: late, hash: FAKE_HEAD_HASH },
    });
    // Act
    await handler({ ...processedInput, claimedAt: late });
    // Assert
    expect(updateInput().ExpressionAttributeValues?.[':updatedAt']).toBe('2025-03-01T12:05:00.001Z');
  });

  it('succeeds without writing on a retried task whose outcome was already written', async () => {
    // Arrange
    holding({
      ...PROCESSING,
      status: 'PROCESSED',
      previousStatus: 'PROCESSING',
      updatedAt: NOW.toISOString(),
    });
    // Act
    const result = await handler(processedInput);
    // Assert
    expect(result).toEqual({ recorded: true, status: 'PROCESSED' });
    expect(writes()).toBe(0);
  });

  it('reads again and appends after a discard that moved the trail on meanwhile', async () => {
    // Arrange: the first read is stale by one DISCARDED event
    const moved = {
      ...PROCESSING,
      trailHead: { seq: 3, at: '2025-03-01T12:00:08.000Z', hash: FAKE_HEAD_HASH },
    };
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: recordItem(PROCESSING) })
      .resolvesOnce({ Item: recordItem(moved) });
    ddb
      .on(UpdateCommand)
      .rejectsOnce(conditionalCheckFailed())
      .callsFake((update: UpdateCommandInput) => updatedItem(moved, update, { status: 'PROCESSED' }));
    // Act
    const result = await handler(processedInput);
    // Assert
    expect(result).toEqual({ recorded: true, status: 'PROCESSED' });
    expect(updateInput(1).ExpressionAttributeValues).toMatchObject({ ':expectedSeq': 3 });
    expect(appended(updateInput(1))?.seq).toBe(4);
  });

  it('writes REJECTED with its reasons, in the record and in its event', async () => {
    // Arrange
    outcomeWritten('REJECTED');
    const reasons = [
      {
        code: 'TYPE_MISMATCH' as const,
        message: 'The content is image/png, but application/pdf was declared.',
      },
    ];
    // Act
    const result = await handler({
      ...processedInput,
      outcome: 'REJECTED',
      reasons,
      storedKey: `rejected/${UPLOAD_ID}`,
    });
    // Assert
    expect(result).toEqual({ recorded: true, status: 'REJECTED' });
    expect(updateInput().ExpressionAttributeValues).toMatchObject({
      ':status': 'REJECTED',
      ':reasons': reasons,
    });
    expect(appended(updateInput())).toMatchObject({
      action: 'REJECTED',
      from: 'PROCESSING',
      to: 'REJECTED',
      reasons,
    });
  });

  it('throws TransitionConflictError, writing nothing, when another execution holds the upload', async () => {
    // Arrange
    holding({ ...PROCESSING, executionId: OTHER_EXECUTION_ID });
    // Act
    const error = await failure(handler({ ...processedInput, outcome: 'REJECTED', reasons: [] }));
    // Assert
    expect(error.name).toBe('TransitionConflictError');
    expect(writes()).toBe(0);
  });

  it('throws TransitionConflictError rather than overwrite a terminal status of another execution', async () => {
    // Arrange
    holding({ ...PROCESSING, status: 'PROCESSED', executionId: OTHER_EXECUTION_ID });
    // Act
    const error = await failure(handler({ ...processedInput, outcome: 'REJECTED', reasons: [] }));
    // Assert
    expect(error.name).toBe('TransitionConflictError');
    expect(writes()).toBe(0);
  });

  it('ends quietly with recorded:false when FAILED finds the upload held by another execution', async () => {
    // Arrange
    holding({ ...PROCESSING, executionId: OTHER_EXECUTION_ID });
    // Act
    const result = await handler({
      outcome: 'FAILED',
      detail: detail(),
      executionId: EXECUTION_ID,
      failure: { Error: 'States.Timeout', Cause: 'timed out' },
    });
    // Assert
    expect(result).toEqual({ recorded: false, status: 'PROCESSING' });
    expect(writes()).toBe(0);
  });

  it('allows FAILED from PENDING_UPLOAD or from its own claim', async () => {
    // Arrange: never claimed (e.g. Claim ran out of retries)
    const pending = {
      ...PROCESSING,
      status: 'PENDING_UPLOAD' as const,
      trailHead: { seq: 1, at: CLAIMED_AT, hash: FAKE_HEAD_HASH },
    };
    outcomeWritten('FAILED', pending);
    // Act
    await handler({
      outcome: 'FAILED',
      detail: detail(),
      executionId: EXECUTION_ID,
      failure: { Error: 'X' },
    });
    // Assert
    expect(updateInput().ConditionExpression).toBe(
      'attribute_exists(pk) AND #trailHead.#seq = :expectedSeq AND ((#status = :processing AND executionId = :executionId) OR #status = :pending)',
    );
    expect(updateInput().ExpressionAttributeValues).toMatchObject({
      ':pending': 'PENDING_UPLOAD',
      ':status': 'FAILED',
    });
    expect(appended(updateInput())).toMatchObject({ seq: 2, from: 'PENDING_UPLOAD', to: 'FAILED' });
  });

  it('stores a FAILED cause with presigned URLs, signatures and bearer tokens redacted', async () => {
    // Arrange
    outcomeWritten('FAILED');
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLWFsaWNlIn0.c2lnbmF0dXJlLXZhbHVl';
    const presigned = `https://${BUCKET}.s3.us-east-1.amazonaws.com/quarantine/${UPLOAD_ID}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20250301&X-Amz-Signature=deadbeefcafe`;
    const cause = JSON.stringify({
      errorType: 'DependencyError',
      errorMessage: `GetObject ${presigned} failed; request had Authorization: Bearer ${jwt}`,
    });
    // Act
    await handler({
      outcome: 'FAILED',
      detail: detail(),
      executionId: EXECUTION_ID,
      failure: { Error: 'DependencyError', Cause: cause },
    });
    // Assert
    const stored = updateInput().ExpressionAttributeValues?.[':failure'] as { error: string; cause: string };
    expect(stored.error).toBe('DependencyError');
    expect(stored.cause).toContain('[url redacted]');
    expect(stored.cause).toContain('Bearer [redacted]');
    expect(stored.cause).not.toContain('deadbeefcafe');
    expect(stored.cause).not.toContain('X-Amz-Credential');
    expect(stored.cause).not.toContain(jwt);
    expect(stored.cause).not.toContain('eyJ');
  });

  it('keeps the failure cause out of the FAILED audit event', async () => {
    // Arrange
    outcomeWritten('FAILED');
    // Act
    await handler({
      outcome: 'FAILED',
      detail: detail(),
      executionId: EXECUTION_ID,
      failure: { Error: 'DependencyError', Cause: 'secret-internal-cause-99' },
    });
    // Assert
    const audit = appended(updateInput());
    expect(audit).toMatchObject({
      action: 'FAILED',
      from: 'PROCESSING',
      to: 'FAILED',
      reasons: [{ code: 'PROCESSING_FAILED', message: 'Processing failed (DependencyError).' }],
    });
    expect(JSON.stringify(audit)).not.toContain('secret-internal-cause-99');
  });

  it('records nothing for a key that names no upload', async () => {
    // Act
    const result = await handler({ ...processedInput, detail: detail('quarantine/evil.exe') });
    // Assert
    expect(result).toEqual({ recorded: false });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('throws TransientError when the outcome write is throttled', async () => {
    // Arrange
    holding();
    ddb.on(UpdateCommand).rejects(throttling());
    // Act
    const error = await failure(handler(processedInput));
    // Assert
    expect(error.name).toBe('TransientError');
    expect(writes()).toBe(1);
  });

  it('throws InvalidTaskInputError for an unknown outcome', async () => {
    // Act
    const error = await failure(handler({ ...processedInput, outcome: 'DELETED' }));
    // Assert
    expect(error.name).toBe('InvalidTaskInputError');
    expect(ddb.calls()).toHaveLength(0);
  });
});
