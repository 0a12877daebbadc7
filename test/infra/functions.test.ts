import { Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { PIPELINE_FUNCTIONS, type PipelineFunction } from '../../infra/upload-pipeline.js';
import { ENV, logicalIdOf, newApp, pipelineFunctions, synthAirlock } from './support/synth.js';
import {
  describeGrant,
  grantsOfRole,
  iamPatternMatches,
  referencedId,
  resourceById,
  resourcesOfType,
  type Grant,
} from './support/template.js';

// Arrange (once): the default stack.
const { stack, template } = synthAirlock();
const functions = pipelineFunctions(stack);
const aliases: Record<string, string> = {
  [logicalIdOf(stack.pipeline.bucket)]: 'Bucket',
  [logicalIdOf(stack.pipeline.table)]: 'Table',
  [logicalIdOf(stack.pipeline.stateMachine)]: 'StateMachine',
};

interface FunctionFacts {
  readonly properties: Record<string, unknown>;
  readonly roleId: string;
  readonly logGroupId: string | undefined;
  /** Every grant of the function's role. */
  readonly grants: Grant[];
  /** The grants minus the X-Ray statement and the statement writing to its own log group. */
  readonly ownGrants: string[];
}

const isXray = (grant: Grant) => grant.resource === '*' && grant.action.startsWith('xray:');
const factsByName = new Map<PipelineFunction, FunctionFacts>(
  functions.map(([name, id]) => {
    const properties = resourceById(template, id).Properties;
    const roleId = referencedId(properties['Role']);
    if (roleId === undefined) throw new Error(`${name}: Role is not a reference to a role of this stack`);
    const logGroupId = referencedId(
      (properties['LoggingConfig'] as { LogGroup?: unknown } | undefined)?.LogGroup,
    );
    const grants = grantsOfRole(template, roleId, aliases);
    const ownLogs = `<${logGroupId}.Arn>`;
    const isOwnLogs = (grant: Grant) => grant.action.startsWith('logs:') && grant.resource === ownLogs;
    const ownGrants = grants
      .filter((grant) => !isXray(grant) && !isOwnLogs(grant))
      .map(describeGrant)
      .sort();
    return [name, { properties, roleId, logGroupId, grants, ownGrants }];
  }),
);
const facts = (name: PipelineFunction): FunctionFacts => factsByName.get(name)!;
const names = functions.map(([name]) => name);

describe('Lambda functions', () => {
  test('there are exactly the 19 pipeline functions, plus the CDK handlers for bucket notifications and the console deployment', () => {
    // Act
    const pipelineIds = new Set(functions.map(([, id]) => id));
    const others = [...resourcesOfType(template, 'AWS::Lambda::Function').keys()].filter(
      (id) => !pipelineIds.has(id),
    );

    // Assert
    expect(names).toHaveLength(19); // no webhook endpoint: no deliver-webhooks
    expect([...names].sort()).toEqual(
      PIPELINE_FUNCTIONS.filter((name) => name !== 'deliver-webhooks').sort(),
    );
    expect(others.sort()).toEqual([
      expect.stringMatching(/^BucketNotificationsHandler/),
      expect.stringMatching(/^CustomCDKBucketDeployment/),
    ]);
  });

  test('every function runs on nodejs22.x', () => {
    const runtimes = names.map((name) => [name, facts(name).properties['Runtime']]);
    expect(runtimes).toEqual(names.map((name) => [name, 'nodejs22.x']));
  });

  test('every function runs on arm64', () => {
    const architectures = names.map((name) => [name, facts(name).properties['Architectures']]);
    expect(architectures).toEqual(names.map((name) => [name, ['arm64']]));
  });

  test('every function has active X-Ray tracing', () => {
    const tracing = names.map((name) => [name, facts(name).properties['TracingConfig']]);
    expect(tracing).toEqual(names.map((name) => [name, { Mode: 'Active' }]));
  });

  test('every function logs to its own explicit log group, which has a retention', () => {
    // Act
    const logGroups = names.map((name) => facts(name).logGroupId);
    const retentions = logGroups.map((id) =>
      id === undefined ? undefined : resourceById(template, id).Properties['RetentionInDays'],
    );

    // Assert
    expect(logGroups.every((id) => id !== undefined)).toBe(true);
    expect(new Set(logGroups).size).toBe(names.length);
    expect(retentions).toEqual(names.map((): unknown => expect.any(Number)));
  });

  test('every function has TABLE_NAME and BUCKET_NAME of this stack', () => {
    // Act
    const environments = names.map((name) => {
      const variables = (facts(name).properties['Environment'] as { Variables?: Record<string, unknown> })
        .Variables;
      return [name, { TABLE_NAME: variables?.['TABLE_NAME'], BUCKET_NAME: variables?.['BUCKET_NAME'] }];
    });

    // Assert
    const expected = { TABLE_NAME: { Ref: aliasId('Table') }, BUCKET_NAME: { Ref: aliasId('Bucket') } };
    expect(environments).toEqual(names.map((name) => [name, expected]));
  });

  test('no function reserves concurrency by default (the account pool is shared)', () => {
    const reserved = names.filter(
      (name) => facts(name).properties['ReservedConcurrentExecutions'] !== undefined,
    );
    expect(reserved).toEqual([]);
  });

  test('reservedConcurrency caps exactly the functions it names', () => {
    // Arrange
    const capped = synthAirlock({ reservedConcurrency: { validate: 10, sweeper: 1 } });

    // Act
    const reserved = pipelineFunctions(capped.stack).map(([name, id]) => [
      name,
      resourceById(capped.template, id).Properties['ReservedConcurrentExecutions'],
    ]);

    // Assert
    expect(reserved).toEqual(
      names.map((name) => [name, name === 'validate' ? 10 : name === 'sweeper' ? 1 : undefined]),
    );
  });

  test('no function role uses a managed policy', () => {
    const withManagedPolicies = names.filter(
      (name) => resourceById(template, facts(name).roleId).Properties['ManagedPolicyArns'] !== undefined,
    );
    expect(withManagedPolicies).toEqual([]);
  });
});

// Which grants each function needs is derived from what its handler sends: grants.test.ts.
describe('least privilege: what no function may have', () => {
  test('no function may read current objects (s3:GetObject) under quarantine/: only named versions', () => {
    // Act
    const probe = '<Bucket.Arn>/quarantine/01J00000000000000000000000';
    const readers = (action: string) =>
      names.filter((name) =>
        facts(name).grants.some(
          (grant) =>
            grant.effect === 'Allow' &&
            iamPatternMatches(grant.action, action, true) &&
            iamPatternMatches(grant.resource, probe),
        ),
      );

    // Assert: exactly the readers the bucket policy lets through (DenyReadingUnvalidatedObjects).
    expect(readers('s3:GetObject')).toEqual([]);
    expect(readers('s3:GetObjectVersion').sort()).toEqual(['promote', 'reject', 'validate']);
  });

  test('no function has any action on resource "*" except X-Ray tracing and GuardDuty on-demand scans', () => {
    // SendObjectMalwareScan has no resource type: "*" is the only resource it can be granted on.
    const onAnything = names.flatMap((name) =>
      facts(name)
        .grants.filter((grant) => grant.resource === '*' && !isXray(grant))
        .map((grant) => `${name}: ${describeGrant(grant)}`),
    );
    expect(onAnything.sort()).toEqual([
      'rescan: guardduty:SendObjectMalwareScan on *',
      'scan: guardduty:SendObjectMalwareScan on *',
    ]);
  });

  test('with encryptionKey, redrive may only decrypt with the key (it writes nothing), and gains nothing else', () => {
    // Arrange
    const app = newApp();
    const key = new kms.Key(new Stack(app, 'Keys', { env: ENV }), 'Key', { enableKeyRotation: true });
    const encrypted = synthAirlock({ encryptionKey: key }, app);
    const redriveId = logicalIdOf(encrypted.stack.pipeline.functions.redrive);
    const roleId = referencedId(resourceById(encrypted.template, redriveId).Properties['Role'])!;
    const encryptedAliases: Record<string, string> = {
      [logicalIdOf(encrypted.stack.pipeline.bucket)]: 'Bucket',
      [logicalIdOf(encrypted.stack.pipeline.table)]: 'Table',
      [logicalIdOf(encrypted.stack.pipeline.stateMachine)]: 'StateMachine',
    };

    // Act
    const grants = grantsOfRole(encrypted.template, roleId, encryptedAliases).filter(
      (grant) => !isXray(grant) && !grant.action.startsWith('logs:'),
    );
    const keyGrants = grants.filter((grant) => grant.action.startsWith('kms:'));
    const others = grants.filter((grant) => !grant.action.startsWith('kms:')).map(describeGrant);

    // Assert
    expect(keyGrants).toEqual([
      expect.objectContaining({
        effect: 'Allow',
        action: 'kms:Decrypt',
        resource: expect.stringContaining(logicalIdOf(key)),
      }),
    ]);
    expect(others.sort()).toEqual([...facts('redrive').ownGrants].sort());
  });

  test('every function may write logs to its own log group only', () => {
    const elsewhere = names.flatMap((name) =>
      facts(name)
        .grants.filter((grant) => grant.action.startsWith('logs:'))
        .filter((grant) => grant.resource !== `<${facts(name).logGroupId}.Arn>`)
        .map((grant) => `${name}: ${describeGrant(grant)}`),
    );
    expect(elsewhere).toEqual([]);
  });
});

function aliasId(alias: string): string {
  const entry = Object.entries(aliases).find(([, name]) => name === alias);
  if (entry === undefined) throw new Error(`unknown alias ${alias}`);
  return entry[0];
}
