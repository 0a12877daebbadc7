import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV_NAMES } from '../../functions/commons/env-names.js';
import { retryPolicyEnvironment } from '../../functions/commons/webhook-settings.js';
import {
  OUTCOME_EVENT_SOURCE,
  OUTCOME_STATUSES,
  outcomeDetailType,
  type OutcomeStatus,
} from '../../functions/domain/outcome-event.js';
import { acknowledge } from '../nag-packs.js';
import { pascalCase } from './function-names.js';
import { PipelineLambda, type PipelineFunctionDefaults } from './pipeline-function.js';
import type { WebhookEndpointProps, WebhookRetryProps } from './props.js';

/** Which outcome events a rule matches: by status and by owner (default all of each). */
export interface OutcomeFilter {
  readonly statuses?: readonly OutcomeStatus[];
  readonly owners?: readonly string[];
}

export interface OutcomeRuleOptions extends OutcomeFilter {
  /** Where matching events go (a Lambda function, a queue, a state machine, another bus…). */
  readonly targets: events.IRuleTarget[];
  readonly description?: string;
}

/**
 * The EventBridge pattern of outcome events: source `airlock`, detail-types of the statuses
 * (`Upload Processed`, …), and the owners in `detail.data.owner`.
 */
export function outcomeEventPattern(filter: OutcomeFilter = {}): events.EventPattern {
  return {
    source: [OUTCOME_EVENT_SOURCE],
    detailType: (filter.statuses ?? OUTCOME_STATUSES).map(outcomeDetailType),
    ...(filter.owners ? { detail: { data: { owner: [...filter.owners] } } } : {}),
  };
}

export interface PipelineEventsProps {
  readonly defaults: PipelineFunctionDefaults;
  /** @default a new bus */
  readonly eventBus?: events.IEventBus;
  readonly webhooks: readonly WebhookEndpointProps[];
  readonly retry: Required<WebhookRetryProps>;
  readonly alarmTopic?: sns.ITopic;
}

/** The delivery side, present when webhook endpoints are configured. */
export interface WebhookDelivery {
  readonly function: PipelineLambda;
  /** Deliveries waiting for an attempt (one message per event and endpoint). */
  readonly queue: sqs.Queue;
  /** Deliveries that exhausted their attempts (alarmed). */
  readonly deadLetterQueue: sqs.Queue;
  readonly alarm: cloudwatch.Alarm;
}

export interface PipelineEvents {
  readonly bus: events.IEventBus;
  readonly webhooks?: WebhookDelivery;
  /** A rule on the bus for outcome events (one line in a consumer's CDK code). */
  addOutcomeRule(scope: Construct, id: string, options: OutcomeRuleOptions): events.Rule;
  /** Lets a principal publish outcome events to the bus (events:PutEvents on it only). */
  grantPublish(grantee: iam.IGrantable): iam.Grant;
}

/** How long EventBridge keeps trying to put an event into the webhook queue. */
const TARGET_MAX_EVENT_AGE = Duration.hours(24);
/** The delivery function's timeout: one HTTP attempt of at most 10 s per message, 10 at once. */
const DELIVERY_TIMEOUT = Duration.seconds(30);
/** At most this many deliveries run at once (the event source mapping's maximum concurrency). */
export const WEBHOOK_MAX_CONCURRENCY = 10;

/**
 * Outcome events on AWS: the bus (made here, or an existing one), and, when webhook endpoints are
 * configured, their delivery: one rule per endpoint (its status and owner filters as the pattern)
 * putting `{endpoint, event}` into one SQS queue, drained by the deliver-webhooks function with
 * partial batch failures; retries wait in the queue (the function hides a failed message for the
 * backoff) and SQS moves a delivery that used its attempts to the dead-letter queue, which is
 * alarmed. Made on the pipeline's scope with fixed ids (the bus is addressed by name, the queues
 * hold deliveries).
 */
