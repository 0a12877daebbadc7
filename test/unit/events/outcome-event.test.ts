import {
  OUTCOME_EVENT_SCHEMA_ID,
  OUTCOME_STATUSES,
  OutcomeEventError,
  outcomeDetailType,
  outcomeEvent,
  type OutcomeStatus,
  type OutcomeSubject,
  type TerminalTransition,
} from '../../../functions/domain/outcome-event.js';
import { readFileSync } from 'node:fs';
import {
  OUTCOME_EVENT_SCHEMA_PATH,
  outcomeEventProblems,
  secretLikeValues,
} from '../../support/outcome-events.js';

const UPLOAD_ID = '01JBZ8Q6W0V8M2YQH3KX5T7N9R';
const SHA = 'a'.repeat(64);
const record: OutcomeSubject = {
  uploadId: UPLOAD_ID,
  owner: 'alice',
  size: 1234,
  sha256: SHA,
  detectedType: 'application/pdf',
};
const promoted = { bucket: 'airlock-uploads', key: `clean/${UPLOAD_ID}`, versionId: 'c-0001' };
const AT = '2026-11-23T10:15:30.123Z';

/** A transition of each terminal status, as the step that records it knows it. */
const TRANSITIONS: Record<OutcomeStatus, TerminalTransition> = {
  PROCESSED: { status: 'PROCESSED', at: AT, seq: 3, object: promoted },
  REJECTED: { status: 'REJECTED', at: AT, seq: 3, reasons: [{ code: 'TYPE_MISMATCH' }] },
  FAILED: { status: 'FAILED', at: AT, seq: 3, reasons: [{ code: 'PROCESSING_FAILED' }] },
  EXPIRED: { status: 'EXPIRED', at: AT, seq: 2, reasons: [{ code: 'UPLOAD_EXPIRED' }] },
  QUARANTINED: { status: 'QUARANTINED', at: AT, seq: 5, reasons: [{ code: 'MALWARE_DETECTED' }] },
};

