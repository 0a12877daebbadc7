import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { PipelineFunction } from '../../infra/upload-pipeline.js';
import { placeholdersOf, readUploadPipelineAsl } from '../../statemachines/definition.js';
import { ENV, logicalIdOf, newApp, synthAirlock } from './support/synth.js';
import { onlyResource, referencedId, resourceById, resourcesOfType } from './support/template.js';

// Arrange (once): the default stack.
const { stack, template } = synthAirlock();
const pipeline = stack.pipeline;
const bucketId = logicalIdOf(pipeline.bucket);
const stateMachineId = logicalIdOf(pipeline.stateMachine);
const queueId = logicalIdOf(pipeline.deadLetterQueue);
const functionId = (name: PipelineFunction) => logicalIdOf(pipeline.functions[name]);
const stateMachine = resourceById(template, stateMachineId).Properties;

/**
 * The only EventBridge rule that has a property: `EventPattern` of S3 events (the scan results'
 * rule is the other pattern, test/infra/scanning.test.ts) or `ScheduleExpression`.
 */
const ruleWith = (
  property: string,
  target: PipelineFunction = 'sweeper',
): [string, Record<string, unknown>] => {
  const matching = [...resourcesOfType(template, 'AWS::Events::Rule')].filter(
    ([, rule]) =>
      rule.Properties[property] !== undefined &&
      (property !== 'ScheduleExpression' ||
        JSON.stringify(rule.Properties['Targets']).includes(functionId(target))) &&
      (property !== 'EventPattern' ||
        JSON.stringify((rule.Properties[property] as { source?: unknown }).source) === '["aws.s3"]'),
  );
  expect(matching).toHaveLength(1);
  const [id, rule] = matching[0]!;
  return [id, rule.Properties];
};
const objectCreatedRule = () => ruleWith('EventPattern')[1];

const alarmsOn = (metricName: string) =>
  [...resourcesOfType(template, 'AWS::CloudWatch::Alarm').values()]
    .map((alarm) => alarm.Properties)
    .filter((alarm) => alarm['MetricName'] === metricName);

describe('S3 Object Created → state machine', () => {
  test('the rule matches Object Created events of this bucket under quarantine/ only', () => {
    expect(objectCreatedRule()['EventPattern']).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: {
        bucket: { name: [{ Ref: bucketId }] },
        object: { key: [{ prefix: 'quarantine/' }] },
      },
    });
  });

  test('the rule targets the state machine, with retries and a dead-letter queue', () => {
    expect(objectCreatedRule()['Targets']).toEqual([
      expect.objectContaining({
        Arn: { Ref: stateMachineId },
        RetryPolicy: {
          MaximumRetryAttempts: expect.any(Number),
          MaximumEventAgeInSeconds: expect.any(Number),
        },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      }),
    ]);
  });

  test('an alarm fires when the dead-letter queue holds a message', () => {
    expect(alarmsOn('ApproximateNumberOfMessagesVisible')).toEqual([
      expect.objectContaining({
        Namespace: 'AWS/SQS',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
      }),
    ]);
  });

  test('the dead-letter queue is encrypted (SQS-managed SSE)', () => {
    expect(resourceById(template, queueId).Properties['SqsManagedSseEnabled']).toBe(true);
  });

  test('the dead-letter queue refuses requests that are not over TLS', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
          },
        ]),
      },
    });
  });
});

describe('state machine', () => {
  test('there is exactly one, the pipeline', () => {
    expect(onlyResource(template, 'AWS::StepFunctions::StateMachine')[0]).toBe(stateMachineId);
  });

  test('is a STANDARD state machine', () => {
    expect(stateMachine['StateMachineType']).toBe('STANDARD');
  });

  test('logs every event (level ALL) to a log group with a retention', () => {
    // Act
    const logging = stateMachine['LoggingConfiguration'] as {
      Level: string;
      Destinations: Array<{ CloudWatchLogsLogGroup: { LogGroupArn: unknown } }>;
    };
    const logGroupIds = logging.Destinations.map((d) => referencedId(d.CloudWatchLogsLogGroup.LogGroupArn));

    // Assert
    expect(logging.Level).toBe('ALL');
    expect(logGroupIds).toHaveLength(1);
    const [logGroupId] = logGroupIds;
    expect(resourceById(template, logGroupId!).Properties['RetentionInDays']).toEqual(expect.any(Number));
  });

  test('has X-Ray tracing enabled', () => {
    expect(stateMachine['TracingConfiguration']).toEqual({ Enabled: true });
  });

  test('an alarm fires when an execution fails', () => {
    expect(alarmsOn('ExecutionsFailed')).toEqual([
      expect.objectContaining({
        Namespace: 'AWS/States',
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: stateMachineId } }],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
      }),
    ]);
  });

  test("the definition substitutions are exactly the ASL file's placeholders", () => {
    // Act
    const keys = Object.keys(stateMachine['DefinitionSubstitutions'] as Record<string, unknown>);

    // Assert
    expect(keys.sort()).toEqual([...placeholdersOf(readUploadPipelineAsl())].sort());
  });

  test('each substitution is the ARN of its function (XyzFunctionArn → xyz)', () => {
    // Act
    const substitutions = Object.entries(stateMachine['DefinitionSubstitutions'] as Record<string, unknown>);

    // Assert
    expect(substitutions.length).toBeGreaterThan(0);
    for (const [placeholder, value] of substitutions) {
      const name = placeholder
        .replace(/FunctionArn$/, '')
        .replace(/(?<!^)([A-Z])/g, '-$1')
        .toLowerCase() as PipelineFunction;
      expect(Object.keys(pipeline.functions)).toContain(name);
      expect([placeholder, value]).toEqual([placeholder, { 'Fn::GetAtt': [functionId(name), 'Arn'] }]);
    }
  });
});

