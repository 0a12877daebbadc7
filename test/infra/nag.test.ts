import { Duration, Stack, Validations, type App } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AirlockStack } from '../../infra/airlock-stack.js';
import { addNagPacks, NAG_PACKS, type NagPackName } from '../../infra/nag-packs.js';
import { ruleOf, synthesizeWithReport, type ValidationReport } from '../../infra/nag-report.js';
import { PIPELINE_FUNCTIONS } from '../../infra/upload-pipeline.js';
import { ENV, newApp } from './support/synth.js';

/**
 * Upper bounds of the acknowledged findings of every stack tested below, per pack. Raise one only
 * after reviewing the new acknowledgement. What the default stack acknowledges today, by rule
 * (count):
 */
const MAX_ACKNOWLEDGED: Record<NagPackName, number> = {
  // 71: IAM5 (X-Ray and log delivery on `*`, GuardDuty's on-demand scan on `*`, prefix-scoped
  // object ARNs, the Malware Protection plan's managed rules and prefixes, function versions,
  // execution ARNs, CDK's console-deployment handler), L1 17 (nodejs22.x; CDK's handler), IAM4 2
  // (CDK's handlers), CFR1, CFR2, CFR4 (console distribution), COG8 (Cognito's paid plan), SQS3
  // (the DLQ itself). Key grants name their actions (no wildcard), so encryptionKey adds none.
  // +5 with publish-outcome: its X-Ray, log delivery and clean/ object ARN (IAM5), L1, and the
  // sweeper's clean/ HEAD for the events it publishes (IAM5).
  // +6 with the audit digests' writer and reader: X-Ray and L1 of each, and their digests/ object
  // ARNs (IAM5: one object per period, named by its end).
  AwsSolutions: 82,
  // 37: LambdaDLQ 17 and LambdaLatestVersion 17 (16 functions + CDK's handler), LambdaTracing 1
  // (CDK's handler), SQSRedrivePolicy 1 (the DLQ itself), EventBusDLQ 1 (the sweep schedule);
  // +4 with publish-outcome (LambdaDLQ, LambdaLatestVersion, and the outcome bus's rules).
  // The audit digests acknowledge LambdaDLQ and LambdaLatestVersion on their two functions and
  // EventBusDLQ on the digest schedule; the bound is raised to the 44 now measured (it had room).
  Serverless: 44,
  // 100: IAMNoInlinePolicy 21 (CDK default policies, one per role, and the Malware Protection
  // plan's policy), CloudWatchLogGroupEncrypted 18 (no encryptionKey), LambdaConcurrency 17 (no
  // reservedConcurrency), LambdaDLQ 17, LambdaInsideVPC 17, S3BucketReplicationEnabled 3,
  // S3DefaultEncryptionKMS 3 (access logs, console; uploads without encryptionKey),
  // CloudWatchAlarmAction 3 (no alarmTopic), DynamoDBInBackupPlan 1 (PITR instead).
  // +6 with publish-outcome (its role's inline policy, log group, concurrency, DLQ, VPC, and the bus).
  // +11 with the audit digests: two functions' inline policy, log group, concurrency, DLQ and VPC
  // (10), and the digest bucket's replication (its SSE-S3 is acknowledged only without encryptionKey).
  'NIST.800.53.R5': 117,
};

/** Reasons that say nothing about the resource: never accepted, whatever their length. */
const GENERIC_REASON =
  /^\s*(n\/?a|none|ok|todo|tbd|not (needed|required|applicable|relevant)|false positive|suppressed|acknowledged|accepted|by design|intended|known)\b/i;

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** Every acknowledgement of one of the three packs recorded in the construct tree. */
function acknowledgementsOf(app: App): Acknowledgement[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, unknown>).map(([id, reason]) => ({
          path: construct.node.path,
          id,
          reason: typeof reason === 'string' ? reason : '',
        })),
      )
      .filter((ack) => NAG_PACKS.some((pack) => ack.id.startsWith(`${pack}::`))),
  );
}

type Plugin = ValidationReport['pluginReports'][number];

interface Checked {
  readonly app: App;
  readonly stack: AirlockStack;
  readonly error: unknown;
  readonly plugins: Map<NagPackName, Plugin>;
  readonly acknowledgements: Acknowledgement[];
}

/** Builds a stack in a new app, adds the three packs and synthesizes. */
function check(build: (app: App) => AirlockStack): Checked {
  const app = newApp();
  const stack = build(app);
  addNagPacks(app);
  const { error, report } = synthesizeWithReport(app);
  const plugins = new Map<NagPackName, Plugin>();
  for (const pack of NAG_PACKS) {
    const plugin = report?.pluginReports.find((candidate) => candidate.pluginName === pack);
    if (plugin) plugins.set(pack, plugin);
  }
  return { app, stack, error, plugins, acknowledgements: acknowledgementsOf(app) };
}

/** Unacknowledged findings of a pack on the Airlock stack, as `rule on path`. */
const unacknowledgedOnAirlock = (checked: Checked, pack: NagPackName): string[] =>
  (checked.plugins.get(pack)?.violations ?? []).flatMap((violation) =>
    violation.violatingConstructs
      .filter((construct) => construct.constructPath.startsWith(`${checked.stack.stackName}/`))
      .map((construct) => `${violation.ruleName} on ${construct.constructPath}`),
  );