export function buildEvents(scope: Construct, props: PipelineEventsProps): PipelineEvents {
  const bus =
    props.eventBus ??
    new events.EventBus(scope, 'OutcomeEventBus', {
      description: 'Airlock outcome events: one per terminal transition of an upload.',
    });
  const webhooks = props.webhooks.length > 0 ? buildWebhookDelivery(scope, bus, props) : undefined;
  return {
    bus,
    ...(webhooks ? { webhooks } : {}),
    addOutcomeRule: (ruleScope, id, options) =>
      new events.Rule(ruleScope, id, {
        eventBus: bus,
        description: options.description ?? 'Airlock outcome events',
        eventPattern: outcomeEventPattern(options),
        targets: options.targets,
      }),
    grantPublish: (grantee) => bus.grantPutEventsTo(grantee),
  };
}

function buildWebhookDelivery(
  scope: Construct,
  bus: events.IEventBus,
  props: PipelineEventsProps,
): WebhookDelivery {
  const { retry } = props;
  const deadLetterQueue = new sqs.Queue(scope, 'WebhookDeadLetterQueue', {
    enforceSSL: true,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    retentionPeriod: Duration.days(14),
  });
  acknowledge(
    deadLetterQueue,
    'AwsSolutions-SQS3',
    "This queue is itself the webhook deliveries' dead-letter queue.",
  );
  acknowledge(
    deadLetterQueue,
    'Serverless-SQSRedrivePolicy',
    'This queue is itself the dead-letter queue of webhook deliveries: it keeps them for 14 days and is alarmed; a dead-letter queue of its own would only move them.',
  );
  const queue = new sqs.Queue(scope, 'WebhookQueue', {
    enforceSSL: true,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    retentionPeriod: Duration.days(14),
    // Lambda's advice: at least six times the function's timeout, so a batch is never handed out twice.
    visibilityTimeout: Duration.seconds(DELIVERY_TIMEOUT.toSeconds() * 6),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: retry.maxAttempts },
  });

  const fn = new PipelineLambda(scope, 'deliver-webhooks', {
    invoker: 'queue',
    defaults: props.defaults,
    timeout: DELIVERY_TIMEOUT,
  });
  fn.addEnvironment(
    ENV_NAMES.webhookEndpoints,
    JSON.stringify(props.webhooks.map(({ id, url, secretArn }) => ({ id, url, secretArn }))),
  );
  fn.addEnvironment(ENV_NAMES.webhookQueueUrl, queue.queueUrl);
  for (const [name, value] of Object.entries(retryPolicyEnvironment(retry))) fn.addEnvironment(name, value);
  // The secrets of the configured endpoints, and no other.
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [...new Set(props.webhooks.map((webhook) => webhook.secretArn))],
    }),
  );
  // What Lambda's event source mapping does with the function's role (receive, delete, read the
  // queue's attributes), and the handler's own ChangeMessageVisibility for the backoff: nothing
  // more (CDK's SqsEventSource would also grant GetQueueUrl).
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ChangeMessageVisibility',
      ],
      resources: [queue.queueArn],
    }),
  );
  fn.addEventSourceMapping('WebhookQueueSource', {
    eventSourceArn: queue.queueArn,
    batchSize: 10,
    reportBatchItemFailures: true,
    maxConcurrency: WEBHOOK_MAX_CONCURRENCY,
  });

  for (const webhook of props.webhooks) {
    new events.Rule(scope, `Webhook${pascalCase(webhook.id)}Rule`, {
      eventBus: bus,
      description: `Outcome events for the ${webhook.id} webhook.`,
      eventPattern: outcomeEventPattern(webhook),
      targets: [
        new targets.SqsQueue(queue, {
          message: events.RuleTargetInput.fromObject({
            endpoint: webhook.id,
            event: events.EventField.fromPath('$.detail'),
          }),
          deadLetterQueue,
          retryAttempts: 185, // EventBridge's most: keep trying for TARGET_MAX_EVENT_AGE
          maxEventAge: TARGET_MAX_EVENT_AGE,
        }),
      ],
    });
  }

  const alarm = new cloudwatch.Alarm(scope, 'WebhookDeadLetterQueueNotEmpty', {
    alarmDescription: 'Webhook deliveries failed every attempt; they wait in the webhook dead-letter queue.',
    metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (props.alarmTopic) alarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
  else
    acknowledge(
      alarm,
      'NIST.800.53.R5-CloudWatchAlarmAction',
      'Alarm actions notify alarmTopic when one is given; without it the alarm still changes state in CloudWatch (console, dashboards, composite alarms), and Airlock cannot guess whom to notify.',
    );
  return { function: fn, queue, deadLetterQueue, alarm };
}
