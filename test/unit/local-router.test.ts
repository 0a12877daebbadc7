import type { AddressInfo } from 'node:net';
import { resetFaultsForTests } from '../../functions/commons/faults.js';
import type { ObjectCreatedEvent } from '../../functions/domain/object-event.js';
import { startRouter } from '../../local/router.js';

const saved = process.env.AIRLOCK_FAULTS;
afterEach(() => {
  if (saved === undefined) delete process.env.AIRLOCK_FAULTS;
  else process.env.AIRLOCK_FAULTS = saved;
  resetFaultsForTests();
});

const RGW_BODY = JSON.stringify({
  Records: [
    {
      eventName: 'ObjectCreated:Put',
      s3: {
        bucket: { name: 'airlock-local' },
        object: { key: 'quarantine/01JNAAAAAAAAAAAAAAAAAAAAAA', size: 3, versionId: 'v1' },
      },
    },
  ],
});

async function withRouter(
  options: { faultControl?: (command: unknown) => Promise<unknown> },
  run: (
    url: string,
    started: unknown[],
    named: Array<{ input: unknown; dedupeKey: string }>,
  ) => Promise<void>,
) {
  const started: unknown[] = [];
  const named: Array<{ input: unknown; dedupeKey: string }> = [];
  const router = await startRouter({
    port: 0,
    bucket: 'airlock-local',
    startExecution: (event) => Promise.resolve(started.push(event)),
    startNamedExecution: (input, dedupeKey) => Promise.resolve(named.push({ input, dedupeKey })),
    ...options,
  });
  try {
    await run(`http://127.0.0.1:${(router.server.address() as AddressInfo).port}`, started, named);
  } finally {
    await router.stop();
  }
}

describe('local event router', () => {
  it('refuses a delivery with 500 when an injected router fault strikes, so that RGW delivers it again', async () => {
    // Arrange
    process.env.AIRLOCK_FAULTS = 'router=1';
    await withRouter({}, async (url, started) => {
      // Act
      const refused = await fetch(`${url}/events`, { method: 'POST', body: RGW_BODY });
      process.env.AIRLOCK_FAULTS = 'router=0';
      resetFaultsForTests();
      const accepted = await fetch(`${url}/events`, { method: 'POST', body: RGW_BODY });
      // Assert
      expect([refused.status, accepted.status]).toEqual([500, 200]);
      expect(started).toHaveLength(1);
    });
  });

  it('starts executions only for records the CDK rule matches: this bucket, under quarantine/', async () => {
    // Arrange: one record in the rule, one outside its prefix, one of another bucket
    const record = (bucket: string, key: string) => ({
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: bucket }, object: { key, size: 3, versionId: 'v1' } },
    });
    const body = JSON.stringify({
      Records: [
        record('airlock-local', 'quarantine/01JNAAAAAAAAAAAAAAAAAAAAAA'),
        record('airlock-local', 'clean/01JNAAAAAAAAAAAAAAAAAAAAAA'),
        record('elsewhere', 'quarantine/01JNAAAAAAAAAAAAAAAAAAAAAA'),
      ],
    });
    await withRouter({}, async (url, started) => {
      // Act
      const response = await fetch(`${url}/events`, { method: 'POST', body });
      // Assert
      expect(response.status).toBe(200);
      expect(
        (started as ObjectCreatedEvent[]).map((event) => [event.detail.bucket.name, event.detail.object.key]),
      ).toEqual([['airlock-local', 'quarantine/01JNAAAAAAAAAAAAAAAAAAAAAA']]);
    });
  });

  it('serves /faults only when given a fault control (fault injection on)', async () => {
    // Arrange
    const commands: unknown[] = [];
    await withRouter({}, async (url, started) => {
      // Act
      const off = await fetch(`${url}/faults`, { method: 'POST', body: '{"dynamodb":"down"}' });
      // Assert: without a control, /faults is just an event delivery holding no records
      expect(off.status).toBe(200);
      expect(started).toEqual([]);
      expect(commands).toEqual([]);
    });
    await withRouter(
      { faultControl: (command) => Promise.resolve(commands.push(command) && { ok: true }) },
      async (url) => {
        // Act
        const on = await fetch(`${url}/faults`, { method: 'POST', body: '{"dynamodb":"down"}' });
        // Assert
        expect({ status: on.status, body: await on.json() }).toEqual({ status: 200, body: { ok: true } });
        expect(commands).toEqual([{ dynamodb: 'down' }]);
      },
    );
  });

  it('starts a named execution on POST /start-execution, and refuses a body without a dedupe key', async () => {
    await withRouter({}, async (url, _started, named) => {
      // Act
      const ok = await fetch(`${url}/start-execution`, {
        method: 'POST',
        body: JSON.stringify({ input: { a: 1 }, dedupeKey: 'k' }),
      });
      const bad = await fetch(`${url}/start-execution`, {
        method: 'POST',
        body: JSON.stringify({ input: {} }),
      });
      // Assert
      expect([ok.status, bad.status]).toEqual([200, 400]);
      expect(named).toEqual([{ input: { a: 1 }, dedupeKey: 'k' }]);
    });
  });
});
