/**
 * What AWS authorizes for each SDK command the functions send: the IAM action(s), the resource
 * ARN(s) and the request's condition keys (the Service Authorization Reference's view of it).
 * A command not listed here is refused: a new call must be mapped before it can run unchecked.
 */

export interface IamRequest {
  action: string;
  resource: string;
  /** Condition keys of the request itself (the caller's keys are added by the evaluator). */
  context: Record<string, string>;
}

export type Service = 's3' | 'dynamodb' | 'sfn' | 'guardduty' | 'secretsmanager' | 'sqs' | 'events' | 'kms';

export interface Where {
  region: string;
  account: string;
}

export class UnmappedCommandError extends Error {
  override readonly name = 'UnmappedCommandError';
}

type Input = Record<string, unknown>;

const text = (input: Input, field: string): string => {
  const value = input[field];
  if (typeof value !== 'string' || value === '') throw new UnmappedCommandError(`${field} is required.`);
  return value;
};
const optionalText = (input: Input, field: string): string | undefined =>
  typeof input[field] === 'string' && input[field] !== '' ? input[field] : undefined;

const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;
const objectArn = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;

/** A read of one object: of the current version (s3:GetObject) or a named one (s3:GetObjectVersion). */
function objectRead(bucket: string, key: string, versionId: string | undefined): IamRequest {
  return versionId === undefined
    ? { action: 's3:GetObject', resource: objectArn(bucket, key), context: {} }
    : {
        action: 's3:GetObjectVersion',
        resource: objectArn(bucket, key),
        context: { 's3:versionid': versionId },
      };
}

