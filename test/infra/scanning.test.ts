import { Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { resolveSettings } from '../../infra/pipeline/settings.js';
import { ENV, logicalIdOf, newApp, synthAirlock, type Synthesized } from './support/synth.js';
import { onlyResource, resourceById, resourcesOfType, type CfnJson } from './support/template.js';

/**
 * The malware engine's side of the Scan step, as the template deploys it: GuardDuty Malware
 * Protection for S3 on quarantine/ with its own least-privilege role, the rule that brings its
 * results to the intake, the bucket policy that stops a quarantined file's downloads; none of it
 * with `scanner: 'none'`, and a custom engine's rule instead of GuardDuty's.
 */

const defaults = synthAirlock();
const withKey = (() => {
  const app = newApp();
  const key = new kms.Key(new Stack(app, 'Keys', { env: ENV }), 'Key', { enableKeyRotation: true });
  return { synthesized: synthAirlock({ encryptionKey: key }, app), keyId: logicalIdOf(key) };
})();
const off = synthAirlock({ scanner: 'none' });
const READER = 'arn:aws:iam::123456789012:role/scanner-reader';
const custom = synthAirlock({
  scanner: { kind: 'custom', eventSource: 'com.example.scanner', readerRoleArns: [READER] },
});

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
const actionsOf = (statement: Statement): string[] => [statement.Action].flat();

function planOf({ template }: Synthesized): CfnJson & { id: string } {
  const [id, plan] = onlyResource(template, 'AWS::GuardDuty::MalwareProtectionPlan');
  return { id, ...plan };
}
function planStatements(synthesized: Synthesized): Statement[] {
  const roleId = logicalIdOf(synthesized.stack.pipeline.scanning.planRole);
  const policies = [...resourcesOfType(synthesized.template, 'AWS::IAM::Policy').values()].filter((policy) =>
    JSON.stringify(policy.Properties['Roles']).includes(roleId),
  );
  return policies.flatMap(
    (policy) => (policy.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement,
  );
}
const bucketId = (synthesized: Synthesized) => logicalIdOf(synthesized.stack.pipeline.bucket);
const objectsUnder = (synthesized: Synthesized, prefix: string) => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId(synthesized), 'Arn'] }, `/${prefix}*`]],
});
/** A statement of the uploads bucket's policy (the access-log and console buckets have their own). */
function bucketPolicyStatement(synthesized: Synthesized, sid: string): Statement | undefined {
  const policy = [...resourcesOfType(synthesized.template, 'AWS::S3::BucketPolicy').values()].find(
    (candidate) =>
      JSON.stringify(candidate.Properties['Bucket']) === JSON.stringify({ Ref: bucketId(synthesized) }),
  );
  if (policy === undefined) throw new Error('No policy of the uploads bucket');
  return (policy.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement.find(
    (statement) => statement.Sid === sid,
  );
}
const scanRules = ({ template }: Synthesized) =>
  [...resourcesOfType(template, 'AWS::Events::Rule').values()].filter((rule) =>
    JSON.stringify(rule.Properties['EventPattern'] ?? {}).includes('Object Scan Result'),
  );
const roleArnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

describe('GuardDuty Malware Protection for S3 (the default scanner)', () => {
  test('protects the uploads bucket under quarantine/ only, with tagging off, with its own role', () => {
    const plan = planOf(defaults);
    expect(plan.Properties).toEqual({
      ProtectedResource: {
        S3Bucket: { BucketName: { Ref: bucketId(defaults) }, ObjectPrefixes: ['quarantine/'] },
      },
      Actions: { Tagging: { Status: 'DISABLED' } },
      Role: roleArnOf(logicalIdOf(defaults.stack.pipeline.scanning.planRole)),
    });
  });

  test("its role trusts only GuardDuty's plan service, of this account, and has no managed policy", () => {
    const role = resourceById(defaults.template, logicalIdOf(defaults.stack.pipeline.scanning.planRole));
    expect(role.Properties['AssumeRolePolicyDocument']).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Service: 'malware-protection-plan.guardduty.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': ENV.account } },
        },
      ],
    });
    expect(role.Properties['ManagedPolicyArns']).toBeUndefined();
  });

  test('its role reads objects under quarantine/ (and clean/, for rescans) only, and tags nothing', () => {
    const reads = planStatements(defaults).filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('s3:GetObject')),
    );
    expect(reads.map((statement) => [actionsOf(statement).sort(), statement.Resource])).toEqual([
      [
        ['s3:GetObject', 's3:GetObjectVersion'],
        [objectsUnder(defaults, 'clean/'), objectsUnder(defaults, 'quarantine/')],
      ],
    ]);
    const everyAction = planStatements(defaults).flatMap(actionsOf);
    expect(everyAction.filter((action) => /Tagging|\*/.test(action))).toEqual([]);
  });

  test('its role writes only the validation object, and manages only the EventBridge rules GuardDuty names', () => {
    const statements = planStatements(defaults);
    const puts = statements.filter((statement) => actionsOf(statement).includes('s3:PutObject'));
    expect(puts.map((statement) => statement.Resource)).toEqual([
      {
        'Fn::Join': [
          '',
          [{ 'Fn::GetAtt': [bucketId(defaults), 'Arn'] }, '/malware-protection-resource-validation-object'],
        ],
      },
    ]);
    const events = statements.filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('events:')),
    );
    for (const statement of events) {
      expect(JSON.stringify(statement.Resource)).toMatch(
        /:rule\/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3\*"/,
      );
    }
    const writes = events.filter((statement) => actionsOf(statement).includes('events:PutRule'));
    expect(writes.map((statement) => statement.Condition)).toEqual([
      { StringLike: { 'events:ManagedBy': 'malware-protection-plan.guardduty.amazonaws.com' } },
    ]);
    const bucketLevel = statements.filter((statement) =>
      actionsOf(statement).includes('s3:PutBucketNotification'),
    );
    expect(bucketLevel.map((statement) => statement.Resource)).toEqual([
      { 'Fn::GetAtt': [bucketId(defaults), 'Arn'] },
    ]);
  });

  test('its role may use no KMS key without encryptionKey, and only decrypt/generate with it, through S3', () => {
    expect(
      planStatements(defaults)
        .flatMap(actionsOf)
        .filter((action) => action.startsWith('kms:')),
    ).toEqual([]);
    const kmsStatements = planStatements(withKey.synthesized).filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('kms:')),
    );
    expect(kmsStatements).toEqual([
      {
        Sid: 'AllowDecryptForMalwareScan',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::ImportValue': expect.stringContaining(withKey.keyId) },
        Condition: { StringLike: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
      },
    ]);
  });

  test('the plan is made after its role may act (GuardDuty checks the role when the plan is made)', () => {
    const plan = (defaults.template.toJSON() as { Resources: Record<string, { DependsOn?: string[] }> })
      .Resources[planOf(defaults).id];
    const policyIds = [...resourcesOfType(defaults.template, 'AWS::IAM::Policy').keys()].filter((id) =>
      id.startsWith('PipelineMalwareProtectionPolicy'),
    );
    expect(policyIds).toHaveLength(1);
    expect(plan?.DependsOn).toEqual(expect.arrayContaining(policyIds));
  });

  test("GuardDuty's role may read quarantine/ through the bucket policy's deny (it names the readers)", () => {
    const deny = bucketPolicyStatement(defaults, 'DenyReadingUnvalidatedObjects');
    const readers = deny?.Condition?.['ArnNotEquals']?.['aws:PrincipalArn'];
    expect(readers).toContainEqual(roleArnOf(logicalIdOf(defaults.stack.pipeline.scanning.planRole)));
  });

  test('the results of this plan for this bucket, and only those, go to the intake (retried, then kept in the DLQ)', () => {
    const [rule] = scanRules(defaults);
    const queue = roleArnOf(logicalIdOf(defaults.stack.pipeline.deadLetterQueue));
    expect(scanRules(defaults)).toHaveLength(1);
    expect(rule?.Properties['EventPattern']).toEqual({
      source: ['aws.guardduty'],
      'detail-type': ['GuardDuty Malware Protection Object Scan Result'],
      resources: [{ 'Fn::GetAtt': [planOf(defaults).id, 'Arn'] }],
      detail: { s3ObjectDetails: { bucketName: [{ Ref: bucketId(defaults) }] } },
    });
    expect(rule?.Properties['Targets']).toEqual([
      expect.objectContaining({
        Arn: roleArnOf(logicalIdOf(defaults.stack.pipeline.functions['scan-result'])),
        DeadLetterConfig: { Arn: queue },
        RetryPolicy: expect.objectContaining({ MaximumRetryAttempts: expect.any(Number) }),
      }),
    ]);
    const [, invokeConfig] = onlyResource(defaults.template, 'AWS::Lambda::EventInvokeConfig');
    expect(invokeConfig.Properties['DestinationConfig']).toEqual({ OnFailure: { Destination: queue } });
  });

  test('a quarantined promoted file is unreadable by anyone but the intake (download URLs included)', () => {
    expect(bucketPolicyStatement(defaults, 'DenyReadingQuarantinedObjects')).toEqual({
      Sid: 'DenyReadingQuarantinedObjects',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: objectsUnder(defaults, 'clean/'),
      Condition: {
        StringEquals: { 's3:ExistingObjectTag/airlock-status': 'quarantined' },
        ArnNotEquals: {
          'aws:PrincipalArn': [
            roleArnOf(logicalIdOf(defaults.stack.pipeline.functions['scan-result']?.role)),
          ],
        },
      },
    });
  });

  test('the Scan step and the rescan are told the scanner (SCANNER=guardduty)', () => {
    for (const name of ['scan', 'rescan'] as const) {
      const fn = resourceById(defaults.template, logicalIdOf(defaults.stack.pipeline.functions[name]));
      expect(
        (fn.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables['SCANNER'],
      ).toBe('guardduty');
    }
  });
});

