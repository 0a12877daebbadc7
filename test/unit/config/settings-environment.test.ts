import { readConfig, readSweeperConfig } from '../../../functions/commons/config.js';
import { settingsEnvironment } from '../../../functions/commons/env-names.js';

describe('settingsEnvironment', () => {
  test('writes what the functions read back', () => {
    // Arrange: no value is a default, so that a variable the readers miss shows.
    const settings = {
      uploadUrlTtlSeconds: 321,
      downloadUrlTtlSeconds: 123,
      typePolicy: {
        'text/plain': { maxBytes: 1000, detect: { kind: 'text' as const }, extensions: ['txt'] },
      },
      processingTimeoutSeconds: 4321,
      sweepBatchSize: 7,
      abandonedRecordRetentionDays: 45,
      quotaOpenGrants: 17,
      quotaBytesPerDay: 12345,
    };
    const { shared, sweeper } = settingsEnvironment(settings);
    const env = { TABLE_NAME: 'uploads', BUCKET_NAME: 'uploads', ...shared, ...sweeper };

    // Act
    const config = readConfig(env);
    const sweeperConfig = readSweeperConfig(env);

    // Assert
    expect({
      uploadUrlTtlSeconds: config.uploadUrlTtlSeconds,
      downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
      typePolicy: config.typePolicy,
      processingTimeoutSeconds: sweeperConfig.processingTimeoutSeconds,
      sweepBatchSize: sweeperConfig.batchSize,
      abandonedRecordRetentionDays: config.abandonedRecordRetentionSeconds / 86_400,
      quotaOpenGrants: config.quotas.openGrants,
      quotaBytesPerDay: config.quotas.bytesPerDay,
    }).toEqual(settings);
  });

  test('gives the sweeper-only settings to the sweeper only', () => {
    const { shared, sweeper } = settingsEnvironment({
      uploadUrlTtlSeconds: 900,
      downloadUrlTtlSeconds: 300,
      typePolicy: {},
      processingTimeoutSeconds: 3600,
      sweepBatchSize: 100,
      abandonedRecordRetentionDays: 90,
      quotaOpenGrants: 1000,
      quotaBytesPerDay: 1024,
    });
    expect([Object.keys(shared).sort(), Object.keys(sweeper).sort()]).toEqual([
      [
        'ABANDONED_RECORD_RETENTION_DAYS',
        'DOWNLOAD_URL_TTL_SECONDS',
        'QUOTA_BYTES_PER_DAY',
        'QUOTA_OPEN_GRANTS',
        'TYPE_POLICY',
        'UPLOAD_URL_TTL_SECONDS',
      ],
      ['PROCESSING_TIMEOUT_SECONDS', 'SWEEP_BATCH_SIZE'],
    ]);
  });
});
