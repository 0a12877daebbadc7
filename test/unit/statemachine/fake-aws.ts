import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * SDK clients mocked with aws-sdk-client-mock, backed by a little state so that a whole
 * execution can run: items by pk/sk, object versions by key/versionId. The condition
 * expressions the stores write (=, AND, OR, parentheses, attribute_exists/not_exists), of updates
 * and puts alike, are evaluated; `failNextConditionalUpdate` simulates a lost race. Tests assert on the commands
 * the real handlers sent.
 */
export class FakeAws {
  readonly ddb = mockClient(DynamoDBDocumentClient);
  readonly s3 = mockClient(S3Client);
  readonly items = new Map<string, Record<string, unknown>>();
  readonly objects = new Map<string, Buffer>();
  /** The current version and metadata of each key written by CopyObject. */
  readonly heads = new Map<string, { VersionId: string; Metadata: Record<string, string> }>();
  private conditionalFailures = 0;

  constructor() {
    this.ddb.on(GetCommand).callsFake((input: { Key: { pk: string; sk: string } }) => {
      const item = this.items.get(itemKey(input.Key.pk, input.Key.sk));
      return item ? { Item: structuredClone(item) } : {};
    });
    this.ddb
      .on(PutCommand)
      .callsFake(
        (input: {
          Item: Record<string, unknown>;
          ConditionExpression?: string;
          ExpressionAttributeNames?: Record<string, string>;
          ExpressionAttributeValues?: Record<string, unknown>;
        }) => {
          const key = itemKey(String(input.Item.pk), String(input.Item.sk));
          if (
            input.ConditionExpression !== undefined &&
            !evaluateCondition(
              {
                Key: { pk: String(input.Item.pk), sk: String(input.Item.sk) },
                ConditionExpression: input.ConditionExpression,
                UpdateExpression: '',
                ...(input.ExpressionAttributeNames
                  ? { ExpressionAttributeNames: input.ExpressionAttributeNames }
                  : {}),
                ExpressionAttributeValues: input.ExpressionAttributeValues ?? {},
              },
              this.items.get(key) ?? {},
            )
          ) {
            throw conditionalCheckFailed();
          }
          this.items.set(key, structuredClone(input.Item));
          return {};
        },
      );
    this.ddb.on(UpdateCommand).callsFake((input: UpdateInput) => this.applyUpdate(input));
    this.ddb.on(QueryCommand).resolves({ Items: [] });
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

  get documentClient(): DynamoDBClient {
    return new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }

  get s3Client(): S3Client {
    return new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }

  putRecord(record: Record<string, unknown> & { uploadId: string }): void {
    this.items.set(itemKey(`UPLOAD#${record.uploadId}`, 'RECORD'), {
      pk: `UPLOAD#${record.uploadId}`,
      sk: 'RECORD',
      ...record,
    });
  }

  record(uploadId: string): Record<string, unknown> | undefined {
    return this.items.get(itemKey(`UPLOAD#${uploadId}`, 'RECORD'));
  }

  auditActions(uploadId: string): string[] {
    return [...this.items.entries()]
      .filter(([key]) => key.startsWith(`UPLOAD#${uploadId}|EVENT#`))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, item]) => String(item.action));
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

  failNextConditionalUpdate(): void {
    this.conditionalFailures++;
  }

  restore(): void {
    this.ddb.restore();
    this.s3.restore();
  }

  private applyUpdate(input: UpdateInput): { Attributes: Record<string, unknown> } {
    // As DynamoDB does: a reserved word must go through a #name placeholder.
    const bare = [input.UpdateExpression, input.ConditionExpression ?? '']
      .join(' ')
      .split(/[^#:A-Za-z0-9_]+/)
      .find((token) => RESERVED_WORDS.has(token.toUpperCase()));
    if (bare !== undefined) {
      throw Object.assign(new Error(`Attribute name is a reserved keyword; reserved keyword: ${bare}`), {
        name: 'ValidationException',
        $metadata: { httpStatusCode: 400 },
      });
    }
    const key = itemKey(input.Key.pk, input.Key.sk);
    const item = this.items.get(key);
    if (this.conditionalFailures > 0) {
      this.conditionalFailures--;
      throw conditionalCheckFailed();
    }
    if (input.ConditionExpression !== undefined && !evaluateCondition(input, item ?? {})) {
      throw conditionalCheckFailed();
    }
    if (item === undefined) throw conditionalCheckFailed();
    const before = structuredClone(item);
    const [setPart, removePart] = input.UpdateExpression.replace(/^SET\s+/, '').split(/\s+REMOVE\s+/);
    for (const assignment of setPart!.split(/,\s*/)) {
      const [lhs, rhs] = assignment.split(/\s*=\s*/) as [string, string];
      const attribute = input.ExpressionAttributeNames?.[lhs] ?? lhs;
      const source = input.ExpressionAttributeNames?.[rhs] ?? rhs;
      item[attribute] = rhs.startsWith(':') ? input.ExpressionAttributeValues[rhs] : before[source];
    }
    for (const attribute of removePart?.split(/,\s*/) ?? []) delete item[attribute.trim()];
    return { Attributes: structuredClone(item) };
  }
}

interface UpdateInput {
  Key: { pk: string; sk: string };
  ConditionExpression?: string;
  UpdateExpression: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
}

/** Evaluates the small condition language the store uses, by translating it to JavaScript. */
function evaluateCondition(input: UpdateInput, item: Record<string, unknown>): boolean {
  const operand = (token: string): string => {
    if (token.startsWith(':')) return JSON.stringify(input.ExpressionAttributeValues[token]);
    const name = token.startsWith('#') ? (input.ExpressionAttributeNames?.[token] ?? token) : token;
    return JSON.stringify(item[name] ?? null);
  };
  const js = input
    .ConditionExpression!.replace(/attribute_exists\((\w+)\)/g, (_m, a: string) =>
      String(item[a] !== undefined),
    )
    .replace(/attribute_not_exists\((\w+)\)/g, (_m, a: string) => String(item[a] === undefined))
    .replace(
      /([#:]?\w+)\s*=\s*([#:]?\w+)/g,
      (_m, a: string, b: string) => `(${operand(a)} === ${operand(b)})`,
    )
    .replace(/\bAND\b/g, '&&')
    .replace(/\bOR\b/g, '||');
  // The expression was built above from booleans and JSON literals only.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call
  return Boolean(new Function(`return (${js});`)());
}

/** DynamoDB reserved words an expression of the stores could meet (of the ~570). */
const RESERVED_WORDS = new Set([
  'STATUS',
  'SCAN',
  'SIZE',
  'NAME',
  'KEY',
  'DATA',
  'TIME',
  'STATE',
  'SOURCE',
  'ACTION',
  'VALUE',
  'USER',
  'COUNT',
]);

const itemKey = (pk: string, sk: string) => `${pk}|${sk}`;
const objectKey = (key: string, versionId: string) => `${key}@${versionId}`;

function conditionalCheckFailed(): Error {
  return Object.assign(new Error('The conditional request failed'), {
    name: 'ConditionalCheckFailedException',
  });
}

export function s3Error(name: string, status: number, retryable = false): Error {
  return Object.assign(new Error(`${name} (simulated)`), {
    name,
    $metadata: { httpStatusCode: status },
    ...(retryable ? { $retryable: {} } : {}),
  });
}
