import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { INDEX_PROJECTION } from '../functions/adapters/table-layout.js';
import { TABLE_KEYS } from '../functions/adapters/upload-store.js';

/**
 * What the cost probe records of each request, and DynamoDB's capacity units as it bills them
 * (item sizes before and after each write, index by index): the probe's clients are instrumented
 * here, so that bench/cost-probe.ts holds only the run itself.
 */

export interface DynamoOperation {
  step: string;
  command: string;
  /** Write request units: the table plus each global secondary index the write touches. */
  wru: number;
  /** Read request units (strongly consistent reads: 1 per 4 KB). */
  rru: number;
  /** Item size in bytes (the larger of before and after for writes). */
  itemBytes: number;
  indexWrites: Record<string, number>;
}

export interface ProbedPath {
  status: string;
  /** The document's size: what the malware scanner reads (and bills per GB). */
  bytes: number;
  /** State names entered, in order (from the execution's event log). */
  statesEntered: string[];
  taskStates: string[];
  retries: number;
  dynamo: DynamoOperation[];
  /** S3 requests by API operation, the client's upload included. */
  s3: Record<string, number>;
}

export interface ProbeResult {
  processed: ProbedPath;
  rejected: ProbedPath;
  /** In-process handler time of the API functions (median ms), for GB-seconds. */
  apiHandlerMs: { 'create-upload': number; 'get-upload': number };
  /** In-process time of the scan-result intake storing GuardDuty's result (median ms). */
  intakeMs: number;
}

export type Recorder = { step: string; dynamo: DynamoOperation[]; s3: Record<string, number> };

/** DynamoDB's item size: attribute names plus values (numbers approximated as digits/2 + 1). */
export function attributeValueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S, 'utf8');
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\./g, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M !== undefined) return 3 + itemBytes(value.M) + Object.keys(value.M).length;
  if (value.L !== undefined)
    return 3 + value.L.reduce((total, item) => total + 1 + attributeValueBytes(item), 0);
  if (value.SS !== undefined)
    return value.SS.reduce((total, item) => total + Buffer.byteLength(item, 'utf8'), 0);
  return 0;
}

export function itemBytes(item: Record<string, AttributeValue> | undefined): number {
  if (item === undefined) return 0;
  return Object.entries(item).reduce(
    (total, [name, value]) => total + Buffer.byteLength(name, 'utf8') + attributeValueBytes(value),
    0,
  );
}

const units = (bytes: number, per: number) => Math.max(1, Math.ceil(bytes / per));
const INDEXES = [TABLE_KEYS.byOwner, TABLE_KEYS.byStatus];

/** The item as an index holds it: the table's and the index's keys, and the projected attributes. */
function indexItem(
  item: Record<string, AttributeValue> | undefined,
  index: (typeof INDEXES)[number],
): Record<string, AttributeValue> | undefined {
  if (item === undefined) return undefined;
  const kept = new Set<string>([
    TABLE_KEYS.partitionKey,
    TABLE_KEYS.sortKey,
    index.partitionKey,
    index.sortKey,
    ...INDEX_PROJECTION,
  ]);
  return Object.fromEntries(Object.entries(item).filter(([name]) => kept.has(name)));
}

/**
 * Write units of one write, as DynamoDB bills them: the table (the larger of the item before
 * and after), plus, per global secondary index (projection INCLUDE: the keys and
 * INDEX_PROJECTION, sized as the index holds them): a put when the item enters it, a delete when
 * it leaves, both when its index key changes, one update when only projected attributes change,
 * nothing when none of them changes or the item is not in the index.
 */
export function writeUnits(
  before: Record<string, AttributeValue> | undefined,
  after: Record<string, AttributeValue> | undefined,
): { wru: number; indexWrites: Record<string, number>; bytes: number } {
  const bytes = Math.max(itemBytes(before), itemBytes(after));
  let wru = units(bytes, 1024);
  const indexWrites: Record<string, number> = {};
  const key = (item: Record<string, AttributeValue> | undefined, index: (typeof INDEXES)[number]) => {
    const hash = item?.[index.partitionKey]?.S;
    const range = item?.[index.sortKey]?.S;
    return hash !== undefined && range !== undefined ? `${hash}\u0000${range}` : undefined;
  };
  for (const index of INDEXES) {
    const old = key(before, index);
    const next = key(after, index);
    const oldItem = indexItem(before, index);
    const nextItem = indexItem(after, index);
    let writes = 0;
    if (old === undefined && next !== undefined) writes = units(itemBytes(nextItem), 1024);
    else if (old !== undefined && next === undefined) writes = units(itemBytes(oldItem), 1024);
    else if (old !== undefined && next !== undefined) {
      if (old !== next) writes = units(itemBytes(oldItem), 1024) + units(itemBytes(nextItem), 1024);
      else if (JSON.stringify(oldItem) !== JSON.stringify(nextItem))
        writes = units(Math.max(itemBytes(oldItem), itemBytes(nextItem)), 1024);
    }
    if (writes > 0) indexWrites[index.indexName] = writes;
    wru += writes;
  }
  return { wru, indexWrites, bytes };
}

export function instrumentDynamo(
  client: DynamoDBClient,
  plain: DynamoDBClient,
  recorder: () => Recorder,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '?';
      // At the build step the input is in DynamoDB's wire format.
      const input = args.input as {
        TableName?: string;
        Key?: Record<string, AttributeValue>;
        Item?: Record<string, AttributeValue>;
        ConsistentRead?: boolean;
      };
      const key =
        input.Key ?? (input.Item?.pk && input.Item.sk ? { pk: input.Item.pk, sk: input.Item.sk } : undefined);
      const read = async () =>
        key && input.TableName
          ? (
              await plain.send(
                new GetItemCommand({ TableName: input.TableName, Key: key, ConsistentRead: true }),
              )
            ).Item
          : undefined;
      const isWrite = /^(PutItem|UpdateItem|DeleteItem)Command$/.test(command);
      const before = isWrite ? await read() : undefined;
      let failed = false;
      try {
        return await next(args);
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        const rec = recorder();
        const name = command.replace(/Command$/, '');
        if (isWrite) {
          // A failed conditional write still consumes the units of the item it was checked on.
          const after = failed ? before : await read();
          const counted = writeUnits(before, after);
          rec.dynamo.push({
            step: rec.step,
            command: failed ? `${name} (condition failed)` : name,
            wru: failed ? units(itemBytes(before), 1024) : counted.wru,
            rru: 0,
            itemBytes: counted.bytes,
            indexWrites: failed ? {} : counted.indexWrites,
          });
        } else if (command === 'GetItemCommand') {
          const item = await read();
          const bytes = itemBytes(item);
          rec.dynamo.push({
            step: rec.step,
            command: name,
            wru: 0,
            rru: units(bytes, 4096) / (input.ConsistentRead ? 1 : 2),
            itemBytes: bytes,
            indexWrites: {},
          });
        } else {
          rec.dynamo.push({ step: rec.step, command: name, wru: 0, rru: 1, itemBytes: 0, indexWrites: {} });
        }
      }
    },
    { step: 'build', name: 'benchCountDynamoRequests' },
  );
}

export function instrumentS3(client: S3Client, recorder: () => Recorder): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const rec = recorder();
      const name = (context.commandName ?? '?').replace(/Command$/, '');
      rec.s3[name] = (rec.s3[name] ?? 0) + 1;
      return next(args);
    },
    // At the deserialize step: only requests really sent (presigning stops before it).
    { step: 'deserialize', name: 'benchCountS3Requests' },
  );
}

/** GuardDuty's Object Scan Result for a clean version, as its EventBridge event carries it. */
