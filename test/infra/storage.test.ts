import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../../local/dynamo.js';
import { ENV, logicalIdOf, newApp, synthAirlock } from './support/synth.js';
import { resourceById, resourcesOfType } from './support/template.js';

// Arrange (once per stack): defaults, a customer-managed key, and custom retention and origins.
const defaults = synthAirlock();
const { withKey, keyArn, keyPolicy } = (() => {
  const app = newApp();
  const key = new kms.Key(new Stack(app, 'Keys', { env: ENV }), 'Key', { enableKeyRotation: true });
  // The key lives in another stack: the Airlock stack imports its ARN.
  const synthesized = synthAirlock({ encryptionKey: key }, app);
  return {
    withKey: synthesized,
    keyArn: { 'Fn::ImportValue': expect.stringContaining(logicalIdOf(key)) },
    keyPolicy: resourceById(Template.fromStack(Stack.of(key)), logicalIdOf(key)).Properties['KeyPolicy'] as {
      Statement: Array<Record<string, unknown>>;
    },
  };
})();
const ORIGIN = 'https://console.example.com';
const custom = synthAirlock({
  quarantineRetention: Duration.days(3),
  rejectedRetention: Duration.days(30),
  noncurrentVersionRetention: Duration.days(10),
  allowedOrigins: [ORIGIN],
});

const bucketOf = ({ stack, template }: typeof defaults) =>
  resourceById(template, logicalIdOf(stack.pipeline.bucket)).Properties;
const tableOf = ({ stack, template }: typeof defaults) =>
  resourceById(template, logicalIdOf(stack.pipeline.table)).Properties;

