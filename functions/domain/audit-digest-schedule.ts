import type { DigestEntry } from './audit-digest.js';
import type { RecordedEvent } from './model.js';

/**
 * When digests are due and what each one lists (pure: the writer's adapters read and write).
 * Periods lie on a grid of `intervalMs` from the epoch; a period ends `settleMs` before it is
 * written, settleMs being at least the longest timeout of a function that appends to a trail: an
 * event's time is taken before its write commits, so a write with a time before the period's end
 * is committed (or given up) by the time the period is digested.
 */
export interface DigestSchedule {
  intervalMs: number;
  settleMs: number;
}

/** Where a deployment's first digest starts: it lists every trail that changed before its end. */
export const FIRST_PERIOD_START = '1970-01-01T00:00:00.000Z';

/** The periods a run writes at most: a writer down for long catches up over several runs. */
export const MAX_PERIODS_PER_RUN = 96;

/**
 * The ends of the periods due at `now`, oldest first, after the last digest's end (undefined:
 * none written yet, and only the latest period is due, from FIRST_PERIOD_START). A period with
 * no change is due all the same, so that a gap shows.
 */
export function duePeriodEnds(
  schedule: DigestSchedule,
  now: Date,
  previousEnd: string | undefined,
  max = MAX_PERIODS_PER_RUN,
): string[] {
  const { intervalMs } = schedule;
  const latest = Math.floor((now.getTime() - schedule.settleMs) / intervalMs) * intervalMs;
  if (previousEnd === undefined) return latest > 0 ? [new Date(latest).toISOString()] : [];
  const ends: string[] = [];
  // The first grid point after the last end (on the grid unless the interval was changed).
  for (
    let end = (Math.floor(Date.parse(previousEnd) / intervalMs) + 1) * intervalMs;
    end <= latest && ends.length < max;
    end += intervalMs
  ) {
    ends.push(new Date(end).toISOString());
  }
  return ends;
}

/** The trail's head as of `periodEnd`: its last event before then. */
export function headAsOf(events: readonly RecordedEvent[], periodEnd: string): DigestEntry | undefined {
  let head: RecordedEvent | undefined;
  for (const event of events)
    if (event.at < periodEnd && (head === undefined || event.seq > head.seq)) head = event;
  return head === undefined ? undefined : { uploadId: head.uploadId, seq: head.seq, hash: head.hash };
}

/**
 * Every trail with an event in [periodStart, periodEnd), with its head as of periodEnd. A record
 * that carries a TTL (`ttl`, epoch seconds: an abandoned upload) at that head is named with the
 * time its retention ends, so that its deletion by the TTL is not reported as tampering.
 */
export function digestEntries(
  trails: ReadonlyArray<{ uploadId: string; events: readonly RecordedEvent[]; ttl?: number }>,
  periodStart: string,
  periodEnd: string,
): DigestEntry[] {
  return trails.flatMap(({ uploadId, events, ttl }) => {
    if (!events.some((event) => event.at >= periodStart && event.at < periodEnd)) return [];
    const head = headAsOf(events, periodEnd);
    if (head === undefined) return [];
    // The TTL belongs to the record's current head: an earlier head was not yet abandoned.
    const isCurrentHead = events.every((event) => event.seq <= head.seq);
    return [
      {
        ...head,
        uploadId,
        ...(ttl !== undefined && isCurrentHead ? { retainUntil: new Date(ttl * 1000).toISOString() } : {}),
      },
    ];
  });
}
