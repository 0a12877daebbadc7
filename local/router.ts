import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { objectCreatedEvent, type ObjectCreatedEvent } from '../functions/domain/object-event.js';
import { shouldInjectFault } from '../functions/commons/faults.js';
import { matchesPipelineRule } from './pipeline-rule.js';

/** One S3-format notification record, as RadosGW pushes it. */
interface S3Record {
  eventName?: string;
  eventTime?: string;
  s3?: {
    bucket?: { name?: string };
    object?: { key?: string; size?: number; eTag?: string; versionId?: string; sequencer?: string };
  };
}

/** Turns RGW's S3-format records into the EventBridge "Object Created" events AWS would send. */
export function toObjectCreatedEvents(body: unknown): ObjectCreatedEvent[] {
  const records = (body as { Records?: S3Record[] } | null)?.Records;
  if (!Array.isArray(records)) return [];
  const events: ObjectCreatedEvent[] = [];
  for (const record of records) {
    const object = record.s3?.object;
    const bucket = record.s3?.bucket?.name;
    if (!record.eventName?.includes('ObjectCreated') || !object?.key || !bucket || !object.versionId)
      continue;
    events.push(
      objectCreatedEvent({
        id: randomUUID(),
        bucket,
        key: decodeURIComponent(object.key.replace(/\+/g, ' ')),
        size: object.size ?? 0,
        versionId: object.versionId,
        time: record.eventTime ? new Date(record.eventTime) : new Date(),
        ...(object.eTag ? { etag: object.eTag } : {}),
        ...(object.sequencer ? { sequencer: object.sequencer } : {}),
        reason: record.eventName.replace(/^.*ObjectCreated:/, '') || 'PutObject',
      }),
    );
  }
  return events;
}

export interface RouterOptions {
  port: number;
  bucket: string;
  /** Durably starts an execution; throws when it could not. */
  startExecution: (event: ObjectCreatedEvent) => Promise<unknown>;
  /**
   * StartExecution by name (`POST /start-execution {input, dedupeKey}`), idempotent like Step
   * Functions': what `npm run redrive` calls.
   */
  startNamedExecution?: (input: unknown, dedupeKey: string) => Promise<unknown>;
  onError?: (message: string, error: unknown) => void;
  /**
   * Fault control for the reliability suite (`GET`/`POST /faults`), only given when fault
   * injection is on. Receives the parsed JSON body (undefined for GET) and returns the report.
   */
  faultControl?: (command: unknown) => Promise<unknown>;
  /**
   * EventBridge's PutEvents (`X-Amz-Target: AWSEvents.PutEvents`), what the functions' EventBridge
   * client sends to EVENTS_ENDPOINT: the local outcome-event bus. Returns PutEvents' answer.
   */
  putEvents?: (input: { Entries?: unknown[] }) => Promise<unknown>;
}

/**
 * The local stand-in for the EventBridge rule. A delivery is acknowledged (200) only once every
 * matching execution is durably started; anything else gets 500, so that RGW's persistent topic
 * delivers it again.
 */
export async function startRouter(
  options: RouterOptions,
): Promise<{ server: Server; stop(): Promise<void> }> {
  const server = createServer((request, response) => {
    const control = options.faultControl;
    if (control !== undefined && request.url === '/faults') {
      serveJson(request, response, control);
      return;
    }
    if (request.method !== 'POST') {
      response.writeHead(405).end();
      return;
    }
    const putEvents = options.putEvents;
    if (putEvents !== undefined && request.headers['x-amz-target'] === 'AWSEvents.PutEvents') {
      servePutEvents(request, response, putEvents, options.onError);
      return;
    }
    const startNamed = options.startNamedExecution;
    if (startNamed !== undefined && request.url === '/start-execution') {
      serveJson(request, response, async (body) => {
        const { input, dedupeKey } = (body ?? {}) as { input?: unknown; dedupeKey?: unknown };
        if (typeof dedupeKey !== 'string' || input === undefined)
          throw new Error('input and dedupeKey required');
        await startNamed(input, dedupeKey);
        return { started: true };
      });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 1024 * 1024) chunks.push(chunk);
    });
    request.on('end', () => {
      void (async () => {
        try {
          if (shouldInjectFault('router')) throw new Error('injected fault: delivery refused');
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
          for (const event of toObjectCreatedEvents(body)) {
            if (matchesPipelineRule(event, options.bucket)) await options.startExecution(event);
          }
          response.writeHead(200).end();
        } catch (error) {
          options.onError?.('event delivery refused; RGW will retry', error);
          response.writeHead(500).end();
        }
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  return { server, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** PutEvents in AWS's JSON 1.1 protocol: its answer, or a 500 the SDK retries. */
function servePutEvents(
  request: IncomingMessage,
  response: ServerResponse,
  putEvents: NonNullable<RouterOptions['putEvents']>,
  onError: RouterOptions['onError'],
): void {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    void (async () => {
      const headers = { 'content-type': 'application/x-amz-json-1.1' };
      try {
        const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { Entries?: unknown[] };
        response.writeHead(200, headers).end(JSON.stringify(await putEvents(input)));
      } catch (error) {
        onError?.('PutEvents refused', error);
        response
          .writeHead(500, headers)
          .end(JSON.stringify({ __type: 'InternalException', message: (error as Error).message }));
      }
    })();
  });
}

/** A small JSON endpoint: the parsed body (undefined when empty) in, a JSON report out. */
function serveJson(
  request: IncomingMessage,
  response: ServerResponse,
  handle: (body: unknown) => Promise<unknown>,
): void {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    void (async () => {
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        const body = request.method === 'POST' && text !== '' ? (JSON.parse(text) as unknown) : undefined;
        const report = await handle(body);
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report));
      } catch (error) {
        response
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: (error as Error).message }));
      }
    })();
  });
}
