import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { readLocalSettings } from '../local/settings.js';
import {
  allocateRuntime,
  launchRuntime,
  stopRuntime,
  type RuntimeSpec,
} from '../test/e2e/runtime-process.js';
import { startWebhookConsumer, type BenchWebhookConsumer } from './webhook-consumer.js';

/** A local runtime the benchmarks run against: started here, or an existing one attached to. */
export interface BenchRuntime {
  apiUrl: string;
  dataDir: string;
  ports: RuntimeSpec['ports'];
  s3Endpoint: string;
  dynamoDbEndpoint: string;
  bucket: string;
  table: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** AIRLOCK_MAX_CONCURRENT_EXECUTIONS of the runtime (the local executor's concurrency). */
  maxConcurrentExecutions: number;
  /** How long the runtime took to become healthy (0 when attached). */
  startupMs: number;
  attached: boolean;
  /**
   * The webhook endpoint the runtime delivers outcome events to (started with the runtime; absent
   * when attached to someone else's).
   */
  webhooks?: BenchWebhookConsumer;
  stop(): Promise<void>;
}

function describe(
  spec: { dataDir: string; ports: RuntimeSpec['ports']; env?: Record<string, string> },
  apiUrl: string,
): Omit<BenchRuntime, 'startupMs' | 'attached' | 'stop'> {
  const settings = readLocalSettings(spec.env ?? {});
  return {
    apiUrl,
    dataDir: spec.dataDir,
    ports: spec.ports,
    s3Endpoint: `http://127.0.0.1:${spec.ports.s3}`,
    dynamoDbEndpoint: `http://127.0.0.1:${spec.ports.dynamodb}`,
    bucket: settings.bucket,
    table: settings.table,
    region: settings.region,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    maxConcurrentExecutions: settings.maxConcurrentExecutions,
  };
}

/**
 * Starts `npm start`'s entry point as a subprocess on free ports with a temp data dir. The data
 * dir is removed by `stop()` (it was created here).
 */
export async function startBenchRuntime(log: (message: string) => void): Promise<BenchRuntime> {
  const dataDir = mkdtempSync(join(tmpdir(), 'airlock-bench-'));
  // The issuance benchmark holds about 2,000 grants of one user open: the quota allows it. Every
  // outcome event goes to a local consumer (the latency benchmark times its deliveries).
  const webhooks = await startWebhookConsumer();
  writeFileSync(join(dataDir, 'webhook-secret'), webhooks.secret);
  const config = join(dataDir, 'airlock.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      quotaOpenGrants: 5000,
      webhooks: [{ id: 'bench', url: webhooks.url, secret: { file: 'webhook-secret' } }],
    }),
  );
  const spec = await allocateRuntime({ dataDir, env: { AIRLOCK_LOG_LEVEL: 'WARN', AIRLOCK_CONFIG: config } });
  const started = Date.now();
  log(`starting a local runtime in ${dataDir}…`);
  let launched: Awaited<ReturnType<typeof launchRuntime>>;
  try {
    launched = await launchRuntime(spec);
  } catch (error) {
    await webhooks.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const startupMs = Date.now() - started;
  log(`runtime up in ${(startupMs / 1000).toFixed(1)} s (${launched.apiUrl})`);
  let stopped = false;
  return {
    ...describe(spec, launched.apiUrl),
    startupMs,
    attached: false,
    webhooks,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopRuntime(launched.pid, dataDir);
      await webhooks.stop();
      if (!process.env.AIRLOCK_BENCH_KEEP) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Attaches to a runtime someone else started, described by a JSON file `{apiUrl, dataDir,
 * ports, env?}` (the e2e tier's globalSetup writes one). `stop()` leaves it running.
 */
export function attachRuntime(file: string): BenchRuntime {
  const info = JSON.parse(readFileSync(file, 'utf8')) as {
    apiUrl: string;
    dataDir: string;
    ports: RuntimeSpec['ports'];
    env?: Record<string, string>;
  };
  return { ...describe(info, info.apiUrl), startupMs: 0, attached: true, stop: () => Promise.resolve() };
}

export function s3ClientFor(runtime: BenchRuntime): S3Client {
  return new S3Client({
    endpoint: runtime.s3Endpoint,
    forcePathStyle: true,
    region: runtime.region,
    credentials: runtime.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function dynamoClientFor(runtime: BenchRuntime): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: runtime.dynamoDbEndpoint,
    region: runtime.region,
    credentials: runtime.credentials,
  });
}
