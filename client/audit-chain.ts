/**
 * An independent verifier of one upload's audit trail, written from docs/audit.md (the chain and
 * its verdicts) with web-standard parts only: SHA-256 through `crypto.subtle`, so it runs in
 * browsers and in Node alike. The console marks each trail an auditor reads with its verdict.
 *
 * Not part of the published @airlock/client package (excluded from its build, not exported from
 * index.ts), because it needs `canonicalize` (RFC 8785) and the package has no dependencies; the
 * console bundles it, as it bundles client/audit-csv.ts.
 */
import canonicalize from 'canonicalize';

/** What became of a trail (docs/audit.md "Verdicts"). */
export type ChainVerdict = 'verified' | 'modified' | 'deleted' | 'inserted' | 'reordered';

/** The first place the chain does not hold. */
export interface FirstBrokenLink {
  /** 0-based place in the trail as read. */
  position: number;
  /** The `seq` the event at that place should carry: position + 1. */
  seq: number;
  /** What is wrong there, in words. */
  problem: string;
}

export interface ChainReport {
  verdict: ChainVerdict;
  events: number;
  firstBrokenLink?: FirstBrokenLink;
}

type Fields = Record<string, unknown>;

/**
 * Verifies the trail of `uploadId` as read, oldest first: events as `GET /uploads/{id}/events`
 * shows them to an auditor (the upload id is put back into each one, as the hash covers it).
 * Anything may have been tampered with, so every event is taken as unknown.
 */
export async function verifyChain(uploadId: string, read: readonly unknown[]): Promise<ChainReport> {
  const events = read.map((event): Fields | undefined =>
    typeof event === 'object' && event !== null && !Array.isArray(event)
      ? { ...(event as Fields), uploadId }
      : undefined,
  );
  const intact = await Promise.all(events.map(hashesToItsHash));
  const broken = (verdict: ChainVerdict, position: number, problem: string): ChainReport => ({
    verdict,
    events: events.length,
    firstBrokenLink: { position, seq: position + 1, problem },
  });
  if (events.length === 0) return broken('deleted', 0, 'The trail holds no event.');
  const reordered = isReordered(events.map((event) => event?.seq));

  for (const [position, event] of events.entries()) {
    if (event === undefined || intact[position] !== true) {
      return broken('modified', position, 'This event was changed: it does not match its hash.');
    }
    const expected = position + 1;
    const before = position === 0 ? null : events[position - 1]?.hash;
    if (event.seq === expected && event.prevHash === before) continue;
    if (reordered) {
      return broken(
        'reordered',
        position,
        `Event ${String(event.seq)} stands where event ${expected} belongs.`,
      );
    }
    if (typeof event.seq === 'number' && event.seq > expected) {
      const missing = event.seq - expected;
      return broken(
        'deleted',
        position,
        `${missing} event${missing === 1 ? ' is' : 's are'} missing before event ${event.seq}.`,
      );
    }
    if (typeof event.seq === 'number' && event.seq < expected) {
      return broken('inserted', position, `A second event ${event.seq} stands after event ${expected - 1}.`);
    }
    if (position === 0 || event.seq !== expected) {
      return broken('modified', position, 'This event is not numbered or linked as the format requires.');
    }
    // Right number, wrong link: the event before this one is not the one it was chained to.
    if (position >= 2 && event.prevHash === events[position - 2]?.hash) {
      return broken('inserted', position - 1, 'This event was slipped into the chain.');
    }
    return broken(
      'modified',
      position - 1,
      `This event was rewritten (and hashed again): event ${expected} does not follow from it.`,
    );
  }
  return { verdict: 'verified', events: events.length };
}

/** Every seq a number, 1 to n once each, and some out of place: events moved, none added or lost. */
function isReordered(seqs: readonly unknown[]): boolean {
  if (!seqs.every((seq): seq is number => typeof seq === 'number')) return false;
  const inOrder = [...seqs].sort((a, b) => a - b).every((seq, index) => seq === index + 1);
  return inOrder && seqs.some((seq, index) => seq !== index + 1);
}

/** SHA-256 (lowercase hex) of the RFC 8785 JSON of the event without `hash`, equal to its `hash`. */
async function hashesToItsHash(event: Fields | undefined): Promise<boolean> {
  if (event === undefined || typeof event.hash !== 'string') return false;
  const { hash, ...content } = event;
  let canonical: string | undefined;
  try {
    canonical = canonicalize(content);
  } catch {
    return false; // not serialisable as RFC 8785 requires (a lone surrogate, a non-finite number)
  }
  if (canonical === undefined) return false;
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical));
  return hex(new Uint8Array(digest)) === hash;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
