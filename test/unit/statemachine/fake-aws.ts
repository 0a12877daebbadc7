import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { UploadStore, type NewUpload } from '../../../functions/adapters/upload-store.js';
import { nextEventTime } from '../../../functions/domain/audit-trail.js';
import type { UploadRecord } from '../../../functions/domain/model.js';
import { claimEvent, issuedEvent } from '../../../functions/domain/transition-events.js';
import { ensureTable } from '../../../local/dynamo.js';

let server: ReturnType<typeof dynalite> | undefined;
let client: DynamoDBClient | undefined;
let tables = 0;

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

  private constructor(
    readonly table: string,
    private readonly dynamo: DynamoDBClient,
  ) {
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
  async putRecord(record: NewUpload): Promise<void> {
    const store = new UploadStore(this.table, this.dynamo);
    const pending = await store.createPending(
      { ...record, status: 'PENDING_UPLOAD' },
      issuedEvent(record.uploadId, record.owner, record.createdAt),
      Math.ceil(Date.now() / 1000) + 86_400,
    );
    if (pending === undefined) throw new Error(`A record ${record.uploadId} exists already.`);
    if (record.status === 'PENDING_UPLOAD') return;
    if (record.status !== 'PROCESSING' || !record.versionId || !record.executionId)
      throw new Error('putRecord writes PENDING_UPLOAD, or PROCESSING with a version and an execution.');
    const claimed = await store.claim({
      record: pending,
      from: 'PENDING_UPLOAD',
      versionId: record.versionId,
      executionId: record.executionId,
      event: claimEvent({
        uploadId: record.uploadId,
        at: nextEventTime(new Date(), pending.trailHead),
        from: 'PENDING_UPLOAD',
        action: 'CLAIMED',
        versionId: record.versionId,
        executionId: record.executionId,
      }),
    });
    if (!claimed.written) throw new Error('putRecord: the claim was not written.');
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
  }
}

const objectKey = (key: string, versionId: string) => `${key}@${versionId}`;

export function s3Error(name: string, status: number, retryable = false): Error {
  return Object.assign(new Error(`${name} (simulated)`), {
    name,
    $metadata: { httpStatusCode: status },
    ...(retryable ? { $retryable: {} } : {}),
  });
}
