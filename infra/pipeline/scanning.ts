import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as guardduty from 'aws-cdk-lib/aws-guardduty';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { TABLE_KEYS } from '../../functions/adapters/upload-store.js';
import { ENV_NAMES } from '../../functions/commons/env-names.js';
import {
  DEPLOYED_RESCAN_BUDGET_MS,
  DEPLOYED_RESCAN_TIMEOUT_MS,
} from '../../functions/commons/scan-settings.js';
import { CLEAN_PREFIX, QUARANTINE_PREFIX, REJECTED_PREFIX } from '../../functions/domain/model.js';
import { GUARDDUTY_SOURCE, SCAN_RESULT_DETAIL_TYPE } from '../../functions/domain/scan-result-event.js';
import { acknowledge } from '../nag-packs.js';
import { PipelineLambda, type PipelineFunctionDefaults } from './pipeline-function.js';
import type { ScannerProps } from './props.js';
import { grantOnDemandScans } from './steps.js';
import type { UploadStorage } from './upload-storage.js';

/** The object GuardDuty writes to check that its role may use the bucket (and the key). */
const VALIDATION_OBJECT = 'malware-protection-resource-validation-object';
/** The EventBridge rules GuardDuty manages for a protected bucket. */
const MANAGED_RULES = 'DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*';
const GUARDDUTY_PLAN_SERVICE = 'malware-protection-plan.guardduty.amazonaws.com';

export interface PipelineScanningProps {
  readonly storage: UploadStorage;
  readonly defaults: PipelineFunctionDefaults;
  readonly scanner: ScannerProps;
  /** Where scan results that could not be delivered or handled go (alarmed). */
  readonly deadLetterQueue: sqs.IQueue;
  readonly encryptionKey?: kms.IKey;
}

export interface PipelineScanning {
  /** Stores each Object Scan Result for the Scan step; quarantines promoted files a rescan found infected. */
  readonly intake?: PipelineLambda;
  /** Asks GuardDuty to scan every promoted file again (operator action). */
  readonly rescan?: PipelineLambda;
  /** GuardDuty Malware Protection for S3 on quarantine/. */
  readonly plan?: guardduty.CfnMalwareProtectionPlan;
  /** The plan's own role. */
  readonly planRole?: iam.Role;
  /** Roles the engine reads objects with: the bucket policy must let them read quarantine/. */
  readonly readerArns: string[];
}

/**
 * The malware engine's side of the Scan step: GuardDuty Malware Protection for S3 (or a custom
 * engine) scans each new version under quarantine/ and publishes its "Object Scan Result" event;
 * a rule sends those of this bucket to the intake, which stores each for the Scan step to read by
 * version. Made on the pipeline's scope with fixed ids. Nothing at all with `scanner: 'none'`.
 */
