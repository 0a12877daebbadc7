import {
  CreateBucketCommand,
  PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { CLEAN_PREFIX, QUARANTINE_PREFIX, REJECTED_PREFIX } from '../functions/domain/model.js';
import { UPLOAD_REQUEST_HEADERS } from '../functions/domain/upload-grant.js';

export interface BucketSetup {
  bucket: string;
  consoleOrigins: string[];
  /** Where RGW pushes ObjectCreated notifications (the local event router). */
  pushEndpoint: string;
  s3Endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Makes the bucket as the CDK construct does: versioning, lifecycle, CORS for the console, and
 * ObjectCreated notifications under quarantine/ pushed (persistently, retried until they
 * succeed) to the local router through an SNS-style topic on RGW's own endpoint.
 */
export async function setUpBucket(s3: S3Client, setup: BucketSetup): Promise<{ notifications: boolean }> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: setup.bucket }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: setup.bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: setup.bucket,
      LifecycleConfiguration: {
        Rules: [
          {
            ID: 'expire-quarantine',
            Status: 'Enabled',
            Filter: { Prefix: QUARANTINE_PREFIX },
            Expiration: { Days: 7 },
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          },
          {
            ID: 'keep-rejected-for-forensics',
            Status: 'Enabled',
            Filter: { Prefix: REJECTED_PREFIX },
            Expiration: { Days: 90 },
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          },
          {
            ID: 'expire-noncurrent-clean-versions',
            Status: 'Enabled',
            Filter: { Prefix: CLEAN_PREFIX },
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          },
        ],
      },
    }),
  );
  await s3.send(
    new PutBucketCorsCommand({
      Bucket: setup.bucket,
      CORSConfiguration: {
        CORSRules: [
          {
            AllowedOrigins: setup.consoleOrigins,
            AllowedMethods: ['POST', 'PUT', 'GET', 'HEAD'],
            AllowedHeaders: [...UPLOAD_REQUEST_HEADERS],
            ExposeHeaders: ['ETag', 'x-amz-version-id'],
            MaxAgeSeconds: 3600,
          },
        ],
      },
    }),
  );

  const sns = new SNSClient({
    endpoint: setup.s3Endpoint,
    region: setup.region,
    credentials: setup.credentials,
  });
  let topicArn: string | undefined;
  try {
    const topic = await sns.send(
      new CreateTopicCommand({
        Name: 'airlock-object-created',
        Attributes: { 'push-endpoint': setup.pushEndpoint, persistent: 'true', OpaqueData: 'airlock' },
      }),
    );
    topicArn = topic.TopicArn;
  } catch {
    // Not RadosGW (MinIO, a real bucket…): no push notifications; the reconciler finds the uploads.
    return { notifications: false };
  }
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: setup.bucket,
      NotificationConfiguration: {
        TopicConfigurations: [
          {
            Id: 'airlock-quarantine-object-created',
            TopicArn: topicArn,
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: QUARANTINE_PREFIX }] } },
          },
        ],
      },
    }),
  );
  return { notifications: true };
}
