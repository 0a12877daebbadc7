import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { acknowledge } from '../nag-packs.js';

export interface PipelineAlarmsProps {
  readonly deadLetterQueue: sqs.IQueue;
  readonly stateMachine: sfn.IStateMachine;
  /** @default no action (the alarms still change state) */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * Alarms on what needs an operator: events that could not start the pipeline, and failed or
 * timed-out executions (FAILED uploads wait for a redrive).
 */
export function buildAlarms(scope: Construct, props: PipelineAlarmsProps): cloudwatch.Alarm[] {
  const atLeastOnce = {
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  };
  const alarms = [
    new cloudwatch.Alarm(scope, 'DeadLetterQueueNotEmpty', {
      alarmDescription: 'Object Created events could not start the pipeline; they wait in the DLQ.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      ...atLeastOnce,
    }),
    new cloudwatch.Alarm(scope, 'ExecutionsFailed', {
      alarmDescription: 'Pipeline executions failed: uploads are FAILED and wait for a redrive.',
      metric: props.stateMachine.metricFailed({ period: Duration.minutes(5) }),
      ...atLeastOnce,
    }),
    new cloudwatch.Alarm(scope, 'ExecutionsTimedOut', {
      alarmDescription: 'Pipeline executions timed out.',
      metric: props.stateMachine.metricTimedOut({ period: Duration.minutes(5) }),
      ...atLeastOnce,
    }),
  ];
  for (const alarm of alarms) {
    if (props.alarmTopic) {
      alarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
    } else {
      acknowledge(
        alarm,
        'NIST.800.53.R5-CloudWatchAlarmAction',
        'Alarm actions notify alarmTopic when one is given; without it the alarm still changes state in CloudWatch (console, dashboards, composite alarms), and Airlock cannot guess whom to notify.',
      );
    }
  }
  return alarms;
}
