import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { ApiHandler } from './api-server.js';
import { startApiServer } from './api-server.js';
import { consoleRoutes } from './console-assets.js';
import { openApiStaticRoute } from './openapi-route.js';
import { makeVerifier } from './auth.js';
import { startCeph, type RunningCeph } from './ceph.js';
import { faultReport, faultsEnabled, parseFaultRates, setFaultRates } from '../functions/commons/faults.js';
import { ensureTable, startDynalite } from './dynamo.js';
import { LocalExecutor, type TaskFunctionName, type TaskHandler } from './executor.js';
import { startRouter } from './router.js';
import { setUpBucket } from './s3-setup.js';
import { readLocalSettings, type LocalSettings } from './settings.js';

export interface RunningRuntime {
  apiUrl: string;
  settings: LocalSettings;
  executor: LocalExecutor;
  s3Endpoint: string;
  stop(): Promise<void>;
}

type Log = (message: string) => void;

/**
 * Brings up the whole pipeline on this machine, on real servers: dynalite, Ceph RadosGW (or the
 * S3 endpoint named by AIRLOCK_S3_ENDPOINT), the event router, the state machine executor, the
 * reconciler and the HTTP API. The handlers are the very modules AWS runs.
 */
export async function startRuntime(
  settings: LocalSettings = readLocalSettings(),
  log: Log = () => undefined,
): Promise<RunningRuntime> {
  mkdirSync(settings.dataDir, { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    log('starting DynamoDB (dynalite)…');
    const dynamo = await startDynalite(join(settings.dataDir, 'dynamodb'), settings.dynamoDbPort, {
      outages: faultsEnabled(),
    });
    stops.push(() => dynamo.stop());

    let s3Endpoint = settings.externalS3Endpoint;
    let ceph: RunningCeph | undefined;
    if (s3Endpoint === undefined) {
      log('starting S3 (Ceph RadosGW)…');
      ceph = await startCeph({
        dir: join(settings.dataDir, 'ceph'),
        monPort: settings.cephMonPort,
        rgwPort: settings.s3Port,
        accessKeyId: settings.accessKeyId,
        secretAccessKey: settings.secretAccessKey,
      });
      const started = ceph;
      stops.push(() => started.stop());
      s3Endpoint = ceph.endpoint;
    }

    // The handlers read their configuration from the environment, exactly as on Lambda.
    Object.assign(process.env, {
      TABLE_NAME: settings.table,
      BUCKET_NAME: settings.bucket,
      S3_ENDPOINT: s3Endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: settings.accessKeyId,
      AWS_SECRET_ACCESS_KEY: settings.secretAccessKey,
      AWS_REGION: settings.region,
      UPLOAD_URL_TTL_SECONDS: String(settings.uploadUrlTtlSeconds),
      POWERTOOLS_SERVICE_NAME: 'airlock-local',
      POWERTOOLS_LOG_LEVEL: process.env.AIRLOCK_LOG_LEVEL ?? 'WARN',
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;

    const credentials = { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey };
    const dynamoClient = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: settings.region,
      credentials,
    });
    await ensureTable(dynamoClient, settings.table);
    const s3 = new S3Client({
      endpoint: s3Endpoint,
      forcePathStyle: true,
      region: settings.region,
      credentials,
    });

    const handlers = await loadHandlers();
    const onError = (message: string, error: unknown) => log(`${message}: ${(error as Error).message}`);
    const executor = await LocalExecutor.create(
      join(settings.dataDir, 'executions'),
      handlers.tasks,
      settings.maxConcurrentExecutions,
      onError,
    );
    stops.push(() => executor.drain(5000));

    let dynamoAvailable = true;
    const faultControl = async (command: unknown) => {
      const { rates, dynamodb, restart } = (command ?? {}) as {
        rates?: unknown;
        dynamodb?: unknown;
        restart?: unknown;
      };
      if (typeof rates === 'string') setFaultRates(parseFaultRates(rates));
      if (dynamodb === 'down' || dynamodb === 'up') {
        dynamoAvailable = dynamodb === 'up';
        await dynamo.setAvailable(dynamoAvailable);
        log(`fault control: DynamoDB ${dynamodb}`);
      }
      if (restart === 'rgw') {
        if (ceph === undefined) throw new Error('RadosGW is not run by this runtime.');
        log('fault control: restarting RadosGW…');
        await ceph.restartGateway();
      }
      return { ...faultReport(), dynamodb: dynamoAvailable ? 'up' : 'down' };
    };
    if (faultsEnabled()) log(`FAULT INJECTION IS ON (AIRLOCK_FAULTS): for tests only`);

    const router = await startRouter({
      port: settings.routerPort,
      bucket: settings.bucket,
      startExecution: (event) => executor.startExecution(event),
      startNamedExecution: (input, dedupeKey) => executor.start(input, dedupeKey),
      onError,
      ...(faultsEnabled() ? { faultControl } : {}),
    });
    stops.push(() => router.stop());

    const apiUrl = `http://localhost:${settings.apiPort}`;
    const setup = await setUpBucket(s3, {
      bucket: settings.bucket,
      consoleOrigins: [apiUrl, `http://127.0.0.1:${settings.apiPort}`],
      pushEndpoint: `http://127.0.0.1:${settings.routerPort}/events`,
      s3Endpoint,
      region: settings.region,
      credentials,
    });
    if (!setup.notifications)
      log('this S3 server has no push notifications: the reconciler will find uploads instead');

    const { makeSweeperHandler } = await import('../functions/sweeper.js');
    const { UploadStore } = await import('../functions/adapters/upload-store.js');
    const { SweepStateStore } = await import('../functions/adapters/sweep-state.js');
    const { ObjectStore } = await import('../functions/adapters/object-store.js');
    const sweep = makeSweeperHandler(() => ({
      store: new UploadStore(settings.table, dynamoClient),
      sweepState: new SweepStateStore(settings.table, dynamoClient),
      objects: new ObjectStore(s3),
      executions: executor,
      bucket: settings.bucket,
      now: () => new Date(),
      processingTimeoutMs: settings.processingTimeoutMs,
      uploadTtlMs: settings.uploadUrlTtlSeconds * 1000,
      sweep: settings.sweep, // budget, page size, lost-event delay, grace (AIRLOCK_SWEEP_*)
    }));
    let sweeping: Promise<unknown> | undefined;
    const timer = setInterval(() => {
      if (sweeping) return; // one run at a time
      sweeping = sweep()
        .catch((error: unknown) => onError('reconciler run failed', error))
        .finally(() => (sweeping = undefined));
    }, settings.sweep.intervalMs);
    stops.push(async () => {
      clearInterval(timer);
      await sweeping;
    });

    const verify = await makeVerifier(settings.dataDir);
    const api = await startApiServer({
      port: settings.apiPort,
      verify,
      handlers: handlers.api,
      allowedOrigins: [apiUrl, `http://127.0.0.1:${settings.apiPort}`],
      staticRoutes: { ...(await consoleRoutes()), ...openApiStaticRoute() },
      health: async () => {
        const parts = {
          dynamodb: await dynamoClient.send(new ListTablesCommand({})).then(
            () => true,
            () => false,
          ),
          s3: await s3.send(new HeadBucketCommand({ Bucket: settings.bucket })).then(
            () => true,
            () => false,
          ),
          router: router.server.listening,
          executor: true,
        };
        return { ok: Object.values(parts).every(Boolean), parts };
      },
    });
    stops.push(() => api.stop());

    const resumed = await executor.resumeInterrupted();
    if (resumed > 0) log(`resumed ${resumed} execution(s) left running by the previous process`);
    writeFileSync(
      join(settings.dataDir, 'runtime.json'),
      JSON.stringify({ pid: process.pid, apiUrl, s3Endpoint }),
    );

    return { apiUrl, settings, executor, s3Endpoint, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function loadHandlers(): Promise<{
  api: {
    createUpload: ApiHandler;
    getUpload: ApiHandler;
    listUploads: ApiHandler;
    getUploadEvents: ApiHandler;
    auditUploads: ApiHandler;
  };
  tasks: Record<TaskFunctionName, TaskHandler>;
}> {
  const [
    createUpload,
    getUpload,
    listUploads,
    getUploadEvents,
    auditUploads,
    claim,
    validate,
    promote,
    reject,
    record,
    release,
  ] = await Promise.all([
    import('../functions/create-upload.js'),
    import('../functions/get-upload.js'),
    import('../functions/list-uploads.js'),
    import('../functions/get-upload-events.js'),
    import('../functions/audit-uploads.js'),
    import('../functions/claim.js'),
    import('../functions/validate.js'),
    import('../functions/promote.js'),
    import('../functions/reject.js'),
    import('../functions/record-outcome.js'),
    import('../functions/release-quarantine.js'),
  ]);
  const api = (handler: (event: never) => Promise<unknown>): ApiHandler => handler as unknown as ApiHandler;
  return {
    api: {
      createUpload: api(createUpload.handler),
      getUpload: api(getUpload.handler),
      listUploads: api(listUploads.handler),
      getUploadEvents: api(getUploadEvents.handler),
      auditUploads: api(auditUploads.handler),
    },
    tasks: {
      claim: claim.handler,
      validate: validate.handler,
      promote: promote.handler,
      reject: reject.handler,
      'record-outcome': record.handler,
      'release-quarantine': release.handler,
    },
  };
}
