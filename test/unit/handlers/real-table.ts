import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { UploadStore } from '../../../functions/adapters/upload-store.js';
import { ensureTable, startDynalite, type RunningDynalite } from '../../../local/dynamo.js';

/**
 * A real table for the handlers: dynalite (the local runtime's DynamoDB) in a temp dir, created
 * as CDK creates it, with a client that counts what each request read. For checks that a mock
 * cannot make: how many items a request evaluated, and conditional writes as DynamoDB does them.
 */
export interface RealTable {
  store: UploadStore;
  client: DynamoDBClient;
  tableName: string;
  /** Query calls and the items they evaluated (ScannedCount) since the last `resetReads`. */
  reads: { queries: number; evaluated: number };
  resetReads(): void;
  putItems(items: Array<Record<string, unknown>>): Promise<void>;
  stop(): Promise<void>;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

export async function startRealTable(): Promise<RealTable> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-unit-ddb-'));
  const port = await freePort();
  const dynalite: RunningDynalite = await startDynalite(dir, port);
  const tableName = 'airlock-unit';
  const client = new DynamoDBClient({
    endpoint: dynalite.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTable(client, tableName);
  const reads = { queries: 0, evaluated: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'QueryCommand') {
        const output = result.output as { ScannedCount?: number };
        reads.queries++;
        reads.evaluated += output.ScannedCount ?? 0;
      }
      return result;
    },
    { step: 'initialize', name: 'countReads' },
  );
  const doc = DynamoDBDocumentClient.from(client);
  return {
    store: new UploadStore(tableName, client),
    client,
    tableName,
    reads,
    resetReads: () => {
      reads.queries = 0;
      reads.evaluated = 0;
    },
    putItems: async (items) => {
      for (let start = 0; start < items.length; start += 25) {
        let pending: Record<string, unknown> | undefined = {
          [tableName]: items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } })),
        };
        while (pending && Object.keys(pending).length > 0) {
          const out: { UnprocessedItems?: Record<string, unknown> } = await doc.send(
            new BatchWriteCommand({ RequestItems: pending as never }),
          );
          pending = out.UnprocessedItems;
        }
      }
    },
    stop: async () => {
      client.destroy();
      await dynalite.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