const suppressedOf = (checked: Checked, pack: NagPackName) =>
  checked.plugins.get(pack)?.suppressedViolations ?? [];

const acknowledgedCount = (checked: Checked, pack: NagPackName) =>
  suppressedOf(checked, pack).reduce((sum, finding) => sum + finding.violatingConstructs.length, 0);

// Arrange + Act (once per variant): the default stack and the documented options, each
// synthesized with the three packs.
const withKey = (app: App) =>
  new kms.Key(new Stack(app, 'Keys', { env: ENV }), 'Key', { enableKeyRotation: true });
const VARIANTS: Array<[string, (app: App) => AirlockStack]> = [
  ['the default stack', (app) => new AirlockStack(app, 'Airlock', { env: ENV })],
  [
    'with a customer-managed KMS key',
    (app) => new AirlockStack(app, 'Airlock', { env: ENV, pipeline: { encryptionKey: withKey(app) } }),
  ],
  [
    'with scanning turned off (scanner: none)',
    (app) => new AirlockStack(app, 'Airlock', { env: ENV, pipeline: { scanner: 'none' } }),
  ],
  [
    'with a custom scanner',
    (app) =>
      new AirlockStack(app, 'Airlock', {
        env: ENV,
        pipeline: { scanner: { kind: 'custom', eventSource: 'com.example.scanner' } },
      }),
  ],
  [
    'with an accepted existing bucket',
    (app) => {
      const other = new Stack(app, 'Other', { env: ENV });
      Validations.of(other).acknowledge({
        id: 'CloudFormation-Validate::F0001',
        reason: 'This test stack only holds the import of a bucket owned elsewhere; it deploys nothing.',
      });
      return new AirlockStack(app, 'Airlock', {
        env: ENV,
        pipeline: {
          existingBucket: s3.Bucket.fromBucketName(other, 'B', 'my-uploads'),
          acceptExistingBucketRisks: true,
        },
      });
    },
  ],
  [
    'hardened (KMS key, alarm topic, reserved concurrency for every function)',
    (app) => {
      const key = withKey(app);
      const alarmTopic = new sns.Topic(Stack.of(key), 'Alarms', { enforceSSL: true, masterKey: key });
      return new AirlockStack(app, 'Airlock', {
        env: ENV,
        pipeline: {
          encryptionKey: key,
          alarmTopic,
          reservedConcurrency: Object.fromEntries(PIPELINE_FUNCTIONS.map((name) => [name, 5])),
        },
      });
    },
  ],
];
const checked = new Map(VARIANTS.map(([name, build]) => [name, check(build)]));
const defaults = checked.get('the default stack')!;

describe.each(VARIANTS.map(([name]) => name))(
  'cdk-nag (AwsSolutions, Serverless, NIST 800-53 R5) %s',
  (name) => {
    const result = checked.get(name)!;

    test('synthesis with the three packs succeeds', () => {
      expect(result.error).toBeUndefined();
      expect([...result.plugins.keys()]).toEqual([...NAG_PACKS]);
    });

    test.each([...NAG_PACKS])('%s: no unacknowledged error or warning on the Airlock stack', (pack) => {
      expect(unacknowledgedOnAirlock(result, pack)).toEqual([]);
    });

    test.each([...NAG_PACKS])('%s: at most its bound of acknowledged findings', (pack) => {
      expect(acknowledgedCount(result, pack)).toBeLessThanOrEqual(MAX_ACKNOWLEDGED[pack]);
    });

    test('every acknowledged finding carries a specific reason (30+ characters, not a stock phrase)', () => {
      // Act
      const reasons = [
        ...result.acknowledgements.map((ack) => ({ where: `${ack.path} ${ack.id}`, reason: ack.reason })),
        ...NAG_PACKS.flatMap((pack) =>
          suppressedOf(result, pack).map((finding) => ({
            where: `${finding.acknowledgedAt} ${finding.acknowledgedId}`,
            reason: finding.reason,
          })),
        ),
      ];
      const vague = reasons.filter(({ reason }) => reason.trim().length < 30 || GENERIC_REASON.test(reason));

      // Assert
      expect(reasons.length).toBeGreaterThan(0);
      expect(vague).toEqual([]);
    });

    test('every acknowledgement matches a finding (none is stale)', () => {
      // Act
      const used = new Set(
        NAG_PACKS.flatMap((pack) =>
          suppressedOf(result, pack).map((finding) => `${finding.acknowledgedAt} ${finding.acknowledgedId}`),
        ),
      );
      const stale = result.acknowledgements.filter((ack) => !used.has(`${ack.path} ${ack.id}`));

      // Assert
      expect(stale).toEqual([]);
    });

    test('no acknowledgement is blanket: none sits on an app, a stack or the whole pipeline', () => {
      const blanket = result.acknowledgements.filter(
        (ack) =>
          ack.path === '' || !ack.path.includes('/') || ack.path === `${result.stack.stackName}/Pipeline`,
      );
      expect(blanket).toEqual([]);
    });
  },
);

