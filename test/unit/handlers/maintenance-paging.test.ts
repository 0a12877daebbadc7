import { startInMemoryDynamo, type InMemoryDynamo } from '../../support/dynalite.js';
import { mockClient } from 'aws-sdk-client-mock';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { SweepStateStore } from '../../../functions/adapters/sweep-state.js';
import { UploadStore, type NewUpload } from '../../../functions/adapters/upload-store.js';
import { issuedEvent } from '../../../functions/domain/transition-events.js';
import type { UploadRecord, UploadStatus } from '../../../functions/domain/model.js';
import { makeRedriveHandler, type RedriveReport } from '../../../functions/redrive.js';
import { makeSweeperHandler, type SweepReport } from '../../../functions/sweeper.js';
import type { SweepSettings } from '../../../functions/commons/sweep-settings.js';
import { ensureTable } from '../../../local/dynamo.js';
import { BUCKET, FakeExecutions, newObjectStore } from './aws-fakes.js';

/**
 * The sweeper's and redrive's paging against a real DynamoDB implementation (dynalite, in
 * memory, the table created as CDK creates it): cursors, budgets and fairness when there is more
 * to do than one run can. S3 is mocked; every call to it costs COST_MS of the run's (fake) clock,
 * so that a budget holds a known number of records.
 */

// Hundreds of real DynamoDB writes per test: seconds on a busy machine.
const SLOW = 60_000;

const s3 = mockClient(S3Client);
const COST_MS = 10;
const MINUTE = 60_000;
const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const TABLE = 'airlock-paging-test';

let client: DynamoDBClient;
let table = 0;
let store: UploadStore;
let tableName = '';
let nowMs = T0;
const clock = () => new Date(nowMs);
/** Quarantine keys that hold a version (a lost event's object, a FAILED upload's bytes). */
let quarantine: Set<string>;

let dynamo: InMemoryDynamo;

beforeAll(async () => {
  dynamo = await startInMemoryDynamo();
  client = dynamo.client;
});

afterAll(() => dynamo.close());

beforeEach(async () => {
  // A fresh table per test: the sweeper's cursors live in it.
  const name = `${TABLE}-${++table}`;
  await ensureTable(client, name);
  store = new UploadStore(name, client);
  nowMs = T0;
  quarantine = new Set();
  s3.reset();
  s3.on(ListObjectVersionsCommand).callsFake((input: { Prefix: string }) => {
    nowMs += COST_MS;
    return {
      Versions: quarantine.has(input.Prefix) ? [{ Key: input.Prefix, VersionId: 'v1', Size: 10 }] : [],
    };
  });
  tableName = name;
});

/** Writes a record as create-upload writes one (with its ISSUED event), or in a later status. */
async function seed(
  id: string,
  createdAtMs: number,
  status: UploadStatus = 'PENDING_UPLOAD',
  extra: Partial<UploadRecord> = {},
) {
  const createdAt = new Date(createdAtMs).toISOString();
  const record: NewUpload = {
    uploadId: id,
    owner: 'owner-1',
    status,
    fileName: 'a.txt',
    contentType: 'text/plain',
    size: 10,
    method: 'PUT',
    createdAt,
    updatedAt: createdAt,
    expiresAt: new Date(createdAtMs + 15 * MINUTE).toISOString(),
    ...extra,
  };
  await store.createPending(
    record,
    issuedEvent(id, record.owner, createdAt),
    Math.ceil(createdAtMs / 1000) + 86_400,
  );
}

const idOf = (prefix: string, index: number) => `${prefix}${String(index).padStart(6, '0')}`;

/** `count` records one second apart, oldest first; `extra` adds fields per id. */
async function seedMany(
  prefix: string,
  count: number,
  firstCreatedAtMs: number,
  status?: UploadStatus,
  extra: (id: string) => Partial<UploadRecord> = () => ({}),
) {
  for (let index = 0; index < count; index += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - index) }, (_, offset) => {
        const id = idOf(prefix, index + offset);
        return seed(id, firstCreatedAtMs + (index + offset) * 1000, status, extra(id));
      }),
    );
  }
}

