import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { WebhookSender } from '../functions/adapters/webhook-sender.js';
import { isOutcomeStatus, type OutcomeEvent } from '../functions/domain/outcome-event.js';
import {
  endpointWants,
  retryDelayMs,
  signDelivery,
  type RetryPolicy,
  type WebhookEndpoint,
} from '../functions/domain/webhooks.js';

/** An endpoint as the local bus delivers to it: its filters, URL and signing secret. */
export interface LocalWebhookEndpoint extends WebhookEndpoint {
  secret: string;
}

/** Where one endpoint's deliveries stand (what `airlock webhooks status` shows). */
export interface EndpointStatus {
  id: string;
  delivered: number;
  pending: number;
  /** Deliveries that used every attempt: their dead-letter records are in the data dir. */
  deadLettered: number;
  failedAttempts: number;
  lastError?: string;
  lastDeliveredAt?: string;
}

interface Delivery {
  endpoint: LocalWebhookEndpoint;
  event: OutcomeEvent;
  failedAttempts: number;
  dueAt: number;
}

/** One line of the delivery log: a delivery ended (delivered, or dead-lettered). */
interface Ended {
  endpoint: string;
  eventId: string;
  result: 'DELIVERED' | 'DEAD_LETTERED';
  attempts: number;
  at: string;
  error?: string;
}

export interface LocalOutcomeBusOptions {
  dir: string;
  endpoints: readonly LocalWebhookEndpoint[];
  retry: RetryPolicy;
  sender: WebhookSender;
  onError?: (message: string, error: unknown) => void;
  /** How often due deliveries are looked for. @default 200 ms */
  tickMs?: number;
}

/**
 * The local stand-in for the EventBridge bus and the webhook delivery behind it. PutEvents (the
 * router serves it) appends each event to a journal, fsynced before it answers, so an accepted
 * event survives a SIGKILL; each endpoint whose filters want it gets a delivery, retried with the
 * deployed policy (exponential backoff with jitter, maxAttempts, then a dead-letter record). On
 * start, every journaled event whose delivery to an endpoint has not ended is delivered again:
 * at least once, with the same webhook-id, as on AWS. The journal is also the feed that
 * `airlock events --follow` reads.
 */
export class LocalOutcomeBus {
  private readonly journalPath: string;
  private readonly deliveriesPath: string;
  private readonly events: OutcomeEvent[] = [];
  private readonly known = new Set<string>();
  private readonly queue: Delivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stats = new Map<string, EndpointStatus>();
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly options: LocalOutcomeBusOptions) {
    mkdirSync(options.dir, { recursive: true });
    this.journalPath = join(options.dir, 'events.jsonl');
    this.deliveriesPath = join(options.dir, 'deliveries.jsonl');
    for (const endpoint of options.endpoints)
      this.stats.set(endpoint.id, {
        id: endpoint.id,
        delivered: 0,
        pending: 0,
        deadLettered: 0,
        failedAttempts: 0,
      });
    const ended = new Set<string>();
    for (const line of readLines(this.deliveriesPath)) {
      const record = line as Ended;
      ended.add(`${record.endpoint} ${record.eventId}`);
      const stat = this.stats.get(record.endpoint);
      if (stat === undefined) continue;
      if (record.result === 'DELIVERED') {
        stat.delivered++;
        stat.lastDeliveredAt = record.at;
      } else stat.deadLettered++;
    }
    for (const line of readLines(this.journalPath)) this.remember(line as OutcomeEvent, ended);
    this.timer = setInterval(() => this.deliverDue(), options.tickMs ?? 200);
  }

  /** PutEvents: journals the events (durably) and schedules their deliveries. */
  put(events: readonly OutcomeEvent[]): void {
    const fresh = events.filter((event) => !this.known.has(event.id));
    if (fresh.length > 0) {
      const fd = openSync(this.journalPath, 'a');
      try {
        writeSync(fd, fresh.map((event) => `${JSON.stringify(event)}\n`).join(''));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    // A repeated event (a publication retried after a crash) is delivered again, as EventBridge
    // would: consumers deduplicate on its id.
    for (const event of events) this.remember(event, new Set());
  }

  /** Events after the first `after`, in the order they were accepted (the feed). */
  feed(after = 0): { events: OutcomeEvent[]; next: number } {
    return { events: this.events.slice(after), next: this.events.length };
  }

  status(): EndpointStatus[] {
    return [...this.stats.values()].map((stat) => ({
      ...stat,
      pending: this.queue.filter((delivery) => delivery.endpoint.id === stat.id).length,
    }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  private remember(event: OutcomeEvent, ended: ReadonlySet<string>): void {
    if (!isOutcomeStatus(event.data?.status ?? '')) return;
    if (!this.known.has(event.id)) {
      this.known.add(event.id);
      this.events.push(event);
    }
    for (const endpoint of this.options.endpoints) {
      if (!endpointWants(endpoint, event) || ended.has(`${endpoint.id} ${event.id}`)) continue;
      this.queue.push({ endpoint, event, failedAttempts: 0, dueAt: Date.now() });
    }
  }

  private deliverDue(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const delivery of this.queue.filter((candidate) => candidate.dueAt <= now)) {
      this.queue.splice(this.queue.indexOf(delivery), 1);
      const attempt = this.attempt(delivery).catch((error: unknown) =>
        this.options.onError?.('webhook delivery', error),
      );
      this.inFlight.add(attempt);
      void attempt.finally(() => this.inFlight.delete(attempt));
    }
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const { endpoint, event } = delivery;
    const stat = this.stats.get(endpoint.id);
    const result = await this.options.sender.send(
      endpoint.url,
      signDelivery(event, endpoint.secret, new Date()),
    );
    if (result.delivered) {
      this.end({
        endpoint: endpoint.id,
        eventId: event.id,
        result: 'DELIVERED',
        attempts: delivery.failedAttempts + 1,
      });
      if (stat) {
        stat.delivered++;
        stat.lastDeliveredAt = new Date().toISOString();
      }
      return;
    }
    const failedAttempts = delivery.failedAttempts + 1;
    if (stat) {
      stat.failedAttempts++;
      stat.lastError = result.error;
    }
    const pause = retryDelayMs(this.options.retry, failedAttempts);
    if (pause === undefined) {
      const record = { endpoint: endpoint.id, eventId: event.id, result: 'DEAD_LETTERED' as const };
      this.end({ ...record, attempts: failedAttempts, error: result.error });
      appendFileSync(
        join(this.options.dir, 'dead-letters.jsonl'),
        `${JSON.stringify({ ...record, event })}\n`,
      );
      if (stat) stat.deadLettered++;
      return;
    }
    if (!this.stopped) this.queue.push({ ...delivery, failedAttempts, dueAt: Date.now() + pause });
  }

  private end(record: Omit<Ended, 'at'>): void {
    appendFileSync(this.deliveriesPath, `${JSON.stringify({ ...record, at: new Date().toISOString() })}\n`);
  }
}

function readLines(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const lines: unknown[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      lines.push(JSON.parse(line));
    } catch {
      // A line cut short by a crash: its event was never acknowledged, so it is published again.
    }
  }
  return lines;
}
