import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { RecordedEvent } from '../../functions/domain/model.js';
import { outcomeEventProblems } from '../support/outcome-events.js';
import { startSuiteRuntime, type IamTotals, type SuiteRuntime } from './harness.js';
import { runPart, type PartResult, type SuiteOptions } from './part.js';
import { mapLimit } from './probes.js';
import { backends, drain, makeJobs, runClients, verifyUploads } from './workload.js';

export interface EventsOptions extends SuiteOptions {
  uploads: number;
  clients: number;
  /** Runtime settings the suite's main runtime has too (grant lifetime, processing timeout…). */
  runtimeEnv: Record<string, string>;
  /** What the local IAM checked in this part's runtime, added to the suite's totals. */
  onIam?: (totals: IamTotals) => void;
  /** This part's runtime while it runs (undefined once stopped), for the suite's SIGINT handler. */
  onRuntime?: (runtime: SuiteRuntime | undefined) => void;
}

/** The consumer's injected failures, each a share of all deliveries (drawn per delivery). */
const FAILURES = {
  /** Answered 500: the bus retries. */
  error500: 0.2,
  /** The connection is cut before any answer. */
  reset: 0.05,
  /** Never answered: the sender gives up at its timeout (10 s) and retries. */
  hang: 0.02,
} as const;
/**
 * Attempts a delivery gets: with 27 % of attempts failing, all 12 fail with a chance of 1.5e-7,
 * so a dead letter here is a defect, not bad luck.
 */
const RETRY = { maxAttempts: 12, initialDelaySeconds: 1, maxDelaySeconds: 4 };
/** Nothing pending and no delivery for this long: no more events are coming. */
const QUIET_MS = 30_000;
/** Terminal statuses whose transitions make an event (the schema's `type` enum, upper-cased). */
const SCHEMA = JSON.parse(
  readFileSync(new URL('../../schemas/outcome-event.v1.json', import.meta.url), 'utf8'),
) as { properties: { type: { enum: string[] } } };
const OUTCOME_STATUSES = new Set(
  SCHEMA.properties.type.enum.map((type) => type.replace(/^airlock\.upload\./, '').toUpperCase()),
);

interface Delivery {
  id: string;
  /** What the consumer did with it. */
  answer: 'accepted' | keyof typeof FAILURES | 'unverified';
  problems: string[];
  /** When it arrived (ms since the epoch). */
  at: number;
}

/**
 * A webhook consumer as the README shows one (standardwebhooks, deduplication by id), behind
 * injected failures: a share of deliveries get a 500, a cut connection or no answer at all.
 */
class FlakyConsumer {
  readonly deliveries: Delivery[] = [];
  private server: Server | undefined;

  constructor(private readonly secret: string) {}

  async start(): Promise<number> {
    const webhook = new Webhook(this.secret);
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let event: unknown;
        try {
          event = webhook.verify(body, headersOf(request.headers));
        } catch {
          this.deliveries.push({
            id: String(request.headers['webhook-id']),
            answer: 'unverified',
            problems: [],
            at: Date.now(),
          });
          response.writeHead(401).end();
          return;
        }
        const id = String((event as { id?: unknown }).id);
        const draw = Math.random();
        const answer: Delivery['answer'] =
          draw < FAILURES.error500
            ? 'error500'
            : draw < FAILURES.error500 + FAILURES.reset
              ? 'reset'
              : draw < FAILURES.error500 + FAILURES.reset + FAILURES.hang
                ? 'hang'
                : 'accepted';
        const problems = outcomeEventProblems(event);
        if (id !== request.headers['webhook-id']) problems.push('webhook-id is not the event id');
        this.deliveries.push({ id, answer, problems, at: Date.now() });
        if (answer === 'error500') response.writeHead(500).end();
        else if (answer === 'reset') request.socket.destroy();
        else if (answer === 'accepted') response.writeHead(204).end();
        // 'hang': no answer; the sender's timeout ends it.
      });
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** Ids the consumer accepted (answered 2xx), each once: what a deduplicating consumer keeps. */
  acceptedIds(): Set<string> {
    return new Set(this.deliveries.filter((entry) => entry.answer === 'accepted').map((entry) => entry.id));
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const headersOf = (headers: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));

