import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { StateMachine } from 'aws-local-stepfunctions';
import { ObjectStore } from '../functions/adapters/object-store.js';
import { IdempotencyStore } from '../functions/adapters/idempotency-store.js';
import { Presigner } from '../functions/adapters/presigner.js';
import { QuotaStore } from '../functions/adapters/quota-store.js';
import { UploadStore } from '../functions/adapters/upload-store.js';
import type { ApiEvent } from '../functions/commons/http.js';
import { makeClaimHandler } from '../functions/claim.js';
import { makeCreateUploadHandler } from '../functions/create-upload.js';
import { makeGetUploadHandler } from '../functions/get-upload.js';
import { makePromoteHandler } from '../functions/promote.js';
import { makeRecordOutcomeHandler } from '../functions/record-outcome.js';
import { makeRejectHandler } from '../functions/reject.js';
import { makeReleaseQuarantineHandler } from '../functions/release-quarantine.js';
import { makePublishOutcomeHandler } from '../functions/publish-outcome.js';
import { OutcomeOutbox } from '../functions/adapters/outcome-outbox.js';
import { makeValidateHandler } from '../functions/validate.js';
import { makeScanHandler } from '../functions/scan.js';
import { makeScanResultHandler } from '../functions/scan-result.js';
import { ScanResultStore } from '../functions/adapters/scan-result-store.js';
import { GUARDDUTY_SOURCE, SCAN_RESULT_DETAIL_TYPE } from '../functions/domain/scan-result-event.js';
import { objectCreatedEvent } from '../functions/domain/object-event.js';
import { DEFAULT_TYPE_POLICY } from '../functions/domain/type-policy.js';
import { ensureTable } from '../local/dynamo.js';
import {
  bindTaskStates,
  localDefinition,
  type TaskFunctionName,
  type TaskHandler,
} from '../local/executor.js';
import { csvDocument, rejectedDocument } from './client.js';
import type { BenchRuntime } from './runtime.js';
import {
  instrumentDynamo,
  instrumentS3,
  type ProbedPath,
  type ProbeResult,
  type Recorder,
} from './cost-recording.js';
import { median, round } from './stats.js';

/**
 * Counts what one document costs in requests, by running it through the real handlers and the
 * real ASL (aws-local-stepfunctions, as the local executor does) in this process, with S3 and
 * DynamoDB clients that record every request they send. It runs against the runtime's servers
 * but in a bucket and table of its own (no notifications, so the runtime never sees it).
 * DynamoDB capacity units are computed from the items before and after each write, index by
 * index, as DynamoDB bills them.
 */

function guardDutyResult(bucket: string, key: string, versionId: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': SCAN_RESULT_DETAIL_TYPE,
    source: GUARDDUTY_SOURCE,
    account: '000000000000',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: [],
    detail: {
      schemaVersion: '1.0',
      scanStatus: 'COMPLETED',
      resourceType: 'S3_OBJECT',
      s3ObjectDetails: { bucketName: bucket, objectKey: key, eTag: 'etag', versionId, s3Throttled: false },
      scanResultDetails: { scanResultStatus: 'NO_THREATS_FOUND', threats: null },
    },
  };
}

function apiEvent(routeKey: string, path: string, sub: string, extra: Partial<ApiEvent> = {}): ApiEvent {
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'localhost', 'x-forwarded-proto': 'http', 'content-type': 'application/json' },
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'bench',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: routeKey.split(' ')[0] ?? 'GET',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'bench',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: { sub }, scopes: [] } },
    },
    ...extra,
  };
}

