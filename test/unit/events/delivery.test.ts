import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgePublisher } from '../../../functions/adapters/outcome-publisher.js';
import { SqsDeliveryQueue } from '../../../functions/adapters/delivery-queue.js';
import { SecretsManagerSecrets } from '../../../functions/adapters/webhook-secrets.js';
import { HttpWebhookSender } from '../../../functions/adapters/webhook-sender.js';
import { makeDeliverWebhooksHandler } from '../../../functions/deliver-webhooks.js';
import { outcomeEvent, type OutcomeEvent } from '../../../functions/domain/outcome-event.js';
import { DEPLOYED_TARGET_RULES, LOCAL_TARGET_RULES } from '../../../functions/domain/webhook-target.js';
import { verifyWithStandardWebhooks } from '../../support/outcome-events.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:airlock/billing-AbCdEf';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/airlock-webhooks';
const eventOf = (seq: number, owner = 'alice'): OutcomeEvent =>
  outcomeEvent(
    { uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9R', owner, size: 3 },
    { status: 'FAILED', at: '2026-11-23T10:00:00.000Z', seq },
  );

/** A consumer on loopback answering with the statuses given, in turn (the last one after that). */
async function consumer(statuses: number[]) {
  const received: Array<{ body: string; headers: Record<string, string> }> = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        body: Buffer.concat(chunks).toString('utf8'),
        headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)])),
      });
      response.writeHead(statuses[Math.min(received.length - 1, statuses.length - 1)] ?? 500);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('EventBridgePublisher', () => {
  const eventBridge = mockClient(EventBridgeClient);
  afterEach(() => eventBridge.reset());
  afterAll(() => eventBridge.restore());

  test('puts each event with source airlock, a detail-type rules match, the event as detail, 10 per request', async () => {
    // Arrange
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, index) => ({ EventId: `e${index}` })),
    }));
    const events = Array.from({ length: 12 }, (_, index) => eventOf(index + 1));

    // Act
    await new EventBridgePublisher('airlock-outcomes', new EventBridgeClient({})).publish(events);

    // Assert
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 2]);
    const [first] = calls[0]!.args[0].input.Entries!;
    expect(first).toMatchObject({
      EventBusName: 'airlock-outcomes',
      Source: 'airlock',
      DetailType: 'Upload Failed',
    });
    expect(JSON.parse(first!.Detail!)).toEqual(events[0]);
  });

  test('entries EventBridge refused are sent again; still refused, a TransientError names them', async () => {
    // Arrange: the second entry is refused once, then a third event always.
    let call = 0;
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: Array<{ Detail: string }> }) => {
      call++;
      const entries = input.Entries.map((entry) => {
        const id = (JSON.parse(entry.Detail) as OutcomeEvent).id;
        const refused = (call === 1 && id.endsWith('_2')) || id.endsWith('_3');
        return refused ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' } : { EventId: id };
      });
      return { FailedEntryCount: entries.filter((entry) => 'ErrorCode' in entry).length, Entries: entries };
    });
    const publisher = new EventBridgePublisher('bus', new EventBridgeClient({}));

    // Act / Assert
    await publisher.publish([eventOf(1), eventOf(2)]);
    expect(eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([
      2, 1,
    ]);
    await expect(publisher.publish([eventOf(3)])).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringContaining('_3: ThrottlingException'),
    });
  });
});

describe('HttpWebhookSender', () => {
  test('POSTs the signed delivery to a loopback consumer when the rules allow loopback (local)', async () => {
    // Arrange
    const server = await consumer([204]);
    const sender = new HttpWebhookSender({ rules: LOCAL_TARGET_RULES });
    const { signDelivery } = await import('../../../functions/domain/webhooks.js');
    const event = eventOf(1);

    // Act
    const result = await sender.send(server.url, signDelivery(event, SECRET, new Date()));
    await server.close();

    // Assert
    expect(result).toEqual({ delivered: true, status: 204 });
    const [delivery] = server.received;
    expect(verifyWithStandardWebhooks(SECRET, delivery!.body, delivery!.headers)).toEqual(event);
  });

  test('with the AWS rules a host resolving to a private or metadata address is refused before connecting', async () => {
    // Arrange: a resolver answering as an attacker's DNS would (one public, one metadata address).
    const resolved: string[] = [];
    const sender = new HttpWebhookSender({
      rules: DEPLOYED_TARGET_RULES,
      resolve: (host) => {
        resolved.push(host);
        return Promise.resolve([
          { address: '93.184.216.34', family: 4 },
          { address: '169.254.169.254', family: 4 },
        ]);
      },
    });
    const { signDelivery } = await import('../../../functions/domain/webhooks.js');

    // Act
    const result = await sender.send(
      'https://hooks.example.com/airlock',
      signDelivery(eventOf(1), SECRET, new Date()),
    );

    // Assert
    expect(resolved).toEqual(['hooks.example.com']);
    expect(result).toEqual({ delivered: false, error: 'refused: 169.254.169.254 is a link-local address' });
  });

  test('with the AWS rules a loopback consumer and plain http are refused; failures name no URL', async () => {
    // Arrange
    const server = await consumer([200]);
    const { signDelivery } = await import('../../../functions/domain/webhooks.js');
    const delivery = signDelivery(eventOf(1), SECRET, new Date());

    // Act
    const http = await new HttpWebhookSender({ rules: DEPLOYED_TARGET_RULES }).send(server.url, delivery);
    const loopback = await new HttpWebhookSender({ rules: { allowHttp: true, allowLoopback: false } }).send(
      server.url,
      delivery,
    );
    const refused = await new HttpWebhookSender({ rules: LOCAL_TARGET_RULES }).send(
      'http://127.0.0.1:1/hook?token=abc',
      delivery,
    );
    await server.close();

    // Assert
    expect(server.received).toEqual([]);
    expect(http).toEqual({ delivered: false, error: expect.stringMatching(/https only/) });
    expect(loopback).toEqual({ delivered: false, error: 'refused: 127.0.0.1 is a loopback address' });
    expect(refused).toEqual({ delivered: false, error: 'ECONNREFUSED' });
  });
});

