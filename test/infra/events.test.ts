import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { AirlockStack } from '../../infra/airlock-stack.js';
import type { WebhookEndpointProps } from '../../infra/upload-pipeline.js';
import { Template } from 'aws-cdk-lib/assertions';
import { ENV, logicalIdOf, newApp, synthAirlock } from './support/synth.js';
import { resourceById, resourcesOfType, type CfnJson } from './support/template.js';

const SECRET = (name: string) =>
  `arn:aws:secretsmanager:eu-west-1:123456789012:secret:airlock/${name}-AbCdEf`;
const WEBHOOKS: WebhookEndpointProps[] = [
  { id: 'billing', url: 'https://billing.example.com/airlock', secretArn: SECRET('billing') },
  {
    id: 'malware-desk',
    url: 'https://desk.example.com/hook',
    secretArn: SECRET('desk'),
    statuses: ['REJECTED', 'QUARANTINED'],
    owners: ['alice', 'bob'],
  },
];
const ALL_DETAIL_TYPES = [
  'Upload Processed',
  'Upload Rejected',
  'Upload Failed',
  'Upload Expired',
  'Upload Quarantined',
];

// Arrange (once): the default stack, and one with two webhook endpoints.
const plain = synthAirlock();
const hooked = synthAirlock({ webhooks: WEBHOOKS, webhookRetry: { maxAttempts: 6 } });
const delivery = hooked.stack.pipeline.events.webhooks!;
const busId = logicalIdOf(hooked.stack.pipeline.events.bus);
const queueId = logicalIdOf(delivery.queue);
const dlqId = logicalIdOf(delivery.deadLetterQueue);
const fnId = logicalIdOf(delivery.function);
const roleId = logicalIdOf(delivery.function.executionRole);

const statementsOfRole = (template: typeof hooked.template, role: string) =>
  [...resourcesOfType(template, 'AWS::IAM::Policy').values()]
    .filter((policy) =>
      (policy.Properties['Roles'] as Array<{ Ref?: string }>).some((ref) => ref.Ref === role),
    )
    .flatMap(
      (policy) =>
        (policy.Properties['PolicyDocument'] as { Statement: Array<Record<string, unknown>> }).Statement,
    );
const webhookRules = (): CfnJson[] =>
  [...resourcesOfType(hooked.template, 'AWS::Events::Rule').values()].filter(
    (rule) => (rule.Properties['EventBusName'] as { Ref?: string } | undefined)?.Ref === busId,
  );

describe('the outcome-event bus', () => {
  test('the default stack makes one bus and names it in an output; no webhook machinery without endpoints', () => {
    // Act
    const buses = resourcesOfType(plain.template, 'AWS::Events::EventBus');
    const outputs = plain.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Assert
    expect(buses.size).toBe(1);
    expect(outputs['OutcomeEventBusName']?.Value).toEqual({ Ref: [...buses.keys()][0] });
    expect(plain.stack.pipeline.functions['deliver-webhooks']).toBeUndefined();
    expect(outputs['WebhookDeadLetterQueueUrl']).toBeUndefined();
    const descriptions = [...resourcesOfType(plain.template, 'AWS::Lambda::Function').values()].map(
      (fn) => fn.Properties['Description'],
    );
    expect(descriptions).not.toContain('Airlock deliver-webhooks');
  });

  test('an existing bus (by ARN) is used instead of a new one', () => {
    // Act
    const { template, stack } = synthAirlock({
      eventBusArn: 'arn:aws:events:eu-west-1:123456789012:event-bus/shared',
      webhooks: [WEBHOOKS[0]!],
    });

    // Assert
    expect(resourcesOfType(template, 'AWS::Events::EventBus').size).toBe(0);
    expect(stack.pipeline.events.bus.eventBusName).toBe('shared');
    const [rule] = [...resourcesOfType(template, 'AWS::Events::Rule').values()].filter(
      (candidate) => candidate.Properties['EventBusName'] === 'shared',
    );
    expect(rule?.Properties['EventPattern']).toMatchObject({ source: ['airlock'] });
  });

  test("a consumer's rule is one line, matching source airlock, the statuses' detail-types and owners", () => {
    // Arrange
    const stack = new AirlockStack(newApp(), 'Airlock', { env: ENV });
    const inbox = new sqs.Queue(stack, 'ConsumerInbox', { enforceSSL: true });

    // Act
    stack.pipeline.addOutcomeRule('ToInbox', {
      statuses: ['PROCESSED'],
      owners: ['alice'],
      targets: [new targets.SqsQueue(inbox)],
    });

    // Assert
    const template = Template.fromStack(stack);
    const bus = logicalIdOf(stack.pipeline.events.bus);
    const rules = [...resourcesOfType(template, 'AWS::Events::Rule').values()].filter(
      (rule) => (rule.Properties['EventBusName'] as { Ref?: string } | undefined)?.Ref === bus,
    );
    expect(rules.map((rule) => rule.Properties['EventPattern'])).toEqual([
      { source: ['airlock'], 'detail-type': ['Upload Processed'], detail: { data: { owner: ['alice'] } } },
    ]);
  });

  test('grantPublishOutcomes allows events:PutEvents on the bus and nothing else', () => {
    // Arrange
    const stack = new AirlockStack(newApp(), 'Airlock', { env: ENV });
    const publisher = new iam.Role(stack, 'Publisher', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });

    // Act
    stack.pipeline.grantPublishOutcomes(publisher);

    // Assert
    const template = Template.fromStack(stack);
    const bus = logicalIdOf(stack.pipeline.events.bus);
    expect(statementsOfRole(template, logicalIdOf(publisher))).toEqual([
      { Action: 'events:PutEvents', Effect: 'Allow', Resource: { 'Fn::GetAtt': [bus, 'Arn'] } },
    ]);
  });
});

