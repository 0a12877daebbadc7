import { randomUUID } from 'node:crypto';
import { lazy, makeDynamoDbClient, makeS3Client, readConfig } from './commons/config.js';
import { requireEnv } from './commons/env.js';
import { readDigestSchedule, signerFromEnv } from './commons/digest-settings.js';
import { ENV_NAMES } from './commons/env-names.js';
import { ConfigurationError } from './domain/errors.js';
import { logger } from './commons/logger.js';
import { DIGEST_PREFIX, DigestBucket } from './adapters/digest-bucket.js';
import type { DigestSigner } from './adapters/digest-signer.js';
import { DigestStateStore } from './adapters/digest-state.js';
import { UploadQueries } from './adapters/upload-queries.js';
import {
  digestKey,
  digestLink,
  digestSigningInput,
  nextDigest,
  type Digest,
  type DigestLink,
} from './domain/audit-digest.js';
import {
  digestEntries,
  duePeriodEnds,
  FIRST_PERIOD_START,
  type DigestSchedule,
} from './domain/audit-digest-schedule.js';
import { UPLOAD_STATUSES, type RecordedEvent } from './domain/model.js';

export interface WriteAuditDigestDeps {
  state: Pick<DigestStateStore, 'read' | 'acquire' | 'advance' | 'release'>;
  digests: Pick<DigestBucket, 'find' | 'put'>;
  trails: Pick<UploadQueries, 'pageByStatus' | 'pageEvents'>;
  signer: DigestSigner;
  schedule: DigestSchedule;
  /** How long one run may work: it stops between digests, leaving the rest to the next run. */
  budgetMs: number;
  now: () => Date;
}

export interface DigestRunReport {
  written: string[];
  /** Another run holds the lease (or moved the cursor): this one wrote nothing. */
  busy: boolean;
  /** Periods still due when the run stopped (its budget, or MAX_PERIODS_PER_RUN). */
  remaining: number;
}

const PAGE_SIZE = 100;
const READ_CONCURRENCY = 8;

/**
 * Writes the signed, chained digest of every period due (docs/audit.md), oldest first, one per
 * period, under a lease in the table; a period with no change gets one too. A run that crashed
 * between writing a digest and moving the cursor left the digest: the next run adopts it rather
 * than writing the period twice.
 */
export function makeWriteAuditDigestHandler(deps: () => WriteAuditDigestDeps) {
  return async (): Promise<DigestRunReport> => {
    const { state, digests, trails, signer, schedule, budgetMs, now } = deps();
    const started = now();
    const report: DigestRunReport = { written: [], busy: false, remaining: 0 };
    const read = await state.read();
    let last = read.last;
    const ends = duePeriodEnds(schedule, started, last?.periodEnd);
    if (ends.length === 0) return report;
    const runId = randomUUID();
    if (!(await state.acquire(runId, started, new Date(started.getTime() + budgetMs * 2), last))) {
      return { ...report, busy: true, remaining: ends.length };
    }
    try {
      // Every trail that changed since the first due period began, read once for all of them.
      const changed = await changedTrailsSince(trails, last?.periodEnd ?? FIRST_PERIOD_START);
      const keyId = await signer.keyId();
      for (const [index, periodEnd] of ends.entries()) {
        if (now().getTime() - started.getTime() > budgetMs) {
          report.remaining = ends.length - index;
          break;
        }
        const key = digestKey(DIGEST_PREFIX, { periodEnd });
        const digest = adopt(await digests.find(key), last, key) ?? (await sign());
        async function sign(): Promise<Digest> {
          const unsigned = nextDigest({
            previous: last,
            firstPeriodStart: FIRST_PERIOD_START,
            periodEnd,
            uploads: digestEntries(changed, last?.periodEnd ?? FIRST_PERIOD_START, periodEnd),
            keyId,
            schedule: {
              intervalSeconds: Math.round(schedule.intervalMs / 1000),
              settleSeconds: Math.round(schedule.settleMs / 1000),
            },
          });
          const written = { ...unsigned, signature: await signer.sign(digestSigningInput(unsigned)) };
          await digests.put(key, written);
          return written;
        }
        const link = digestLink(digest);
        if (!(await state.advance(runId, last, link))) {
          report.busy = true;
          break;
        }
        last = link;
        report.written.push(key);
        logger.info('audit digest written', { key, number: digest.number, uploads: digest.uploads.length });
      }
    } finally {
      await state.release(runId).catch((error: unknown) => {
        logger.warn('digest lease not released; it lapses', { error: (error as Error).name });
      });
    }
    return report;
  };
}

/**
 * A digest a crashed run stored under `key` before moving the cursor: taken as written if it is
 * the one that follows `last`; anything else under that key is for an operator to look at.
 */
function adopt(stored: unknown, last: DigestLink | undefined, key: string): Digest | undefined {
  if (stored === undefined) return undefined;
  const digest = stored as Partial<Digest>;
  const follows =
    digest.number === (last?.number ?? 0) + 1 &&
    (last === undefined ? digest.previous === null : digest.previous?.hash === last.hash) &&
    typeof digest.signature === 'string' &&
    Array.isArray(digest.uploads);
  if (!follows)
    throw new ConfigurationError(`${key} holds a digest that does not follow the last one written.`);
  return digest as Digest;
}

/** Every trail whose record's last change is at or after `since` (all statuses), read whole. */
async function changedTrailsSince(
  trails: WriteAuditDigestDeps['trails'],
  since: string,
): Promise<Array<{ uploadId: string; events: RecordedEvent[]; ttl?: number }>> {
  const ids: string[] = [];
  for (const status of UPLOAD_STATUSES) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await trails.pageByStatus({
        status,
        from: since,
        to: '~', // after every "<time>#<id>"
        limit: PAGE_SIZE,
        ...(startKey ? { startKey } : {}),
      });
      ids.push(...page.items.map((record) => record.uploadId));
      startKey = page.lastKey;
    } while (startKey !== undefined);
  }
  const read: Array<{ uploadId: string; events: RecordedEvent[]; ttl?: number }> = [];
  for (let start = 0; start < ids.length; start += READ_CONCURRENCY) {
    const batch = ids.slice(start, start + READ_CONCURRENCY);
    const pages = await Promise.all(batch.map((id) => trails.pageEvents(id)));
    batch.forEach((uploadId, index) => {
      const page = pages[index];
      read.push({
        uploadId,
        events: page?.events ?? [],
        ...(page?.ttl !== undefined ? { ttl: page.ttl } : {}),
      });
    });
  }
  return read;
}

const defaultDeps = lazy((): WriteAuditDigestDeps => {
  const config = readConfig();
  const dynamoDb = makeDynamoDbClient(config);
  const { budgetMs, ...schedule } = readDigestSchedule();
  return {
    state: new DigestStateStore(config.tableName, dynamoDb),
    digests: new DigestBucket(requireEnv(ENV_NAMES.auditDigestBucket), makeS3Client(config)),
    trails: new UploadQueries(config.tableName, dynamoDb),
    signer: signerFromEnv(),
    schedule,
    budgetMs,
    now: () => new Date(),
  };
});

export const handler = makeWriteAuditDigestHandler(defaultDeps);
