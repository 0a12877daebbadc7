import type { RecordedEvent } from '../../functions/domain/model.js';
import type { UnhashedEvent } from '../../functions/domain/audit-chain.js';

export * from '../../functions/domain/audit-chain.js';

/**
 * The baseline of the chaining benchmark: an event appended as before the chain, with its number
 * but no `prevHash` and no stored `hash`. The hash is a one-character placeholder, not enumerable,
 * so that the event is stored without it while the trail's head (a string, as the table's
 * conditions expect) holds one character where the chain holds 64.
 */
export function sealEvent(event: UnhashedEvent): RecordedEvent {
  const { prevHash: _prevHash, ...unchained } = event;
  return Object.defineProperty(unchained, 'hash', { value: '-', enumerable: false }) as RecordedEvent;
}
