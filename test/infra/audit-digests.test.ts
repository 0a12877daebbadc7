import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { ENV_NAMES } from '../../functions/commons/env-names.js';
import { logicalIdOf, synthAirlock } from './support/synth.js';
import { resourceById, resourcesOfType, type CfnJson } from './support/template.js';

/**
 * The audit digests as deployed (docs/audit.md): an Object Lock bucket whose default retention is
 * the configured mode and days, an ECC P-256 signing key, the writer on the configured schedule,
 * and a writer that can put digests but never delete them or loosen their lock.
 */

const defaults = synthAirlock();
const custom = synthAirlock({
  auditDigestInterval: Duration.hours(1),
  auditDigestRetention: Duration.days(30),
  auditDigestLockMode: 'GOVERNANCE',
});
const digestBucket = (synthesized: typeof defaults): CfnJson =>
  resourceById(synthesized.template, logicalIdOf(synthesized.stack.pipeline.auditDigests.bucket));

describe('the digest bucket', () => {
  test('has Object Lock with a COMPLIANCE default retention of 365 days by default', () => {
    expect(digestBucket(defaults).Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 365 } },
      },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  test('takes the configured mode and days', () => {
    expect(digestBucket(custom).Properties['ObjectLockConfiguration']).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } },
    });
  });

  test('blocks public access and refuses plain HTTP', () => {
    expect(digestBucket(defaults).Properties['PublicAccessBlockConfiguration']).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const bucketId = logicalIdOf(defaults.stack.pipeline.auditDigests.bucket);
    const policies = [...resourcesOfType(defaults.template, 'AWS::S3::BucketPolicy').values()].filter(
      (policy) => JSON.stringify(policy.Properties['Bucket']).includes(bucketId),
    );
    expect(policies).toHaveLength(1);
    expect(JSON.stringify(policies[0]!.Properties['PolicyDocument'])).toMatch(
      /"Condition":\{"Bool":\{"aws:SecureTransport":"false"\}\},"Effect":"Deny"/,
    );
  });
});

describe('the signing key and the writer', () => {
  test('the key is an ECC_NIST_P256 SIGN_VERIFY key, and the stack outputs its ARN', () => {
    const key = resourceById(defaults.template, logicalIdOf(defaults.stack.pipeline.auditDigests.key));
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    defaults.template.hasOutput('AuditDigestKeyArn', {
      Value: { 'Fn::GetAtt': [logicalIdOf(defaults.stack.pipeline.auditDigests.key), 'Arn'] },
    });
  });

  test.each([
    ['by default', defaults, 'rate(15 minutes)', '900'],
    ['as configured', custom, 'rate(1 hour)', '3600'],
  ])('the writer runs on its schedule %s', (_name, synthesized, rate, seconds) => {
    const writerId = logicalIdOf(synthesized.stack.pipeline.auditDigests.writer);
    synthesized.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: rate,
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [writerId, 'Arn'] } })],
    });
    const variables = (
      resourceById(synthesized.template, writerId).Properties['Environment'] as {
        Variables: Record<string, string>;
      }
    ).Variables;
    expect(variables[ENV_NAMES.auditDigestIntervalSeconds]).toBe(seconds);
  });

  test("the settle time is the longest trail writer's timeout (Validate's 15 minutes) plus a minute", () => {
    const writerId = logicalIdOf(defaults.stack.pipeline.auditDigests.writer);
    const timeouts = [...resourcesOfType(defaults.template, 'AWS::Lambda::Function')]
      .filter(([id]) => id !== writerId)
      .map(([, fn]) => Number(fn.Properties['Timeout'] ?? 3));
    const variables = (
      resourceById(defaults.template, writerId).Properties['Environment'] as {
        Variables: Record<string, string>;
      }
    ).Variables;
    expect(variables[ENV_NAMES.auditDigestSettleSeconds]).toBe(String(Math.max(...timeouts) + 60));
  });

  test('no role of the stack may delete a digest, change its retention or bypass its lock', () => {
    const forbidden =
      /^s3:(Delete|PutObjectRetention|PutObjectLegalHold|BypassGovernanceRetention|PutBucketObjectLockConfiguration|\*)/;
    const bucketId = logicalIdOf(defaults.stack.pipeline.auditDigests.bucket);
    const granted = [...resourcesOfType(defaults.template, 'AWS::IAM::Policy').values()].flatMap((policy) =>
      (
        policy.Properties['PolicyDocument'] as { Statement: Array<{ Action: unknown; Resource: unknown }> }
      ).Statement.filter((statement) => JSON.stringify(statement.Resource).includes(bucketId)).flatMap(
        (statement) => [statement.Action].flat().map(String),
      ),
    );
    expect(granted.length).toBeGreaterThan(0);
    expect(granted.filter((action) => forbidden.test(action))).toEqual([]);
  });
});

describe('refused at synth', () => {
  test.each([
    [{ auditDigestInterval: Duration.seconds(90) }, /auditDigestInterval must be a whole number of minutes/],
    [{ auditDigestInterval: Duration.days(2) }, /auditDigestInterval must be a whole number of minutes/],
    [{ auditDigestRetention: Duration.days(0) }, /auditDigestRetention must be a whole number of days/],
    [{ auditDigestLockMode: 'NONE' as never }, /auditDigestLockMode must be one of COMPLIANCE, GOVERNANCE/],
  ])('%o', (props, message) => {
    expect(() => synthAirlock(props)).toThrow(message);
  });
});