describe('uploads bucket', () => {
  const bucketId = logicalIdOf(defaults.stack.pipeline.bucket);
  const bucketArn = { 'Fn::GetAtt': [bucketId, 'Arn'] };
  const objectsArn = (suffix: string) => ({ 'Fn::Join': ['', [bucketArn, suffix]] });

  test('versioning is enabled', () => {
    expect(bucketOf(defaults)['VersioningConfiguration']).toEqual({ Status: 'Enabled' });
  });

  test('all four Block Public Access flags are on', () => {
    expect(bucketOf(defaults)['PublicAccessBlockConfiguration']).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  test('ACLs are disabled (BucketOwnerEnforced)', () => {
    expect(bucketOf(defaults)['OwnershipControls']).toEqual({
      Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
    });
  });

  test('objects are encrypted with SSE-S3 (AES256) by default', () => {
    expect(bucketOf(defaults)['BucketEncryption']).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  test('objects are encrypted with the given KMS key (aws:kms) when encryptionKey is set', () => {
    expect(bucketOf(withKey)['BucketEncryption']).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn },
          BucketKeyEnabled: true,
        },
      ],
    });
  });

  test('the bucket policy denies every request that is not over TLS', () => {
    defaults.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [bucketArn, objectsArn('/*')],
          },
        ]),
      },
    });
  });

  test('only the pipeline readers may read quarantine/ and rejected/ (DenyReadingUnvalidatedObjects)', () => {
    // Arrange
    const roleArn = (fn: 'validate' | 'promote' | 'reject' | 'scan-result') => ({
      'Fn::GetAtt': [logicalIdOf(defaults.stack.pipeline.functions[fn]!.role), 'Arn'],
    });
    const planRole = { 'Fn::GetAtt': [logicalIdOf(defaults.stack.pipeline.scanning.planRole), 'Arn'] };

    // Assert
    defaults.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'DenyReadingUnvalidatedObjects',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: ['s3:GetObject', 's3:GetObjectVersion'],
            Resource: [objectsArn('/quarantine/*'), objectsArn('/rejected/*')],
            Condition: {
              ArnNotEquals: {
                // The intake reads rejected/ (a HEAD before its one copy); GuardDuty's role scans quarantine/.
                'aws:PrincipalArn': [
                  roleArn('validate'),
                  roleArn('promote'),
                  roleArn('reject'),
                  roleArn('scan-result'),
                  planRole,
                ],
              },
            },
          },
        ]),
      },
    });
  });

  test('only Promote may write clean/ (DenyWritingCleanExceptPromote)', () => {
    // Assert
    defaults.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'DenyWritingCleanExceptPromote',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:PutObject',
            Resource: objectsArn('/clean/*'),
            Condition: {
              ArnNotEquals: {
                'aws:PrincipalArn': [
                  { 'Fn::GetAtt': [logicalIdOf(defaults.stack.pipeline.functions.promote.role), 'Arn'] },
                ],
              },
            },
          },
        ]),
      },
    });
  });

  test('lifecycle: quarantine/ expires after 7 days and rejected/ after 90, noncurrent versions after 30', () => {
    expect(bucketOf(defaults)['LifecycleConfiguration']).toEqual({
      Rules: expect.arrayContaining([
        expect.objectContaining({
          Prefix: 'quarantine/',
          Status: 'Enabled',
          ExpirationInDays: 7,
          NoncurrentVersionExpiration: { NoncurrentDays: 30 },
        }),
        expect.objectContaining({
          Prefix: 'rejected/',
          Status: 'Enabled',
          ExpirationInDays: 90,
          NoncurrentVersionExpiration: { NoncurrentDays: 30 },
        }),
      ]),
    });
  });

  test('lifecycle periods are configurable', () => {
    expect(bucketOf(custom)['LifecycleConfiguration']).toEqual({
      Rules: expect.arrayContaining([
        expect.objectContaining({
          Prefix: 'quarantine/',
          ExpirationInDays: 3,
          NoncurrentVersionExpiration: { NoncurrentDays: 10 },
        }),
        expect.objectContaining({
          Prefix: 'rejected/',
          ExpirationInDays: 30,
          NoncurrentVersionExpiration: { NoncurrentDays: 10 },
        }),
      ]),
    });
  });

  test("CORS: by default only the console's own CloudFront origin", () => {
    const cors = bucketOf(defaults)['CorsConfiguration'] as { CorsRules: Array<Record<string, unknown>> };
    expect(cors.CorsRules.map((rule) => rule['AllowedOrigins'])).toEqual([
      [
        expect.objectContaining({
          'Fn::Join': [
            '',
            [
              'https://',
              { 'Fn::GetAtt': [expect.stringMatching(/^PipelineConsoleDistribution/), 'DomainName'] },
            ],
          ],
        }),
      ],
    ]);
  });

  test('CORS: with allowedOrigins, only that origin and only the upload/download methods, no wildcard', () => {
    // Act
    const cors = bucketOf(custom)['CorsConfiguration'] as { CorsRules: Array<Record<string, string[]>> };

    // Assert
    expect(cors.CorsRules).toHaveLength(1);
    const [rule] = cors.CorsRules;
    expect(rule?.['AllowedOrigins']).toEqual([
      ORIGIN,
      expect.objectContaining({
        'Fn::Join': [
          '',
          [
            'https://',
            { 'Fn::GetAtt': [expect.stringMatching(/^PipelineConsoleDistribution/), 'DomainName'] },
          ],
        ],
      }),
    ]);
    expect([...(rule?.['AllowedMethods'] ?? [])].sort()).toEqual(['GET', 'HEAD', 'POST', 'PUT']);
    expect(JSON.stringify(rule)).not.toContain('*');
  });

  test('EventBridge notifications are enabled', () => {
    defaults.template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucketId },
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });

  test('server access logs go to the access-log bucket', () => {
    // Arrange
    const accessLogsId = logicalIdOf(defaults.stack.pipeline.node.findChild('AccessLogsBucket'));

    // Assert
    expect(accessLogsId).not.toBe(bucketId);
    expect(bucketOf(defaults)['LoggingConfiguration']).toEqual({
      DestinationBucketName: { Ref: accessLogsId },
      LogFilePrefix: expect.any(String),
    });
  });
});