export function buildScanning(scope: Construct, props: PipelineScanningProps): PipelineScanning {
  const { storage, defaults, scanner, deadLetterQueue } = props;
  if (scanner === 'none') return { readerArns: [] };
  const bucket = storage.bucket;
  const guardDuty =
    scanner === 'guardduty' ? buildGuardDutyPlan(scope, bucket, props.encryptionKey) : undefined;

  const intake = new PipelineLambda(scope, 'scan-result', { invoker: 'event-rule', defaults });
  // Results by version; the quarantine transition (record and audit event) after a rescan.
  storage.grantItems(intake, ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
  // Quarantine: tag the promoted copy, copy it out to rejected/ (HEAD first: at most one copy), delete it.
  storage.grantObjects(
    intake,
    ['s3:PutObjectVersionTagging', 's3:GetObjectVersion', 's3:DeleteObjectVersion'],
    CLEAN_PREFIX,
  );
  storage.grantObjects(intake, ['s3:PutObject', 's3:GetObject'], REJECTED_PREFIX);
  intake.configureAsyncInvoke({
    onFailure: new destinations.SqsDestination(deadLetterQueue),
    retryAttempts: 2,
    maxEventAge: Duration.hours(6),
  });
  new events.Rule(scope, 'ScanResults', {
    description: "Sends the malware engine's Object Scan Result events for the uploads bucket to the intake.",
    eventPattern: {
      source: [guardDuty ? GUARDDUTY_SOURCE : (scanner as { eventSource: string }).eventSource],
      detailType: [SCAN_RESULT_DETAIL_TYPE],
      ...(guardDuty ? { resources: [guardDuty.plan.attrArn] } : {}),
      detail: { s3ObjectDetails: { bucketName: [bucket.bucketName] } },
    },
    targets: [
      new targets.LambdaFunction(intake, {
        deadLetterQueue,
        retryAttempts: 20,
        maxEventAge: Duration.hours(24),
      }),
    ],
  });

  let rescan: PipelineLambda | undefined;
  if (guardDuty) {
    // Pages through PROCESSED uploads (no writes) and asks GuardDuty to scan each promoted copy.
    rescan = new PipelineLambda(scope, 'rescan', {
      invoker: 'operator',
      defaults,
      timeout: Duration.millis(DEPLOYED_RESCAN_TIMEOUT_MS),
    });
    rescan.addEnvironment(ENV_NAMES.scanner, 'guardduty');
    rescan.addEnvironment(ENV_NAMES.rescanTimeBudgetSeconds, String(DEPLOYED_RESCAN_BUDGET_MS / 1000));
    storage.grantItems(rescan, ['dynamodb:Query'], TABLE_KEYS.byStatus.indexName);
    storage.grantObjects(rescan, ['s3:GetObject'], CLEAN_PREFIX); // HEAD: the promoted copy's version
    grantOnDemandScans(rescan);
  }
  return {
    intake,
    ...(rescan ? { rescan } : {}),
    ...(guardDuty ? { plan: guardDuty.plan, planRole: guardDuty.role } : {}),
    readerArns: guardDuty
      ? [guardDuty.role.roleArn]
      : [...((scanner as { readerRoleArns?: string[] }).readerRoleArns ?? [])],
  };
}

/**
 * GuardDuty Malware Protection for S3 on quarantine/, with its own role: the permissions AWS
 * documents for a protected bucket ("Create or update IAM role policy"), narrowed to this bucket,
 * its two prefixes and its key. Tagging is off: Airlock does not rely on GuardDuty's tags (an
 * object may carry only 10), and the role then needs no tagging permission.
 */
function buildGuardDutyPlan(
  scope: Construct,
  bucket: s3.IBucket,
  encryptionKey: kms.IKey | undefined,
): { plan: guardduty.CfnMalwareProtectionPlan; role: iam.Role } {
  const stack = Stack.of(scope);
  const role = new iam.Role(scope, 'MalwareProtectionRole', {
    description: 'Airlock: GuardDuty Malware Protection for S3 scans quarantine/ (and, on demand, clean/)',
    assumedBy: new iam.ServicePrincipal(GUARDDUTY_PLAN_SERVICE, {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
  });
  const managedRules = stack.formatArn({ service: 'events', resource: 'rule', resourceName: MANAGED_RULES });
  const statements = [
    new iam.PolicyStatement({
      sid: 'AllowManagedRuleToSendS3EventsToGuardDuty',
      actions: ['events:PutRule', 'events:DeleteRule', 'events:PutTargets', 'events:RemoveTargets'],
      resources: [managedRules],
      conditions: { StringLike: { 'events:ManagedBy': GUARDDUTY_PLAN_SERVICE } },
    }),
    new iam.PolicyStatement({
      sid: 'AllowGuardDutyToMonitorEventBridgeManagedRule',
      actions: ['events:DescribeRule', 'events:ListTargetsByRule'],
      resources: [managedRules],
    }),
    new iam.PolicyStatement({
      sid: 'AllowEnableS3EventBridgeEvents',
      actions: ['s3:PutBucketNotification', 's3:GetBucketNotification', 's3:ListBucket'],
      resources: [bucket.bucketArn],
    }),
    new iam.PolicyStatement({
      sid: 'AllowPutValidationObject',
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects(VALIDATION_OBJECT)],
    }),
    new iam.PolicyStatement({
      sid: 'AllowMalwareScan',
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      // New uploads, and promoted copies for on-demand rescans (they ignore the plan's prefix).
      resources: [bucket.arnForObjects(`${QUARANTINE_PREFIX}*`), bucket.arnForObjects(`${CLEAN_PREFIX}*`)],
    }),
  ];
  if (encryptionKey) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'AllowDecryptForMalwareScan',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [encryptionKey.keyArn],
        conditions: {
          StringLike: {
            'kms:ViaService': `s3.${Token.isUnresolved(stack.region) ? '*' : stack.region}.amazonaws.com`,
          },
        },
      }),
    );
  }
  const policy = new iam.Policy(scope, 'MalwareProtectionPolicy', { statements, roles: [role] });
  const plan = new guardduty.CfnMalwareProtectionPlan(scope, 'MalwareProtectionPlan', {
    role: role.roleArn,
    protectedResource: { s3Bucket: { bucketName: bucket.bucketName, objectPrefixes: [QUARANTINE_PREFIX] } },
    actions: { tagging: { status: 'DISABLED' } },
  });
  // GuardDuty validates the role when the plan is made: its permissions must exist by then.
  plan.node.addDependency(policy);
  acknowledgePlanFindings(policy, bucket);
  return { plan, role };
}

function acknowledgePlanFindings(policy: iam.Policy, bucket: s3.IBucket): void {
  const stack = Stack.of(policy);
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  const bucketArn = bucket.node.defaultChild
    ? `<${stack.getLogicalId(bucket.node.defaultChild as never)}.Arn>`
    : `arn:<AWS::Partition>:s3:::${bucket.bucketName}`;
  const reasons: Array<[string, string]> = [
    [
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:${region}:${account}:rule/${MANAGED_RULES}]`,
      "GuardDuty names the EventBridge rules it manages for a protected bucket with this prefix (AWS's documented policy); PutRule and the other writes also require events:ManagedBy = GuardDuty's plan service.",
    ],
    [
      `AwsSolutions-IAM5[Resource::${bucketArn}/${QUARANTINE_PREFIX}*]`,
      'GuardDuty reads each new upload under quarantine/ to scan it: upload ids are generated per request.',
    ],
    [
      `AwsSolutions-IAM5[Resource::${bucketArn}/${CLEAN_PREFIX}*]`,
      'On-demand rescans of promoted files under clean/ read them with the plan role: upload ids are generated per request.',
    ],
  ];
  for (const [rule, reason] of reasons) acknowledge(policy, rule, reason);
  acknowledge(
    policy,
    'NIST.800.53.R5-IAMNoInlinePolicy',
    "The Malware Protection plan role's permissions (AWS's documented policy for a protected bucket, narrowed to this bucket, its prefixes and its key): bound to that one role, attachable nowhere else, and asserted statement by statement in test/infra/scanning.test.ts.",
  );
}
