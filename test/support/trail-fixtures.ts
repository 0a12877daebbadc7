import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditEvent, RecordedEvent, TrailHead } from '../../functions/domain/model.js';

/** A trail head's hash for records whose trail a test does not read back (any 64 hex digits). */
export const FAKE_HEAD_HASH = 'f'.repeat(64);

/**
 * The hash README's format gives an event, computed here from the format (RFC 8785 JSON of the
 * event without `hash`, SHA-256, lowercase hex), not by the code under test.
 */
export function formatHash(event: Omit<RecordedEvent, 'hash'>): string {
  return createHash('sha256')
    .update(canonicalize(event) ?? '')
    .digest('hex');
}

/** Events numbered from 1 and chained as the format says: a well-formed trail and its head. */
export function chainTrail(events: readonly AuditEvent[]): { events: RecordedEvent[]; head: TrailHead } {
  const chained: RecordedEvent[] = [];
  for (const [index, event] of events.entries()) {
    const unhashed = { ...event, seq: index + 1, prevHash: chained.at(-1)?.hash ?? null };
    chained.push({ ...unhashed, hash: formatHash(unhashed) });
  }
  const last = chained.at(-1);
  return {
    events: chained,
    head: { seq: chained.length, at: last?.at ?? '', hash: last?.hash ?? FAKE_HEAD_HASH },
  };
}