/** `bucket/key?versionId=v` (the key URL-encoded), as CopyObject's CopySource names its source. */
export function parseCopySource(copySource: string): { bucket: string; key: string; versionId?: string } {
  const [path = '', query = ''] = copySource.replace(/^\//, '').split('?');
  const slash = path.indexOf('/');
  if (slash <= 0) throw new UnmappedCommandError(`CopySource "${copySource}" names no bucket and key.`);
  const versionId = new URLSearchParams(query).get('versionId') ?? undefined;
  return {
    bucket: path.slice(0, slash),
    key: decodeURIComponent(path.slice(slash + 1)),
    ...(versionId ? { versionId } : {}),
  };
}

const S3: Record<string, (input: Input) => IamRequest[]> = {
  GetObject: (input) => [
    objectRead(text(input, 'Bucket'), text(input, 'Key'), optionalText(input, 'VersionId')),
  ],
  // HEAD is authorized as the GET it describes.
  HeadObject: (input) => [
    objectRead(text(input, 'Bucket'), text(input, 'Key'), optionalText(input, 'VersionId')),
  ],
  PutObject: (input) => [
    { action: 's3:PutObject', resource: objectArn(text(input, 'Bucket'), text(input, 'Key')), context: {} },
  ],
  // A read of the source (its version when one is named) and a write of the target.
  CopyObject: (input) => {
    const source = parseCopySource(text(input, 'CopySource'));
    const directive = optionalText(input, 'MetadataDirective');
    return [
      objectRead(source.bucket, source.key, source.versionId),
      {
        action: 's3:PutObject',
        resource: objectArn(text(input, 'Bucket'), text(input, 'Key')),
        context: {
          's3:x-amz-copy-source': text(input, 'CopySource'),
          ...(directive ? { 's3:x-amz-metadata-directive': directive } : {}),
        },
      },
    ];
  },
  DeleteObject: (input): IamRequest[] => {
    const versionId = optionalText(input, 'VersionId');
    const resource = objectArn(text(input, 'Bucket'), text(input, 'Key'));
    return [
      versionId === undefined
        ? { action: 's3:DeleteObject', resource, context: {} }
        : { action: 's3:DeleteObjectVersion', resource, context: { 's3:versionid': versionId } },
    ];
  },
  // Listing is authorized on the bucket, with the prefix as a condition key.
  ListObjectVersions: (input) => {
    const prefix = optionalText(input, 'Prefix');
    const maxKeys = input.MaxKeys;
    return [
      {
        action: 's3:ListBucketVersions',
        resource: bucketArn(text(input, 'Bucket')),
        context: {
          ...(prefix !== undefined ? { 's3:prefix': prefix } : {}),
          ...(typeof maxKeys === 'number' ? { 's3:max-keys': String(maxKeys) } : {}),
        },
      },
    ];
  },
  // Tags of a named version (s3:PutObjectVersionTagging) or of the current one (s3:PutObjectTagging).
  PutObjectTagging: (input): IamRequest[] => {
    const versionId = optionalText(input, 'VersionId');
    const resource = objectArn(text(input, 'Bucket'), text(input, 'Key'));
    return [
      versionId === undefined
        ? { action: 's3:PutObjectTagging', resource, context: {} }
        : { action: 's3:PutObjectVersionTagging', resource, context: { 's3:versionid': versionId } },
    ];
  },
  // Listing keys is authorized on the bucket, with the prefix as a condition key.
  ListObjectsV2: (input): IamRequest[] => {
    const prefix = optionalText(input, 'Prefix');
    return [
      {
        action: 's3:ListBucket',
        resource: bucketArn(text(input, 'Bucket')),
        context: prefix !== undefined ? { 's3:prefix': prefix } : {},
      },
    ];
  },
  HeadBucket: (input) => [
    { action: 's3:ListBucket', resource: bucketArn(text(input, 'Bucket')), context: {} },
  ],
};

const tableArn = (where: Where, table: string) =>
  `arn:aws:dynamodb:${where.region}:${where.account}:table/${table}`;
const item =
  (action: string) =>
  (input: Input, where: Where): IamRequest[] => [
    { action: `dynamodb:${action}`, resource: tableArn(where, text(input, 'TableName')), context: {} },
  ];

const batchGet = (input: Input, where: Where): IamRequest[] =>
  Object.keys((input.RequestItems ?? {}) as Record<string, unknown>).map((table) => ({
    action: 'dynamodb:BatchGetItem',
    resource: tableArn(where, table),
    context: {},
  }));

const DYNAMODB: Record<string, (input: Input, where: Where) => IamRequest[]> = {
  GetItem: item('GetItem'),
  PutItem: item('PutItem'),
  UpdateItem: item('UpdateItem'),
  DeleteItem: item('DeleteItem'),
  // The DocumentClient's names for the same operations (lib-dynamodb).
  Get: item('GetItem'),
  Put: item('PutItem'),
  Update: item('UpdateItem'),
  Delete: item('DeleteItem'),
  // One request per table read (BatchGet is the DocumentClient's name).
  BatchGetItem: (input, where) => batchGet(input, where),
  BatchGet: (input, where) => batchGet(input, where),
  // A query of an index is authorized on the index's ARN, not the table's.
  Query: (input, where) => {
    const index = optionalText(input, 'IndexName');
    const table = tableArn(where, text(input, 'TableName'));
    return [{ action: 'dynamodb:Query', resource: index ? `${table}/index/${index}` : table, context: {} }];
  },
};

const SFN: Record<string, (input: Input) => IamRequest[]> = {
  StartExecution: (input) => [
    { action: 'states:StartExecution', resource: text(input, 'stateMachineArn'), context: {} },
  ],
  DescribeExecution: (input) => [
    { action: 'states:DescribeExecution', resource: text(input, 'executionArn'), context: {} },
  ],
};

// GuardDuty's on-demand scan names no resource type: IAM authorizes it on "*".
const GUARDDUTY: Record<string, (input: Input) => IamRequest[]> = {
  SendObjectMalwareScan: () => [{ action: 'guardduty:SendObjectMalwareScan', resource: '*', context: {} }],
};

const SECRETS_MANAGER: Record<string, (input: Input) => IamRequest[]> = {
  GetSecretValue: (input) => [
    { action: 'secretsmanager:GetSecretValue', resource: text(input, 'SecretId'), context: {} },
  ],
};

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` → the queue's ARN. */
export function queueArnOf(queueUrl: string, where: Where): string {
  const match = /^https?:\/\/[^/]+\/(\d{12})\/([A-Za-z0-9_.-]+)$/.exec(queueUrl);
  if (!match) throw new UnmappedCommandError(`QueueUrl "${queueUrl}" names no queue.`);
  return `arn:aws:sqs:${where.region}:${match[1]}:${match[2]}`;
}
const queueAction =
  (action: string) =>
  (input: Input, where: Where): IamRequest[] => [
    { action: `sqs:${action}`, resource: queueArnOf(text(input, 'QueueUrl'), where), context: {} },
  ];

/** Every batch form is authorized as its single action. */
const SQS: Record<string, (input: Input, where: Where) => IamRequest[]> = {
  ReceiveMessage: queueAction('ReceiveMessage'),
  DeleteMessage: queueAction('DeleteMessage'),
  DeleteMessageBatch: queueAction('DeleteMessage'),
  ChangeMessageVisibility: queueAction('ChangeMessageVisibility'),
  ChangeMessageVisibilityBatch: queueAction('ChangeMessageVisibility'),
  GetQueueAttributes: queueAction('GetQueueAttributes'),
};

/** PutEvents is authorized on each bus its entries name (the default bus when none). */
const EVENTS: Record<string, (input: Input, where: Where) => IamRequest[]> = {
  PutEvents: (input, where) => {
    const entries = (input.Entries as Array<{ EventBusName?: string }> | undefined) ?? [];
    const buses = new Set(entries.map((entry) => entry.EventBusName ?? 'default'));
    return [...buses].map((bus) => ({
      action: 'events:PutEvents',
      resource: bus.startsWith('arn:')
        ? bus
        : `arn:aws:events:${where.region}:${where.account}:event-bus/${bus}`,
      context: {},
    }));
  },
};

/**
 * The digest key's uses. Only the census maps them: locally a key file signs the digests, outside
 * the IAM check (docs/local-runtime.md).
 */
const KMS: Record<string, (input: Input) => IamRequest[]> = {
  Sign: (input) => [{ action: 'kms:Sign', resource: text(input, 'KeyId'), context: {} }],
  GetPublicKey: (input) => [{ action: 'kms:GetPublicKey', resource: text(input, 'KeyId'), context: {} }],
};

const MAPS: Record<Service, Record<string, (input: Input, where: Where) => IamRequest[]>> = {
  s3: S3,
  dynamodb: DYNAMODB,
  sfn: SFN,
  secretsmanager: SECRETS_MANAGER,
  sqs: SQS,
  events: EVENTS,
  guardduty: GUARDDUTY,
  kms: KMS,
};

/** The IAM requests of one command (`GetObjectCommand` or `GetObject`), or UnmappedCommandError. */
export function iamRequestsFor(service: Service, command: string, input: Input, where: Where): IamRequest[] {
  const operation = command.replace(/Command$/, '');
  const map = MAPS[service];
  const toRequests = Object.hasOwn(map, operation) ? map[operation] : undefined;
  if (toRequests === undefined) {
    throw new UnmappedCommandError(
      `The local IAM emulation does not know ${service} ${operation}: map it in local/iam/requests.ts.`,
    );
  }
  return toRequests(input, where);
}