/** The outcome event ids a trail says were recorded: one per terminal transition, by its seq. */
export function recordedOutcomeIds(uploadId: string, trail: readonly RecordedEvent[]): string[] {
  return trail.flatMap((event) =>
    event.to !== null && event.action === event.to && OUTCOME_STATUSES.has(event.to)
      ? [`evt_${uploadId}_${event.seq}`]
      : [],
  );
}

/**
 * Events: the load workload (valid, spoofed and oversize files: PROCESSED, REJECTED, EXPIRED)
 * against a runtime whose one webhook endpoint is a consumer that fails a share of deliveries
 * (500, cut connections, no answer). Every terminal transition recorded in the table must reach
 * the consumer (0 missing), no event may name a transition the table does not hold (0 invented),
 * every delivery must verify with standardwebhooks and match the schema; repeated deliveries
 * of one id are counted and deduplicated. Its own runtime: the endpoint is configuration.
 */
export function runEvents(options: EventsOptions): Promise<PartResult> {
  return runPart(
    'events',
    `${options.uploads} uploads, outcome events to a webhook consumer that fails ${Math.round(
      (FAILURES.error500 + FAILURES.reset + FAILURES.hang) * 100,
    )} % of deliveries`,
    async (failures) => {
      const secret = `whsec_${randomBytes(32).toString('base64')}`;
      const consumer = new FlakyConsumer(secret);
      const configDir = mkdtempSync(join(tmpdir(), 'airlock-reliability-events-config-'));
      const port = await consumer.start();
      writeFileSync(join(configDir, 'webhook-secret'), secret);
      const configPath = join(configDir, 'airlock.config.json');
      writeFileSync(
        configPath,
        JSON.stringify({
          webhooks: [
            {
              id: 'consumer',
              url: `http://127.0.0.1:${port}/events`,
              secret: { file: join(configDir, 'webhook-secret') },
            },
          ],
          webhookRetry: RETRY,
        }),
      );
      options.log('events: starting a runtime whose webhook endpoint is the flaky consumer…');
      const runtime = await startSuiteRuntime('events', {
        ...options.runtimeEnv,
        AIRLOCK_CONFIG: configPath,
      });
      options.onRuntime?.(runtime);
      try {
        const jobs = makeJobs(options.uploads, { label: 'events' });
        const run = await runClients(runtime, jobs, options.clients, {
          label: 'events',
          deadlineMs: 15 * 60_000,
        });
        for (const { job, error } of run.unsent) failures.push(`not sent (${job.kind}): ${error}`);
        const uploadIds = run.sent.map((job) => job.uploadId);
        options.log(`events: ${uploadIds.length} uploads sent; draining…`);
        const drained = await drain(runtime, uploadIds, { deadlineMs: 10 * 60_000 });
        for (const id of drained.stuck) failures.push(`${id}: not terminal after the drain`);
        const drainedAt = Date.now();
        // The outcomes themselves as the load part checks them: events of wrong outcomes prove nothing.
        const verdicts = await verifyUploads(runtime, run.sent, failures);

        // What the table recorded: one expected event per terminal transition.
        const { store } = backends(runtime);
        const expected = new Map<string, string>(); // event id → status
        const trails = await mapLimit(uploadIds, 16, (id) => store.listAudit(id));
        for (const [index, trail] of trails.entries()) {
          const uploadId = uploadIds[index] ?? '';
          for (const eventId of recordedOutcomeIds(uploadId, trail))
            expected.set(
              eventId,
              trail.find((event) => `evt_${uploadId}_${event.seq}` === eventId)?.to ?? '',
            );
        }

        // Every expected id accepted and the bus idle (nothing pending); or the bus idle with no
        // delivery for QUIET_MS (nothing more is coming: the missing are missing); or the deadline.
        const deadline = Date.now() + 10 * 60_000;
        let idle = false;
        let endpoint: { pending: number; deadLettered: number; failedAttempts: number } | undefined;
        let quietSince = Date.now();
        let deliveriesSeen = -1;
        for (;;) {
          const status = (await (await fetch(`${runtime.apiUrl}/_local/webhooks`)).json()) as {
            endpoints: Array<{ pending: number; deadLettered: number; failedAttempts: number }>;
          };
          endpoint = status.endpoints[0];
          idle = endpoint !== undefined && endpoint.pending === 0;
          const accepted = consumer.acceptedIds();
          if (idle && [...expected.keys()].every((id) => accepted.has(id))) break;
          if (consumer.deliveries.length !== deliveriesSeen || !idle) {
            deliveriesSeen = consumer.deliveries.length;
            quietSince = Date.now();
          }
          if (Date.now() - quietSince > QUIET_MS || Date.now() > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }

        const accepted = consumer.acceptedIds();
        const firstAccepted = new Map<string, number>();
        for (const entry of consumer.deliveries)
          if (entry.answer === 'accepted' && !firstAccepted.has(entry.id))
            firstAccepted.set(entry.id, entry.at);
        const seen = new Set(consumer.deliveries.map((entry) => entry.id));
        const missing = [...expected.keys()].filter((id) => !accepted.has(id));
        const invented = [...seen].filter((id) => !expected.has(id));
        const unverified = consumer.deliveries.filter((entry) => entry.answer === 'unverified').length;
        const invalid = consumer.deliveries.filter((entry) => entry.problems.length > 0);
        for (const id of missing.slice(0, 20))
          failures.push(`${id}: recorded, never accepted by the consumer`);
        for (const id of invented.slice(0, 20))
          failures.push(`${id}: delivered, but no such transition recorded`);
        if (unverified > 0) failures.push(`${unverified} deliveries did not verify with standardwebhooks`);
        for (const entry of invalid.slice(0, 20))
          failures.push(`${entry.id}: not a valid event (${entry.problems.join('; ')})`);
        if (!idle) failures.push(`deliveries still pending at the deadline (${endpoint?.pending ?? '?'})`);
        if ((endpoint?.deadLettered ?? 0) > 0)
          failures.push(`${endpoint?.deadLettered} deliveries dead-lettered`);
        const answers = (answer: Delivery['answer']) =>
          consumer.deliveries.filter((entry) => entry.answer === answer).length;
        const acceptedDeliveries = answers('accepted');
        const statuses = [...expected.values()];
        return {
          uploads: jobs.length,
          processed: statuses.filter((status) => status === 'PROCESSED').length,
          rejected: statuses.filter((status) => status === 'REJECTED').length,
          expired: statuses.filter((status) => status === 'EXPIRED').length,
          failed: statuses.filter((status) => status === 'FAILED').length,
          wrongOutcomes: verdicts.wrongOutcome + verdicts.wrongVersion,
          transitionsRecorded: expected.size,
          deliveries: consumer.deliveries.length,
          answered500: answers('error500'),
          connectionsCut: answers('reset'),
          timedOut: answers('hang'),
          distinctIds: seen.size,
          // Deliveries of an id after its first: what deduplication by id absorbs.
          duplicates: consumer.deliveries.length - seen.size,
          acceptedTwice: acceptedDeliveries - accepted.size,
          missing: missing.length,
          invented: invented.length,
          unverified,
          schemaInvalid: invalid.length,
          deadLettered: endpoint?.deadLettered ?? 0,
          // The last event's first acceptance, from the moment every upload was terminal (≤ 0: before).
          lastEventAfterDrainSeconds:
            Math.round((Math.max(...firstAccepted.values()) - drainedAt) / 100) / 10,
        };
      } finally {
        options.onIam?.(await runtime.stop());
        options.onRuntime?.(undefined);
        await consumer.stop();
        rmSync(configDir, { recursive: true, force: true });
      }
    },
  );
}
