import { Duration, Stack, type RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { INDEX_PROJECTION, TABLE_KEYS } from '../../functions/adapters/table-layout.js';
import { CLEAN_PREFIX, QUARANTINE_PREFIX, REJECTED_PREFIX } from '../../functions/domain/model.js';
import { UPLOAD_REQUEST_HEADERS } from '../../functions/domain/upload-grant.js';
import { acknowledge } from '../nag-packs.js';
import type { PipelineSettings } from './settings.js';

/*
 * Builders of the pipeline's stateful resources. Each makes its resource on the scope it is given
 * (the pipeline's own) with a fixed id, so that logical ids stay those of deployed stacks.
 */

/** The bucket of S3 server access logs and CloudFront standard logs, kept a year. */
export function buildAccessLogsBucket(scope: Construct, removalPolicy: RemovalPolicy): s3.Bucket {
  const bucket = new s3.Bucket(scope, 'AccessLogsBucket', {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    // CloudFront standard logs are delivered with ACLs.
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    versioned: true,
    lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
    removalPolicy,
  });
  acknowledge(
    bucket,
    'NIST.800.53.R5-S3BucketReplicationEnabled',
    "Holds access logs for a year in the deployment's region; copying them elsewhere (e.g. a central log-archive account) is the deployer's audit decision and needs a destination this construct does not own.",
  );
  acknowledge(
    bucket,
    'NIST.800.53.R5-S3DefaultEncryptionKMS',
    "Receives S3 server access logs and CloudFront standard logs from AWS's log-delivery services; SSE-S3 encrypts them at rest without granting those services the use of a KMS key, which SSE-KMS would require.",
  );
  return bucket;
}

export interface UploadsBucketProps {
  readonly settings: PipelineSettings;
  readonly accessLogsBucket: s3.IBucket;
  /** Origins allowed by CORS besides `settings.allowedOrigins` (the console's). */
  readonly extraOrigins: string[];
  readonly removalPolicy: RemovalPolicy;
  /** @default SSE-S3 */
  readonly encryptionKey?: kms.IKey;
}

/** The uploads bucket: versioned, private, TLS only, EventBridge notifications, lifecycle per prefix. */
export function buildUploadsBucket(scope: Construct, props: UploadsBucketProps): s3.Bucket {
  const { settings, encryptionKey } = props;
  const corsOrigins = [...settings.allowedOrigins, ...props.extraOrigins];
  const bucket = new s3.Bucket(scope, 'UploadsBucket', {
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    ...(encryptionKey
      ? { encryption: s3.BucketEncryption.KMS, encryptionKey, bucketKeyEnabled: true }
      : { encryption: s3.BucketEncryption.S3_MANAGED }),
    eventBridgeEnabled: true,
    serverAccessLogsBucket: props.accessLogsBucket,
    serverAccessLogsPrefix: 'uploads-bucket/',
    removalPolicy: props.removalPolicy,
    cors:
      corsOrigins.length > 0
        ? [
            {
              allowedOrigins: corsOrigins,
              allowedMethods: [
                s3.HttpMethods.POST,
                s3.HttpMethods.PUT,
                s3.HttpMethods.GET,
                s3.HttpMethods.HEAD,
              ],
              allowedHeaders: [...UPLOAD_REQUEST_HEADERS],
              exposedHeaders: ['etag', 'x-amz-version-id'],
              maxAge: 3600,
            },
          ]
        : [],
    lifecycleRules: [
      {
        id: 'expire-quarantine',
        prefix: QUARANTINE_PREFIX,
        expiration: settings.quarantineRetention,
        noncurrentVersionExpiration: settings.noncurrentVersionRetention,
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
      {
        id: 'keep-rejected-for-forensics',
        prefix: REJECTED_PREFIX,
        expiration: settings.rejectedRetention,
        noncurrentVersionExpiration: settings.noncurrentVersionRetention,
      },
      {
        id: 'expire-noncurrent-clean-versions',
        prefix: CLEAN_PREFIX,
        noncurrentVersionExpiration: settings.noncurrentVersionRetention,
      },
    ],
  });
  acknowledge(
    bucket,
    'NIST.800.53.R5-S3BucketReplicationEnabled',
    'Replication needs a destination bucket in another region, which this single-region construct does not create; the bucket is versioned and retained. Deployers who need a second copy replicate a bucket they own and pass it as existingBucket.',
  );
  if (!encryptionKey) {
    acknowledge(
      bucket,
      'NIST.800.53.R5-S3DefaultEncryptionKMS',
      'SSE-S3 (AES-256) by default, with no key to manage or grant; pass encryptionKey to encrypt the bucket (and the table and logs) with a customer-managed KMS key instead.',
    );
  }
  acknowledgeNotificationsHandler(bucket);
  return bucket;
}

/** The handler CDK adds (once per stack) to turn on EventBridge notifications for the bucket. */
function acknowledgeNotificationsHandler(bucket: s3.Bucket): void {
  const handlerPolicy = bucket.node.tryFindChild('Notifications')?.node.tryFindChild('HandlerPolicy');
  if (handlerPolicy) {
    acknowledge(
      handlerPolicy,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      "CDK's bucket-notifications handler: this inline policy allows s3:PutBucketNotification on the uploads bucket only and is attached to that handler's role alone.",
    );
  }
  for (const child of Stack.of(bucket).node.children) {
    if (child.node.id.startsWith('BucketNotificationsHandler')) {
      acknowledge(
        child,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "CDK's own bucket-notifications custom resource; it only writes its logs.",
      );
    }
  }
}

export interface TableProps {
  readonly removalPolicy: RemovalPolicy;
  /** @default AWS-owned encryption */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The table of upload records, each holding its audit trail, with its two indexes. The indexes
 * project the records' own fields (INCLUDE), not their trails: a status change then writes each
 * index item at the size of the record's fields, not of its trail. Changing the projection of a
 * deployed table means replacing its indexes (CloudFormation cannot change it in place).
 */
export function buildTable(scope: Construct, { removalPolicy, encryptionKey }: TableProps): dynamodb.Table {
  const table = new dynamodb.Table(scope, 'Table', {
    partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy,
    ...(encryptionKey
      ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey }
      : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
    // Only items that carry `ttl` expire: abandoned records (PENDING_UPLOAD, EXPIRED), their
    // trails with them, no sooner than abandonedRecordRetention after their grant expired; and
    // Idempotency-Key reservations, after 24 hours. Every other record and its trail is kept as
    // long as the table (compliance).
    timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
  });
  acknowledge(
    table,
    'NIST.800.53.R5-DynamoDBInBackupPlan',
    "Point-in-time recovery (35 days, continuous), deletion protection and RETAIN protect the table; an AWS Backup plan (vault, retention, cross-account copies) is the organisation's policy, commonly applied by tag through AWS Organizations backup policies.",
  );
  for (const index of [TABLE_KEYS.byOwner, TABLE_KEYS.byStatus]) {
    table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...INDEX_PROJECTION],
    });
  }
  return table;
}
