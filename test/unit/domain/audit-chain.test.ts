import { eventHash, verifyTrail } from '../../../functions/domain/audit-chain.js';
import { appendEvent } from '../../../functions/domain/audit-trail.js';
import type { AuditEvent, RecordedEvent, TrailHead } from '../../../functions/domain/model.js';
import { toAuditEventView } from '../../../functions/domain/status-view.js';
import { failureReason } from '../../../functions/domain/transition-events.js';
import { formatHash } from '../../support/trail-fixtures.js';

const UPLOAD_ID = '01JNB8Y6Z4Q2W7E5R3T9K1M0PA';
const VERSION = '3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:airlock-pipeline:exec-1';

const STEPS: AuditEvent[] = [
  {
    uploadId: UPLOAD_ID,
    at: '2025-03-01T12:00:00.000Z',
    actor: { type: 'user', id: 'alice' },
    action: 'ISSUED',
    from: null,
    to: 'PENDING_UPLOAD',
    reasons: [],
  },
  {
    uploadId: UPLOAD_ID,
    at: '2025-03-01T12:00:01.000Z',
    actor: { type: 'system', id: 'claim' },
    action: 'CLAIMED',
    from: 'PENDING_UPLOAD',
    to: 'PROCESSING',
    reasons: [],
    versionId: VERSION,
    executionId: EXECUTION,
  },
  {
    uploadId: UPLOAD_ID,
    at: '2025-03-01T12:00:02.000Z',
    actor: { type: 'system', id: 'record' },
    action: 'FAILED',
    from: 'PROCESSING',
    to: 'FAILED',
    reasons: [{ code: 'PROCESSING_FAILED', message: 'The scanner did not answer.' }],
    versionId: VERSION,
    executionId: EXECUTION,
  },
  {
    uploadId: UPLOAD_ID,
    at: '2025-03-01T12:00:03.000Z',
    actor: { type: 'system', id: 'redrive' },
    action: 'REDRIVEN',
    from: 'FAILED',
    to: 'PROCESSING',
    reasons: [],
    versionId: VERSION,
    executionId: `${EXECUTION}-2`,
  },
  {
    uploadId: UPLOAD_ID,
    at: '2025-03-01T12:00:04.000Z',
    actor: { type: 'system', id: 'record' },
    action: 'REJECTED',
    from: 'PROCESSING',
    to: 'REJECTED',
    reasons: [{ code: 'TYPE_MISMATCH', message: 'The content is text/plain, not application/pdf.' }],
    versionId: VERSION,
    executionId: `${EXECUTION}-2`,
  },
];

/** The trail the writers build: every event appended through appendEvent. */
function writtenTrail(steps: AuditEvent[] = STEPS): { events: RecordedEvent[]; head: TrailHead } {
  let head: TrailHead | undefined;
  const events: RecordedEvent[] = [];
  for (const step of steps) {
    const append = appendEvent(head, step);
    events.push(append.event);
    head = append.head;
  }
  if (head === undefined) throw new Error('no events');
  return { events, head };
}

/** What an attacker who can write the table but holds no key can do: recompute the hash. */
const rehashed = (event: RecordedEvent): RecordedEvent => ({ ...event, hash: eventHash(event) });

describe('appendEvent chains every event to the one before it', () => {
  it('starts the chain at issuance: seq 1, no previous hash, hashed as the format says', () => {
    // Act
    const { event, head } = appendEvent(undefined, STEPS[0] as AuditEvent);
    // Assert
    const { hash, ...unhashed } = event;
    expect(unhashed).toEqual({ ...STEPS[0], seq: 1, prevHash: null });
    expect(hash).toBe(formatHash(unhashed));
    expect(head).toEqual({ seq: 1, at: STEPS[0]?.at, hash });
  });

  it("names the head's hash as the previous one, and moves the head to its own", () => {
    // Arrange
    const first = appendEvent(undefined, STEPS[0] as AuditEvent);
    // Act
    const second = appendEvent(first.head, STEPS[1] as AuditEvent);
    // Assert
    expect(second.event.prevHash).toBe(first.event.hash);
    const { hash, ...unhashed } = second.event;
    expect(hash).toBe(formatHash(unhashed));
    expect(second.head).toEqual({ seq: 2, at: STEPS[1]?.at, hash });
    expect(second.expected).toBe(first.head);
  });

  it('stores the execution by its name alone, never its ARN (account, region, state machine)', () => {
    // Act
    const { event } = appendEvent(undefined, STEPS[1] as AuditEvent);
    // Assert
    expect(event.executionId).toBe('exec-1');
    expect(JSON.stringify(event)).not.toMatch(/arn:aws|123456789012/);
  });

  it("hashes what auditors are shown: a trail read through the auditors' view verifies as exported", () => {
    // Arrange: a failure as the writers record it, with a cause naming an ARN and an account.
    const failure = failureReason(
      'Lambda.ServiceException at arn:aws:lambda:us-east-1:123456789012:function:x',
    );
    const steps = STEPS.map((step) => (step.action === 'FAILED' ? { ...step, reasons: [failure] } : step));
    const { events } = writtenTrail(steps);
    // Act: the events as GET /uploads/{id}/events and the NDJSON export give them to an auditor.
    const exported = events.map((event) => toAuditEventView(event, 'auditor'));
    // Assert
    expect(JSON.stringify(exported)).not.toMatch(/arn:aws|123456789012/);
    // The API leaves the upload id out of each event; a verifier puts it back (docs/audit.md).
    expect(
      verifyTrail(
        UPLOAD_ID,
        exported.map((view) => ({ ...view, uploadId: UPLOAD_ID })),
      ).verdict,
    ).toBe('verified');
    expect(verifyTrail(UPLOAD_ID, events).verdict).toBe('verified');
  });

  it('stores no undefined field, so that the stored event is the one hashed', () => {
    // Act
    const { event } = appendEvent(undefined, { ...(STEPS[0] as AuditEvent), versionId: undefined });
    // Assert
    expect(Object.keys(event)).not.toContain('versionId');
  });

  it('hashes a reason holding a lone surrogate (made well-formed) instead of failing the write', () => {
    // Arrange
    const step = {
      ...(STEPS[2] as AuditEvent),
      reasons: [{ code: 'PROCESSING_FAILED' as const, message: 'bad \ud800 text' }],
    };
    // Act
    const { event } = appendEvent(undefined, step);
    // Assert
    expect(event.reasons[0]?.message).toBe('bad \ufffd text');
    expect(verifyTrail(UPLOAD_ID, [event]).verdict).toBe('verified');
  });
});

