import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { UploadPipeline, type UploadPipelineProps } from './pipeline/index.js';

export interface AirlockStackProps extends StackProps {
  /**
   * Configuration of the pipeline.
   * @default {} (every UploadPipeline default)
   */
  readonly pipeline?: UploadPipelineProps;
}

/** The deployable Airlock stack: one UploadPipeline and its outputs. */
export class AirlockStack extends Stack {
  readonly pipeline: UploadPipeline;

  constructor(scope: Construct, id: string, props: AirlockStackProps = {}) {
    super(scope, id, props);
    this.pipeline = new UploadPipeline(this, 'Pipeline', props.pipeline);

    new CfnOutput(this, 'ApiUrl', {
      value: this.pipeline.apiStage.url,
      description: 'Base URL of the Airlock HTTP API',
    });
    new CfnOutput(this, 'BucketName', { value: this.pipeline.bucket.bucketName });
    new CfnOutput(this, 'TableName', { value: this.pipeline.table.tableName });
    new CfnOutput(this, 'StateMachineArn', { value: this.pipeline.stateMachine.stateMachineArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.pipeline.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'RedriveFunctionName', {
      value: this.pipeline.functions.redrive.functionName,
      description: 'The redrive function: invoke it (aws lambda invoke) to restart FAILED uploads',
    });
    if (this.pipeline.functions.rescan) {
      new CfnOutput(this, 'RescanFunctionName', {
        value: this.pipeline.functions.rescan.functionName,
        description: 'The rescan function: invoke it (aws lambda invoke) to scan every promoted file again',
      });
    }
    new CfnOutput(this, 'AuditDigestKeyArn', {
      value: this.pipeline.auditDigests.key.keyArn,
      description:
        'The KMS key that signs the audit digests: aws kms get-public-key --key-id <arn> (or airlock audit public-key)',
    });
    new CfnOutput(this, 'AuditDigestBucketName', {
      value: this.pipeline.auditDigests.bucket.bucketName,
      description: 'The Object Lock bucket of the signed audit digests (digests/<periodEnd>.json)',
    });
    new CfnOutput(this, 'OutcomeEventBusName', {
      value: this.pipeline.events.bus.eventBusName,
      description: 'The EventBridge bus of outcome events (source airlock)',
    });
    if (this.pipeline.events.webhooks) {
      new CfnOutput(this, 'WebhookDeadLetterQueueUrl', {
        value: this.pipeline.events.webhooks.deadLetterQueue.queueUrl,
        description: 'Webhook deliveries that failed every attempt',
      });
    }
    if (this.pipeline.console) {
      new CfnOutput(this, 'ConsoleUrl', {
        value: `https://${this.pipeline.console.distribution.distributionDomainName}`,
        description: 'The Airlock web console',
      });
    }
    if (this.pipeline.userPool && this.pipeline.userPoolClient) {
      new CfnOutput(this, 'UserPoolId', { value: this.pipeline.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: this.pipeline.userPoolClient.userPoolClientId });
    }
  }
}
