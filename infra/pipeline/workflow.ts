import { Duration, Stack, type CfnResource } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { QUARANTINE_PREFIX } from '../../functions/domain/model.js';
import { FUNCTION_PLACEHOLDERS, UPLOAD_PIPELINE_ASL_PATH } from '../../statemachines/definition.js';
import { acknowledge } from '../nag-packs.js';
import type { PipelineLogGroups } from './log-groups.js';
import type { PipelineLambda } from './pipeline-function.js';
import { STEP_FUNCTIONS, type StepFunction } from './steps.js';

export interface PipelineWorkflowProps {
  readonly bucket: s3.IBucket;
  readonly steps: Record<StepFunction, PipelineLambda>;
  readonly logGroups: PipelineLogGroups;
}

export interface PipelineWorkflow {
  readonly stateMachine: sfn.StateMachine;
  /** Object Created events that could not start an execution. */
  readonly deadLetterQueue: sqs.Queue;
}

/** The substitutions for the ASL's `${Placeholders}`: one per task function, from the one table. */
export function definitionSubstitutions(steps: Record<StepFunction, PipelineLambda>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(FUNCTION_PLACEHOLDERS).map(([placeholder, name]) => [
      placeholder,
      steps[name].functionArn,
    ]),
  );
}

/**
 * The state machine (statemachines/upload-pipeline.asl.json) and the rule that starts it for
 * every object created under quarantine/, with a dead-letter queue for events it could not
 * deliver. The state machine, its log group and the queue are made on the pipeline's scope with
 * fixed ids (they hold data or are addressed by ARN).
 */
export function buildWorkflow(
  scope: Construct,
  { bucket, steps, logGroups }: PipelineWorkflowProps,
): PipelineWorkflow {
  const stateMachineLogs = logGroups.create(scope, 'StateMachineLogs');
  const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
    definitionBody: sfn.DefinitionBody.fromFile(UPLOAD_PIPELINE_ASL_PATH),
    definitionSubstitutions: definitionSubstitutions(steps),
    stateMachineType: sfn.StateMachineType.STANDARD,
    logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
    tracingEnabled: true,
  });
  const stack = Stack.of(scope);
  for (const name of STEP_FUNCTIONS) {
    steps[name].grantInvoke(stateMachine);
    const functionId = stack.getLogicalId(steps[name].node.defaultChild as CfnResource);
    acknowledge(
      stateMachine.role,
      `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      `Invokes any version or alias of the ${name} function, and nothing else.`,
    );
  }
  acknowledge(
    stateMachine.role,
    'AwsSolutions-IAM5[Resource::*]',
    'CloudWatch Logs delivery (logging level ALL) and X-Ray tracing actions support no resource-level permissions.',
  );
  acknowledge(
    stateMachine.role.node.tryFindChild('DefaultPolicy') ?? stateMachine.role,
    'NIST.800.53.R5-IAMNoInlinePolicy',
    "The state machine's inline DefaultPolicy (CDK) invokes its seven task functions and delivers its logs and traces; it is bound to this one role and attachable nowhere else.",
  );

  const deadLetterQueue = new sqs.Queue(scope, 'EventDeadLetterQueue', {
    enforceSSL: true,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    retentionPeriod: Duration.days(14),
  });
  acknowledge(
    deadLetterQueue,
    'AwsSolutions-SQS3',
    'This queue is itself the dead-letter queue of the EventBridge target.',
  );
  acknowledge(
    deadLetterQueue,
    'Serverless-SQSRedrivePolicy',
    'This queue is itself the dead-letter queue of the EventBridge target: it keeps failed events for 14 days and is alarmed; a dead-letter queue of its own would only move them.',
  );
  new events.Rule(scope, 'QuarantineObjectCreated', {
    description: 'Starts the Airlock pipeline for every object created under quarantine/.',
    eventPattern: {
      source: ['aws.s3'],
      detailType: ['Object Created'],
      detail: {
        bucket: { name: [bucket.bucketName] },
        object: { key: [{ prefix: QUARANTINE_PREFIX }] },
      },
    },
    targets: [
      new targets.SfnStateMachine(stateMachine, {
        deadLetterQueue,
        retryAttempts: 20,
        maxEventAge: Duration.hours(24),
      }),
    ],
  });
  const eventsRole = stateMachine.node.tryFindChild('EventsRole');
  if (eventsRole) {
    acknowledge(
      eventsRole.node.tryFindChild('DefaultPolicy') ?? eventsRole,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      "EventBridge's role for the Object Created rule: CDK's inline policy allows states:StartExecution on this state machine only and is bound to this one role.",
    );
  }
  return { stateMachine, deadLetterQueue };
}
