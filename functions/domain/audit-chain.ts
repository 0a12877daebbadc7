import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { RecordedEvent } from './model.js';

/**
 * The hash chain of an upload's trail (README "Verifying the audit trail" gives the format):
 *   hash     = lowercase hex SHA-256 of the RFC 8785 canonical JSON of the event as stored,
 *              `uploadId` included and `hash` left out;
 *   prevHash = the hash of the event before it, null for the first (seq 1).
 * Whoever rewrites an event must rewrite every later one and the digests that name its head.
 */

/** An event before its own hash is known. */
export type UnhashedEvent = Omit<RecordedEvent, 'hash'>;

/** The hash of an event: over every field it stores but `hash` itself. */
export function eventHash(event: UnhashedEvent | RecordedEvent): string {
  const { hash: _hash, ...content } = event as RecordedEvent;
  const canonical = canonicalize(content);
  if (canonical === undefined) throw new TypeError('An audit event must serialise to JSON.');
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** The event with its hash. */
export function sealEvent(event: UnhashedEvent): RecordedEvent {
  return { ...event, hash: eventHash(event) };
}

/** What became of a trail. */
export const TRAIL_VERDICTS = ['verified', 'modified', 'deleted', 'inserted', 'reordered'] as const;
export type TrailVerdict = (typeof TRAIL_VERDICTS)[number];

/** The first place the chain does not hold: the event at `position` (0-based) of the trail read. */
export interface BrokenLink {
  /** The seq the event at that place should have (one more than the last good event). */
  seq: number;
  position: number;
  problem: string;
}

/** The last event of a trail as something outside the table (a digest) saw it. */
export interface TrailAnchor {
  seq: number;
  hash: string;
}

export interface TrailReport {
  uploadId: string;
  verdict: TrailVerdict;
  events: number;
  /** The head of the trail read (seq 0 and no hash for a trail with no event). */
  head: { seq: number; hash: string | null };
  firstBrokenLink?: BrokenLink;
}

/** A stored event as read back: any field may have been tampered with. */
type ReadEvent = Record<string, unknown>;

/**
 * Verifies one upload's trail in the order it is stored, against `anchor` (the head its latest
 * digest recorded) when there is one. Pure: no key is needed, only the chain and the anchor.
 * Events after the anchor are checked by the chain alone: whoever can write the table can
 * extend a trail past its last digest, never change what a digest covers.
 */
export function verifyTrail(uploadId: string, read: readonly unknown[], anchor?: TrailAnchor): TrailReport {
  const events = read.map((event): ReadEvent =>
    typeof event === 'object' && event !== null ? { ...event } : {},
  );
  const report = (verdict: TrailVerdict, link?: BrokenLink): TrailReport => {
    const last = events.at(-1);
    return {
      uploadId,
      verdict,
      events: events.length,
      head: {
        seq: typeof last?.seq === 'number' ? last.seq : 0,
        hash: typeof last?.hash === 'string' ? last.hash : null,
      },
      ...(link ? { firstBrokenLink: link } : {}),
    };
  };
  if (events.length === 0) {
    return report('deleted', { seq: 1, position: 0, problem: 'the trail holds no event' });
  }
  const seqs = events.map((event) => event.seq);
  // Every number there once, some out of place: events moved, none added or lost.
  const isReordered =
    seqs.every((seq) => typeof seq === 'number') &&
    [...seqs].sort((a, b) => a - b).every((seq, index) => seq === index + 1) &&
    seqs.some((seq, index) => seq !== index + 1);

  for (const [position, event] of events.entries()) {
    const seq = position + 1;
    const previous = position === 0 ? undefined : events[position - 1];
    if (event.uploadId !== uploadId || !hashMatches(event)) {
      return report('modified', { seq, position, problem: 'the event does not match its hash' });
    }
    const expectedPrevious = previous === undefined ? null : previous.hash;
    if (event.seq === seq && event.prevHash === expectedPrevious) continue;
    if (isReordered) {
      return report('reordered', {
        seq,
        position,
        problem: `event ${String(event.seq)} stands at place ${seq}`,
      });
    }
    if (typeof event.seq === 'number' && event.seq > seq) {
      const missing = event.seq - seq;
      return report('deleted', {
        seq,
        position,
        problem: `${missing} event${missing === 1 ? '' : 's'} missing before event ${event.seq}`,
      });
    }
    if (typeof event.seq === 'number' && event.seq < seq) {
      return report('inserted', {
        seq,
        position,
        problem: `a second event ${event.seq} follows event ${seq - 1}`,
      });
    }
    // The first event naming one before it, or an event with no number: this event is at fault.
    if (position === 0 || event.seq !== seq) {
      return report('modified', {
        seq,
        position,
        problem: 'the event is not numbered or linked as the format says',
      });
    }
    // Right number, wrong link: the event before it was forged in, or rewritten with a new hash.
    const beforePrevious = position >= 2 ? events[position - 2] : undefined;
    if (beforePrevious !== undefined && event.prevHash === beforePrevious.hash) {
      return report('inserted', {
        seq: seq - 1,
        position: position - 1,
        problem: 'an event not in the chain',
      });
    }
    return report('modified', {
      seq: seq - 1,
      position: position - 1,
      problem: `event ${seq} does not follow from it (rewritten with a new hash)`,
    });
  }

  if (anchor !== undefined) {
    if (anchor.seq > events.length) {
      const missing = anchor.seq - events.length;
      return report('deleted', {
        seq: events.length + 1,
        position: events.length,
        problem: `${missing} event${missing === 1 ? '' : 's'} missing at the end (a digest saw event ${anchor.seq})`,
      });
    }
    const anchored = events[anchor.seq - 1];
    if (anchored?.hash !== anchor.hash) {
      return report('modified', {
        seq: anchor.seq,
        position: anchor.seq - 1,
        problem: 'the trail up to this event differs from what a digest recorded',
      });
    }
  }
  return report('verified');
}

function hashMatches(event: ReadEvent): boolean {
  if (typeof event.hash !== 'string') return false;
  try {
    return eventHash(event as unknown as RecordedEvent) === event.hash;
  } catch {
    return false;
  }
}