const SETTINGS: SweepSettings = {
  intervalMs: 5 * MINUTE,
  // Four pages of 10 records at COST_MS each: 40 records per run.
  budgetMs: 400,
  pageSize: 10,
  concurrency: 1,
  lostEventAfterMs: 5 * MINUTE,
  expiryGraceMs: MINUTE,
};
const PER_RUN = SETTINGS.budgetMs / COST_MS;

function sweeper(executions: FakeExecutions) {
  return makeSweeperHandler(() => sweeperDeps(executions));
}

function sweeperDeps(executions: FakeExecutions) {
  return {
    store,
    sweepState: new SweepStateStore(tableName, client),
    objects: newObjectStore(),
    executions,
    bucket: BUCKET,
    now: clock,
    processingTimeoutMs: 30 * MINUTE,
    uploadTtlMs: 15 * MINUTE,
    abandonedRecordRetentionSeconds: 90 * 86_400,
    sweep: SETTINGS,
  };
}

/** Runs the sweeper once per interval until `done` or `maxRuns`; the reports of each run. */
async function sweepRuns(
  executions: FakeExecutions,
  maxRuns: number,
  done?: (report: SweepReport) => boolean,
) {
  const reports: SweepReport[] = [];
  const run = sweeper(executions);
  for (let index = 0; index < maxRuns; index++) {
    const startedAt = nowMs;
    const report = await run();
    reports.push(report);
    if (done?.(report)) break;
    nowMs = startedAt + SETTINGS.intervalMs;
  }
  return reports;
}

const statusOf = async (id: string) => (await store.get(id))?.status;
const countStatus = async (ids: string[], status: UploadStatus) =>
  (await Promise.all(ids.map(statusOf))).filter((found) => found === status).length;

describe('sweeper paging (dynalite)', () => {
  it(
    'drains a backlog bigger than one run, a budget at a time, each upload once',
    async () => {
      // Arrange: three and a half runs' worth of grants abandoned two hours ago (past expiry and grace)
      const backlog = 3.5 * PER_RUN;
      await seedMany('01BACKLOG', backlog, T0 - 2 * 60 * MINUTE);
      const ids = Array.from({ length: backlog }, (_, index) => idOf('01BACKLOG', index));
      // Act
      const reports = await sweepRuns(new FakeExecutions(), 10, (report) => report.complete);
      // Assert: as many runs as the budget implies, none over it, every grant expired exactly once
      expect(reports.map((report) => report.expired)).toEqual([
        PER_RUN,
        PER_RUN,
        PER_RUN,
        backlog - 3 * PER_RUN,
      ]);
      expect(reports.map((report) => report.complete)).toEqual([false, false, false, true]);
      expect(await countStatus(ids, 'EXPIRED')).toBe(backlog);
      const trails = await Promise.all(ids.map((id) => store.listAudit(id)));
      expect(trails.map((trail) => trail.filter((event) => event.action === 'EXPIRED').length)).toEqual(
        ids.map(() => 1),
      );
    },
    SLOW,
  );

  it(
    'finds a lost event and expires a new grant in the first run, however large the backlog beneath them',
    async () => {
      // Arrange: the backlog, then (newer) a grant that just expired and an upload whose event was lost
      await seedMany('01BACKLOG', 5 * PER_RUN, T0 - 2 * 60 * MINUTE);
      await seed('01NEWEXPIRED', T0 - 17 * MINUTE);
      await seed('01LOSTEVENT', T0 - 6 * MINUTE); // grant still valid for 9 minutes
      quarantine.add('quarantine/01LOSTEVENT');
      const executions = new FakeExecutions();
      // Act
      const [first] = await sweepRuns(executions, 1);
      // Assert
      expect(executions.started.map((start) => start.dedupeKey.split('@')[0])).toEqual([
        'quarantine/01LOSTEVENT',
      ]);
      expect(await statusOf('01NEWEXPIRED')).toBe('EXPIRED');
      expect(first?.complete).toBe(false); // the backlog is still there: the check means something
      const left = await countStatus(
        Array.from({ length: 5 * PER_RUN }, (_, index) => idOf('01BACKLOG', index)),
        'PENDING_UPLOAD',
      );
      expect(left).toBe(5 * PER_RUN - (PER_RUN - 2));
    },
    SLOW,
  );

  it(
    'reaches a stalled upload behind more running ones than a run can check, by resuming its cursor',
    async () => {
      // Arrange: one and a half runs' worth of PROCESSING uploads whose executions run, then a stalled one
      const RUNNING = 1.5 * PER_RUN;
      const running = new Set<string>();
      for (let index = 0; index < RUNNING; index++) running.add(`exec-${idOf('01RUNNING', index)}`);
      const executions = new (class extends FakeExecutions {
        override isRunning(executionId: string) {
          nowMs += COST_MS;
          return super.isRunning(executionId);
        }
      })(running);
      await seedMany('01RUNNING', RUNNING, T0 - 3 * 60 * MINUTE, 'PROCESSING', (id) => ({
        executionId: `exec-${id}`,
      }));
      await seed('01STALLED', T0 - 2 * 60 * MINUTE, 'PROCESSING', { executionId: 'exec-gone' });
      // Act
      const reports = await sweepRuns(executions, 3, (report) => report.failed > 0);
      // Assert: the second run goes on after the first run's 200, instead of checking them again
      expect(reports.map((report) => [report.stillRunning, report.failed])).toEqual([
        [PER_RUN, 0],
        [RUNNING - PER_RUN, 1],
      ]);
      expect(await statusOf('01STALLED')).toBe('FAILED');
    },
    SLOW,
  );

  it(
    'stops within a page when its budget runs out, and the next run goes on right after the last upload it handled',
    async () => {
      // Arrange: budget for 25 checks with pages of 10; 30 running uploads, then a stalled one
      const running = new Set(Array.from({ length: 30 }, (_, index) => `exec-${idOf('01RUNNING', index)}`));
      const executions = new (class extends FakeExecutions {
        override isRunning(executionId: string) {
          nowMs += COST_MS;
          return super.isRunning(executionId);
        }
      })(running);
      await seedMany('01RUNNING', 30, T0 - 3 * 60 * MINUTE, 'PROCESSING', (id) => ({
        executionId: `exec-${id}`,
      }));
      await seed('01STALLED', T0 - 2 * 60 * MINUTE, 'PROCESSING', { executionId: 'exec-gone' });
      const run = makeSweeperHandler(() => ({
        ...sweeperDeps(executions),
        sweep: { ...SETTINGS, budgetMs: 25 * COST_MS },
      }));
      // Act
      const first = await run();
      nowMs += SETTINGS.intervalMs;
      const second = await run();
      // Assert: 25 in the first run (mid-page), the 5 after them and the stalled one in the second
      expect([first.stillRunning, first.failed, second.stillRunning, second.failed]).toEqual([25, 0, 5, 1]);
    },
    SLOW,
  );
});

