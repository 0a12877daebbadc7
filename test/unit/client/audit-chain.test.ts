import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { verifyChain } from '../../../client/audit-chain.js';
import { verifyTrail } from '../../../functions/domain/audit-chain.js';
import { appendEvent } from '../../../functions/domain/audit-trail.js';
import type { AuditEvent, RecordedEvent, TrailHead } from '../../../functions/domain/model.js';
import { toAuditEventView } from '../../../functions/domain/status-view.js';
import { failureReason } from '../../../functions/domain/transition-events.js';

/**
 * The console's verifier (client/audit-chain.ts, web crypto) was written from docs/audit.md
 * alone; the domain's (functions/domain/audit-chain.ts, node:crypto) is the one the CLI runs. On
 * every kind of tampering both must give the same verdict and first broken link, and that link
 * must be where the tampering was: the docs suffice to write a verifier that agrees.
 */

const UPLOAD_ID = '01JNB8Y6Z4Q2W7E5R3T9K1M0PA';
const VERSION = '3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:airlock-pipeline:exec-1';

const step = (index: number, fields: Partial<AuditEvent>): AuditEvent => ({
  uploadId: UPLOAD_ID,
  at: new Date(Date.UTC(2025, 2, 1, 12, 0, index)).toISOString(),
  actor: { type: 'system', id: 'record' },
  action: 'CLAIMED',
  from: 'PENDING_UPLOAD',
  to: 'PROCESSING',
  reasons: [],
  ...fields,
});

/** A trail with everything an auditor is shown: a failure in its words, a redrive, a scan verdict. */
const STEPS: AuditEvent[] = [
  step(0, { actor: { type: 'user', id: 'alice' }, action: 'ISSUED', from: null, to: 'PENDING_UPLOAD' }),
  step(1, { actor: { type: 'system', id: 'claim' }, versionId: VERSION, executionId: EXECUTION }),
  step(2, {
    action: 'FAILED',
    from: 'PROCESSING',
    to: 'FAILED',
    reasons: [failureReason('Lambda.ServiceException at arn:aws:lambda:us-east-1:123456789012:function:x')],
    versionId: VERSION,
    executionId: EXECUTION,
  }),
  step(3, {
    actor: { type: 'system', id: 'redrive' },
    action: 'REDRIVEN',
    from: 'FAILED',
    to: 'PROCESSING',
    versionId: VERSION,
    executionId: `${EXECUTION}-2`,
  }),
  step(4, {
    action: 'QUARANTINED',
    from: 'PROCESSING',
    to: 'QUARANTINED',
    reasons: [{ code: 'MALWARE_DETECTED', message: 'Eicar-Signature — “naïve” ✓' }],
    versionId: VERSION,
    executionId: `${EXECUTION}-2`,
    scan: {
      status: 'THREATS_FOUND',
      engine: { name: 'ClamAV', version: '1.4.2' },
      database: { name: 'daily', version: '27500', publishedAt: '2025-02-28T08:00:00.000Z' },
      scannedAt: '2025-03-01T12:00:03.900Z',
      threats: ['Eicar-Signature'],
    },
  }),
];

/** The trail as the writers store it, every event appended through appendEvent. */
function storedTrail(steps: AuditEvent[] = STEPS): RecordedEvent[] {
  let head: TrailHead | undefined;
  return steps.map((next) => {
    const append = appendEvent(head, next);
    head = append.head;
    return append.event;
  });
}

type Shown = Record<string, unknown>;

/** The trail as GET /uploads/{id}/events and the NDJSON export show it to an auditor. */
const auditorView = (events: RecordedEvent[]): Shown[] =>
  events.map((event) => toAuditEventView(event, 'auditor') as unknown as Shown);

/** What an attacker with table access but no key can do: hash the event again by the format. */
function rehashed(event: Shown): Shown {
  const { hash: _stale, ...content } = event;
  return {
    ...content,
    hash: createHash('sha256')
      .update(canonicalize({ ...content, uploadId: UPLOAD_ID })!)
      .digest('hex'),
  };
}

/** Both verifiers' reports, side by side: the domain's as the CLI calls it, the console's. */
async function bothVerdicts(shown: readonly unknown[]) {
  const domain = verifyTrail(
    UPLOAD_ID,
    shown.map((event) =>
      typeof event === 'object' && event !== null ? { ...event, uploadId: UPLOAD_ID } : event,
    ),
  );
  const web = await verifyChain(UPLOAD_ID, shown);
  const link = (found?: { seq: number; position: number }) =>
    found === undefined ? undefined : { seq: found.seq, position: found.position };
  return {
    domain: { verdict: domain.verdict, link: link(domain.firstBrokenLink) },
    web: { verdict: web.verdict, link: link(web.firstBrokenLink) },
  };
}

const at = (events: Shown[], seq: number): Shown => events[seq - 1]!;

