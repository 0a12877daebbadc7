import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { startApiServer } from './api-server.js';
import { CONSOLE_RESPONSE_HEADERS } from '../console/security-headers.js';
import { DEPLOYED_REDRIVE_BUDGET_MS } from '../functions/commons/sweep-settings.js';
import { consoleRoutes } from './console-assets.js';
import { openApiStaticRoute } from './openapi-route.js';
import { makeVerifier } from './auth.js';
import { startCeph, type RunningCeph } from './ceph.js';
import { clamdEnvironment, startClamd, type RunningClamd } from './clamd.js';
import { ENV_NAMES } from '../functions/commons/env-names.js';
import { installLocalScanEngine } from '../functions/commons/local-scan-engine.js';
import { scanResultEvent } from '../functions/domain/scan-result-event.js';
import { scannerKindOf } from '../functions/domain/scan-verdict.js';
import { faultReport, faultsEnabled, parseFaultRates, setFaultRates } from '../functions/commons/faults.js';
import { installLocalHooks, instrumentClient } from '../functions/commons/local-hooks.js';
import { TABLE_KEYS } from '../functions/adapters/table-layout.js';
import { ensureTable, startDynalite } from './dynamo.js';
import { startTtlReaper } from './ttl-reaper.js';
import { LOCAL_STATE_MACHINE_ARN, LocalExecutor } from './executor.js';
import { loadFunctions } from './functions.js';
import { startIam } from './iam/index.js';
import { startPostEvents } from './post-events.js';
import { putEventsOn, startLocalOutcomeBus } from './outcome-events.js';
import { startRouter } from './router.js';
import { setUpBucket } from './s3-setup.js';
import { ensureDigestKey, setUpDigestBucket } from './audit-digests.js';
import { readLocalSettings, type LocalSettings } from './settings.js';
import { LocalStepFunctionsHandler } from './sfn-endpoint.js';

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
 * S3 endpoint named by AIRLOCK_S3_ENDPOINT), ClamAV's clamd (unless `scanner: none`), the event
 * router, the state machine executor, the reconciler and the HTTP API. The handlers are the very modules AWS runs, each invocation as
 * its own function: under its role's synthesized IAM policies and its timeout (local/iam/,
 * local/sandbox.ts).
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
    const iam = await startIam(settings, log);
    installLocalHooks(iam.hooks);
    log(`IAM: every function runs under its synthesized role (${iam.snapshot().template})`);
    stops.push(() => {
      installLocalHooks(undefined);
      iam.stop();
      return Promise.resolve();
    });

    const outcomeEventBus = iam.outcomeEventBus;
    if (outcomeEventBus === undefined) throw new Error('The synthesized template has no outcome-event bus.');
    const bus = startLocalOutcomeBus({
      dataDir: settings.dataDir,
      webhooks: settings.config.webhooks,
      retry: settings.config.webhookRetry,
      onError: (message, error) => log(`${message}: ${(error as Error).message}`),
    });
    stops.push(() => bus.stop());

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

    // The malware engine: ClamAV stands in for GuardDuty (or a custom engine); nothing with none.
    const scanner = scannerKindOf(settings.config.scanner);
    let clamd: RunningClamd | undefined;
    if (scanner !== 'none') {
      log('starting the malware scanner (ClamAV clamd)…');
      clamd = await startClamd({ dir: join(settings.dataDir, 'clamav'), log: (line) => log(line) });
      const running = clamd;
      stops.push(() => running.stop());
    } else {
      log('malware scanning is off (scanner: none): every record says scan SKIPPED');
    }

    // The handlers read their configuration from the environment, exactly as on Lambda.
    for (const name of ['CLAMD_ADDRESS', 'CLAMD_STREAM_MAX_BYTES', 'CLAMD_DATABASE'])
      delete process.env[name];
    Object.assign(process.env, {
      ...settings.functionEnvironment,
      [ENV_NAMES.scanner]: scanner,
      ...(clamd ? clamdEnvironment(clamd) : {}),
      TABLE_NAME: settings.table,
      BUCKET_NAME: settings.bucket,
      S3_ENDPOINT: s3Endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: settings.accessKeyId,
      AWS_SECRET_ACCESS_KEY: settings.secretAccessKey,
      AWS_REGION: settings.region,
      // Outcome events go to the template's bus, which the router serves as EventBridge does.
      EVENT_BUS_NAME: outcomeEventBus,
      EVENTS_ENDPOINT: `http://127.0.0.1:${settings.routerPort}`,
      POWERTOOLS_SERVICE_NAME: 'airlock-local',
      POWERTOOLS_LOG_LEVEL: process.env.AIRLOCK_LOG_LEVEL ?? 'WARN',
    });
    // The digests: signed with the data dir's key (not KMS: no IAM check), into their own bucket.
    delete process.env[ENV_NAMES.auditDigestKeyId];
    Object.assign(process.env, {
      [ENV_NAMES.auditDigestBucket]: settings.auditDigests.bucket,
      [ENV_NAMES.auditDigestKeyFile]: ensureDigestKey(settings.dataDir),
      [ENV_NAMES.auditDigestIntervalSeconds]: String(settings.auditDigests.intervalSeconds),
      [ENV_NAMES.auditDigestSettleSeconds]: String(
        settings.auditDigests.settleSeconds ??
          iam.longestTimeoutSeconds(['write-audit-digest', 'audit-digests']) + 60,
      ),
      [ENV_NAMES.auditDigestTimeBudgetSeconds]: String(
        Math.max(1, Math.min(60, settings.auditDigests.intervalSeconds - 1)),
      ),
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
    // DynamoDB's TTL, which dynalite lacks: the runtime's own deletes, as the service's are.
    const reaper = startTtlReaper({
      client: dynamoClient,
      table: settings.table,
      attribute: TABLE_KEYS.ttlAttribute,
      intervalMs: settings.ttlScanIntervalMs,
      onError: (message, error) => log(`${message}: ${(error as Error).message}`),
    });
    stops.push(() => reaper.stop());
    const s3 = new S3Client({
      endpoint: s3Endpoint,
      forcePathStyle: true,
      region: settings.region,
      credentials,
    });

    // Step Functions for the sweeper and the redrive: the SDK, served by the local executor.
    const started: { executor?: LocalExecutor } = {};
    const stepFunctions = instrumentClient(
      new SFNClient({
        region: settings.region,
        credentials,
        requestHandler: new LocalStepFunctionsHandler(() => {
          if (started.executor === undefined) throw new Error('The local executor is not running yet.');
          return started.executor;
        }) as never,
      }),
    );
    const functions = await loadFunctions(iam, {
      table: settings.table,
      bucket: settings.bucket,
      stateMachineArn: LOCAL_STATE_MACHINE_ARN,
      stepFunctions,
      sweeper: {
        processingTimeoutMs: settings.processingTimeoutMs,
        uploadTtlMs: settings.uploadUrlTtlSeconds * 1000,
        sweep: settings.sweep, // budget, page size, lost-event delay, grace (AIRLOCK_SWEEP_*)
      },
      redrive: {
        pageSize: settings.sweep.pageSize,
        concurrency: settings.sweep.concurrency,
        budgetMs: DEPLOYED_REDRIVE_BUDGET_MS,
      },
      scanning: { intake: scanner !== 'none', rescan: scanner === 'guardduty' },
    });
    if (clamd && functions.scanResult) {
      // What GuardDuty and EventBridge do on AWS: results go to the intake as the rule sends them,
      // and an on-demand scan is read and scanned by the engine itself, not by the caller's role.
      const deliver = functions.scanResult;
      const engine = clamd;
      installLocalScanEngine({
        deliver: async (event) => {
          await deliver(event);
        },
        requestScan: async (object) => {
          const out = await s3.send(
            new GetObjectCommand({ Bucket: object.bucket, Key: object.key, VersionId: object.versionId }),
          );
          const result = await engine.scanner().scan(out.Body as AsyncIterable<Uint8Array>);
          await deliver(
            scanResultEvent({ id: `clamav-${object.versionId}-${Date.now().toString(36)}`, object, result }),
          );
        },
      });
      stops.push(() => {
        installLocalScanEngine(undefined);
        return Promise.resolve();
      });
    }
    const onError = (message: string, error: unknown) => log(`${message}: ${(error as Error).message}`);
    const running = await LocalExecutor.create(
      join(settings.dataDir, 'executions'),
      functions.tasks,
      settings.maxConcurrentExecutions,
      onError,
    );
    started.executor = running;
    stops.push(() => running.drain(5000));

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
      if (restart === 'clamd') {
        if (clamd === undefined) throw new Error('clamd is not run by this runtime (scanner: none).');
        log('fault control: restarting clamd…');
        await clamd.restart();
      }
      return { ...faultReport(), dynamodb: dynamoAvailable ? 'up' : 'down' };
    };
    if (faultsEnabled()) log(`FAULT INJECTION IS ON (AIRLOCK_FAULTS): for tests only`);

    // The Object Created rule starts executions with its own role.
    const startByRule = async (event: unknown, name?: string) => {
      const decision = await iam.checkService('events-rule', {
        action: 'states:StartExecution',
        resource: LOCAL_STATE_MACHINE_ARN,
        context: {},
      });
      if (!decision.allowed) throw new Error(decision.because);
      return running.startExecution(event, name);
    };
    const router = await startRouter({
      port: settings.routerPort,
      bucket: settings.bucket,
      startExecution: (event) => startByRule(event),
      putEvents: putEventsOn(bus, outcomeEventBus),
      onError,
      ...(faultsEnabled() ? { faultControl } : {}),
    });
    stops.push(() => router.stop());
    if (ceph?.opsLogSocket !== undefined) {
      // This RadosGW sends no notification for POST uploads: their events come from its ops log.
      const postEvents = startPostEvents({
        socketPath: ceph.opsLogSocket,
        bucket: settings.bucket,
        s3,
        startExecution: async (event, name) => (await running.describe(name)) ?? startByRule(event, name),
        onError,
      });
      stops.push(() => postEvents.stop());
    }

    const apiUrl = `http://localhost:${settings.apiPort}`;
    const setup = await setUpBucket(s3, {
      bucket: settings.bucket,
      consoleOrigins: [apiUrl, `http://127.0.0.1:${settings.apiPort}`, ...settings.allowedOrigins],
      pushEndpoint: `http://127.0.0.1:${settings.routerPort}/events`,
      s3Endpoint,
      region: settings.region,
      credentials,
    });
    if (!setup.notifications)
      log('this S3 server has no push notifications: the reconciler will find uploads instead');

    const locked = await setUpDigestBucket(s3, settings.auditDigests.bucket, {
      mode: settings.config.auditDigestLockMode,
      days: settings.config.auditDigestRetentionDays,
    });
    if (!locked) log('this S3 server refused Object Lock: audit digests are written without it');
    let digesting: Promise<unknown> | undefined;
    const digestTimer = setInterval(
      () => {
        if (digesting) return; // one run at a time (the lease would refuse a second anyway)
        digesting = functions
          .writeAuditDigests()
          .catch((error: unknown) => onError('audit digest run failed', error))
          .finally(() => (digesting = undefined));
      },
      Math.min(settings.auditDigests.intervalSeconds * 1000, 60_000),
    );
    stops.push(async () => {
      clearInterval(digestTimer);
      await digesting;
    });

    let sweeping: Promise<unknown> | undefined;
    const timer = setInterval(() => {
      if (sweeping) return; // one run at a time
      sweeping = functions
        .sweep()
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
      handlers: functions.api,
      local: {
        iamReport: () => iam.snapshot(),
        invoke: (name, event) => functions.invokeOperatorFunction(name, event),
        webhooks: () => bus.status(),
      },
      allowedOrigins: [apiUrl, `http://127.0.0.1:${settings.apiPort}`, ...settings.allowedOrigins],
      // The console's headers and CSP as CloudFront and the deployment serve them: locally the API
      // is the page's own origin and uploads go to this S3 endpoint.
      staticRoutes: {
        ...(await consoleRoutes({ api: 'self', uploads: new URL(s3Endpoint).origin })),
        ...openApiStaticRoute(),
      },
      staticHeaders: { ...CONSOLE_RESPONSE_HEADERS },
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
          ...(clamd
            ? {
                clamd: await clamd
                  .scanner({ connectTimeoutMs: 1_000, replyTimeoutMs: 2_000 })
                  .ping()
                  .then(
                    () => true,
                    () => false,
                  ),
              }
            : {}),
        };
        return { ok: Object.values(parts).every(Boolean), parts };
      },
    });
    stops.push(() => api.stop());

    const resumed = await running.resumeInterrupted();
    if (resumed > 0) log(`resumed ${resumed} execution(s) left running by the previous process`);
    writeFileSync(
      join(settings.dataDir, 'runtime.json'),
      JSON.stringify({ pid: process.pid, apiUrl, s3Endpoint }),
    );

    return { apiUrl, settings, executor: running, s3Endpoint, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
