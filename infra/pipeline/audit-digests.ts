import { Duration, RemovalPolicy, Stack, type CfnResource } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { DIGEST_PREFIX } from '../../functions/adapters/digest-bucket.js';
import { TABLE_KEYS } from '../../functions/adapters/table-layout.js';
import { ENV_NAMES } from '../../functions/commons/env-names.js';
import { acknowledge } from '../nag-packs.js';
import { PipelineLambda, type PipelineFunctionDefaults } from './pipeline-function.js';
import type { PipelineSettings } from './settings.js';
import type { UploadStorage } from './upload-storage.js';

export interface PipelineAuditDigestsProps {
  readonly storage: UploadStorage;
  readonly settings: PipelineSettings;
  readonly defaults: PipelineFunctionDefaults;
  readonly accessLogsBucket: s3.IBucket;
  /** The functions that append to trails: the settle time is the longest of their timeouts. */
  readonly trailWriters: PipelineLambda[];
  /** @default a new ECC_NIST_P256 SIGN_VERIFY key */
  readonly key?: kms.IKey;
  /** The customer-managed key of the pipeline's storage, for the digest bucket too. @default SSE-S3 */
  readonly encryptionKey?: kms.IKey;
}

export interface PipelineAuditDigests {
  /** The Object Lock bucket of the digests. */
  readonly bucket: s3.Bucket;
  /** The asymmetric key that signs them. */
  readonly key: kms.IKey;
  /** Writes the digests on its schedule. */
  readonly writer: PipelineLambda;
  /** Serves the auditors' GET /audit/public-key and GET /audit/digests. */
  readonly reader: PipelineLambda;
  /** How long after its end a period is digested, seconds. */
  readonly settleSeconds: number;
}

/** Above the longest trail writer's timeout: clocks of two functions may disagree this much. */
const CLOCK_SKEW_SECONDS = 60;
/** The writer's longest run; it stops between digests before then and leaves the rest. */
const WRITER_TIMEOUT_SECONDS = 300;

/**
 * Signed, chained digests of the audit trails (docs/audit.md): the Object Lock bucket they are
 * kept in, the KMS key that signs them, the writer on its schedule and the auditors' reader.
 * Every resource is made on the pipeline's scope with a fixed id.
 */
export function buildAuditDigests(scope: Construct, props: PipelineAuditDigestsProps): PipelineAuditDigests {
  const { storage, settings, defaults } = props;
  const retention = Duration.days(settings.auditDigestRetentionDays);
  const bucket = new s3.Bucket(scope, 'AuditDigestBucket', {
    versioned: true, // Object Lock requires it
    objectLockEnabled: true,
    objectLockDefaultRetention:
      settings.auditDigestLockMode === 'COMPLIANCE'
        ? s3.ObjectLockRetention.compliance(retention)
        : s3.ObjectLockRetention.governance(retention),
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    ...(props.encryptionKey
      ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
      : { encryption: s3.BucketEncryption.S3_MANAGED }),
    serverAccessLogsBucket: props.accessLogsBucket,
    serverAccessLogsPrefix: 'audit-digest-bucket/',
    // Locked objects cannot be deleted before their retention ends: the bucket outlives the stack.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  acknowledge(
    bucket,
    'NIST.800.53.R5-S3BucketReplicationEnabled',
    "Object Lock keeps each digest undeletable for its retention in the deployment's region; copying digests to another account or region is the deployer's decision and needs a destination this construct does not own.",
  );
  if (!props.encryptionKey)
    acknowledge(
      bucket,
      'NIST.800.53.R5-S3DefaultEncryptionKMS',
      'Digests are signed hashes meant to be handed to auditors, no secret: SSE-S3 encrypts them at rest, and their integrity comes from the signature and Object Lock, not from a key.',
    );
  const key =
    props.key ??
    new kms.Key(scope, 'AuditDigestKey', {
      description: 'Airlock: signs the audit digests (ECDSA P-256 / SHA-256)',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      // Digests signed with it stay verifiable only while its public key can be read.
      removalPolicy: RemovalPolicy.RETAIN,
    });

  const settleSeconds =
    Math.max(...props.trailWriters.map((fn) => fn.timeout?.toSeconds() ?? 3)) + CLOCK_SKEW_SECONDS;
  const intervalSeconds = settings.auditDigestInterval.toSeconds();
  const writerTimeout = Math.min(intervalSeconds, WRITER_TIMEOUT_SECONDS);
  const writer = new PipelineLambda(scope, 'write-audit-digest', {
    invoker: 'schedule',
    defaults,
    timeout: Duration.seconds(writerTimeout),
  });
  for (const [name, value] of Object.entries({
    [ENV_NAMES.auditDigestBucket]: bucket.bucketName,
    [ENV_NAMES.auditDigestKeyId]: key.keyArn,
    [ENV_NAMES.auditDigestIntervalSeconds]: String(intervalSeconds),
    [ENV_NAMES.auditDigestSettleSeconds]: String(settleSeconds),
    [ENV_NAMES.auditDigestTimeBudgetSeconds]: String(Math.max(writerTimeout - 30, 30)),
  })) {
    writer.addEnvironment(name, value);
  }
  // It finds what changed in the byStatus index, reads those trails (a Query of each record's
  // partition) and moves its cursor and lease (one item).
  storage.grantItems(writer, ['dynamodb:Query'], TABLE_KEYS.byStatus.indexName);
  storage.grantItems(writer, ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
  // It writes each digest once, and reads back one that a crashed run stored: no delete, no
  // retention change, no bypass (Object Lock would refuse the first two in COMPLIANCE mode anyway).
  writer.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:PutObject', 's3:GetObject'],
      resources: [bucket.arnForObjects(`${DIGEST_PREFIX}*`)],
    }),
  );
  writer.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${DIGEST_PREFIX}*`] } },
    }),
  );
  storage.grantKey(writer, ['s3:PutObject', 's3:GetObject']);
  key.grant(writer, 'kms:Sign');
  new events.Rule(scope, 'AuditDigestSchedule', {
    description: 'Writes the signed digest of the audit trails of each period.',
    schedule: events.Schedule.rate(settings.auditDigestInterval),
    targets: [new targets.LambdaFunction(writer, { retryAttempts: 2 })],
  });
  acknowledge(
    scope.node.findChild('AuditDigestSchedule'),
    'Serverless-EventBusDLQ',
    'The schedule events carry no data and the writer catches up every period due: an event that cannot be delivered is superseded by the next one, an interval later, so a DLQ would only collect empty ticks.',
  );

  const reader = new PipelineLambda(scope, 'audit-digests', { invoker: 'api', defaults });
  reader.addEnvironment(ENV_NAMES.auditDigestBucket, bucket.bucketName);
  reader.addEnvironment(ENV_NAMES.auditDigestKeyId, key.keyArn);
  reader.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucketVersions'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${DIGEST_PREFIX}*`] } },
    }),
  );
  reader.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObjectVersion'],
      resources: [bucket.arnForObjects(`${DIGEST_PREFIX}*`)],
    }),
  );
  storage.grantKey(reader, ['s3:GetObjectVersion']);
  key.grant(reader, 'kms:GetPublicKey');
  for (const fn of [writer, reader]) {
    acknowledge(
      fn.executionRole,
      `AwsSolutions-IAM5[Resource::<${Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnResource)}.Arn>/${DIGEST_PREFIX}*]`,
      `Digest objects under ${DIGEST_PREFIX} only: one per period, named by the period's end, not known in advance.`,
    );
  }
  return { bucket, key, writer, reader, settleSeconds };
}
