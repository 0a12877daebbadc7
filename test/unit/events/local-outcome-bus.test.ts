import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpWebhookSender } from '../../../functions/adapters/webhook-sender.js';
import { outcomeEvent, type OutcomeEvent } from '../../../functions/domain/outcome-event.js';
import { LOCAL_TARGET_RULES } from '../../../functions/domain/webhook-target.js';
import { LocalOutcomeBus } from '../../../local/outcome-bus.js';
import { putEventsOn } from '../../../local/outcome-events.js';
import { pollUntil } from '../../support/polling.js';
import { verifyWithStandardWebhooks } from '../../support/outcome-events.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const RETRY = { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 40 };
const eventOf = (seq: number, status: 'FAILED' | 'EXPIRED' = 'FAILED'): OutcomeEvent =>
  outcomeEvent(
    { uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9R', owner: 'alice', size: 3 },
    { status, at: '2026-11-23T10:00:00.000Z', seq },
  );

/** A consumer that answers each delivery with the next status of `statuses` (then the last one). */
async function consumer(statuses: number[]) {
  const received: Array<{ id: string; verified: boolean }> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
      let verified = true;
      try {
        verifyWithStandardWebhooks(SECRET, Buffer.concat(chunks).toString('utf8'), headers);
      } catch {
        verified = false;
      }
      received.push({ id: headers['webhook-id'] ?? '', verified });
      response.writeHead(statuses[Math.min(received.length - 1, statuses.length - 1)] ?? 500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-bus-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const busFor = (url: string, extra: { statuses?: Array<'FAILED' | 'EXPIRED'> } = {}) =>
  new LocalOutcomeBus({
    dir,
    endpoints: [{ id: 'hook', url, secret: SECRET, ...extra }],
    retry: RETRY,
    sender: new HttpWebhookSender({ rules: LOCAL_TARGET_RULES }),
    tickMs: 5,
  });

describe('the local outcome bus', () => {
  test('retries a refused delivery with the same id until the consumer takes it', async () => {
    // Arrange
    const endpoint = await consumer([500, 500, 204]);
    const bus = busFor(endpoint.url);

    // Act
    bus.put([eventOf(3)]);
    await pollUntil('delivered', () => Promise.resolve(bus.status()[0]?.delivered === 1 || undefined));
    await bus.stop();
    await endpoint.close();

    // Assert
    expect(endpoint.received).toEqual([
      { id: eventOf(3).id, verified: true },
      { id: eventOf(3).id, verified: true },
      { id: eventOf(3).id, verified: true },
    ]);
    expect(bus.status()[0]).toMatchObject({ delivered: 1, pending: 0, deadLettered: 0, failedAttempts: 2 });
  });

  test('dead-letters a delivery after the last attempt, with a record naming the event', async () => {
    // Arrange
    const endpoint = await consumer([500]);
    const bus = busFor(endpoint.url);

    // Act
    bus.put([eventOf(4)]);
    await pollUntil('dead-lettered', () => Promise.resolve(bus.status()[0]?.deadLettered === 1 || undefined));
    await bus.stop();
    await endpoint.close();

    // Assert
    expect(endpoint.received).toHaveLength(RETRY.maxAttempts);
    const deadLetter = JSON.parse(readFileSync(join(dir, 'dead-letters.jsonl'), 'utf8')) as {
      eventId: string;
    };
    expect(deadLetter.eventId).toBe(eventOf(4).id);
  });

  test('an accepted event whose delivery had not ended is delivered after a restart', async () => {
    // Arrange: the consumer is away while the first bus runs; the bus stops (a crash) before it gives up.
    const endpoint = await consumer([204]);
    const first = busFor('http://127.0.0.1:9/unreachable');
    first.put([eventOf(5)]);
    await first.stop();

    // Act: a new bus on the same data dir, the consumer back.
    const second = new LocalOutcomeBus({
      dir,
      endpoints: [{ id: 'hook', url: endpoint.url, secret: SECRET }],
      retry: RETRY,
      sender: new HttpWebhookSender({ rules: LOCAL_TARGET_RULES }),
      tickMs: 5,
    });
    await pollUntil('delivered after restart', () =>
      Promise.resolve(second.status()[0]?.delivered === 1 || undefined),
    );
    await second.stop();
    await endpoint.close();

    // Assert
    expect(endpoint.received.map((entry) => entry.id)).toEqual([eventOf(5).id]);
    expect(second.feed().events.map((event) => event.id)).toEqual([eventOf(5).id]);
  });

  test("an endpoint's status filter: only the statuses it asked for", async () => {
    // Arrange
    const endpoint = await consumer([204]);
    const bus = busFor(endpoint.url, { statuses: ['EXPIRED'] });

    // Act
    bus.put([eventOf(6, 'FAILED'), eventOf(7, 'EXPIRED')]);
    await pollUntil('delivered', () => Promise.resolve(bus.status()[0]?.delivered === 1 || undefined));
    await bus.stop();
    await endpoint.close();

    // Assert
    expect(endpoint.received.map((entry) => entry.id)).toEqual([eventOf(7, 'EXPIRED').id]);
  });

  test('PutEvents refuses entries of another bus or source, one by one', async () => {
    // Arrange
    const bus = busFor('http://127.0.0.1:9/unused');
    const putEvents = putEventsOn(bus, 'OutcomeEventBus');
    const entry = (event: OutcomeEvent, busName: string, source = 'airlock') => ({
      EventBusName: busName,
      Source: source,
      DetailType: 'Upload Failed',
      Detail: JSON.stringify(event),
    });

    // Act
    const answer = (await putEvents({
      Entries: [
        entry(eventOf(8), 'OutcomeEventBus'),
        entry(eventOf(9), 'another-bus'),
        entry(eventOf(10), 'OutcomeEventBus', 'someone.else'),
      ],
    })) as { FailedEntryCount: number; Entries: Array<{ EventId?: string }> };
    await bus.stop();

    // Assert
    expect(answer.FailedEntryCount).toBe(2);
    expect(answer.Entries.map((item) => item.EventId)).toEqual([eventOf(8).id, undefined, undefined]);
    expect(bus.feed().events.map((event) => event.id)).toEqual([eventOf(8).id]);
  });
});
