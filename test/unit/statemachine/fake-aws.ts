import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { UploadStore, type NewUpload } from '../../../functions/adapters/upload-store.js';
import { nextEventTime } from '../../../functions/domain/audit-trail.js';
import type { Reason, ScanSummary, UploadRecord } from '../../../functions/domain/model.js';
import { outcomeGuard } from '../../../functions/domain/transitions.js';
import { claimEvent, issuedEvent, outcomeEvent } from '../../../functions/domain/transition-events.js';
import { ensureTable } from '../../../local/dynamo.js';

let server: ReturnType<typeof dynalite> | undefined;
let client: DynamoDBClient | undefined;
let tables = 0;

/** A DynamoDB command this FakeAws's table received: its name (`GetItemCommand`…) and input. */
export interface DynamoCall {
  command: string;
  /** As the caller wrote it (document values), whether it came through the document client or not. */
  input: Record<string, unknown>;
}

/** Runs before each matching command reaches DynamoDB (until removed, or once). */
interface DynamoHook {
  command: string;
  key?: { pk: string; sk: string };
  once: boolean;
  run: () => Promise<void> | void;
}

/** One dynalite in memory for the test file, started on first use. */
async function fakeDynamo(): Promise<DynamoDBClient> {
  if (server === undefined || client === undefined) {
    const started = dynalite({ createTableMs: 0 });
    await new Promise<void>((resolve) => started.listen(0, '127.0.0.1', resolve));
    const { port } = started.address() as AddressInfo;
    server = started;
    client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }
  return client;
}

/**
 * The pipeline's AWS, for running whole executions in-process: DynamoDB is a real dynalite in
 * memory (one table per FakeAws, created as CDK creates it), so that the store's conditional
 * writes are evaluated by a real implementation; S3 is mocked with aws-sdk-client-mock, backed
 * by object versions by key/versionId. Tests assert on the commands the real handlers sent.
 */
export class FakeAws {
  readonly s3 = mockClient(S3Client);
  readonly objects = new Map<string, Buffer>();
  /** The current version and metadata of each key written by CopyObject. */
  readonly heads = new Map<string, { VersionId: string; Metadata: Record<string, string> }>();

  /** Every DynamoDB command sent to `table`, in the order sent (as they reach the client). */
  readonly dynamoCalls: DynamoCall[] = [];
  private hooks: DynamoHook[] = [];
  private readonly middlewareName: string;