describe('webhook delivery', () => {
  test('one rule per endpoint on the bus, its filters as the pattern, putting {endpoint, event} in the queue', () => {
    // Act
    const rules = webhookRules();

    // Assert
    expect(rules.map((rule) => rule.Properties['EventPattern'])).toEqual([
      { source: ['airlock'], 'detail-type': ALL_DETAIL_TYPES },
      {
        source: ['airlock'],
        'detail-type': ['Upload Rejected', 'Upload Quarantined'],
        detail: { data: { owner: ['alice', 'bob'] } },
      },
    ]);
    for (const [index, rule] of rules.entries()) {
      const [target] = rule.Properties['Targets'] as Array<Record<string, unknown>>;
      expect(target).toMatchObject({
        Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
        InputTransformer: {
          InputPathsMap: { detail: '$.detail' },
          InputTemplate: `{"endpoint":"${WEBHOOKS[index]!.id}","event":<detail>}`,
        },
      });
    }
  });

  test('the queue is encrypted, TLS-only, and dead-letters a delivery after maxAttempts receives', () => {
    // Act
    const queue = resourceById(hooked.template, queueId).Properties;
    const dlq = resourceById(hooked.template, dlqId).Properties;

    // Assert
    expect(queue).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86_400,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 6 },
    });
    const fnTimeout = resourceById(hooked.template, fnId).Properties['Timeout'] as number;
    expect(queue['VisibilityTimeout']).toBeGreaterThanOrEqual(6 * fnTimeout);
    expect(dlq).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    for (const id of [queueId, dlqId]) {
      const policies = [...resourcesOfType(hooked.template, 'AWS::SQS::QueuePolicy').values()].filter(
        (policy) => (policy.Properties['Queues'] as Array<{ Ref?: string }>).some((ref) => ref.Ref === id),
      );
      const statements = policies.flatMap(
        (policy) =>
          (policy.Properties['PolicyDocument'] as { Statement: Array<Record<string, unknown>> }).Statement,
      );
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
      // EventBridge may send only on behalf of the webhook rules (CDK's send grant: send, and
      // read the queue's URL and attributes; never receive or delete).
      const sends = statements.filter((statement) => statement['Effect'] === 'Allow');
      expect(sends.length).toBeGreaterThan(0);
      for (const send of sends) {
        expect(send).toMatchObject({
          Principal: { Service: 'events.amazonaws.com' },
          Condition: { ArnEquals: { 'aws:SourceArn': expect.anything() } },
        });
        const actions = [send['Action']].flat();
        expect(actions).toContain('sqs:SendMessage');
        expect(
          actions.filter(
            (action) => !/^sqs:(SendMessage|GetQueueAttributes|GetQueueUrl)$/.test(String(action)),
          ),
        ).toEqual([]);
      }
    }
  });

  test("the function reads only the endpoints' secrets and works only its own queue", () => {
    // Act
    const statements = statementsOfRole(hooked.template, roleId).filter(
      (statement) => !/^(logs|xray):/.test([statement['Action']].flat()[0] as string),
    );

    // Assert
    expect(statements).toEqual([
      {
        Action: 'secretsmanager:GetSecretValue',
        Effect: 'Allow',
        Resource: [SECRET('billing'), SECRET('desk')],
      },
      {
        Action: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:ReceiveMessage',
        ],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
      },
    ]);
  });

  test("its environment names the endpoints and their secrets' ARNs, never a secret", () => {
    // Act
    const variables = (
      resourceById(hooked.template, fnId).Properties['Environment'] as { Variables: Record<string, unknown> }
    ).Variables;

    // Assert
    expect(JSON.parse(String(variables['WEBHOOK_ENDPOINTS']))).toEqual(
      WEBHOOKS.map(({ id, url, secretArn }) => ({ id, url, secretArn })),
    );
    expect(variables).toMatchObject({ WEBHOOK_MAX_ATTEMPTS: '6', WEBHOOK_QUEUE_URL: { Ref: queueId } });
    expect(JSON.stringify(variables)).not.toMatch(/whsec_/);
  });

  test('the queue feeds the function in batches with partial failures and a bounded concurrency', () => {
    // Act
    const [mapping] = [...resourcesOfType(hooked.template, 'AWS::Lambda::EventSourceMapping').values()];

    // Assert
    expect(mapping?.Properties).toMatchObject({
      FunctionName: { Ref: fnId },
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  test('an alarm fires when the dead-letter queue holds a delivery; its URL is an output', () => {
    // Act
    const alarms = [...resourcesOfType(hooked.template, 'AWS::CloudWatch::Alarm').values()].filter((alarm) =>
      (alarm.Properties['Dimensions'] as Array<{ Value: unknown }> | undefined)?.some(
        (dimension) =>
          JSON.stringify(dimension.Value) === JSON.stringify({ 'Fn::GetAtt': [dlqId, 'QueueName'] }),
      ),
    );
    const outputs = hooked.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Assert
    expect(alarms.map((alarm) => alarm.Properties)).toEqual([
      expect.objectContaining({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    ]);
    expect(outputs['WebhookDeadLetterQueueUrl']?.Value).toEqual({ Ref: dlqId });
  });

  test('the delivery resources keep their logical ids', () => {
    // Assert: queues hold deliveries, the log group holds logs, the bus is addressed by name.
    expect({ busId, queueId, dlqId, fnId, logs: logicalIdOf(delivery.function.logGroup as never) }).toEqual({
      busId: 'PipelineOutcomeEventBus0E749213',
      queueId: 'PipelineWebhookQueue9C7BA50B',
      dlqId: 'PipelineWebhookDeadLetterQueue396A6E06',
      fnId: 'PipelineDeliverWebhooksFunction4A53EBC8',
      logs: 'PipelineDeliverWebhooksLogsB4DB74B8',
    });
  });

  test.each([
    [
      'plain http',
      { ...WEBHOOKS[0]!, url: 'http://billing.example.com/' },
      /webhooks\[0\]\.url \(billing\): refused: http:\/\//,
    ],
    ['a metadata address', { ...WEBHOOKS[0]!, url: 'https://169.254.169.254/' }, /link-local address/],
    ['a private address', { ...WEBHOOKS[0]!, url: 'https://[fd00::1]/' }, /private address/],
    [
      'no secret ARN (a local-only endpoint)',
      { ...WEBHOOKS[0]!, secretArn: '' },
      /must be a Secrets Manager secret ARN/,
    ],
    ['an id twice', WEBHOOKS[0]!, /"billing" is used twice/],
  ])('synth refuses %s', (_name, webhook, message) => {
    // Act / Assert
    expect(() =>
      synthAirlock({ webhooks: [WEBHOOKS[0]!, webhook].slice(webhook === WEBHOOKS[0] ? 0 : 1) }),
    ).toThrow(message);
  });

  test('synth refuses a retry policy that outlives the 14 days SQS keeps a delivery', () => {
    // Act / Assert
    expect(() =>
      synthAirlock({
        webhooks: WEBHOOKS,
        webhookRetry: { maxAttempts: 50, initialDelaySeconds: 3600, maxDelaySeconds: 43_200 },
      }),
    ).toThrow(/longer than the 14 days SQS keeps it/);
  });
});
