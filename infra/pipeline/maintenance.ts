import { ArnFormat, Duration, Stack, Token, type CfnResource } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { TABLE_KEYS } from '../../functions/adapters/upload-store.js';
import {
  DEPLOYED_REDRIVE_BUDGET_MS,
  DEPLOYED_REDRIVE_TIMEOUT_MS,
  DEPLOYED_SWEEPER_TIMEOUT_MS,
  SWEEP_SAFETY_MARGIN_MS,
} from '../../functions/commons/sweep-settings.js';
import { ENV_NAMES, settingsEnvironment } from '../../functions/commons/env-names.js';
import { CLEAN_PREFIX, QUARANTINE_PREFIX } from '../../functions/domain/model.js';
import { acknowledge } from '../nag-packs.js';
import { PipelineLambda, type PipelineFunctionDefaults } from './pipeline-function.js';
import type { PipelineSettings } from './settings.js';
import type { UploadStorage } from './upload-storage.js';

export interface PipelineMaintenanceProps {
  readonly storage: UploadStorage;
  readonly stateMachine: sfn.StateMachine;
  readonly settings: PipelineSettings;
  readonly defaults: PipelineFunctionDefaults;
}

export interface PipelineMaintenance {
  /** Moves expired and stalled uploads to a terminal status, on a schedule. */
  readonly sweeper: PipelineLambda;
  /** Restarts FAILED uploads: an operator action (`aws lambda invoke`). */
  readonly redrive: PipelineLambda;
}

/**
 * The functions that look after uploads outside an execution: the sweeper on its schedule and
 * the operator's redrive, each with its grants. Made on the pipeline's scope (their logical ids
 * are pinned: operators invoke redrive by name).
 */
export function buildMaintenance(scope: Construct, props: PipelineMaintenanceProps): PipelineMaintenance {
  const { storage, stateMachine, settings, defaults } = props;
  const byStatus = TABLE_KEYS.byStatus.indexName;

  const sweeper = new PipelineLambda(scope, 'sweeper', {
    invoker: 'schedule',
    defaults,
    timeout: Duration.millis(DEPLOYED_SWEEPER_TIMEOUT_MS),
  });
  // A run stops with a margin before both its timeout and the next run, leaving its cursors.
  const sweepBudgetMs =
    Math.min(settings.sweepInterval.toMilliseconds(), DEPLOYED_SWEEPER_TIMEOUT_MS) - SWEEP_SAFETY_MARGIN_MS;
  sweeper.addEnvironment(ENV_NAMES.sweepTimeBudgetSeconds, String(Math.floor(sweepBudgetMs / 1000)));
  storage.grantItems(sweeper, ['dynamodb:Query'], byStatus);
  // Each expiry or stall, and its event, is one conditional update of the record (as is its lease).
  storage.grantItems(sweeper, ['dynamodb:UpdateItem']);
  storage.grantListVersions(sweeper, QUARANTINE_PREFIX);
  // It publishes the events of the transitions it records, and of any left unpublished: it reads
  // the record (its trail is in it) and HEADs the promoted copy (the bus grant is added with the bus).
  storage.grantItems(sweeper, ['dynamodb:GetItem']);
  storage.grantObjects(sweeper, ['s3:GetObject'], CLEAN_PREFIX);
  sweeper.addEnvironment(ENV_NAMES.stateMachineArn, stateMachine.stateMachineArn);
  for (const [name, value] of Object.entries(settingsEnvironment(settings).sweeper)) {
    sweeper.addEnvironment(name, value);
  }
  stateMachine.grantStartExecution(sweeper);
  // It asks whether a PROCESSING upload's execution still runs before marking it FAILED.
  sweeper.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['states:DescribeExecution'],
      resources: [executionArnPattern(stateMachine)],
    }),
  );
  const stack = Stack.of(scope);
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  const stateMachineId = stack.getLogicalId(stateMachine.node.defaultChild as CfnResource);
  acknowledge(
    sweeper.executionRole,
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${region}:${account}:execution:<${stateMachineId}.Name>:*]`,
    'Describes executions of the pipeline state machine only; execution names are not known in advance.',
  );
  const sweepSchedule = new events.Rule(scope, 'SweepSchedule', {
    description: 'Moves expired and stalled uploads to a terminal status.',
    schedule: events.Schedule.rate(settings.sweepInterval),
    targets: [new targets.LambdaFunction(sweeper, { retryAttempts: 2 })],
  });
  acknowledge(
    sweepSchedule,
    'Serverless-EventBusDLQ',
    'The schedule events carry no data and the sweep is idempotent: an event that cannot be delivered is superseded by the next one, a sweepInterval later, so a DLQ would only collect empty ticks.',
  );

  // Redrive lists FAILED uploads (or reads those named by id) and checks their version is still
  // in quarantine/: no writes. No schedule, rule or API route invokes it.
  const redrive = new PipelineLambda(scope, 'redrive', {
    invoker: 'operator',
    defaults,
    timeout: Duration.millis(DEPLOYED_REDRIVE_TIMEOUT_MS),
  });
  redrive.addEnvironment(ENV_NAMES.redriveTimeBudgetSeconds, String(DEPLOYED_REDRIVE_BUDGET_MS / 1000));
  storage.grantItems(redrive, ['dynamodb:Query'], byStatus);
  storage.grantItems(redrive, ['dynamodb:GetItem']); // uploads named by id are read directly
  storage.grantListVersions(redrive, QUARANTINE_PREFIX);
  redrive.addEnvironment(ENV_NAMES.stateMachineArn, stateMachine.stateMachineArn);
  stateMachine.grantStartExecution(redrive);

  return { sweeper, redrive };
}

/** arn:aws:states:<region>:<account>:execution:<name>:* */
function executionArnPattern(stateMachine: sfn.StateMachine): string {
  return Stack.of(stateMachine).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachine.stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