  private constructor(
    readonly table: string,
    private readonly dynamo: DynamoDBClient,
  ) {
    // The document client shares its client's middleware stack: one step sees every command,
    // with a document command's input still unmarshalled (marshalling comes just before serializing).
    this.middlewareName = `fake-aws-${table}-${++middlewares}`;
    this.dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        if (input.TableName !== this.table) return next(args);
        const call = { command: context.commandName ?? 'unknown', input: plainInput(input) };
        this.dynamoCalls.push(call);
        for (const hook of this.hooks.filter((candidate) => matches(candidate, call))) {
          if (hook.once) this.hooks = this.hooks.filter((other) => other !== hook);
          await hook.run();
        }
        return next(args);
      },
      { step: 'initialize', name: this.middlewareName },
    );
    this.s3.on(GetObjectCommand).callsFake((input: { Key: string; VersionId: string }) => {
      const bytes = this.objects.get(objectKey(input.Key, input.VersionId));
      if (bytes === undefined) throw s3Error('NoSuchVersion', 404);
      return { ContentLength: bytes.length, Body: Readable.from([bytes]) };
    });
    this.s3.on(HeadObjectCommand).callsFake((input: { Key: string }) => {
      const head = this.heads.get(input.Key);
      if (head === undefined) throw s3Error('NotFound', 404);
      return structuredClone(head);
    });
    this.s3
      .on(CopyObjectCommand)
      .callsFake((input: { Key: string; CopySource: string; Metadata?: Record<string, string> }) => {
        const [sourcePath, query] = input.CopySource.split('?');
        const sourceKey = decodeURIComponent(sourcePath!.split('/').slice(1).join('/'));
        const versionId = new URLSearchParams(query).get('versionId') ?? '';
        const bytes = this.objects.get(objectKey(sourceKey, versionId));
        if (bytes === undefined) throw s3Error('NoSuchVersion', 404);
        const newVersion = `copy-${this.objects.size}`;
        this.objects.set(objectKey(input.Key, newVersion), bytes);
        this.heads.set(input.Key, { VersionId: newVersion, Metadata: input.Metadata ?? {} });
        return { VersionId: newVersion };
      });
    this.s3.on(DeleteObjectCommand).callsFake((input: { Key: string; VersionId: string }) => {
      this.objects.delete(objectKey(input.Key, input.VersionId));
      return {};
    });
  }

  /** A fresh table, or (`sharing`) the table of an earlier FakeAws: a restarted runtime's data. */
  static async create(sharing?: FakeAws): Promise<FakeAws> {
    const dynamo = await fakeDynamo();
    const table = sharing?.table ?? `pipeline-${++tables}`;
    if (sharing === undefined) await ensureTable(dynamo, table);
    const fake = new FakeAws(table, dynamo);
    if (sharing !== undefined) {
      for (const [k, v] of sharing.objects) fake.objects.set(k, v);
      for (const [k, v] of sharing.heads) fake.heads.set(k, v);
    }
    return fake;
  }

  /** Closes the in-memory DynamoDB (once, after the last test). */
  static async shutdown(): Promise<void> {
    const running = server;
    server = undefined;
    if (running) await new Promise<void>((resolve) => running.close(() => resolve()));
  }

  /** The store's DynamoDB client (the table is `table`). */
  get documentClient(): DynamoDBClient {
    return this.dynamo;
  }

  get s3Client(): S3Client {
    return new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }

  /**
   * Writes a record as create-upload does (ISSUED); one left PROCESSING by a claim also holds
   * its CLAIMED event, as the claim's one write leaves it.
   */
  async putRecord(record: NewUpload, claimedAt = new Date()): Promise<UploadRecord> {
    const store = new UploadStore(this.table, this.dynamo);
    const pending = await store.createPending(
      { ...record, status: 'PENDING_UPLOAD' },
      issuedEvent(record.uploadId, record.owner, record.createdAt),
      Math.ceil(Date.now() / 1000) + 86_400,
    );
    if (pending === undefined) throw new Error(`A record ${record.uploadId} exists already.`);
    if (record.status === 'PENDING_UPLOAD') return pending;
    if (record.status !== 'PROCESSING' || !record.versionId || !record.executionId)
      throw new Error('putRecord writes PENDING_UPLOAD, or PROCESSING with a version and an execution.');
    const claimed = await store.claim({
      record: pending,
      from: 'PENDING_UPLOAD',
      versionId: record.versionId,
      executionId: record.executionId,
      event: claimEvent({
        uploadId: record.uploadId,
        at: nextEventTime(claimedAt, pending.trailHead),
        from: 'PENDING_UPLOAD',
        action: 'CLAIMED',
        versionId: record.versionId,
        executionId: record.executionId,
      }),
    });
    if (!claimed.written) throw new Error('putRecord: the claim was not written.');
    return claimed.record;
  }

  /**
   * Writes a record that ended PROCESSED or REJECTED as the pipeline leaves it: issued at
   * `createdAt`, claimed just after, its outcome recorded (by record-outcome's one write) at
   * `updatedAt` or just after the claim. Its trail holds ISSUED, CLAIMED and the outcome.
   */
  async putOutcome(
    upload: NewUpload & { versionId: string },
    outcome: { status: 'PROCESSED' | 'REJECTED'; storedKey: string; scan?: ScanSummary; reasons?: Reason[] },
  ): Promise<UploadRecord> {
    const executionId =
      upload.executionId ?? `arn:aws:states:us-east-1:123456789012:execution:airlock:${upload.uploadId}`;
    const claimed = await this.putRecord(
      { ...upload, status: 'PROCESSING', executionId },
      new Date(upload.createdAt),
    );
    const store = new UploadStore(this.table, this.dynamo);
    const written = await store.recordOutcome({
      record: claimed,
      outcome: outcome.status,
      guard: outcomeGuard(outcome.status, executionId),
      event: outcomeEvent({
        record: claimed,
        outcome: outcome.status,
        at: nextEventTime(new Date(upload.updatedAt), claimed.trailHead),
        executionId,
        ...(outcome.reasons ? { reasons: outcome.reasons } : {}),
        ...(outcome.scan ? { scan: outcome.scan } : {}),
      }),
      storedKey: outcome.storedKey,
      ...(outcome.reasons ? { reasons: outcome.reasons } : {}),
      ...(outcome.scan ? { scan: outcome.scan } : {}),
    });
    if (!written.written) throw new Error('putOutcome: the outcome was not written.');
    return written.record;
  }

  /** Every item of the table (records and scan results alike), as stored. */
  async items(): Promise<Array<Record<string, unknown>>> {
    const doc = DynamoDBDocumentClient.from(this.dynamo);
    const items: Array<Record<string, unknown>> = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(new ScanCommand({ TableName: this.table, ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  /**
   * Runs `run` before each `command` (`GetItemCommand`…) of the item `key` (any item without one)
   * reaches DynamoDB, or before the next one only (`once`): what happens meanwhile, at that point.
   */
  beforeDynamo(
    command: string,
    key: { pk: string; sk: string } | undefined,
    run: () => Promise<void> | void,
    options: { once?: boolean } = {},
  ): void {
    this.hooks.push({ command, ...(key ? { key } : {}), once: options.once === true, run });
  }

  /** The commands `command` sent to `table` for the item `key` (for any item without one). */
  dynamoCallsOf(command: string, key?: { pk?: string; sk?: string | RegExp }): DynamoCall[] {
    return this.dynamoCalls.filter((call) => call.command === command && keyMatches(call, key));
  }

  async record(uploadId: string): Promise<UploadRecord | undefined> {
    return new UploadStore(this.table, this.dynamo).get(uploadId);
  }

  /** The actions of an upload's trail (or of an object key's with no upload), oldest first. */
  async auditActions(uploadId: string): Promise<string[]> {
    const events = await new UploadStore(this.table, this.dynamo).listAudit(uploadId);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    return events.map((event) => event.action);
  }

  putObject(key: string, versionId: string, bytes: Buffer): void {
    this.objects.set(objectKey(key, versionId), bytes);
  }

  hasObject(key: string, versionId: string): boolean {
    return this.objects.has(objectKey(key, versionId));
  }

  objectsUnder(prefix: string): string[] {
    return [...this.objects.keys()].filter((key) => key.startsWith(prefix));
  }

  restore(): void {
    this.s3.restore();
    this.hooks = [];
    this.dynamo.middlewareStack.remove(this.middlewareName);
  }
}

let middlewares = 0;

/** A command's input with its Key in document values (one sent without the document client is marshalled). */
function plainInput(input: Record<string, unknown>): Record<string, unknown> {
  const key = input.Key as Record<string, unknown> | undefined;
  if (key === undefined) return input;
  const plain = Object.fromEntries(
    Object.entries(key).map(([name, value]) => [
      name,
      typeof value === 'object' && value !== null && 'S' in value ? value.S : value,
    ]),
  );
  return { ...input, Key: plain };
}

function keyMatches(call: DynamoCall, key: { pk?: string; sk?: string | RegExp } | undefined): boolean {
  if (key === undefined) return true;
  const callKey = (call.input.Key ?? {}) as { pk?: unknown; sk?: unknown };
  if (key.pk !== undefined && callKey.pk !== key.pk) return false;
  if (key.sk instanceof RegExp) return key.sk.test(String(callKey.sk));
  return key.sk === undefined || callKey.sk === key.sk;
}

function matches(hook: DynamoHook, call: DynamoCall): boolean {
  return hook.command === call.command && keyMatches(call, hook.key);
}

const objectKey = (key: string, versionId: string) => `${key}@${versionId}`;

export function s3Error(name: string, status: number, retryable = false): Error {
  return Object.assign(new Error(`${name} (simulated)`), {
    name,
    $metadata: { httpStatusCode: status },
    ...(retryable ? { $retryable: {} } : {}),
  });
}
