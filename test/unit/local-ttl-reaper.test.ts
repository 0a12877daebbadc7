import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { TABLE_KEYS } from '../../functions/adapters/table-layout.js';
import { ensureTable } from '../../local/dynamo.js';
import { startTtlReaper } from '../../local/ttl-reaper.js';

/**
 * dynalite has no TTL; the local runtime deletes expired items as DynamoDB does (local/ttl-reaper.ts).
 * Against dynalite in memory: what is expired goes, what is not stays, and a write that ends an
 * item's TTL before the delete keeps it.
 */

let server: ReturnType<typeof dynalite>;
let endpoint = '';
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let table = '';
let tables = 0;
const NOW = new Date('2025-03-01T12:00:00.000Z');
const nowSeconds = NOW.getTime() / 1000;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  endpoint = `http://127.0.0.1:${port}`;
  client = newClient();
  doc = DynamoDBDocumentClient.from(client);
});

afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(async () => {
  table = `reaper-${++tables}`;
  await ensureTable(client, table);
});

const newClient = () =>
  new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
const put = (pk: string, ttl?: unknown) =>
  doc.send(
    new PutCommand({ TableName: table, Item: { pk, sk: 'RECORD', ...(ttl === undefined ? {} : { ttl }) } }),
  );
const exists = async (pk: string) =>
  (await doc.send(new GetCommand({ TableName: table, Key: { pk, sk: 'RECORD' } }))).Item !== undefined;

function reaper(onDelete?: () => Promise<void>) {
  const reaping = newClient();
  if (onDelete) {
    reaping.middlewareStack.add(
      (next, context) => async (args) => {
        if (/^Delete/.test(context.commandName ?? '')) await onDelete();
        return next(args);
      },
      { step: 'initialize' },
    );
  }
  return startTtlReaper({
    client: reaping,
    table,
    attribute: TABLE_KEYS.ttlAttribute,
    intervalMs: 3_600_000, // the test runs the passes itself
    now: () => NOW,
  });
}

describe('the local TTL reaper', () => {
  it('deletes items whose TTL has passed, and leaves the others', async () => {
    // Arrange
    await put('UPLOAD#expired', nowSeconds - 1);
    await put('UPLOAD#now', nowSeconds);
    await put('UPLOAD#future', nowSeconds + 1);
    await put('UPLOAD#none');
    await put('UPLOAD#not-a-number', String(nowSeconds - 1));
    await put('UPLOAD#ancient', nowSeconds - 6 * 365 * 86_400); // DynamoDB ignores TTLs over 5 years old
    const running = reaper();
    // Act
    const deleted = await running.sweep();
    await running.stop();
    // Assert
    expect(deleted).toBe(2);
    const left = await Promise.all(
      ['expired', 'now', 'future', 'none', 'not-a-number', 'ancient'].map((id) => exists(`UPLOAD#${id}`)),
    );
    expect(left).toEqual([false, false, true, true, true, true]);
  });

  it('keeps an item whose TTL a write removed after the scan found it (a late upload claiming it)', async () => {
    // Arrange: the claim lands between the reaper's scan and its delete
    await put('UPLOAD#claimed-meanwhile', nowSeconds - 60);
    let claimed = false;
    const running = reaper(async () => {
      if (claimed) return;
      claimed = true;
      await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: 'UPLOAD#claimed-meanwhile', sk: 'RECORD' },
          UpdateExpression: 'REMOVE #ttl',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
        }),
      );
    });
    // Act
    const deleted = await running.sweep();
    await running.stop();
    // Assert
    expect(claimed).toBe(true);
    expect(deleted).toBe(0);
    expect(await exists('UPLOAD#claimed-meanwhile')).toBe(true);
  });

  it('reaches every page of a table larger than one scan page', async () => {
    // Arrange: more expired items than one 1 MB scan page holds
    const padding = 'x'.repeat(300 * 1024);
    for (let index = 0; index < 6; index++) {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: { pk: `UPLOAD#big-${index}`, sk: 'RECORD', ttl: nowSeconds - 1, padding },
        }),
      );
    }
    const running = reaper();
    // Act
    const deleted = await running.sweep();
    await running.stop();
    // Assert
    expect(deleted).toBe(6);
  });
});
