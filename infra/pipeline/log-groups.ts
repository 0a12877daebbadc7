import { Annotations, ArnFormat, Stack, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledge } from '../nag-packs.js';

export interface PipelineLogGroupsProps {
  readonly retention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** @default CloudWatch Logs' own service-managed encryption */
  readonly encryptionKey?: kms.IKey;
}

/**
 * Makes the pipeline's log groups: each with the pipeline's retention and removal policy,
 * encrypted with the customer-managed key if there is one. Log groups hold data (RETAIN by
 * default), so they are made on the scope they are asked for, with the id they are given: the
 * pipeline's own, which keeps their logical ids (test/infra/logical-ids.test.ts).
 */
export class PipelineLogGroups {
  constructor(private readonly props: PipelineLogGroupsProps) {}

  create(scope: Construct, id: string): logs.LogGroup {
    const { retention, removalPolicy, encryptionKey } = this.props;
    const logGroup = new logs.LogGroup(scope, id, {
      retention,
      removalPolicy,
      ...(encryptionKey ? { encryptionKey } : {}),
    });
    if (!encryptionKey) {
      acknowledge(
        logGroup,
        'NIST.800.53.R5-CloudWatchLogGroupEncrypted',
        'CloudWatch Logs encrypts every log group at rest with service-managed keys; pass encryptionKey to encrypt this log group with that customer-managed key as well.',
      );
    }
    return logGroup;
  }
}

/**
 * Lets CloudWatch Logs use the key for log groups of this account and region, as it must for
 * encrypted log groups. An imported key's policy cannot be changed from here: synth warns.
 */
export function allowCloudWatchLogsToUse(scope: Construct, key: kms.IKey): void {
  const stack = Stack.of(scope);
  const { statementAdded } = key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
    true,
  );
  if (!statementAdded) {
    Annotations.of(scope).addWarningV2(
      'airlock:encryptionKeyPolicy',
      `encryptionKey is imported, so its key policy cannot be extended here: it must let logs.${stack.region}.amazonaws.com use the key for this account's log groups, or their creation fails.`,
    );
  }
}
