import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { isTransientAwsError, toPipelineError } from '../../../functions/adapters/aws-errors.js';
import { ObjectStore } from '../../../functions/adapters/object-store.js';
import { Presigner } from '../../../functions/adapters/presigner.js';
import { installLocalHooks, instrumentClient } from '../../../functions/commons/local-hooks.js';
import { IamEnforcer } from '../../../local/iam/enforcer.js';
import { invokeFunction } from '../../../local/sandbox.js';
import { deployment, STATE_MACHINE, WHERE } from './fixture.js';

const ID = '01JNB8Y6Z4Q2W7E5R3T9K1M0PA';
const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

/** A stand-in for the servers: records what reaches it and answers 200. */
interface FakeResponse {
  response: { statusCode: number; headers: Record<string, string>; body: Uint8Array | Readable };
}

function fakeServer(body: () => Uint8Array | Readable = () => Buffer.from('{}')) {
  const received: Array<{ method: string; path: string }> = [];
  return {
    received,
    handler: {
      handle: (request: { method: string; path: string }): Promise<FakeResponse> => {
        received.push({ method: request.method, path: request.path });
        return Promise.resolve({
          response: { statusCode: 200, headers: { 'content-type': 'application/json' }, body: body() },
        });
      },
    },
  };
}

function setUp() {
  const reportDir = mkdtempSync(join(tmpdir(), 'airlock-iam-unit-'));
  const enforcer = new IamEnforcer(deployment(), WHERE, 'fixture', [join(reportDir, 'report.json')]);
  installLocalHooks(enforcer.hooks);
  const server = fakeServer();
  const config = { region: 'us-east-1', credentials, requestHandler: server.handler as never };
  const s3 = instrumentClient(
    new S3Client({ ...config, endpoint: 'http://127.0.0.1:1', forcePathStyle: true }),
  );
  const dynamodb = instrumentClient(new DynamoDBClient({ ...config, endpoint: 'http://127.0.0.1:1' }));
  const sfn = instrumentClient(new SFNClient({ ...config, endpoint: 'http://127.0.0.1:1' }));
  return { enforcer, server, s3, dynamodb, sfn, reportDir };
}

const as = <R>(name: string, run: () => Promise<R>, timeoutSeconds = 30) =>
  invokeFunction(name, { timeoutSeconds }, run, undefined);

async function failure(run: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await run;
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected a failure, got a result.');
}

afterEach(() => installLocalHooks(undefined));

