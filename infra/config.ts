import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { AirlockSettings } from '../config/airlock-config.js';
import type { UploadPipelineProps } from './pipeline/index.js';

/**
 * The construct's props from the validated configuration file (config/airlock-config.ts). The
 * settings that are CDK objects (an encryption key, an alarm topic, an existing bucket) have no
 * place in a JSON file: pass them in code, over these props.
 */
export function pipelinePropsFromConfig(
  settings: AirlockSettings,
  options: { webhooks: boolean } = { webhooks: true },
): UploadPipelineProps {
  return {
    allowedOrigins: settings.allowedOrigins,
    typePolicy: settings.typePolicy,
    uploadUrlTtl: Duration.seconds(settings.uploadUrlTtlSeconds),
    downloadUrlTtl: Duration.seconds(settings.downloadUrlTtlSeconds),
    processingTimeout: Duration.seconds(settings.processingTimeoutSeconds),
    sweepInterval: Duration.minutes(settings.sweepIntervalMinutes),
    sweepBatchSize: settings.sweepBatchSize,
    quotas: { openGrants: settings.quotaOpenGrants, bytesPerDay: settings.quotaBytesPerDay },
    quarantineRetention: Duration.days(settings.quarantineRetentionDays),
    noncurrentVersionRetention: Duration.days(settings.noncurrentVersionRetentionDays),
    rejectedRetention: Duration.days(settings.rejectedRetentionDays),
    abandonedRecordRetention: Duration.days(settings.abandonedRecordRetentionDays),
    logRetention: settings.logRetentionDays,
    auditDigestInterval: Duration.minutes(settings.auditDigestIntervalMinutes),
    auditDigestRetention: Duration.days(settings.auditDigestRetentionDays),
    auditDigestLockMode: settings.auditDigestLockMode,
    apiThrottle: settings.apiThrottle,
    reservedConcurrency: settings.reservedConcurrency,
    ...(settings.jwtIssuer ? { jwtIssuer: settings.jwtIssuer } : {}),
    ...(settings.console ? { console: settings.console } : {}),
    forensicReaderArns: settings.forensicReaderArns,
    scanner: settings.scanner,
    ...(settings.events.eventBusArn ? { eventBusArn: settings.events.eventBusArn } : {}),
    webhooks: (options.webhooks ? settings.webhooks : []).map((webhook) => ({
      id: webhook.id,
      url: webhook.url,
      // The file and env sources are the local runtime's; resolveSettings refuses an endpoint without an ARN.
      secretArn: webhook.secret.secretArn ?? '',
      ...(webhook.statuses ? { statuses: webhook.statuses } : {}),
      ...(webhook.owners ? { owners: webhook.owners } : {}),
    })),
    webhookRetry: settings.webhookRetry,
    removalPolicy: settings.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  };
}