describe('the deliver-webhooks function', () => {
  const secretsManager = mockClient(SecretsManagerClient);
  const sqs = mockClient(SQSClient);
  afterEach(() => {
    secretsManager.reset();
    sqs.reset();
  });
  afterAll(() => {
    secretsManager.restore();
    sqs.restore();
  });

  const record = (messageId: string, body: unknown, receiveCount = 1): SQSRecord =>
    ({
      messageId,
      receiptHandle: `rh-${messageId}`,
      body: JSON.stringify(body),
      attributes: { ApproximateReceiveCount: String(receiveCount) },
    }) as unknown as SQSRecord;

  test('delivers each message to its endpoint; failures stay in the queue, hidden for the backoff', async () => {
    // Arrange
    const ok = await consumer([200]);
    const failing = await consumer([500]);
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    const handler = makeDeliverWebhooksHandler(() => ({
      endpoints: new Map([
        ['ok', { id: 'ok', url: ok.url, secretArn: SECRET_ARN }],
        ['failing', { id: 'failing', url: failing.url, secretArn: SECRET_ARN }],
      ]),
      secrets: new SecretsManagerSecrets(new SecretsManagerClient({})),
      sender: new HttpWebhookSender({ rules: LOCAL_TARGET_RULES }),
      queue: new SqsDeliveryQueue(QUEUE_URL, new SQSClient({})),
      retry: { maxAttempts: 3, initialDelayMs: 10_000, maxDelayMs: 60_000 },
      now: () => new Date(),
      random: () => 1,
    }));
    const event: SQSEvent = {
      Records: [
        record('m1', { endpoint: 'ok', event: eventOf(1) }),
        record('m2', { endpoint: 'failing', event: eventOf(1) }, 2),
        record('m3', { endpoint: 'failing', event: eventOf(2) }, 3),
        record('m4', { endpoint: 'removed', event: eventOf(1) }),
      ],
    };

    // Act
    const response = await handler(event);
    await Promise.all([ok.close(), failing.close()]);

    // Assert: m2 waits 20 s (second failure), m3 was the last attempt (visible at once → DLQ).
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }]);
    expect(
      sqs
        .commandCalls(ChangeMessageVisibilityCommand)
        .map((call) => [
          call.args[0].input.ReceiptHandle,
          call.args[0].input.VisibilityTimeout,
          call.args[0].input.QueueUrl,
        ]),
    ).toEqual([
      ['rh-m2', 20, QUEUE_URL],
      ['rh-m3', 0, QUEUE_URL],
    ]);
    expect(verifyWithStandardWebhooks(SECRET, ok.received[0]!.body, ok.received[0]!.headers)).toEqual(
      eventOf(1),
    );
    expect(failing.received.map((delivery) => delivery.headers['webhook-id'])).toEqual(
      expect.arrayContaining([eventOf(1).id, eventOf(2).id]),
    );
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1); // cached for the batch
  });

  test('a secret that is not a signing secret fails the delivery without sending or logging it', async () => {
    // Arrange
    const server = await consumer([200]);
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'hunter2' });
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    const handler = makeDeliverWebhooksHandler(() => ({
      endpoints: new Map([['a', { id: 'a', url: server.url, secretArn: SECRET_ARN }]]),
      secrets: new SecretsManagerSecrets(new SecretsManagerClient({})),
      sender: new HttpWebhookSender({ rules: LOCAL_TARGET_RULES }),
      queue: new SqsDeliveryQueue(QUEUE_URL, new SQSClient({})),
      retry: { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 1000 },
      now: () => new Date(),
    }));

    // Act
    const response = await handler({ Records: [record('m1', { endpoint: 'a', event: eventOf(1) })] });
    await server.close();

    // Assert
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(server.received).toEqual([]);
  });
});
