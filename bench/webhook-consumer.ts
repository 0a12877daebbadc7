import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** What the consumer noted of one event, at its first verified delivery. */
export interface ReceivedEvent {
  /** The event's `time`: when its transition was recorded (ms since the epoch). */
  recordedAtEpochMs: number;
  /** When the delivery's body had arrived here (ms since the epoch, same machine clock). */
  receivedAtEpochMs: number;
  uploadId: string;
  status: string;
}

/**
 * A webhook consumer for the benchmarks: verifies every delivery with standardwebhooks, as a
 * consumer on AWS would, and notes when each event id first arrived. Answers 204 at once.
 */
export interface BenchWebhookConsumer {
  url: string;
  secret: string;
  /** By event id, the first verified delivery. */
  received: Map<string, ReceivedEvent>;
  /** Deliveries that did not verify (a failed check, never expected). */
  unverified: number;
  stop(): Promise<void>;
}

export async function startWebhookConsumer(): Promise<BenchWebhookConsumer> {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const webhook = new Webhook(secret);
  const received = new Map<string, ReceivedEvent>();
  const consumer = { secret, received, unverified: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const receivedAtEpochMs = Date.now();
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
      );
      try {
        const event = webhook.verify(Buffer.concat(chunks).toString('utf8'), headers) as {
          id: string;
          time: string;
          data: { uploadId: string; status: string };
        };
        if (!received.has(event.id)) {
          received.set(event.id, {
            recordedAtEpochMs: Date.parse(event.time),
            receivedAtEpochMs,
            uploadId: event.data.uploadId,
            status: event.data.status,
          });
        }
        response.writeHead(204).end();
      } catch {
        consumer.unverified++;
        response.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(consumer, {
    url: `http://127.0.0.1:${port}/bench`,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