describe('verifyTrail', () => {
  it('verifies a trail as written, with and without the anchor a digest recorded', () => {
    // Arrange
    const { events, head } = writtenTrail();
    // Act
    const alone = verifyTrail(UPLOAD_ID, events);
    const anchored = verifyTrail(UPLOAD_ID, events, { seq: head.seq, hash: head.hash });
    // Assert
    expect(alone).toEqual({
      uploadId: UPLOAD_ID,
      verdict: 'verified',
      events: 5,
      head: { seq: 5, hash: head.hash },
    });
    expect(anchored).toEqual(alone);
  });

  it('verifies a trail that grew past the anchor of an earlier digest', () => {
    // Arrange
    const { events } = writtenTrail();
    // Act
    const report = verifyTrail(UPLOAD_ID, events, { seq: 3, hash: events[2]?.hash ?? '' });
    // Assert
    expect(report.verdict).toBe('verified');
  });

  it.each([
    [
      'a reason message',
      (event: RecordedEvent) => ({ ...event, reasons: [{ code: 'PROCESSING_FAILED', message: 'x' }] }),
    ],
    ['the actor', (event: RecordedEvent) => ({ ...event, actor: { type: 'user', id: 'mallory' } })],
    ['the status reached', (event: RecordedEvent) => ({ ...event, to: 'PROCESSED' })],
    ['the time', (event: RecordedEvent) => ({ ...event, at: '2025-03-01T12:00:02.500Z' })],
    ['the upload it belongs to', (event: RecordedEvent) => ({ ...event, uploadId: 'OTHER' })],
    ['a field added', (event: RecordedEvent) => ({ ...event, note: 'approved' })],
    ['a field removed', ({ versionId: _versionId, ...event }: RecordedEvent) => event],
    ['the hash itself', (event: RecordedEvent) => ({ ...event, hash: '0'.repeat(64) })],
  ])('reports the event whose %s was changed as modified, at its seq', (_label, tamper) => {
    // Arrange
    const { events } = writtenTrail();
    const tampered = events.map((event) => (event.seq === 3 ? tamper(event) : event));
    // Act
    const report = verifyTrail(UPLOAD_ID, tampered);
    // Assert
    expect(report.verdict).toBe('modified');
    expect(report.firstBrokenLink).toMatchObject({ seq: 3, position: 2 });
  });

  it('reports an event changed and hashed again as modified: the next event no longer follows from it', () => {
    // Arrange
    const { events } = writtenTrail();
    const tampered = events.map((event) => (event.seq === 3 ? rehashed({ ...event, reasons: [] }) : event));
    // Act
    const report = verifyTrail(UPLOAD_ID, tampered);
    // Assert
    expect(report.verdict).toBe('modified');
    expect(report.firstBrokenLink).toMatchObject({ seq: 3, position: 2 });
  });

  it('reports a last event changed and hashed again only against the head a digest recorded', () => {
    // Arrange
    const { events, head } = writtenTrail();
    const tampered = events.map((event) =>
      event.seq === 5 ? rehashed({ ...event, to: 'PROCESSED' }) : event,
    );
    // Act
    const alone = verifyTrail(UPLOAD_ID, tampered);
    const anchored = verifyTrail(UPLOAD_ID, tampered, { seq: head.seq, hash: head.hash });
    // Assert: the chain alone cannot tell (no key); the digest can
    expect(alone.verdict).toBe('verified');
    expect(anchored.verdict).toBe('modified');
    expect(anchored.firstBrokenLink).toMatchObject({ seq: 5 });
  });

  it.each([1, 2, 4])('reports event %i deleted, at its seq', (seq) => {
    // Arrange
    const { events } = writtenTrail();
    // Act
    const report = verifyTrail(
      UPLOAD_ID,
      events.filter((event) => event.seq !== seq),
    );
    // Assert
    expect(report.verdict).toBe('deleted');
    expect(report.firstBrokenLink).toMatchObject({ seq, position: seq - 1 });
  });

  it('reports the last events deleted against the head a digest recorded', () => {
    // Arrange
    const { events, head } = writtenTrail();
    // Act
    const report = verifyTrail(UPLOAD_ID, events.slice(0, 3), { seq: head.seq, hash: head.hash });
    // Assert
    expect(report.verdict).toBe('deleted');
    expect(report.firstBrokenLink).toMatchObject({ seq: 4, position: 3 });
    expect(report.firstBrokenLink?.problem).toContain('2 events missing at the end');
  });

  it('reports a trail with no event as deleted', () => {
    // Act
    const report = verifyTrail(UPLOAD_ID, []);
    // Assert
    expect(report).toMatchObject({ verdict: 'deleted', events: 0, firstBrokenLink: { seq: 1 } });
  });

  it('reports a forged event carrying the number of a real one as inserted', () => {
    // Arrange: well-formed on its own (hash and previous hash right), slipped in after event 2
    const { events } = writtenTrail();
    const forged = rehashed({
      ...(events[2] as RecordedEvent),
      action: 'PROCESSED',
      to: 'PROCESSED',
      reasons: [],
    });
    const tampered = [...events.slice(0, 3), forged, ...events.slice(3)];
    // Act
    const report = verifyTrail(UPLOAD_ID, tampered);
    // Assert
    expect(report.verdict).toBe('inserted');
    expect(report.firstBrokenLink).toMatchObject({ seq: 4, position: 3 });
  });

  it('reports a forged event numbered on, with the events after it left as they were, as inserted', () => {
    // Arrange: forged as event 3 (chained to 2); the real 3 follows, still naming 2
    const { events } = writtenTrail();
    const forged = rehashed({ ...(events[2] as RecordedEvent), actor: { type: 'user', id: 'mallory' } });
    const renumbered = [...events.slice(0, 2), forged, ...events.slice(2)];
    // Act
    const report = verifyTrail(UPLOAD_ID, renumbered);
    // Assert
    expect(report.verdict).toBe('inserted');
  });

  it('reports a trail rewritten from a forged event on (every later one renumbered and hashed again) against the digest', () => {
    // Arrange: what a writer of the table with no key can do at most
    const { events, head } = writtenTrail();
    const forgedStep = { ...(STEPS[2] as AuditEvent), at: '2025-03-01T12:00:01.500Z', reasons: [] };
    const rewritten = writtenTrail([...STEPS.slice(0, 2), forgedStep, ...STEPS.slice(2)]).events;
    // Act
    const alone = verifyTrail(UPLOAD_ID, rewritten);
    const anchored = verifyTrail(UPLOAD_ID, rewritten, { seq: head.seq, hash: head.hash });
    // Assert
    expect(events).toHaveLength(5);
    expect(alone.verdict).toBe('verified');
    expect(anchored).toMatchObject({ verdict: 'modified', firstBrokenLink: { seq: 5 } });
  });

  it('reports two events swapped as reordered, at the first place out of order', () => {
    // Arrange
    const { events } = writtenTrail();
    const swapped = [events[0], events[3], events[2], events[1], events[4]];
    // Act
    const report = verifyTrail(UPLOAD_ID, swapped);
    // Assert
    expect(report.verdict).toBe('reordered');
    expect(report.firstBrokenLink).toMatchObject({ seq: 2, position: 1 });
  });

  it('reports the first broken link when a trail was tampered with in several places', () => {
    // Arrange
    const { events } = writtenTrail();
    const tampered = events
      .filter((event) => event.seq !== 4)
      .map((event) => (event.seq === 2 ? { ...event, actor: { type: 'user', id: 'x' } } : event));
    // Act
    const report = verifyTrail(UPLOAD_ID, tampered);
    // Assert
    expect(report).toMatchObject({ verdict: 'modified', firstBrokenLink: { seq: 2 } });
  });

  it('reports events that are not objects as modified instead of throwing', () => {
    // Arrange
    const { events } = writtenTrail();
    // Act
    const report = verifyTrail(UPLOAD_ID, [events[0], 'junk', null, events[3]]);
    // Assert
    expect(report).toMatchObject({ verdict: 'modified', firstBrokenLink: { seq: 2 } });
  });
});
