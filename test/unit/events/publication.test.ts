import type { OutboxEntry } from '../../../functions/adapters/outcome-outbox.js';
import type { OutcomePublisher } from '../../../functions/adapters/outcome-publisher.js';
import { publishCurrentOutcome } from '../../../functions/commons/outcome-publication.js';
import type { AuditEvent, UploadRecord } from '../../../functions/domain/model.js';
import { currentTransition, type OutcomeEvent } from '../../../functions/domain/outcome-event.js';
import { outcomeEventProblems } from '../../support/outcome-events.js';

const UPLOAD_ID = '01JBZ8Q6W0V8M2YQH3KX5T7N9R';
const SHA = 'a'.repeat(64);
const system = { type: 'system', id: 'pipeline' } as const;
const step = (action: AuditEvent['action'], at: string, from: AuditEvent['from'], to: AuditEvent['to']) =>
  ({ uploadId: UPLOAD_ID, at, actor: system, action, from, to, reasons: [] }) as AuditEvent;
/** ISSUED → CLAIMED → FAILED → REDRIVEN → PROCESSED, with a discarded second version at the end. */
const TRAIL: AuditEvent[] = [
  step('ISSUED', '2026-11-29T10:00:00.000Z', null, 'PENDING_UPLOAD'),
  step('CLAIMED', '2026-11-29T10:00:01.000Z', 'PENDING_UPLOAD', 'PROCESSING'),
  { ...step('FAILED', '2026-11-29T10:00:02.000Z', 'PROCESSING', 'FAILED'), reasons: [] },
  step('REDRIVEN', '2026-11-29T10:05:00.000Z', 'FAILED', 'PROCESSING'),
  step('PROCESSED', '2026-11-29T10:05:01.000Z', 'PROCESSING', 'PROCESSED'),
  step('DISCARDED', '2026-11-29T10:06:00.000Z', null, null),
];
const RECORD = {
  uploadId: UPLOAD_ID,
  owner: 'alice',
  status: 'PROCESSED',
  size: 10,
  sha256: SHA,
  detectedType: 'application/pdf',
  storedKey: `clean/${UPLOAD_ID}`,
  fileName: 'secret-plans.pdf',
  updatedAt: '2026-11-29T10:05:01.000Z',
} as unknown as UploadRecord;

function fakes(entry: OutboxEntry | undefined, options: { publishFails?: boolean } = {}) {
  const published: OutcomeEvent[] = [];
  const marks: Array<[string, number, string]> = [];
  const publisher: OutcomePublisher = {
    publish: (events) => {
      if (options.publishFails) return Promise.reject(new Error('bus away'));
      published.push(...events);
      return Promise.resolve();
    },
  };
  const deps = {
    outbox: {
      read: () => Promise.resolve(entry),
      markPublished: (uploadId: string, seq: number, at: string) => {
        marks.push([uploadId, seq, at]);
        return Promise.resolve(true);
      },
    },
    objects: { head: () => Promise.resolve({ versionId: 'v-clean-1', metadata: {} }) },
    publisher,
    bucket: 'uploads',
  };
  return { deps, published, marks };
}

describe('currentTransition', () => {
  test('is the last event that moved the record to its status, numbered by its place in the trail', () => {
    // Act
    const transition = currentTransition('PROCESSED', TRAIL);

    // Assert
    expect(transition).toMatchObject({ status: 'PROCESSED', seq: 5, at: '2026-11-29T10:05:01.000Z' });
  });

  test('a redriven FAILED upload that failed again has a new transition, a new number', () => {
    // Arrange
    const failedTwice = [
      ...TRAIL.slice(0, 4),
      step('FAILED', '2026-11-29T10:05:01.000Z', 'PROCESSING', 'FAILED'),
    ];

    // Act
    const transition = currentTransition('FAILED', failedTwice);

    // Assert
    expect(transition?.seq).toBe(5);
  });

  test('nothing for a status that is not terminal, or whose event is not in the trail yet', () => {
    // Act and assert
    expect(currentTransition('PROCESSING', TRAIL.slice(0, 2))).toBeUndefined();
    expect(currentTransition('REJECTED', TRAIL)).toBeUndefined();
  });
});

