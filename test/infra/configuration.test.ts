import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AirlockStack, type AirlockStackProps } from '../../infra/airlock-stack.js';
import { DEFAULT_TYPE_POLICY } from '../../functions/domain/type-policy.js';
import { ENV, newApp, synthAirlock } from './support/synth.js';
import { resourcesOfType } from './support/template.js';

type PipelineProps = NonNullable<AirlockStackProps['pipeline']>;

/** Constructs (no synthesis needed: settings are checked in the constructor). */
const build = (pipeline: PipelineProps) => new AirlockStack(newApp(), 'Airlock', { env: ENV, pipeline });

/** A bucket owned by someone else, imported (by name) into a neighbouring stack of the same app. */
const importedBucket = (app = newApp()) => {
  const shared = new Stack(app, 'Shared', { env: ENV });
  Validations.of(shared).acknowledge({
    id: 'CloudFormation-Validate::F0001',
    reason: 'This test stack only holds the import of a bucket owned elsewhere; it deploys nothing.',
  });
  return s3.Bucket.fromBucketName(shared, 'Existing', 'team-owned-uploads');
};

describe('misconfiguration fails at synth', () => {
  test('fault injection (AIRLOCK_FAULTS) added to any function', () => {
    // Arrange
    const app = newApp();
    const stack = new AirlockStack(app, 'Airlock', { env: ENV });
    stack.pipeline.functions.claim.addEnvironment('AIRLOCK_FAULTS', 'steps=0.1');
    // Act + Assert
    expect(() => app.synth()).toThrow(/the claim function sets AIRLOCK_FAULTS; fault injection is refused/);
  });

  test('every function is marked as a production configuration (AIRLOCK_ENV), which refuses faults', () => {
    // Arrange + Act
    const functions = [...resourcesOfType(synthAirlock().template, 'AWS::Lambda::Function').values()].filter(
      (fn) => (fn.Properties as { Description?: string }).Description?.startsWith('Airlock ') === true,
    );
    // Assert
    expect(functions.length).toBeGreaterThanOrEqual(12);
    for (const fn of functions) {
      expect(
        (fn.Properties as { Environment: { Variables: Record<string, string> } }).Environment.Variables,
      ).toMatchObject({
        AIRLOCK_ENV: 'production',
      });
    }
  });

  test('an upload URL lifetime over 15 minutes', () => {
    expect(() => build({ uploadUrlTtl: Duration.minutes(16) })).toThrow(
      /uploadUrlTtl must be between 1 second and 15 minutes, got 960s/,
    );
  });

  test('a download URL lifetime over 5 minutes', () => {
    expect(() => build({ downloadUrlTtl: Duration.minutes(6) })).toThrow(
      /downloadUrlTtl must be between 1 second and 5 minutes, got 360s/,
    );
  });

  test('a wildcard CORS origin', () => {
    expect(() => build({ allowedOrigins: ['*'] })).toThrow(
      /allowedOrigins entry "\*" must be an https origin/,
    );
  });

  test('a plain-http CORS origin other than localhost', () => {
    expect(() => build({ allowedOrigins: ['http://evil.com'] })).toThrow(
      /allowedOrigins entry "http:\/\/evil\.com" must be an https origin/,
    );
  });

  test('an existing bucket without acceptExistingBucketRisks', () => {
    expect(() => build({ existingBucket: importedBucket() })).toThrow(
      /existingBucket is refused unless acceptExistingBucketRisks is true/,
    );
  });

  test('a JWT issuer that is not https', () => {
    expect(() =>
      build({
        jwtIssuer: { issuerUrl: 'http://login.example.com/realms/airlock', audience: ['airlock-api'] },
      }),
    ).toThrow(/jwtIssuer\.issuerUrl must be an https URL/);
  });

  test('a JWT issuer without an audience', () => {
    expect(() =>
      build({ jwtIssuer: { issuerUrl: 'https://login.example.com/realms/airlock', audience: [] } }),
    ).toThrow(/jwtIssuer\.audience must name at least one audience/);
  });

  test('a type policy allowing more than 5 GiB (S3 single-request limit)', () => {
    // Arrange
    const pdf = DEFAULT_TYPE_POLICY['application/pdf']!;
    const typePolicy = { 'application/pdf': { ...pdf, maxBytes: 5 * 1024 ** 3 + 1 } };

    // Act / Assert
    expect(() => build({ typePolicy })).toThrow(/type policy is invalid[\s\S]*maxBytes/);
  });

  test('a reserved concurrency of 0 (it would stop the function) or a fraction', () => {
    expect(() => build({ reservedConcurrency: { validate: 0 } })).toThrow(
      /reservedConcurrency of validate must be a whole number, at least 1/,
    );
    expect(() => build({ reservedConcurrency: { sweeper: 1.5 } })).toThrow(
      /reservedConcurrency of sweeper must be a whole number, at least 1/,
    );
  });

  test('a reserved concurrency for a function the pipeline does not have', () => {
    expect(() =>
      build({ reservedConcurrency: { scanner: 2 } as PipelineProps['reservedConcurrency'] }),
    ).toThrow(/reservedConcurrency names an unknown function "scanner"/);
  });

  test('a processing timeout shorter than a validation may take (5 minutes)', () => {
    expect(() => build({ processingTimeout: Duration.minutes(5) })).toThrow(
      /processingTimeout must be between 20 minutes and 24 hours/,
    );
  });
});

describe('an existing bucket with acceptExistingBucketRisks', () => {
  // Arrange (once)
  const app = newApp();
  const { template } = synthAirlock(
    { existingBucket: importedBucket(app), acceptExistingBucketRisks: true },
    app,
  );

  test('synthesizes without creating an uploads bucket (only the access-log, digest and console buckets)', () => {
    const buckets = [...resourcesOfType(template, 'AWS::S3::Bucket').keys()].sort();
    expect(buckets).toEqual([
      expect.stringMatching(/^PipelineAccessLogsBucket/),
      expect.stringMatching(/^PipelineAuditDigestBucket/),
      expect.stringMatching(/^PipelineConsoleBucket/),
    ]);
  });

  test('still starts the pipeline for Object Created events of that bucket', () => {
    const patterns = [...resourcesOfType(template, 'AWS::Events::Rule').values()]
      .map((rule) => rule.Properties['EventPattern'] as { source?: string[] } | undefined)
      .filter((pattern) => pattern?.source?.[0] === 'aws.s3');
    expect(patterns).toEqual([
      expect.objectContaining({
        detail: { bucket: { name: ['team-owned-uploads'] }, object: { key: [{ prefix: 'quarantine/' }] } },
      }),
    ]);
  });
});