/** Each tampering, and where it must be found: the verdict and the place (0-based) of the first broken link. */
const TAMPERINGS: Array<[string, (events: Shown[]) => unknown[], string, number | undefined]> = [
  ['nothing changed', (events) => events, 'verified', undefined],
  [
    'a reason message changed',
    (events) => events.map((event, index) => (index === 2 ? { ...event, reasons: [] } : event)),
    'modified',
    2,
  ],
  [
    'an actor changed',
    (events) =>
      events.map((event, index) =>
        index === 1 ? { ...event, actor: { type: 'user', id: 'mallory' } } : event,
      ),
    'modified',
    1,
  ],
  [
    'a threat name changed',
    (events) =>
      events.map((event, index) =>
        index === 4 ? { ...event, scan: { ...(event.scan as object), threats: ['Nothing'] } } : event,
      ),
    'modified',
    4,
  ],
  [
    'a field added',
    (events) => events.map((event, index) => (index === 3 ? { ...event, note: 'approved' } : event)),
    'modified',
    3,
  ],
  [
    'the previous hash removed',
    (events) => events.map((event, index) => (index === 0 ? { ...event, prevHash: undefined } : event)),
    'modified',
    0,
  ],
  ['the first event deleted', (events) => events.slice(1), 'deleted', 0],
  ['event 2 deleted', (events) => events.filter((_, index) => index !== 1), 'deleted', 1],
  ['event 4 deleted', (events) => events.filter((_, index) => index !== 3), 'deleted', 3],
  ['every event deleted', () => [], 'deleted', 0],
  [
    'a forged copy of event 3 slipped in after it',
    (events) => [
      ...events.slice(0, 3),
      rehashed({ ...at(events, 3), action: 'PROCESSED', to: 'PROCESSED' }),
      ...events.slice(3),
    ],
    'inserted',
    3,
  ],
  [
    'a forged event 3 slipped in before the real one',
    (events) => [
      ...events.slice(0, 2),
      rehashed({ ...at(events, 3), actor: { type: 'user', id: 'mallory' } }),
      ...events.slice(2),
    ],
    'inserted',
    3,
  ],
  [
    'events 2 and 4 swapped',
    (events) => [events[0], events[3], events[2], events[1], events[4]],
    'reordered',
    1,
  ],
  ['the last two swapped', (events) => [...events.slice(0, 3), events[4], events[3]], 'reordered', 3],
  [
    'event 3 changed and hashed again',
    (events) => events.map((event, index) => (index === 2 ? rehashed({ ...event, reasons: [] }) : event)),
    'modified',
    2,
  ],
  [
    'the first event given a predecessor and hashed again',
    (events) =>
      events.map((event, index) => (index === 0 ? rehashed({ ...event, prevHash: 'f'.repeat(64) }) : event)),
    'modified',
    0,
  ],
  [
    "event 3's number removed and hashed again",
    (events) =>
      events.map((event, index) => {
        if (index !== 2) return event;
        const { seq: _seq, ...unnumbered } = event;
        return rehashed(unnumbered);
      }),
    'modified',
    2,
  ],
  ['events that are not objects', (events) => [events[0], 'junk', null, ...events.slice(3)], 'modified', 1],
];

describe('the console verifier agrees with the domain verifier (docs/audit.md suffices)', () => {
  it.each(TAMPERINGS)('%s: both report it at the same place', async (_label, tamper, verdict, position) => {
    // Arrange
    const shown = tamper(auditorView(storedTrail()));
    // Act
    const { domain, web } = await bothVerdicts(shown);
    // Assert
    const expected = {
      verdict,
      link: position === undefined ? undefined : { seq: position + 1, position },
    };
    expect(web).toEqual(expected);
    expect(domain).toEqual(expected);
  });

  it('verifies a trail whose events still carry their upload id (as stored), and not one of another upload', async () => {
    // Arrange
    const stored = storedTrail();
    // Act
    const own = await verifyChain(UPLOAD_ID, stored);
    const other = await verifyChain('01JNB8Y6Z4Q2W7E5R3T9K1M0PB', stored);
    // Assert
    expect(own).toEqual({ verdict: 'verified', events: 5 });
    expect(other).toMatchObject({ verdict: 'modified', firstBrokenLink: { seq: 1, position: 0 } });
  });

  it("does not verify an owner's view (a failure in generic words, no threat names)", async () => {
    // Arrange
    const ownerView = storedTrail().map((event) => toAuditEventView(event, 'owner'));
    // Act
    const report = await verifyChain(UPLOAD_ID, ownerView);
    // Assert: the FAILED event (place 2) is the first the redaction changed
    expect(report).toMatchObject({ verdict: 'modified', firstBrokenLink: { seq: 3, position: 2 } });
  });

  it('says in words what is wrong at the broken link', async () => {
    // Arrange
    const events = auditorView(storedTrail());
    // Act
    const deleted = await verifyChain(
      UPLOAD_ID,
      events.filter((_, index) => index !== 1),
    );
    // Assert
    expect(deleted.firstBrokenLink?.problem).toBe('1 event is missing before event 3.');
  });
});