describe('sweeper', () => {
  test('a schedule runs the sweeper function every 5 minutes', () => {
    // Act
    const [, schedule] = ruleWith('ScheduleExpression');

    // Assert
    expect(schedule).toEqual(
      expect.objectContaining({
        ScheduleExpression: 'rate(5 minutes)',
        Targets: [expect.objectContaining({ Arn: { 'Fn::GetAtt': [functionId('sweeper'), 'Arn'] } })],
      }),
    );
  });

  test('the sweeper knows the state machine (STATE_MACHINE_ARN)', () => {
    // Act
    const sweeper = resourceById(template, functionId('sweeper')).Properties;
    const variables = (sweeper['Environment'] as { Variables: Record<string, unknown> }).Variables;

    // Assert
    expect(variables['STATE_MACHINE_ARN']).toEqual({ Ref: stateMachineId });
  });

  test('the sweeper may be invoked by its schedule only', () => {
    // Arrange
    const [scheduleId] = ruleWith('ScheduleExpression');

    // Act
    const permissions = [...resourcesOfType(template, 'AWS::Lambda::Permission').values()]
      .map((permission) => permission.Properties)
      .filter((permission) => referencedId(permission['FunctionName']) === functionId('sweeper'));

    // Assert
    expect(permissions).toEqual([
      expect.objectContaining({
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [scheduleId, 'Arn'] },
      }),
    ]);
  });
});

describe('redrive', () => {
  test('the redrive knows the state machine (STATE_MACHINE_ARN)', () => {
    // Act
    const redrive = resourceById(template, functionId('redrive')).Properties;
    const variables = (redrive['Environment'] as { Variables: Record<string, unknown> }).Variables;

    // Assert
    expect(variables['STATE_MACHINE_ARN']).toEqual({ Ref: stateMachineId });
  });

  test('nothing invokes the redrive but an operator: no Lambda permission, rule target or API integration', () => {
    // Arrange
    const redriveId = functionId('redrive');
    const refersToRedrive = (value: unknown) => JSON.stringify(value).includes(`"${redriveId}"`);

    // Act
    const permissions = [...resourcesOfType(template, 'AWS::Lambda::Permission').values()].filter(
      (permission) => referencedId(permission.Properties['FunctionName']) === redriveId,
    );
    const rules = [...resourcesOfType(template, 'AWS::Events::Rule').values()].filter((rule) =>
      refersToRedrive(rule.Properties['Targets']),
    );
    const integrations = [...resourcesOfType(template, 'AWS::ApiGatewayV2::Integration').values()].filter(
      (integration) => refersToRedrive(integration.Properties),
    );
    const invokers = [...resourcesOfType(template, 'AWS::IAM::Policy').values()].filter(
      (policy) =>
        JSON.stringify(policy.Properties['PolicyDocument']).includes('lambda:InvokeFunction') &&
        refersToRedrive(policy.Properties['PolicyDocument']),
    );

    // Assert
    expect({ permissions, rules, integrations, invokers }).toEqual({
      permissions: [],
      rules: [],
      integrations: [],
      invokers: [],
    });
  });
});

describe('alarms', () => {
  const alarmActions = (synthesized: { template: typeof template }) =>
    [...resourcesOfType(synthesized.template, 'AWS::CloudWatch::Alarm').values()].map(
      (alarm) => alarm.Properties['AlarmActions'],
    );

  test('without alarmTopic the three alarms exist but notify no one', () => {
    expect(alarmActions({ template })).toEqual([undefined, undefined, undefined]);
  });

  test('with alarmTopic every alarm notifies that topic', () => {
    // Arrange
    const app = newApp();
    const topic = new sns.Topic(new Stack(app, 'Ops', { env: ENV }), 'Alarms');

    // Act
    const actions = alarmActions(synthAirlock({ alarmTopic: topic }, app));

    // Assert
    const topicArn = { 'Fn::ImportValue': expect.stringContaining(logicalIdOf(topic)) };
    expect(actions).toEqual([[topicArn], [topicArn], [topicArn]]);
  });
});