describe('local IAM enforcement of SDK calls', () => {
  it('lets an allowed call through to the server, once', async () => {
    // Arrange
    const { server, dynamodb, enforcer } = setUp();
    // Act
    await as('get-upload', () =>
      dynamodb.send(new GetItemCommand({ TableName: 'records', Key: { pk: { S: 'x' } } })),
    );
    // Assert
    expect(server.received).toHaveLength(1);
    expect(enforcer.snapshot().byPrincipal['get-upload']).toEqual({
      'dynamodb:GetItem': { checked: 1, denied: 0 },
    });
  });

  it('fails a call the role does not grant as DynamoDB does (AccessDeniedException, 400), never reaching the server', async () => {
    // Arrange
    const { server, dynamodb, enforcer } = setUp();
    // Act
    const error = await failure(
      as('get-upload', () =>
        dynamodb.send(new PutItemCommand({ TableName: 'records', Item: { pk: { S: 'x' } } })),
      ),
    );
    // Assert
    expect(server.received).toEqual([]);
    expect({ name: error.name, status: error.$metadata?.httpStatusCode }).toEqual({
      name: 'AccessDeniedException',
      status: 400,
    });
    expect(error.message).toBe(
      'User: arn:aws:sts::000000000000:assumed-role/airlock-get-upload/get-upload is not authorized to perform: ' +
        'dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/records ' +
        'because no identity-based policy allows the dynamodb:PutItem action',
    );
    // Not transient: the state machine does not retry it, the API answers 500.
    expect(isTransientAwsError(error)).toBe(false);
    expect(toPipelineError('PutItem', error).name).toBe('DependencyError');
    expect(enforcer.snapshot().sdkCalls).toEqual({ checked: 1, denied: 1 });
  });

  it("fails a read the bucket policy denies as S3 does (AccessDenied, 403), even when the role's own policy allows it", async () => {
    // Arrange: "leaky" is granted s3:* on every object; the bucket policy's explicit deny wins.
    const { server, s3 } = setUp();
    // Act
    const error = await failure(
      as('leaky', () =>
        s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: `quarantine/${ID}`, VersionId: 'v1' })),
      ),
    );
    // Assert
    expect(server.received).toEqual([]);
    expect({ name: error.name, status: error.$metadata?.httpStatusCode }).toEqual({
      name: 'AccessDenied',
      status: 403,
    });
    expect(error.message).toContain('s3:GetObjectVersion on resource: arn:aws:s3:::uploads/quarantine/');
    expect(error.message).toContain('with an explicit deny in a resource-based policy');
  });

  it('lets the reader the bucket policy names read the same object', async () => {
    const { server, s3 } = setUp();
    server.handler.handle = (request) => {
      server.received.push({ method: request.method, path: request.path });
      return Promise.resolve({
        response: { statusCode: 200, headers: {}, body: Readable.from([Buffer.from('x')]) },
      });
    };
    await as('validate', () =>
      s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: `quarantine/${ID}`, VersionId: 'v1' })),
    );
    expect(server.received).toEqual([{ method: 'GET', path: `/uploads/quarantine/${ID}` }]);
  });

  it('a denied HEAD has no body, as on AWS: the object store reads it as "no object" (and the copy is what fails)', async () => {
    const { s3, server } = setUp();
    const error = await failure(
      as('get-upload', () => s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: `rejected/${ID}` }))),
    );
    expect(error.$metadata?.httpStatusCode).toBe(403);
    await expect(
      as('get-upload', () => new ObjectStore(s3).head('uploads', `rejected/${ID}`)),
    ).resolves.toBeUndefined();
    expect(server.received).toEqual([]);
  });

  it('checks the s3:prefix condition of a listing', async () => {
    const { s3, server } = setUp();
    const objects = new ObjectStore(s3);
    server.handler.handle = () =>
      Promise.resolve({
        response: { statusCode: 200, headers: {}, body: Buffer.from('<ListVersionsResult/>') },
      });
    await expect(as('sweeper', () => objects.listVersions('uploads', `quarantine/${ID}`))).resolves.toEqual(
      [],
    );
    const error = await failure(as('sweeper', () => objects.listVersions('uploads', `clean/${ID}`)));
    expect((error.cause as Error).name).toBe('AccessDenied');
  });

  it('checks Step Functions calls (AccessDeniedException) against the state machine ARN', async () => {
    const { sfn, server } = setUp();
    server.handler.handle = () =>
      Promise.resolve({
        response: { statusCode: 200, headers: {}, body: Buffer.from('{"executionArn":"e","startDate":1}') },
      });
    await as('sweeper', () =>
      sfn.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE, input: '{}' })),
    );
    const error = await failure(
      as('validate', () => sfn.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE }))),
    );
    expect(error.name).toBe('AccessDeniedException');
  });

  it('refuses, loudly, a call made outside any function invocation', async () => {
    const { dynamodb, server } = setUp();
    const error = await failure(
      dynamodb.send(new GetItemCommand({ TableName: 'records', Key: { pk: { S: 'x' } } })),
    );
    expect(error.message).toMatch(/outside any function invocation/);
    expect(server.received).toEqual([]);
  });

  it('refuses the calls an invocation makes after its timeout (Lambda would have stopped it)', async () => {
    // Arrange
    const { dynamodb, server, enforcer } = setUp();
    let lateCall: (call: Promise<Error | undefined>) => void = () => undefined;
    const late = new Promise<Error | undefined>((resolve) => (lateCall = resolve));
    const slow = () =>
      new Promise<void>((resolve) =>
        setTimeout(() => {
          lateCall(
            dynamodb.send(new GetItemCommand({ TableName: 'records', Key: { pk: { S: 'x' } } })).then(
              () => undefined,
              (error: unknown) => error as Error,
            ),
          );
          resolve();
        }, 80),
      );
    // Act
    const timedOut = await failure(invokeFunction('get-upload', { timeoutSeconds: 0.02 }, slow, undefined));
    const refused = await late;
    // Assert
    expect(timedOut.name).toBe('Sandbox.Timedout');
    expect(refused?.name).toBe('SandboxStoppedError');
    expect(server.received).toEqual([]);
    expect(enforcer.snapshot().refusedAfterTimeout).toBe(1);
  });

  it('writes its report, denials included', async () => {
    const { dynamodb, enforcer, reportDir } = setUp();
    await failure(as('validate', () => dynamodb.send(new GetItemCommand({ TableName: 'records', Key: {} }))));
    enforcer.stop();
    const [file] = readdirSync(reportDir).filter((name) => name.endsWith('.json'));
    const report = JSON.parse(readFileSync(join(reportDir, file ?? ''), 'utf8')) as ReturnType<
      IamEnforcer['snapshot']
    >;
    expect(report.sdkCalls).toEqual({ checked: 1, denied: 1 });
    expect(report.denials).toEqual([
      expect.objectContaining({ principal: 'validate', action: 'dynamodb:GetItem' }),
    ]);
  });
});

