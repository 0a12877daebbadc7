import { makeAuditDigestsHandler, type AuditDigestsDeps } from '../../../functions/audit-digests.js';
import type { StoredDigest } from '../../../functions/adapters/digest-bucket.js';
import { apiEvent, jsonBody } from './api-events.js';

/**
 * The auditors' routes over the digests: who may call them, what a listing says of each stored
 * key (the first version's content, its version count, a delete marker), and bad queries.
 */

const stored: StoredDigest[] = [
  { key: 'digests/2025-03-01T12:15:00.000Z.json', versionIds: ['v1'], deleted: false },
  { key: 'digests/2025-03-01T12:30:00.000Z.json', versionIds: ['v2', 'v3'], deleted: false },
  { key: 'digests/2025-03-01T12:45:00.000Z.json', versionIds: ['v4'], deleted: true },
];
const read: Array<[string, string | undefined]> = [];
const deps = (): AuditDigestsDeps => ({
  digests: {
    list: ({ after, limit }) => {
      const from = after === undefined ? 0 : stored.findIndex((item) => item.key === after) + 1;
      return Promise.resolve({ items: stored.slice(from, from + limit), more: from + limit < stored.length });
    },
    read: (key, versionId) => {
      read.push([key, versionId]);
      return Promise.resolve({ number: stored.findIndex((item) => item.key === key) + 1 });
    },
  },
  signer: { keyId: () => Promise.resolve('local:abc'), publicKeyPem: () => Promise.resolve('PEM') },
});
const handler = makeAuditDigestsHandler(deps);
const auditor = { groups: ['auditors'] };

test('non-auditors get 403 on both routes', async () => {
  for (const routeKey of ['GET /audit/digests', 'GET /audit/public-key']) {
    expect((await handler(apiEvent({ routeKey }), {} as never))?.statusCode).toBe(403);
  }
});

test('the public key route answers the PEM key and the key id', async () => {
  const result = await handler(apiEvent({ routeKey: 'GET /audit/public-key', ...auditor }), {} as never);
  expect(jsonBody(result)).toEqual({ keyId: 'local:abc', publicKeyPem: 'PEM' });
});

test('each digest key is listed with its first version, its version count and its delete marker, a page at a time', async () => {
  // Act
  read.length = 0;
  const first = jsonBody<{ items: unknown[]; cursor?: string }>(
    await handler(
      apiEvent({ routeKey: 'GET /audit/digests', queryStringParameters: { limit: '2' }, ...auditor }),
      {} as never,
    ),
  );
  const second = jsonBody<{ items: unknown[]; cursor?: string }>(
    await handler(
      apiEvent({
        routeKey: 'GET /audit/digests',
        queryStringParameters: { limit: '2', cursor: first.cursor! },
        ...auditor,
      }),
      {} as never,
    ),
  );
  // Assert
  expect(first.items).toEqual([
    { name: '2025-03-01T12:15:00.000Z.json', versions: 1, deleted: false, digest: { number: 1 } },
    { name: '2025-03-01T12:30:00.000Z.json', versions: 2, deleted: false, digest: { number: 2 } },
  ]);
  expect(second).toEqual({
    items: [{ name: '2025-03-01T12:45:00.000Z.json', versions: 1, deleted: true, digest: { number: 3 } }],
  });
  // The first version of the overwritten key is the one read.
  expect(read).toContainEqual(['digests/2025-03-01T12:30:00.000Z.json', 'v2']);
});

test.each([
  [{ limit: '0' }, 'INVALID_QUERY'],
  [{ limit: '101' }, 'INVALID_QUERY'],
  [{ other: 'x' }, 'INVALID_QUERY'],
  [{ cursor: Buffer.from('quarantine/x').toString('base64url') }, 'INVALID_CURSOR'],
])('a bad query %o is 400 %s', async (query, code) => {
  const result = await handler(
    apiEvent({ routeKey: 'GET /audit/digests', queryStringParameters: query, ...auditor }),
    {} as never,
  );
  expect(result?.statusCode).toBe(400);
  expect(jsonBody<{ error: { code: string } }>(result).error.code).toBe(code);
});
