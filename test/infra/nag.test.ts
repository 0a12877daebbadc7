import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack, Validations, type App } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AirlockStack } from '../../infra/airlock-stack.js';
import { ENV, newApp } from './support/synth.js';

/** The part of the cloud assembly's validation-report.json these tests read. */
interface ValidationReport {
  pluginReports: Array<{
    pluginName: string;
    violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }>;
    suppressedViolations: Array<{ ruleName: string; acknowledgedId: string; acknowledgedAt: string }>;
  }>;
}

/**
 * Acknowledged AwsSolutions findings today: 42 (X-Ray and log delivery on `*`, prefix-scoped
 * object ARNs, function versions, nodejs22.x, the DLQ, Cognito plan and MFA, CDK's notification
 * handler). Raise this bound only after reviewing the new acknowledgement.
 */
const MAX_ACKNOWLEDGED = 70;

/** Adds the AwsSolutions pack as a CDK validation plugin and synthesizes. */
function synthWithNag(app: App): { error: unknown; report: ValidationReport | undefined } {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let error: unknown;
  try {
    app.synth();
  } catch (caught) {
    error = caught;
  }
  const path = join(app.outdir, 'validation-report.json');
  const report = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ValidationReport) : undefined;
  return { error, report };
}

/** Every acknowledgement recorded in the construct tree: where, which finding, and why. */
function acknowledgementsOf(app: App): Array<{ path: string; id: string; reason: string }> {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, unknown>).map(([id, reason]) => ({
          path: construct.node.path,
          id,
          reason: typeof reason === 'string' ? reason : '',
        })),
      ),
  );
}

// Arrange + Act (once): the default stack, synthesized with the AwsSolutions checks.
const app = newApp();
new AirlockStack(app, 'Airlock', { env: ENV });
const { error: synthError, report } = synthWithNag(app);
const awsSolutions = report?.pluginReports.find((plugin) => plugin.pluginName === 'AwsSolutions');
const acknowledged = awsSolutions?.suppressedViolations ?? [];
const acknowledgements = acknowledgementsOf(app);

describe('cdk-nag AwsSolutions on the synthesized stack', () => {
  test('synthesis with the AwsSolutions checks succeeds', () => {
    expect(synthError).toBeUndefined();
  });

  test('the AwsSolutions report has no unacknowledged error or warning', () => {
    expect(awsSolutions).toBeDefined();
    expect(awsSolutions?.violations).toEqual([]);
  });

  test(`${acknowledged.length} findings are acknowledged, at least one and at most ${MAX_ACKNOWLEDGED}`, () => {
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(acknowledged.length).toBeLessThanOrEqual(MAX_ACKNOWLEDGED);
  });

  test('every acknowledgement gives a specific reason (at least 30 characters)', () => {
    // Act
    const vague = acknowledgements.filter((ack) => ack.reason.trim().length < 30);

    // Assert
    expect(acknowledgements.length).toBeGreaterThan(0);
    expect(vague).toEqual([]);
  });

  test('IAM4/IAM5 acknowledgements always name the exact finding, never the bare rule', () => {
    // Act
    const iam = acknowledgements.filter((ack) => /AwsSolutions-IAM[45]\b/.test(ack.id));
    const bare = iam.filter(
      (ack) => !/^AwsSolutions::AwsSolutions-IAM[45]\[(Resource|Action|Policy)::[^\]]+\]$/.test(ack.id),
    );

    // Assert
    expect(iam.length).toBeGreaterThan(0);
    expect(bare).toEqual([]);
  });

  test('every AwsSolutions acknowledgement matches a finding (none is stale)', () => {
    // Act
    const used = new Set(
      acknowledged.map((finding) => `${finding.acknowledgedAt} ${finding.acknowledgedId}`),
    );
    const stale = acknowledgements
      .filter((ack) => ack.id.startsWith('AwsSolutions::'))
      .filter((ack) => !used.has(`${ack.path} ${ack.id}`));

    // Assert
    expect(stale).toEqual([]);
  });
});

describe('the AwsSolutions gate can fail', () => {
  test('an unreviewed wildcard policy on an extra role fails the synthesis', () => {
    // Arrange
    const failing = newApp();
    const stack = new AirlockStack(failing, 'Airlock', { env: ENV });
    const role = new iam.Role(stack, 'Wildcard', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));

    // Act
    const { error } = synthWithNag(failing);

    // Assert
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /Airlock\/Wildcard\/DefaultPolicy\/Resource[\s\S]*AwsSolutions-IAM5\[Action::s3:\*\]/,
    );
  });
});

describe('the AwsSolutions gate holds for the documented options', () => {
  test('with a customer-managed KMS key: zero unacknowledged findings', () => {
    // Arrange
    const keyed = newApp();
    const keys = new Stack(keyed, 'Keys', { env: ENV });
    const key = new kms.Key(keys, 'Key', { enableKeyRotation: true });
    new AirlockStack(keyed, 'Airlock', { env: ENV, pipeline: { encryptionKey: key } });

    // Act
    const { error, report: keyedReport } = synthWithNag(keyed);

    // Assert
    expect(error).toBeUndefined();
    const plugin = keyedReport?.pluginReports.find((p) => p.pluginName === 'AwsSolutions');
    expect(plugin?.violations).toEqual([]);
  });

  test('with an accepted existing bucket: zero unacknowledged findings on the pipeline stack', () => {
    // Arrange
    const imported = newApp();
    const stack = new AirlockStack(imported, 'Airlock', {
      env: ENV,
      pipeline: {
        existingBucket: s3.Bucket.fromBucketName(
          new Stack(imported, 'Other', { env: ENV }),
          'B',
          'my-uploads',
        ),
        acceptExistingBucketRisks: true,
      },
    });

    // Act
    const { report: importedReport } = synthWithNag(imported);

    // Assert
    const plugin = importedReport?.pluginReports.find((p) => p.pluginName === 'AwsSolutions');
    const onPipeline = (plugin?.violations ?? []).filter((violation) =>
      violation.violatingConstructs.some((c) => c.constructPath.startsWith(`${stack.stackName}/`)),
    );
    expect(onPipeline).toEqual([]);
  });
});