describe('outcomeEvent', () => {
  test.each([...OUTCOME_STATUSES])('a %s event is valid against the published v1 schema', (status) => {
    // Act
    const event = outcomeEvent(record, TRANSITIONS[status]);

    // Assert
    expect(outcomeEventProblems(event)).toEqual([]);
    expect(event.type).toBe(`airlock.upload.${status.toLowerCase()}`);
    expect(event.data.status).toBe(status);
  });

  test('the schema file is JSON Schema 2020-12 with a versioned $id, the one the builder names', () => {
    // Arrange
    const schema = JSON.parse(readFileSync(OUTCOME_EVENT_SCHEMA_PATH, 'utf8')) as Record<string, unknown>;

    // Assert
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(OUTCOME_EVENT_SCHEMA_ID);
    expect(String(schema.$id)).toMatch(/:v1$/);
  });

  test('a PROCESSED event names the promoted object, its SHA-256 and its type; the others no object', () => {
    // Act
    const processed = outcomeEvent(record, TRANSITIONS.PROCESSED);
    const rejected = outcomeEvent(record, { ...TRANSITIONS.REJECTED, object: promoted });

    // Assert
    expect(processed.data).toMatchObject({ object: promoted, sha256: SHA, detectedType: 'application/pdf' });
    expect(processed.data.reasons).toEqual([]);
    expect(rejected.data.object).toBeUndefined();
    expect(rejected.data.reasons).toEqual(['TYPE_MISMATCH']);
  });

  test('the id derives from the transition: the same for a republication, another for another transition', () => {
    // Act
    const first = outcomeEvent(record, TRANSITIONS.FAILED);
    const again = outcomeEvent({ ...record }, { ...TRANSITIONS.FAILED, at: AT });
    const redriven = outcomeEvent(record, { ...TRANSITIONS.PROCESSED, seq: 5 });
    const otherUpload = outcomeEvent(
      { ...record, uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9S' },
      TRANSITIONS.FAILED,
    );

    // Assert
    expect(again).toEqual(first);
    expect(first.id).toBe(`evt_${UPLOAD_ID}_3`);
    expect(new Set([first.id, redriven.id, otherUpload.id]).size).toBe(3);
  });

  test('nothing else the record holds reaches the event: no URL, token, secret, file name or cause', () => {
    // Arrange: a record carrying everything a record may hold, some of it secret-looking.
    const full = {
      ...record,
      fileName: 'https://evil.example/?X-Amz-Signature=abc.pdf',
      failure: { error: 'Boom', cause: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' },
      executionId: 'arn:aws:states:us-east-1:123456789012:execution:x:y',
      download: { url: 'https://bucket.s3.amazonaws.com/clean/x?X-Amz-Signature=1' },
      declaredSha256: SHA,
    };

    // Act
    const events = OUTCOME_STATUSES.map((status) => outcomeEvent(full, TRANSITIONS[status]));

    // Assert
    for (const event of events) {
      expect(secretLikeValues(event)).toEqual([]);
      expect(Object.keys(event.data).sort()).toEqual(
        expect.arrayContaining(['uploadId', 'owner', 'status', 'reasons', 'size', 'sequence']),
      );
      expect(JSON.stringify(event)).not.toMatch(/evil|Bearer|arn:|fileName|failure|executionId/);
    }
  });

  test('the deny-list check finds what it is for (so that an empty finding means something)', () => {
    // Act
    const found = secretLikeValues({
      a: 'https://x.example/a',
      b: 'Bearer abc',
      c: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
      d: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      e: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      f: ['AKIAIOSFODNN7EXAMPLE'],
      downloadUrl: 'x',
    });

    // Assert
    expect(found).toEqual(['/a', '/b', '/c', '/d', '/e', '/f/0', '/downloadUrl (key)']);
  });

  test('reason codes are listed once each; FAILED and EXPIRED without reasons get their implied code', () => {
    // Act
    const twice = outcomeEvent(record, {
      ...TRANSITIONS.REJECTED,
      reasons: [{ code: 'SIZE_MISMATCH' }, { code: 'CHECKSUM_MISMATCH' }, { code: 'SIZE_MISMATCH' }],
    });
    const failed = outcomeEvent(record, { status: 'FAILED', at: AT, seq: 4 });
    const expired = outcomeEvent(
      { uploadId: UPLOAD_ID, owner: 'bob', size: 0 },
      { status: 'EXPIRED', at: AT, seq: 2 },
    );

    // Assert
    expect(twice.data.reasons).toEqual(['SIZE_MISMATCH', 'CHECKSUM_MISMATCH']);
    expect(failed.data.reasons).toEqual(['PROCESSING_FAILED']);
    expect(expired.data.reasons).toEqual(['UPLOAD_EXPIRED']);
    expect(outcomeEventProblems(expired)).toEqual([]);
  });

  test.each([
    ['a status that is not terminal', { ...TRANSITIONS.FAILED, status: 'PROCESSING' as OutcomeStatus }],
    ['sequence 0', { ...TRANSITIONS.FAILED, seq: 0 }],
    ['a fractional sequence', { ...TRANSITIONS.FAILED, seq: 1.5 }],
    ['a time that is not one', { ...TRANSITIONS.FAILED, at: 'yesterday' }],
    ['PROCESSED without the promoted object', { status: 'PROCESSED' as const, at: AT, seq: 3 }],
    ['REJECTED without reasons', { status: 'REJECTED' as const, at: AT, seq: 3 }],
  ])('refuses %s', (_name, transition) => {
    // Act / Assert
    expect(() => outcomeEvent(record, transition)).toThrow(OutcomeEventError);
  });

  test('refuses a PROCESSED record without the facts validation measured, and an id that is no upload id', () => {
    // Act / Assert
    expect(() => outcomeEvent({ ...record, sha256: undefined }, TRANSITIONS.PROCESSED)).toThrow(
      OutcomeEventError,
    );
    expect(() => outcomeEvent({ ...record, uploadId: '../x' }, TRANSITIONS.FAILED)).toThrow(
      OutcomeEventError,
    );
  });

  test('the schema refuses what the builder never makes', () => {
    // Arrange
    const valid = outcomeEvent(record, TRANSITIONS.PROCESSED);
    const variants: Array<[string, unknown]> = [
      ['an extra field', { ...valid, downloadUrl: 'x' }],
      ['an extra data field', { ...valid, data: { ...valid.data, fileName: 'a.pdf' } }],
      ['PROCESSED without object', { ...valid, data: { ...valid.data, object: undefined } }],
      [
        'an object outside clean/',
        { ...valid, data: { ...valid.data, object: { ...promoted, key: 'quarantine/x' } } },
      ],
      ['an id of another upload', { ...valid, id: 'evt_01JBZ8Q6W0V8M2YQH3KX5T7N9S_3' }],
      ['a type of another status', { ...valid, type: 'airlock.upload.rejected' }],
      [
        'a REJECTED event without reasons',
        outcomeEventWith(valid, { status: 'REJECTED', reasons: [], object: undefined }),
      ],
      ['another schema version', { ...valid, schemaVersion: 2 }],
    ];

    // Assert
    for (const [name, variant] of variants) {
      const parsed = JSON.parse(JSON.stringify(variant)) as unknown;
      expect([name, outcomeEventProblems(parsed).length > 0]).toEqual([name, true]);
    }
  });

  test('EventBridge detail-types read as words', () => {
    // Assert
    expect(OUTCOME_STATUSES.map(outcomeDetailType)).toEqual([
      'Upload Processed',
      'Upload Rejected',
      'Upload Failed',
      'Upload Expired',
      'Upload Quarantined',
    ]);
  });
});

function outcomeEventWith(
  event: ReturnType<typeof outcomeEvent>,
  data: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ...event,
    type: `airlock.upload.${String(data.status).toLowerCase()}`,
    data: { ...event.data, ...data },
  };
}
