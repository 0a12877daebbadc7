import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { readConfig, readSweeperConfig } from '../../functions/commons/config.js';
import { DEFAULT_TYPE_POLICY } from '../../functions/domain/type-policy.js';
import { resolveSettings } from '../../infra/pipeline/settings.js';
import { VALIDATE_TIMEOUT } from '../../infra/pipeline/steps.js';

// resolveSettings is pure: no app, no stack, no synthesis.

/** The variables every function needs, plus one setting under test. */
const functionEnv = (name: string, value: number): NodeJS.ProcessEnv => ({
  TABLE_NAME: 'uploads',
  BUCKET_NAME: 'uploads',
  [name]: String(value),
});

describe('resolveSettings', () => {
  test('applies the documented defaults', () => {
    // Act
    const settings = resolveSettings({});

    // Assert
    expect({
      ...settings,
      quarantineRetention: settings.quarantineRetention.toDays(),
      noncurrentVersionRetention: settings.noncurrentVersionRetention.toDays(),
      rejectedRetention: settings.rejectedRetention.toDays(),
      sweepInterval: settings.sweepInterval.toMinutes(),
      auditDigestInterval: settings.auditDigestInterval.toMinutes(),
    }).toEqual({
      allowedOrigins: [],
      typePolicy: DEFAULT_TYPE_POLICY,
      uploadUrlTtlSeconds: 15 * 60,
      downloadUrlTtlSeconds: 5 * 60,
      quarantineRetention: 7,
      noncurrentVersionRetention: 30,
      rejectedRetention: 90,
      abandonedRecordRetentionDays: 90,
      logRetention: logs.RetentionDays.ONE_YEAR,
      processingTimeoutSeconds: 3600,
      sweepInterval: 5,
      sweepBatchSize: 100,
      auditDigestInterval: 15,
      auditDigestRetentionDays: 365,
      auditDigestLockMode: 'COMPLIANCE',
      apiThrottle: { rateLimit: 50, burstLimit: 100 },
      reservedConcurrency: {},
      quotaOpenGrants: 1000,
      quotaBytesPerDay: 10 * 1024 ** 3,
      scanner: 'guardduty',
      webhooks: [],
      webhookRetry: { maxAttempts: 10, initialDelaySeconds: 10, maxDelaySeconds: 3600 },
    });
  });

  test('refuses a processing timeout no longer than one Validate run may take', () => {
    expect(() => resolveSettings({ processingTimeout: VALIDATE_TIMEOUT })).toThrow(
      /processingTimeout must be between 20 minutes and 24 hours, got 900s/,
    );
  });

  test('refuses a sweep interval that is not a whole number of minutes', () => {
    expect(() => resolveSettings({ sweepInterval: Duration.seconds(90) })).toThrow(
      /sweepInterval must be a whole number of minutes/,
    );
  });

  test('refuses a fractional API burst limit (CloudFormation takes whole requests)', () => {
    expect(() => resolveSettings({ apiThrottle: { rateLimit: 5, burstLimit: 2.5 } })).toThrow(
      /apiThrottle\.burstLimit must be a whole number/,
    );
  });
});

/**
 * Each setting the functions read has one range: the construct refuses at synth exactly what the
 * functions' reader would refuse at run time, at both edges.
 */
describe('the construct and the functions accept the same range', () => {
  const cases: Array<{
    setting: string;
    accepted: number[];
    refused: number[];
    construct: (value: number) => unknown;
    functions: (value: number) => unknown;
  }> = [
    {
      setting: 'upload URL lifetime (at most 15 minutes)',
      accepted: [1, 900],
      refused: [0, 901],
      construct: (s) => resolveSettings({ uploadUrlTtl: Duration.seconds(s) }).uploadUrlTtlSeconds,
      functions: (s) => readConfig(functionEnv('UPLOAD_URL_TTL_SECONDS', s)).uploadUrlTtlSeconds,
    },
    {
      setting: 'download URL lifetime (at most 5 minutes)',
      accepted: [1, 300],
      refused: [0, 301],
      construct: (s) => resolveSettings({ downloadUrlTtl: Duration.seconds(s) }).downloadUrlTtlSeconds,
      functions: (s) => readConfig(functionEnv('DOWNLOAD_URL_TTL_SECONDS', s)).downloadUrlTtlSeconds,
    },
    {
      setting: 'processing timeout (20 minutes to 24 hours)',
      accepted: [1200, 86_400],
      refused: [1199, 86_401],
      construct: (s) => resolveSettings({ processingTimeout: Duration.seconds(s) }).processingTimeoutSeconds,
      functions: (s) => readSweeperConfig({ PROCESSING_TIMEOUT_SECONDS: String(s) }).processingTimeoutSeconds,
    },
    {
      setting: 'sweeper batch size (1 to 1000 uploads)',
      accepted: [1, 1000],
      refused: [0, 1001],
      construct: (n) => resolveSettings({ sweepBatchSize: n }).sweepBatchSize,
      functions: (n) => readSweeperConfig({ SWEEP_BATCH_SIZE: String(n) }).batchSize,
    },
    {
      setting: 'abandoned-record retention (the promised 30 days to 10 years)',
      accepted: [30, 3650],
      refused: [29, 3651],
      construct: (d) =>
        resolveSettings({ abandonedRecordRetention: Duration.days(d) }).abandonedRecordRetentionDays,
      functions: (d) =>
        readConfig(functionEnv('ABANDONED_RECORD_RETENTION_DAYS', d)).abandonedRecordRetentionSeconds /
        86_400,
    },
  ];

  describe.each(cases)('$setting', ({ accepted, refused, construct, functions }) => {
    test.each(accepted)('both accept %i', (value) => {
      expect([construct(value), functions(value)]).toEqual([value, value]);
    });

    test.each(refused)('both refuse %i', (value) => {
      expect(() => construct(value)).toThrow(/must be (between|a whole number (of days, )?from)/);
      expect(() => functions(value)).toThrow(/must be an integer from/);
    });
  });
});
