import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook, WebhookVerificationError } from '../../../client/webhooks.js';
import { outcomeEvent } from '../../../functions/domain/outcome-event.js';
import { signDelivery } from '../../../functions/domain/webhooks.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const NOW = new Date('2026-11-29T12:00:00Z');
const EVENT = outcomeEvent(
  { uploadId: '01JD0000000000000000000000', owner: 'alice', size: 10 },
  { status: 'REJECTED', at: NOW.toISOString(), seq: 4, reasons: [{ code: 'TYPE_MISMATCH' }] },
);

/** A delivery as Airlock sends it (signed by the standardwebhooks library), as a fetch Request. */
function delivery(
  overrides: { body?: string; headers?: Record<string, string>; secret?: string; signedAt?: Date } = {},
) {
  const signed = signDelivery(EVENT, overrides.secret ?? SECRET, overrides.signedAt ?? NOW);
  return new Request('http://consumer.test/hooks', {
    method: 'POST',
    headers: { ...signed.headers, ...overrides.headers },
    body: overrides.body ?? signed.body,
  });
}

describe('verifyWebhook (client library, web-standard APIs)', () => {
  test("accepts Airlock's delivery and returns its event", async () => {
    // Act
    const event = await verifyWebhook(delivery(), SECRET, { now: NOW });

    // Assert
    expect(event).toEqual(EVENT);
  });

  test('agrees with the standardwebhooks library on what it accepts', async () => {
    // Arrange: a signature made by the reference library directly.
    const body = JSON.stringify(EVENT);
    const signature = new Webhook(SECRET).sign(EVENT.id, NOW, body);
    const request = new Request('http://consumer.test/', {
      method: 'POST',
      body,
      headers: {
        'webhook-id': EVENT.id,
        'webhook-timestamp': String(NOW.getTime() / 1000),
        'webhook-signature': `v1,bogus ${signature}`,
      },
    });

    // Act
    const event = await verifyWebhook(request, SECRET, { now: NOW });

    // Assert
    expect(event.id).toBe(EVENT.id);
  });

  test.each([
    ['a changed body', { body: JSON.stringify({ ...EVENT, data: { ...EVENT.data, owner: 'mallory' } }) }],
    ['another secret', { secret: `whsec_${randomBytes(32).toString('base64')}` }],
    ['another webhook-id', { headers: { 'webhook-id': 'evt_other_1' } }],
    ['a missing signature', { headers: { 'webhook-signature': '' } }],
    ['a signature made over five minutes ago', { signedAt: new Date(NOW.getTime() - 301_000) }],
    [
      'an old signature with its timestamp moved into the window',
      {
        signedAt: new Date(NOW.getTime() - 301_000),
        headers: { 'webhook-timestamp': String(NOW.getTime() / 1000) },
      },
    ],
  ])('refuses a delivery with %s', async (_name, overrides) => {
    // Act
    const verifying = verifyWebhook(delivery(overrides), SECRET, { now: NOW });

    // Assert
    await expect(verifying).rejects.toBeInstanceOf(WebhookVerificationError);
  });
});
