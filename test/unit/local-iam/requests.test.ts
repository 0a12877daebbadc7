import { iamRequestsFor, parseCopySource, UnmappedCommandError } from '../../../local/iam/requests.js';

const where = { region: 'us-east-1', account: '000000000000' };
const ID = '01JNB8Y6Z4Q2W7E5R3T9K1M0PA';

describe('local IAM: SDK commands as AWS authorizes them', () => {
  it.each([
    ['GetObject', { VersionId: 'v1' }, 's3:GetObjectVersion', { 's3:versionid': 'v1' }],
    ['GetObject', {}, 's3:GetObject', {}],
    ['HeadObject', { VersionId: 'v1' }, 's3:GetObjectVersion', { 's3:versionid': 'v1' }],
    ['HeadObject', {}, 's3:GetObject', {}],
    ['DeleteObject', { VersionId: 'v1' }, 's3:DeleteObjectVersion', { 's3:versionid': 'v1' }],
    ['DeleteObject', {}, 's3:DeleteObject', {}],
    ['PutObject', {}, 's3:PutObject', {}],
  ])('%s %j is %s on the object', (command, extra, action, context) => {
    // Act
    const requests = iamRequestsFor(
      's3',
      `${command}Command`,
      { Bucket: 'b', Key: `quarantine/${ID}`, ...extra },
      where,
    );
    // Assert
    expect(requests).toEqual([{ action, resource: `arn:aws:s3:::b/quarantine/${ID}`, context }]);
  });

  it('CopyObject reads the named source version and writes the target', () => {
    // Arrange
    const CopySource = `b/${encodeURIComponent(`quarantine/${ID}`)}?versionId=${encodeURIComponent('3/L4+x')}`;
    // Act
    const requests = iamRequestsFor(
      's3',
      'CopyObjectCommand',
      { Bucket: 'b', Key: `clean/${ID}`, CopySource, MetadataDirective: 'REPLACE' },
      where,
    );
    // Assert
    expect(requests).toEqual([
      {
        action: 's3:GetObjectVersion',
        resource: `arn:aws:s3:::b/quarantine/${ID}`,
        context: { 's3:versionid': '3/L4+x' },
      },
      {
        action: 's3:PutObject',
        resource: `arn:aws:s3:::b/clean/${ID}`,
        context: { 's3:x-amz-copy-source': CopySource, 's3:x-amz-metadata-directive': 'REPLACE' },
      },
    ]);
  });

  it('CopyObject of the current version reads it with s3:GetObject', () => {
    expect(parseCopySource('/b/a%2Fb%20c.pdf')).toEqual({ bucket: 'b', key: 'a/b c.pdf' });
    const [read] = iamRequestsFor('s3', 'CopyObject', { Bucket: 'b', Key: 'k2', CopySource: 'b/k1' }, where);
    expect(read).toEqual({ action: 's3:GetObject', resource: 'arn:aws:s3:::b/k1', context: {} });
  });

  it('ListObjectVersions is s3:ListBucketVersions on the bucket, with s3:prefix and s3:max-keys', () => {
    const requests = iamRequestsFor(
      's3',
      'ListObjectVersionsCommand',
      { Bucket: 'b', Prefix: `quarantine/${ID}`, MaxKeys: 100 },
      where,
    );
    expect(requests).toEqual([
      {
        action: 's3:ListBucketVersions',
        resource: 'arn:aws:s3:::b',
        context: { 's3:prefix': `quarantine/${ID}`, 's3:max-keys': '100' },
      },
    ]);
  });

  it('a Query of an index is checked against the index ARN, of the table against the table', () => {
    const table = 'arn:aws:dynamodb:us-east-1:000000000000:table/t';
    expect(
      iamRequestsFor('dynamodb', 'QueryCommand', { TableName: 't', IndexName: 'byStatus' }, where),
    ).toEqual([{ action: 'dynamodb:Query', resource: `${table}/index/byStatus`, context: {} }]);
    expect(iamRequestsFor('dynamodb', 'QueryCommand', { TableName: 't' }, where)).toEqual([
      { action: 'dynamodb:Query', resource: table, context: {} },
    ]);
  });

  it.each([
    ['GetItemCommand', 'dynamodb:GetItem'],
    ['GetCommand', 'dynamodb:GetItem'],
    ['PutItemCommand', 'dynamodb:PutItem'],
    ['PutCommand', 'dynamodb:PutItem'],
    ['UpdateItemCommand', 'dynamodb:UpdateItem'],
    ['UpdateCommand', 'dynamodb:UpdateItem'],
    ['DeleteItemCommand', 'dynamodb:DeleteItem'],
  ])('DynamoDB %s is %s on the table', (command, action) => {
    expect(iamRequestsFor('dynamodb', command, { TableName: 't' }, where)).toEqual([
      { action, resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/t', context: {} },
    ]);
  });

  it('StartExecution is on the state machine, DescribeExecution on the execution', () => {
    const machine = 'arn:aws:states:us-east-1:000000000000:stateMachine:p';
    const execution = 'arn:aws:states:us-east-1:000000000000:execution:p:e1';
    expect(iamRequestsFor('sfn', 'StartExecutionCommand', { stateMachineArn: machine }, where)).toEqual([
      { action: 'states:StartExecution', resource: machine, context: {} },
    ]);
    expect(iamRequestsFor('sfn', 'DescribeExecutionCommand', { executionArn: execution }, where)).toEqual([
      { action: 'states:DescribeExecution', resource: execution, context: {} },
    ]);
  });

  it('maps tagging a named version and an on-demand GuardDuty scan as IAM authorizes them', () => {
    expect(
      iamRequestsFor(
        's3',
        'PutObjectTaggingCommand',
        { Bucket: 'b', Key: 'clean/k', VersionId: 'v1' },
        where,
      ),
    ).toEqual([
      {
        action: 's3:PutObjectVersionTagging',
        resource: 'arn:aws:s3:::b/clean/k',
        context: { 's3:versionid': 'v1' },
      },
    ]);
    expect(iamRequestsFor('s3', 'PutObjectTagging', { Bucket: 'b', Key: 'clean/k' }, where)).toEqual([
      { action: 's3:PutObjectTagging', resource: 'arn:aws:s3:::b/clean/k', context: {} },
    ]);
    // SendObjectMalwareScan names no resource type: it is authorized on "*".
    expect(
      iamRequestsFor(
        'guardduty',
        'SendObjectMalwareScanCommand',
        { S3Object: { Bucket: 'b', Key: 'k' } },
        where,
      ),
    ).toEqual([{ action: 'guardduty:SendObjectMalwareScan', resource: '*', context: {} }]);
  });

  it.each([
    ['s3', 'DeleteObjectsCommand'],
    ['s3', 'PutBucketPolicyCommand'],
    ['guardduty', 'StartMalwareScanCommand'],
    ['dynamodb', 'ScanCommand'],
    ['dynamodb', 'TransactWriteItemsCommand'],
    ['sfn', 'StopExecutionCommand'],
    ['s3', 'constructor'],
  ] as const)('refuses an unmapped command (%s %s) instead of letting it through', (service, command) => {
    expect(() => iamRequestsFor(service, command, { Bucket: 'b', Key: 'k', TableName: 't' }, where)).toThrow(
      UnmappedCommandError,
    );
  });
});
