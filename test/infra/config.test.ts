import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { loadAirlockConfig } from '../../config/airlock-config.js';
import { pipelinePropsFromConfig } from '../../infra/config.js';
import { logicalIdOf, synthAirlock } from './support/synth.js';

// Arrange (once): a configuration file in which no setting has its default.
const dir = mkdtempSync(join(tmpdir(), 'airlock-config-infra-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = join(dir, 'airlock.config.json');
writeFileSync(
  path,
  JSON.stringify({
    allowedOrigins: ['https://app.example.com'],
    typePolicy: { 'text/plain': { maxBytes: 1000, detect: { kind: 'text' }, extensions: ['txt'] } },
    uploadUrlTtlSeconds: 600,
    downloadUrlTtlSeconds: 120,
    processingTimeoutSeconds: 7200,
    sweepIntervalMinutes: 10,
    sweepBatchSize: 250,
    quarantineRetentionDays: 3,
    noncurrentVersionRetentionDays: 10,
    rejectedRetentionDays: 30,
    abandonedRecordRetentionDays: 60,
    logRetentionDays: 90,
    apiThrottle: { rateLimit: 10, burstLimit: 20 },
    reservedConcurrency: { validate: 4 },
    jwtIssuer: { issuerUrl: 'https://login.example.com/realms/airlock', audience: ['airlock-api'] },
    console: { enabled: false },
    forensicReaderArns: ['arn:aws:iam::123456789012:role/forensics'],
    removalPolicy: 'destroy',
  }),
);

describe('the construct from airlock.config.json', () => {
  test('equals the construct from the same settings written as props', () => {
    // Arrange
    const fromFile = synthAirlock(pipelinePropsFromConfig(loadAirlockConfig(path)));
    const fromProps = synthAirlock({
      allowedOrigins: ['https://app.example.com'],
      typePolicy: { 'text/plain': { maxBytes: 1000, detect: { kind: 'text' }, extensions: ['txt'] } },
      uploadUrlTtl: Duration.minutes(10),
      downloadUrlTtl: Duration.minutes(2),
      processingTimeout: Duration.hours(2),
      sweepInterval: Duration.minutes(10),
      sweepBatchSize: 250,
      quarantineRetention: Duration.days(3),
      noncurrentVersionRetention: Duration.days(10),
      rejectedRetention: Duration.days(30),
      abandonedRecordRetention: Duration.days(60),
      logRetention: logs.RetentionDays.THREE_MONTHS,
      apiThrottle: { rateLimit: 10, burstLimit: 20 },
      reservedConcurrency: { validate: 4 },
      jwtIssuer: { issuerUrl: 'https://login.example.com/realms/airlock', audience: ['airlock-api'] },
      console: { enabled: false },
      forensicReaderArns: ['arn:aws:iam::123456789012:role/forensics'],
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Act + Assert
    expect(fromFile.template.toJSON()).toEqual(fromProps.template.toJSON());
  });

  test('hands the sweeper its processing timeout and batch size', () => {
    // Arrange
    const { stack, template } = synthAirlock(pipelinePropsFromConfig(loadAirlockConfig(path)));
    const sweeperId = logicalIdOf(stack.pipeline.functions.sweeper);

    // Act
    const variables = (
      template.toJSON() as {
        Resources: Record<string, { Properties: { Environment: { Variables: Record<string, unknown> } } }>;
      }
    ).Resources[sweeperId]!.Properties.Environment.Variables;

    // Assert
    expect(variables).toMatchObject({ PROCESSING_TIMEOUT_SECONDS: '7200', SWEEP_BATCH_SIZE: '250' });
  });

  test('hands the writers of abandoned records (create-upload, sweeper) their retention', () => {
    // Arrange
    const { stack, template } = synthAirlock(pipelinePropsFromConfig(loadAirlockConfig(path)));
    const resources = (
      template.toJSON() as {
        Resources: Record<string, { Properties: { Environment: { Variables: Record<string, unknown> } } }>;
      }
    ).Resources;

    // Act
    const retention = (['create-upload', 'sweeper'] as const).map(
      (name) =>
        resources[logicalIdOf(stack.pipeline.functions[name])]!.Properties.Environment.Variables[
          'ABANDONED_RECORD_RETENTION_DAYS'
        ],
    );

    // Assert
    expect(retention).toEqual(['60', '60']);
  });
});
