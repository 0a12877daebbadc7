import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateTableCommand, DescribeTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import {
  connect,
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { INDEX_PROJECTION, TABLE_KEYS } from '../functions/adapters/table-layout.js';

export interface RunningDynalite {
  endpoint: string;
  /**
   * Takes the endpoint away (the port refuses connections, open ones are cut) or brings it back,
   * with the data kept: the reliability suite's DynamoDB outage. Only with `outages: true`.
   */
  setAvailable(available: boolean): Promise<void>;
  stop(): Promise<void>;
}

const listen = (server: Server | NetServer, port: number) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

/**
 * dynalite on loopback, its LevelDB kept in the data dir. With `outages`, clients reach it through
 * a TCP relay on `port` that can be taken down and brought back (closing dynalite itself would
 * close its database).
 */
export async function startDynalite(
  path: string,
  port: number,
  options: { outages?: boolean } = {},
): Promise<RunningDynalite> {
  mkdirSync(path, { recursive: true });
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const closeDynalite = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  if (!options.outages) {
    await listen(server, port);
    return {
      endpoint,
      setAvailable: () =>
        Promise.reject(new Error('DynamoDB outages need the runtime started with AIRLOCK_FAULTS.')),
      stop: closeDynalite,
    };
  }
  await listen(server, 0);
  const upstreamPort = (server.address() as AddressInfo).port;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const relay = createNetServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    track(client);
    track(upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  const closeRelay = () =>
    new Promise<void>((resolve) => {
      if (!relay.listening) return resolve();
      relay.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  await listen(relay, port);
  return {
    endpoint,
    setAvailable: async (available) => {
      if (available && !relay.listening) await listen(relay, port);
      if (!available) await closeRelay();
    },
    stop: async () => {
      await closeRelay();
      await closeDynalite();
    },
  };
}

/**
 * Creates the table as the CDK construct does (same keys, indexes and projections), if it is
 * missing. A table left by an older layout (before records held their trails) is refused with
 * what to do: Airlock is pre-1.0 and does not migrate local data.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const existing = await client.send(new ListTablesCommand({}));
  if (existing.TableNames?.includes(tableName)) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const projected = (Table?.GlobalSecondaryIndexes ?? []).map((index) =>
      [...(index.Projection?.NonKeyAttributes ?? [])].sort().join(','),
    );
    const expected = [...INDEX_PROJECTION].sort().join(',');
    if (projected.length !== 2 || projected.some((attributes) => attributes !== expected)) {
      throw new Error(
        `The local table ${tableName} has an older layout (before each record held its audit trail). ` +
          'Local data is not migrated: remove the data dir (AIRLOCK_DATA_DIR, by default .airlock/) and start again.',
      );
    }
    return;
  }
  const indexes = [TABLE_KEYS.byOwner, TABLE_KEYS.byStatus];
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' },
        { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' },
        ...indexes.flatMap((index) => [
          { AttributeName: index.partitionKey, AttributeType: 'S' as const },
          { AttributeName: index.sortKey, AttributeType: 'S' as const },
        ]),
      ],
      GlobalSecondaryIndexes: indexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...INDEX_PROJECTION] },
      })),
    }),
  );
  for (let attempt = 0; attempt < 50; attempt++) {
    const table = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (table.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Table ${tableName} did not become ACTIVE.`);
}