describe('redrive paging (dynalite)', () => {
  function redrive(executions: FakeExecutions) {
    return makeRedriveHandler(() => ({
      store,
      objects: newObjectStore(),
      executions,
      bucket: BUCKET,
      now: clock,
      pageSize: 20,
      concurrency: 1,
      budgetMs: 15 * COST_MS, // 15 checks per invocation with pages of 20: it stops within pages
    }));
  }

  it(
    'answers a cursor when its budget runs out, and the next invocation goes on past the skipped ones',
    async () => {
      // Arrange: two budgets' worth of FAILED uploads whose bytes are gone, then one that can be redriven
      await seedMany('01GONE', 30, T0 - 60 * MINUTE, 'FAILED', () => ({ versionId: 'v1' }));
      await seed('01REDRIVABLE', T0 - 30 * MINUTE, 'FAILED', { versionId: 'v1' });
      quarantine.add('quarantine/01REDRIVABLE');
      const executions = new FakeExecutions();
      const run = redrive(executions);
      // Act
      const reports: RedriveReport[] = [await run({})];
      while (reports.at(-1)?.cursor !== undefined && reports.length < 5)
        reports.push(await run({ cursor: reports.at(-1)?.cursor }));
      // Assert
      expect(
        reports.map((report) => [report.redriven, report.skipped.length, report.cursor !== undefined]),
      ).toEqual([
        [[], 15, true],
        [[], 15, true],
        [['01REDRIVABLE'], 0, false],
      ]);
      const skipped = reports.flatMap((report) => report.skipped.map((entry) => entry.uploadId));
      expect(new Set(skipped).size).toBe(30);
    },
    SLOW,
  );
});
