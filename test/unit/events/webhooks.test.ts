import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { outcomeEvent } from '../../../functions/domain/outcome-event.js';
import {
  DEFAULT_RETRY_POLICY,
  attemptResultOf,
  endpointWants,
  parseWebhookSecret,
  retryDelayMs,
  retryHorizonMs,
  signDelivery,
  WebhookSecretError,
} from '../../../functions/domain/webhooks.js';
import { secretLikeValues } from '../../support/outcome-events.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const UPLOAD_ID = '01JBZ8Q6W0V8M2YQH3KX5T7N9R';
const event = outcomeEvent(
  { uploadId: UPLOAD_ID, owner: 'alice', size: 10 },
  { status: 'REJECTED', at: '2026-11-23T10:00:00.000Z', seq: 3, reasons: [{ code: 'EMPTY_FILE' }] },
);

describe('Standard Webhooks signing', () => {
  test('a consumer verifying with the unchanged standardwebhooks library accepts the delivery', () => {
    // Arrange
    const delivery = signDelivery(event, SECRET, new Date());

    // Act
    const verified = new Webhook(SECRET).verify(delivery.body, delivery.headers);

    // Assert
    expect(verified).toEqual(event);
    expect(delivery.headers['webhook-id']).toBe(event.id);
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(secretLikeValues(JSON.parse(delivery.body))).toEqual([]);
  });

  test('a tampered body, id or timestamp, another secret or a stale attempt fails verification', () => {
    // Arrange
    const now = new Date();
    const delivery = signDelivery(event, SECRET, now);
    const verify =
      (body: string, headers: Record<string, string>, secret = SECRET) =>
      () =>
        new Webhook(secret).verify(body, headers);
    const seconds = Math.floor(now.getTime() / 1000);

    // Act / Assert
    expect(verify(delivery.body.replace('alice', 'mallory'), delivery.headers)).toThrow(
      WebhookVerificationError,
    );
    expect(verify(delivery.body, { ...delivery.headers, 'webhook-id': `${event.id}0` })).toThrow(
      WebhookVerificationError,
    );
    expect(verify(delivery.body, { ...delivery.headers, 'webhook-timestamp': String(seconds - 1) })).toThrow(
      WebhookVerificationError,
    );
    expect(
      verify(delivery.body, delivery.headers, 'whsec_' + Buffer.alloc(24, 7).toString('base64')),
    ).toThrow(WebhookVerificationError);
    const stale = signDelivery(event, SECRET, new Date(now.getTime() - 10 * 60_000));
    expect(verify(stale.body, stale.headers)).toThrow(/too old/);
  });

  test('every attempt sends the same body and id, with its own timestamp and signature', () => {
    // Act
    const first = signDelivery(event, SECRET, new Date('2026-11-23T10:00:00Z'));
    const retry = signDelivery(event, SECRET, new Date('2026-11-23T10:00:20Z'));

    // Assert
    expect(retry.body).toBe(first.body);
    expect(retry.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(Number(retry.headers['webhook-timestamp']) - Number(first.headers['webhook-timestamp'])).toBe(20);
    expect(retry.headers['webhook-signature']).not.toBe(first.headers['webhook-signature']);
  });
});

describe('webhook secrets', () => {
  test('whsec_ and the base64 of 24 to 64 bytes', () => {
    // Act / Assert
    expect(parseWebhookSecret(`  ${SECRET}\n`, 'file')).toBe(SECRET);
    expect(parseWebhookSecret(`whsec_${Buffer.alloc(64, 1).toString('base64')}`, 'x')).toMatch(/^whsec_/);
  });

  test.each([
    ['no prefix', Buffer.alloc(32).toString('base64')],
    ['not base64', 'whsec_not base64!'],
    ['too short (16 bytes)', `whsec_${Buffer.alloc(16).toString('base64')}`],
    ['too long (65 bytes)', `whsec_${Buffer.alloc(65).toString('base64')}`],
    ['empty', ''],
  ])('refuses %s, without quoting it', (_name, secret) => {
    // Act
    let error: unknown;
    try {
      parseWebhookSecret(secret, 'webhooks[0].secret');
    } catch (caught) {
      error = caught;
    }

    // Assert
    expect(error).toBeInstanceOf(WebhookSecretError);
    expect((error as Error).message).toMatch(/^webhooks\[0\]\.secret: /);
    if (secret !== '') expect((error as Error).message).not.toContain(secret.slice(6, 20));
  });
});

describe('retry policy', () => {
  const policy = { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 5000 };

  test('doubles from the initial delay up to the cap, with jitter between half and all of each step', () => {
    // Act
    const lowest = [1, 2, 3, 4].map((failed) => retryDelayMs(policy, failed, () => 0));
    const highest = [1, 2, 3, 4].map((failed) => retryDelayMs(policy, failed, () => 1));

    // Assert
    expect(highest).toEqual([1000, 2000, 4000, 5000]);
    expect(lowest).toEqual([500, 1000, 2000, 2500]);
  });

  test('after the last attempt there is no next one: the delivery is dead-lettered', () => {
    // Act / Assert
    expect(retryDelayMs(policy, 5)).toBeUndefined();
    expect(retryDelayMs(policy, 6)).toBeUndefined();
    expect(retryDelayMs(policy, 4)).toBeDefined();
  });

  test('the horizon bounds how long a delivery is tried; the default is about 85 minutes', () => {
    // Act / Assert
    expect(retryHorizonMs(policy)).toBe(1000 + 2000 + 4000 + 5000);
    expect(retryHorizonMs(DEFAULT_RETRY_POLICY) / 60_000).toBeCloseTo(85.2, 1);
  });

  test('only a 2xx answer delivers; redirects and errors are retried', () => {
    // Act / Assert
    expect([200, 204, 299].map((status) => attemptResultOf(status).delivered)).toEqual([true, true, true]);
    expect([301, 302, 400, 410, 429, 500, 503].map((status) => attemptResultOf(status).delivered)).toEqual(
      new Array(7).fill(false),
    );
  });
});

describe('endpoint filters', () => {
  test('statuses and owners narrow what an endpoint receives; no filter receives everything', () => {
    // Act / Assert
    expect(endpointWants({}, event)).toBe(true);
    expect(endpointWants({ statuses: ['REJECTED', 'FAILED'] }, event)).toBe(true);
    expect(endpointWants({ statuses: ['PROCESSED'] }, event)).toBe(false);
    expect(endpointWants({ owners: ['alice'] }, event)).toBe(true);
    expect(endpointWants({ owners: ['bob'] }, event)).toBe(false);
    expect(endpointWants({ statuses: ['REJECTED'], owners: ['bob'] }, event)).toBe(false);
  });
});