describe('local IAM check of presigned grants, at signing', () => {
  const presigner = (s3: S3Client) => new Presigner('uploads', s3);
  const put = (key: string) => ({
    key,
    ifNoneMatch: '*' as const,
    contentType: 'application/pdf',
    contentLength: 10,
    metadata: {},
    expiresSeconds: 60,
  });
  const download = (key: string) => ({
    key,
    contentType: 'application/pdf',
    contentDisposition: 'attachment',
    ttlSeconds: 60,
  });

  it('signs what the signing role could do itself', async () => {
    const { s3, enforcer } = setUp();
    await expect(
      as('get-upload', () => presigner(s3).signDownload(download(`clean/${ID}`))),
    ).resolves.toMatch(/X-Amz-Signature=/);
    await expect(as('create-upload', () => presigner(s3).signPut(put(`quarantine/${ID}`)))).resolves.toMatch(
      /X-Amz-Signature=/,
    );
    await expect(
      as('create-upload', () =>
        presigner(s3).signPost({
          key: `quarantine/${ID}`,
          fields: {},
          conditions: [['content-length-range', 1, 1]],
          expiresSeconds: 60,
        }),
      ),
    ).resolves.toEqual(
      expect.objectContaining({ fields: expect.objectContaining({ key: `quarantine/${ID}` }) }),
    );
    expect(enforcer.snapshot().presignedGrants).toEqual({ checked: 3, denied: 0 });
  });

  it.each([
    [
      'get-upload',
      'a GET of quarantine/ (the bucket policy denies it)',
      (s3: S3Client) => presigner(s3).signDownload(download(`quarantine/${ID}`)),
    ],
    ['get-upload', 'a PUT (not granted)', (s3: S3Client) => presigner(s3).signPut(put(`quarantine/${ID}`))],
    [
      'create-upload',
      'a PUT outside quarantine/',
      (s3: S3Client) => presigner(s3).signPut(put(`clean/${ID}`)),
    ],
  ])('%s may not sign %s: AccessDenied, nothing signed', async (name, _what, sign) => {
    const { s3, enforcer } = setUp();
    const error = await failure(as(name, () => sign(s3)));
    expect({ name: error.name, status: error.$metadata?.httpStatusCode }).toEqual({
      name: 'AccessDenied',
      status: 403,
    });
    expect(enforcer.snapshot().presignedGrants).toEqual({ checked: 1, denied: 1 });
  });
});