describe('acknowledgement ids', () => {
  test('each names its pack and one of its rules: <pack>::<pack>-<Rule>', () => {
    const malformed = defaults.acknowledgements.filter(
      (ack) =>
        !NAG_PACKS.some((pack) =>
          new RegExp(
            `^${pack.replace(/\./g, '\\.')}::${pack.replace(/\./g, '\\.')}-[A-Za-z0-9]+(\\[.+\\])?$`,
          ).test(ack.id),
        ),
    );
    expect(defaults.acknowledgements.length).toBeGreaterThan(0);
    expect(malformed).toEqual([]);
  });

  test('IAM4/IAM5 acknowledgements always name the exact finding, never the bare rule', () => {
    // Act
    const iamAcks = defaults.acknowledgements.filter((ack) => /AwsSolutions-IAM[45]\b/.test(ack.id));
    const bare = iamAcks.filter(
      (ack) => !/^AwsSolutions::AwsSolutions-IAM[45]\[(Resource|Action|Policy)::[^\]]+\]$/.test(ack.id),
    );

    // Assert
    expect(iamAcks.length).toBeGreaterThan(0);
    expect(bare).toEqual([]);
  });

  test.each([...NAG_PACKS])(
    '%s: the default stack has acknowledged findings, all of its own rules',
    (pack) => {
      const rules = new Set(suppressedOf(defaults, pack).map((finding) => ruleOf(finding.ruleName)));
      expect(rules.size).toBeGreaterThan(0);
      expect([...rules].filter((rule) => !rule.startsWith(`${pack}-`))).toEqual([]);
    },
  );
});

describe('findings that the options fix instead of acknowledging', () => {
  const hardened = checked.get('hardened (KMS key, alarm topic, reserved concurrency for every function)')!;
  const pipelinePath = `${hardened.stack.stackName}/Pipeline/`;
  /** Acknowledged findings of a NIST rule on the pipeline's own resources (not CDK's handlers). */
  const acknowledgedOnPipeline = (checkedStack: Checked, rule: string) =>
    suppressedOf(checkedStack, 'NIST.800.53.R5')
      .filter((finding) => ruleOf(finding.ruleName) === `NIST.800.53.R5-${rule}`)
      .flatMap((finding) => finding.violatingConstructs.map((construct) => construct.constructPath))
      .filter((path) => path.startsWith(pipelinePath));

  test.each([
    ['CloudWatchLogGroupEncrypted', 'encryptionKey encrypts every log group', 21],
    ['S3DefaultEncryptionKMS', 'encryptionKey encrypts the uploads and digest buckets', 4],
    ['CloudWatchAlarmAction', 'alarmTopic gives every alarm an action', 3],
    ['LambdaConcurrency', 'reservedConcurrency caps every pipeline function', 19],
  ])('%s: %s', (rule, _how, acknowledgedByDefault) => {
    // The default stack acknowledges these findings; with the option they do not arise.
    expect(acknowledgedOnPipeline(defaults, rule)).toHaveLength(acknowledgedByDefault);
    const remaining = acknowledgedOnPipeline(hardened, rule);
    if (rule === 'S3DefaultEncryptionKMS') {
      // The access-log and console buckets keep SSE-S3 (log delivery; public static files).
      expect(remaining.sort()).toEqual([
        `${pipelinePath}AccessLogsBucket/Resource`,
        `${pipelinePath}Console/Bucket/Resource`,
      ]);
    } else {
      expect(remaining).toEqual([]);
    }
  });
});

describe('the gate fails on an unreviewed finding of each pack', () => {
  // Arrange + Act (once): the default stack plus three unreviewed resources.
  const failing = check((app) => {
    const stack = new AirlockStack(app, 'Airlock', { env: ENV });
    const role = new iam.Role(stack, 'Wildcard', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
    new sqs.Queue(stack, 'UnreviewedQueue', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(4),
    });
    new logs.LogGroup(stack, 'UnreviewedLogs', { retention: logs.RetentionDays.ONE_YEAR });
    return stack;
  });

  test('the synthesis fails, naming the finding and the resource', () => {
    expect(failing.error).toBeInstanceOf(Error);
    expect((failing.error as Error).message).toMatch(
      /Airlock\/Wildcard\/DefaultPolicy\/Resource[\s\S]*AwsSolutions-IAM5\[Action::s3:\*\]/,
    );
  });

  test.each([
    ['AwsSolutions', 'AwsSolutions-IAM5[Action::s3:*] on Airlock/Wildcard/DefaultPolicy/Resource'],
    ['Serverless', 'Serverless-SQSRedrivePolicy on Airlock/UnreviewedQueue/Resource'],
    ['NIST.800.53.R5', 'NIST.800.53.R5-CloudWatchLogGroupEncrypted on Airlock/UnreviewedLogs/Resource'],
  ] as Array<[NagPackName, string]>)('%s reports %s', (pack, finding) => {
    expect(unacknowledgedOnAirlock(failing, pack)).toContain(finding);
  });
});