describe('uploads table', () => {
  test('billing is on demand (PAY_PER_REQUEST)', () => {
    expect(tableOf(defaults)['BillingMode']).toBe('PAY_PER_REQUEST');
  });

  test('point-in-time recovery is enabled', () => {
    expect(tableOf(defaults)['PointInTimeRecoverySpecification']).toEqual({
      PointInTimeRecoveryEnabled: true,
    });
  });

  test('deletion protection is enabled', () => {
    expect(tableOf(defaults)['DeletionProtectionEnabled']).toBe(true);
  });

  test('the GSIs are byOwner (ownerKey, createdKey) and byStatus (statusKey, updatedKey), projecting the record but not its trail', () => {
    const index = (name: string, hash: string, range: string) => ({
      IndexName: name,
      KeySchema: [
        { AttributeName: hash, KeyType: 'HASH' },
        { AttributeName: range, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: expect.any(Array) as unknown },
    });
    const indexes = tableOf(defaults)['GlobalSecondaryIndexes'] as Array<{
      Projection: { NonKeyAttributes: string[] };
    }>;
    expect(indexes).toEqual([
      index('byOwner', 'ownerKey', 'createdKey'),
      index('byStatus', 'statusKey', 'updatedKey'),
    ]);
    for (const { Projection } of indexes) {
      // What list, audit and the sweeper read of a record; never the trail or its bookkeeping.
      expect(Projection.NonKeyAttributes).toEqual(
        expect.arrayContaining(['uploadId', 'owner', 'status', 'updatedAt', 'expiresAt', 'trailHead']),
      );
      expect(Projection.NonKeyAttributes).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/^(events|discardedVersions|ttl)$/)]),
      );
    }
  });

  test('the local table projects exactly what the deployed one does', async () => {
    // Arrange: the table the local runtime creates (local/dynamo.ts), captured from its request
    const sent: CreateTableCommandInput[] = [];
    const client = {
      send: (command: { input: unknown; constructor: { name: string } }) => {
        if (command.constructor.name === 'CreateTableCommand')
          sent.push(command.input as CreateTableCommandInput);
        return Promise.resolve(
          command.constructor.name === 'DescribeTableCommand' ? { Table: { TableStatus: 'ACTIVE' } } : {},
        );
      },
    } as unknown as DynamoDBClient;
    // Act
    await ensureTable(client, 'local');
    // Assert
    const deployed = tableOf(defaults)['GlobalSecondaryIndexes'] as Array<Record<string, unknown>>;
    expect(sent[0]?.GlobalSecondaryIndexes?.map((gsi) => [gsi.IndexName, gsi.Projection])).toEqual(
      deployed.map((gsi) => [gsi['IndexName'], gsi['Projection']]),
    );
  });

  test('TTL is on ttl, which only abandoned records, quota counters and idempotency keys set', () => {
    expect(tableOf(defaults)['TimeToLiveSpecification']).toEqual({ AttributeName: 'ttl', Enabled: true });
  });

  test('server-side encryption is enabled', () => {
    expect(tableOf(defaults)['SSESpecification']).toEqual({ SSEEnabled: true });
  });

  test('server-side encryption uses the given KMS key when encryptionKey is set', () => {
    expect(tableOf(withKey)['SSESpecification']).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: keyArn,
    });
  });
});

describe('log groups (functions, state machine, API access logs)', () => {
  const logGroups = ({ template }: typeof defaults) => [
    ...resourcesOfType(template, 'AWS::Logs::LogGroup').values(),
  ];

  test('there is one per function, one for the state machine and one for the API', () => {
    expect(logGroups(defaults)).toHaveLength(19 + 2); // 19 functions (no webhook endpoint, no delivery)
  });

  test("by default they use CloudWatch Logs' own encryption (no KMS key named)", () => {
    expect(logGroups(defaults).map((logGroup) => logGroup.Properties['KmsKeyId'])).toEqual(
      logGroups(defaults).map(() => undefined),
    );
  });

  test('every log group is encrypted with the given KMS key when encryptionKey is set', () => {
    expect(logGroups(withKey).map((logGroup) => logGroup.Properties['KmsKeyId'])).toEqual(
      logGroups(withKey).map(() => keyArn),
    );
  });

  test("the key policy lets CloudWatch Logs use the key, for this account's and region's log groups only", () => {
    const forLogs = keyPolicy.Statement.filter(
      (statement) =>
        JSON.stringify(statement['Principal']) ===
        JSON.stringify({ Service: 'logs.eu-west-1.amazonaws.com' }),
    );
    expect(forLogs).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'logs.eu-west-1.amazonaws.com' },
        Action: ['kms:Decrypt*', 'kms:Describe*', 'kms:Encrypt*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        Resource: '*',
        Condition: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': {
              'Fn::Join': [
                '',
                ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:123456789012:log-group:*'],
              ],
            },
          },
        },
      },
    ]);
  });
});