export async function runCostProbe(
  runtime: BenchRuntime,
  options: { timingRepeats: number },
  log: (message: string) => void,
): Promise<ProbeResult> {
  const suffix = randomUUID().slice(0, 8);
  const bucket = `airlock-bench-probe-${suffix}`;
  const table = `airlock-bench-probe-${suffix}`;
  const base = {
    region: runtime.region,
    credentials: runtime.credentials,
  };
  const s3Config = {
    ...base,
    endpoint: runtime.s3Endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
    responseChecksumValidation: 'WHEN_REQUIRED' as const,
  };
  const plainS3 = new S3Client(s3Config);
  const plainDynamo = new DynamoDBClient({ ...base, endpoint: runtime.dynamoDbEndpoint });
  const s3 = new S3Client(s3Config);
  const dynamo = new DynamoDBClient({ ...base, endpoint: runtime.dynamoDbEndpoint });
  let current: Recorder = { step: 'setup', dynamo: [], s3: {} };
  instrumentDynamo(dynamo, plainDynamo, () => current);
  instrumentS3(s3, () => current);

  await plainS3.send(new CreateBucketCommand({ Bucket: bucket }));
  await plainS3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  await ensureTable(plainDynamo, table);
  try {
    const store = new UploadStore(table, dynamo);
    const results = new ScanResultStore(table, dynamo);
    const objects = new ObjectStore(s3);
    const presigner = new Presigner(bucket, s3);
    const now = () => new Date();
    const createUpload = makeCreateUploadHandler(() => ({
      store,
      presigner,
      policy: DEFAULT_TYPE_POLICY,
      uploadTtlSeconds: 900,
      abandonedRecordRetentionSeconds: 90 * 86_400,
      now,
      quotas: new QuotaStore(table, dynamo),
      quotaLimits: { openGrants: 5000, bytesPerDay: Number.MAX_SAFE_INTEGER },
      idempotency: new IdempotencyStore(table, dynamo),
    }));
    const getUpload = makeGetUploadHandler(() => ({
      store,
      presigner,
      policy: DEFAULT_TYPE_POLICY,
      downloadTtlSeconds: 300,
      now,
    }));
    // Each task handler records its own step name while it runs.
    const stepped = (step: string, handler: (input: unknown) => Promise<unknown>): TaskHandler => {
      return async (input) => {
        const previous = current.step;
        current.step = step;
        try {
          return await handler(input);
        } finally {
          current.step = previous;
        }
      };
    };
    const tasks: Record<TaskFunctionName, TaskHandler> = {
      claim: stepped(
        'claim',
        makeClaimHandler(() => ({ store, now, quotas: new QuotaStore(table, dynamo) })),
      ),
      validate: stepped(
        'validate',
        makeValidateHandler(() => ({ objects, policy: DEFAULT_TYPE_POLICY })),
      ),
      // As deployed with GuardDuty: the result is stored by the intake (below), the step reads it.
      scan: stepped(
        'scan',
        makeScanHandler(() => ({ results, scanner: 'guardduty', now })),
      ),
      promote: stepped(
        'promote',
        makePromoteHandler(() => ({ objects })),
      ),
      reject: stepped(
        'reject',
        makeRejectHandler(() => ({ objects })),
      ),
      'record-outcome': stepped(
        'record-outcome',
        makeRecordOutcomeHandler(() => ({ store, now })),
      ),
      'release-quarantine': stepped(
        'release-quarantine',
        makeReleaseQuarantineHandler(() => ({ objects })),
      ),
      // Publish reads the record and its trail, HEADs the copy and marks the record; the bus is
      // a stand-in here (PutEvents is priced per event, not measured).
      'publish-outcome': stepped(
        'publish-outcome',
        makePublishOutcomeHandler(() => ({
          outbox: new OutcomeOutbox(table, dynamo),
          objects,
          publisher: { publish: () => Promise.resolve() },
          bucket,
        })),
      ),
    };
    const intake = makeScanResultHandler(() => ({ results, store, objects, bucket, now }));
    const intakeMs: number[] = [];
    const definition: StateMachineDefinition = localDefinition();
    const machine = new StateMachine(definition);
    const bound = bindTaskStates(definition, tasks);

    const runDocument = async (document: { bytes: Buffer; sha256: string }): Promise<ProbedPath> => {
      current = { step: 'create-upload', dynamo: [], s3: {} };
      const response = await createUpload(
        apiEvent('POST /uploads', '/uploads', 'bench-probe', {
          body: JSON.stringify({
            fileName: 'bench.csv',
            contentType: 'text/csv',
            size: document.bytes.length,
            sha256: document.sha256,
            method: 'PUT',
          }),
        }),
      );
      const created = JSON.parse(String(response.body)) as {
        uploadId: string;
        upload: { url: string; headers: Record<string, string> };
      };
      // The client's own upload (a signed PUT, sent with fetch: not through the counted client).
      const headers = { ...created.upload.headers };
      delete headers['content-length'];
      const put = await fetch(created.upload.url, { method: 'PUT', body: document.bytes, headers });
      await put.arrayBuffer();
      if (put.status !== 200) throw new Error(`probe upload → ${put.status}`);
      current.s3.PutObject = (current.s3.PutObject ?? 0) + 1;
      const versionId = put.headers.get('x-amz-version-id') ?? 'null';
      const key = `quarantine/${created.uploadId}`;
      // GuardDuty scans every new version and publishes its result, which the intake stores.
      current.step = 'scan-result';
      const intakeStarted = performance.now();
      await intake(guardDutyResult(bucket, key, versionId));
      intakeMs.push(performance.now() - intakeStarted);
      current.step = 'execution';
      const name = randomUUID();
      const execution = machine.run(
        objectCreatedEvent({
          id: name,
          bucket,
          key,
          size: document.bytes.length,
          versionId,
          time: new Date(),
          reason: 'PutObject',
        }) as never,
        {
          overrides: { taskResourceLocalHandlers: bound as never },
          context: {
            Execution: {
              Id: `arn:aws:states:us-east-1:000000000000:execution:bench-probe:${name}`,
              Name: name,
              StartTime: new Date().toISOString(),
            },
          },
        },
      );
      const events: Array<{ type: string; state?: { name: string; type: string } }> = [];
      const history = (async () => {
        for await (const event of execution.eventLogs) events.push(event);
      })();
      await execution.result;
      await history;
      const previous = current.step;
      current.step = 'get-upload';
      const status = await getUpload(
        apiEvent('GET /uploads/{id}', `/uploads/${created.uploadId}`, 'bench-probe', {
          pathParameters: { id: created.uploadId },
        }),
      );
      current.step = previous;
      const entered = events.filter((event) => event.type === 'StateEntered' && event.state);
      return {
        status: (JSON.parse(String(status.body)) as { status: string }).status,
        bytes: document.bytes.length,
        statesEntered: entered.map((event) => event.state?.name ?? ''),
        taskStates: entered
          .filter((event) => event.state?.type === 'Task')
          .map((event) => event.state?.name ?? ''),
        retries: events.filter((event) => event.type === 'StateRetried').length,
        dynamo: current.dynamo,
        s3: current.s3,
      };
    };

    await runDocument(csvDocument()); // warm-up: lazily built clients, JIT
    const processed = await runDocument(csvDocument());
    const rejected = await runDocument(rejectedDocument());
    if (processed.status !== 'PROCESSED' || rejected.status !== 'REJECTED') {
      throw new Error(
        `cost probe: expected PROCESSED and REJECTED, got ${processed.status}, ${rejected.status}`,
      );
    }

    // The API functions' own time (what Lambda bills), in process, after the warm-up.
    const createMs: number[] = [];
    const getMs: number[] = [];
    const document = csvDocument();
    for (let i = 0; i < options.timingRepeats; i++) {
      current = { step: 'timing', dynamo: [], s3: {} };
      let started = performance.now();
      const response = await createUpload(
        apiEvent('POST /uploads', '/uploads', 'bench-probe', {
          body: JSON.stringify({
            fileName: 'bench.csv',
            contentType: 'text/csv',
            size: document.bytes.length,
            sha256: document.sha256,
          }),
        }),
      );
      createMs.push(performance.now() - started);
      const { uploadId } = JSON.parse(String(response.body)) as { uploadId: string };
      started = performance.now();
      await getUpload(
        apiEvent('GET /uploads/{id}', `/uploads/${uploadId}`, 'bench-probe', {
          pathParameters: { id: uploadId },
        }),
      );
      getMs.push(performance.now() - started);
    }
    log(
      `cost probe: processed ${processed.taskStates.length} tasks, ${processed.dynamo.length} DynamoDB and ` +
        `${Object.values(processed.s3).reduce((a, b) => a + b, 0)} S3 requests per document`,
    );
    return {
      processed,
      rejected,
      apiHandlerMs: { 'create-upload': round(median(createMs), 2), 'get-upload': round(median(getMs), 2) },
      intakeMs: round(median(intakeMs.slice(1)), 2),
    };
  } finally {
    await plainDynamo.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    const versions = await plainS3
      .send(new ListObjectVersionsCommand({ Bucket: bucket }))
      .catch(() => undefined);
    for (const version of [...(versions?.Versions ?? []), ...(versions?.DeleteMarkers ?? [])]) {
      await plainS3
        .send(new DeleteObjectCommand({ Bucket: bucket, Key: version.Key, VersionId: version.VersionId }))
        .catch(() => undefined);
    }
    await plainS3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
  }
}
