/**
 * Checking a webhook delivery of an Airlock outcome event (Standard Webhooks): the
 * `webhook-signature` header holds `v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<body>`
 * under the endpoint's secret (`whsec_<base64>`). Web-standard APIs only (Request, crypto.subtle,
 * TextEncoder, atob), so that it runs in Node 20+, Deno, Bun, workers and browsers alike.
 */

/** An outcome event, as schemas/outcome-event.v1.json describes it. */
export interface OutcomeEvent {
  /** `evt_<uploadId>_<sequence>`: the same on every delivery of one transition (deduplicate on it). */
  id: string;
  type: `airlock.upload.${'processed' | 'rejected' | 'failed' | 'expired' | 'quarantined'}`;
  schemaVersion: 1;
  time: string;
  data: {
    uploadId: string;
    owner: string;
    status: 'PROCESSED' | 'REJECTED' | 'FAILED' | 'EXPIRED' | 'QUARANTINED';
    reasons: string[];
    size: number;
    sha256?: string;
    detectedType?: string;
    object?: { bucket: string; key: string; versionId: string };
    sequence: number;
  };
}

/** A delivery that is not Airlock's, or not now: its message names what failed, never the secret. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
}

/** How far a delivery's timestamp may be from now (the specification's five minutes). */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

/**
 * Verifies a delivery and returns its event. Reads the request's body (pass `request.clone()` to
 * read it again). Throws WebhookVerificationError when a header is missing, the timestamp is
 * more than five minutes off, or no signature matches.
 */
export async function verifyWebhook(
  request: Request,
  secret: string,
  options: { now?: Date; toleranceSeconds?: number } = {},
): Promise<OutcomeEvent> {
  const id = request.headers.get('webhook-id');
  const timestamp = request.headers.get('webhook-timestamp');
  const signatures = request.headers.get('webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('Missing webhook headers.');
  const sentAt = Number(timestamp);
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (
    !/^\d+$/.test(timestamp) ||
    Math.abs(now - sentAt) > (options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS)
  )
    throw new WebhookVerificationError('The webhook timestamp is too far from now.');
  const body = await request.text();
  const key = await crypto.subtle.importKey(
    'raw',
    secretBytes(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const expected = new Uint8Array(
    await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${timestamp}.${body}`)),
  );
  const matches = signatures
    .split(' ')
    .filter((signature) => signature.startsWith('v1,'))
    .some((signature) => sameBytes(base64Bytes(signature.slice(3)), expected));
  if (!matches) throw new WebhookVerificationError('No webhook signature matches.');
  const event = JSON.parse(body) as OutcomeEvent;
  if (event.id !== id) throw new WebhookVerificationError('The event id is not the webhook id.');
  return event;
}

function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  const bytes = base64Bytes(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret);
  if (bytes.length === 0)
    throw new WebhookVerificationError('The webhook secret is not "whsec_" and base64.');
  return bytes;
}

function base64Bytes(text: string): Uint8Array<ArrayBuffer> {
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  } catch {
    return new Uint8Array(0);
  }
}

/** Compares in time independent of where the bytes differ. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let index = 0; index < a.length; index++) difference |= (a[index] ?? 0) ^ (b[index] ?? 0);
  return difference === 0;
}