describe("scanner: 'none' (explicit: every record then says scan SKIPPED)", () => {
  test('no plan, no result rule, no intake, no rescan, no quarantine deny', () => {
    expect(resourcesOfType(off.template, 'AWS::GuardDuty::MalwareProtectionPlan').size).toBe(0);
    expect(scanRules(off)).toEqual([]);
    expect(off.stack.pipeline.functions['scan-result']).toBeUndefined();
    expect(off.stack.pipeline.functions.rescan).toBeUndefined();
    expect(bucketPolicyStatement(off, 'DenyReadingQuarantinedObjects')).toBeUndefined();
  });

  test('the Scan step is told so, and may read and write nothing', () => {
    const scan = off.stack.pipeline.functions.scan;
    const fn = resourceById(off.template, logicalIdOf(scan));
    expect(
      (fn.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables['SCANNER'],
    ).toBe('none');
    const roleId = logicalIdOf(scan.role);
    const granted = [...resourcesOfType(off.template, 'AWS::IAM::Policy').values()]
      .filter((policy) => JSON.stringify(policy.Properties['Roles']).includes(roleId))
      .flatMap((policy) => (policy.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement)
      .flatMap(actionsOf);
    expect(granted.filter((action) => !/^(logs|xray):/.test(action))).toEqual([]);
  });
});

describe('a custom engine', () => {
  test('its own events (its source, this bucket) go to the intake; there is no GuardDuty plan or rescan', () => {
    const rules = scanRules(custom);
    expect(rules.map((rule) => rule.Properties['EventPattern'])).toEqual([
      {
        source: ['com.example.scanner'],
        'detail-type': ['GuardDuty Malware Protection Object Scan Result'],
        detail: { s3ObjectDetails: { bucketName: [{ Ref: bucketId(custom) }] } },
      },
    ]);
    expect(resourcesOfType(custom.template, 'AWS::GuardDuty::MalwareProtectionPlan').size).toBe(0);
    expect(custom.stack.pipeline.functions.rescan).toBeUndefined();
  });

  test("its reader roles may read quarantine/ through the bucket policy's deny", () => {
    const deny = bucketPolicyStatement(custom, 'DenyReadingUnvalidatedObjects');
    expect(deny?.Condition?.['ArnNotEquals']?.['aws:PrincipalArn']).toContain(READER);
  });

  test.each([
    [
      { kind: 'custom', eventSource: 'aws.guardduty' },
      /eventSource "aws.guardduty" must be an event source of your own/,
    ],
    [
      { kind: 'custom', eventSource: 'x', readerRoleArns: ['not-an-arn'] },
      /readerRoleArns entry "not-an-arn"/,
    ],
    ['clamav', /scanner must be "guardduty", "none"/],
  ])('refuses %j at synth', (scanner, message) => {
    expect(() => resolveSettings({ scanner: scanner as never })).toThrow(message);
  });
});