describe('publishCurrentOutcome', () => {
  test('publishes the recorded transition once, with its derived id and the promoted version, then marks it', async () => {
    // Arrange
    const { deps, published, marks } = fakes({ record: RECORD, trail: TRAIL, publishedSeq: 3 });

    // Act
    const result = await publishCurrentOutcome(deps, UPLOAD_ID);

    // Assert
    expect(result).toEqual({ published: true, eventId: `evt_${UPLOAD_ID}_5` });
    expect(published).toHaveLength(1);
    expect(published[0]?.data.object).toEqual({
      bucket: 'uploads',
      key: `clean/${UPLOAD_ID}`,
      versionId: 'v-clean-1',
    });
    expect(outcomeEventProblems(published[0])).toEqual([]);
    expect(JSON.stringify(published)).not.toContain('secret-plans');
    expect(marks).toEqual([[UPLOAD_ID, 5, '2026-11-29T10:05:01.000Z']]);
  });

  test('a promoted file quarantined by a rescan publishes its QUARANTINED transition, with its reason', async () => {
    // Arrange: the trail ends in the rescan's QUARANTINED event (the sweeper's outbox lane finds it).
    const quarantined = {
      ...step('QUARANTINED', '2026-11-30T08:00:00.000Z', 'PROCESSED', 'QUARANTINED'),
      reasons: [{ code: 'MALWARE_DETECTED', message: 'Malware was detected in the file.' }],
    } as AuditEvent;
    const record = {
      ...RECORD,
      status: 'QUARANTINED',
      storedKey: `rejected/${UPLOAD_ID}`,
      updatedAt: quarantined.at,
    } as unknown as UploadRecord;
    const { deps, published, marks } = fakes({ record, trail: [...TRAIL, quarantined], publishedSeq: 5 });

    // Act
    const result = await publishCurrentOutcome(deps, UPLOAD_ID);

    // Assert
    expect(result).toEqual({ published: true, eventId: `evt_${UPLOAD_ID}_7` });
    expect(published[0]?.type).toBe('airlock.upload.quarantined');
    expect(published[0]?.data).toMatchObject({ status: 'QUARANTINED', reasons: ['MALWARE_DETECTED'] });
    expect(outcomeEventProblems(published[0])).toEqual([]);
    expect(marks).toEqual([[UPLOAD_ID, 7, quarantined.at]]);
  });

  test('an event already marked published is not published again', async () => {
    // Arrange
    const { deps, published, marks } = fakes({ record: RECORD, trail: TRAIL, publishedSeq: 5 });

    // Act
    const result = await publishCurrentOutcome(deps, UPLOAD_ID);

    // Assert
    expect(result).toEqual({ published: false, why: 'ALREADY_PUBLISHED' });
    expect(published).toEqual([]);
    expect(marks).toEqual([]);
  });

  test('a record whose transition is not in its trail publishes nothing (never invented)', async () => {
    // Arrange: the status is written, its event is not.
    const { deps, published } = fakes({ record: RECORD, trail: TRAIL.slice(0, 4), publishedSeq: 0 });

    // Act
    const result = await publishCurrentOutcome(deps, UPLOAD_ID);

    // Assert
    expect(result).toEqual({ published: false, why: 'NOT_TERMINAL' });
    expect(published).toEqual([]);
  });

  test('a failed publish leaves the event unmarked (pending) and says so', async () => {
    // Arrange
    const { deps, marks } = fakes({ record: RECORD, trail: TRAIL, publishedSeq: 0 }, { publishFails: true });

    // Act
    const publishing = publishCurrentOutcome(deps, UPLOAD_ID);

    // Assert
    await expect(publishing).rejects.toThrow('bus away');
    expect(marks).toEqual([]);
  });
});
