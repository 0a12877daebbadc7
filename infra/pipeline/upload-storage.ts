import { Stack, type CfnResource } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  CLEAN_PREFIX,
  QUARANTINE_PREFIX,
  QUARANTINED_OBJECT_TAG,
  REJECTED_PREFIX,
} from '../../functions/domain/model.js';
import { acknowledge } from '../nag-packs.js';
import type { PipelineLambda } from './pipeline-function.js';

/**
 * What each action needs of the customer-managed key. S3 and DynamoDB encrypt with data keys
 * under the key (envelope encryption) on the caller's behalf: a writer needs
 * kms:GenerateDataKey (S3 documents it for PutObject and a copy's destination) and kms:Decrypt
 * (to read what it wrote, e.g. DynamoDB's conditional updates and S3's copies); a reader needs
 * kms:Decrypt. Nobody needs kms:Encrypt or kms:ReEncrypt*, which CDK's grantEncryptDecrypt adds.
 * An action missing here is refused, so that a new grant cannot silently go without the key use it
 * needs.
 */
const KEY_USE: Record<string, 'encrypt' | 'decrypt' | 'none'> = {
  's3:PutObject': 'encrypt',
  's3:GetObject': 'decrypt',
  's3:GetObjectVersion': 'decrypt',
  's3:DeleteObjectVersion': 'none',
  's3:PutObjectVersionTagging': 'none',
  'dynamodb:PutItem': 'encrypt',
  'dynamodb:UpdateItem': 'encrypt',
  'dynamodb:GetItem': 'decrypt',
  'dynamodb:BatchGetItem': 'decrypt',
  'dynamodb:Query': 'decrypt',
};

export interface UploadStorageProps {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  /** The customer-managed key of the bucket and the table, if any. */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The uploads bucket and the table, with grant helpers in CDK's `grant*` idiom. Each call adds
 * one statement with exactly the actions given (deliberately tighter than CDK's grantRead or
 * grantPut), the key grant those actions imply, and the cdk-nag acknowledgement of the prefix
 * wildcard, all on the function's own role.
 */
export class UploadStorage {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  private readonly encryptionKey?: kms.IKey;
  /** The key use already granted to each function, so that each is granted once. */
  private readonly keyGrants = new Map<PipelineLambda, 'encrypt' | 'decrypt'>();
  private readonly acknowledged = new Map<PipelineLambda, Set<string>>();

  constructor(props: UploadStorageProps) {
    this.bucket = props.bucket;
    this.table = props.table;
    this.encryptionKey = props.encryptionKey;
  }

  /** `actions` on the objects under `prefix` (e.g. `quarantine/`), and nothing else. */
  grantObjects(fn: PipelineLambda, actions: string[], prefix: string): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [this.objectsUnder(prefix)] }));
    this.grantKey(fn, actions);
    this.acknowledgeOnce(
      fn,
      `AwsSolutions-IAM5[Resource::${this.bucketArnAsNagRendersIt()}/${prefix}*]`,
      `Object ARNs under ${prefix} only: upload ids are generated per request, so the objects cannot be named in advance.`,
    );
  }

  /** `actions` on the table's items, or on one of its indexes. */
  grantItems(fn: PipelineLambda, actions: string[], indexName?: string): void {
    const resource =
      indexName === undefined ? this.table.tableArn : `${this.table.tableArn}/index/${indexName}`;
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [resource] }));
    this.grantKey(fn, actions);
  }

  /** Lists the versions of keys under `prefix` only (ListBucketVersions reads no object data). */
  grantListVersions(fn: PipelineLambda, prefix: string): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucketVersions'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
  }

  /**
   * Defense in depth in the bucket policy (when the bucket is the pipeline's own): only `readers`
   * and the named forensic roles may read quarantine/ and rejected/, and only `cleanWriter` may
   * write clean/, whatever other IAM policies in the account allow.
   */
  restrictPrefixes(
    readers: PipelineLambda[],
    forensicReaderArns: string[],
    cleanWriter: PipelineLambda,
  ): void {
    if (!(this.bucket instanceof s3.Bucket)) return;
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyReadingUnvalidatedObjects',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [this.objectsUnder(QUARANTINE_PREFIX), this.objectsUnder(REJECTED_PREFIX)],
        conditions: {
          ArnNotEquals: {
            'aws:PrincipalArn': [...readers.map((fn) => fn.executionRole.roleArn), ...forensicReaderArns],
          },
        },
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyWritingCleanExceptPromote',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.objectsUnder(CLEAN_PREFIX)],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': [cleanWriter.executionRole.roleArn] } },
      }),
    );
  }

  /**
   * A promoted copy that a rescan found infected is tagged first: from then on nobody reads it
   * (presigned download URLs already handed out included), except `quarantiner`, which copies it
   * out to rejected/ and deletes it.
   */
  denyReadingQuarantinedObjects(quarantiner: PipelineLambda): void {
    if (!(this.bucket instanceof s3.Bucket)) return;
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyReadingQuarantinedObjects',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [this.objectsUnder(CLEAN_PREFIX)],
        conditions: {
          StringEquals: {
            [`s3:ExistingObjectTag/${QUARANTINED_OBJECT_TAG.key}`]: QUARANTINED_OBJECT_TAG.value,
          },
          ArnNotEquals: { 'aws:PrincipalArn': [quarantiner.executionRole.roleArn] },
        },
      }),
    );
  }

  private objectsUnder(prefix: string): string {
    return this.bucket.arnForObjects(`${prefix}*`);
  }

  /** The use of the customer-managed key (if any) that S3 and DynamoDB make for `actions`. */
  grantKey(fn: PipelineLambda, actions: string[]): void {
    const uses = actions.map((action) => {
      const use = KEY_USE[action];
      if (use === undefined)
        throw new Error(`UploadStorage: the key use of ${action} is not known; add it to KEY_USE.`);
      return use;
    });
    const key = this.encryptionKey;
    if (key === undefined) return;
    const granted = this.keyGrants.get(fn);
    if (uses.includes('encrypt') && granted !== 'encrypt') {
      key.grant(fn, ...(granted === 'decrypt' ? [] : ['kms:Decrypt']), 'kms:GenerateDataKey');
      this.keyGrants.set(fn, 'encrypt');
    } else if (uses.includes('decrypt') && granted === undefined) {
      key.grant(fn, 'kms:Decrypt');
      this.keyGrants.set(fn, 'decrypt');
    }
  }

  private acknowledgeOnce(fn: PipelineLambda, ruleId: string, reason: string): void {
    const done = this.acknowledged.get(fn) ?? new Set<string>();
    if (done.has(ruleId)) return;
    done.add(ruleId);
    this.acknowledged.set(fn, done);
    acknowledge(fn.executionRole, ruleId, reason);
  }

  /** The bucket's ARN as cdk-nag renders it in a finding: `<LogicalId.Arn>`, or the imported name. */
  private bucketArnAsNagRendersIt(): string {
    if (!(this.bucket instanceof s3.Bucket)) return `arn:<AWS::Partition>:s3:::${this.bucket.bucketName}`;
    const resource = this.bucket.node.defaultChild as CfnResource;
    return `<${Stack.of(this.bucket).getLogicalId(resource)}.Arn>`;
  }
}
