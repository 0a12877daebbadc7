import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLocalSettings } from '../../local/settings.js';
import { allocateRuntime, launchRuntime, stopRuntime, type RuntimeSpec } from '../e2e/runtime-process.js';
import type { RuntimeTarget } from './part.js';

/** A runtime started as `npm start` starts it (a separate process), on free loopback ports. */
export interface SuiteRuntime extends RuntimeTarget {
  spec: RuntimeSpec;
  pid: number;
  /** SIGKILL: nothing is flushed or stopped (Ceph daemons are left running, as after a crash). */
  kill(): void;
  /** Starts the runtime again on the same data dir and ports; waits for /health. */
  restart(): Promise<void>;
  /** SIGTERM, waits for it and its Ceph daemons to exit, then removes the data dir. */
  stop(): Promise<void>;
}

/**
 * Starts a runtime in its own temp data dir. `env` adds settings (AIRLOCK_FAULTS, shorter TTLs…).
 */
export async function startSuiteRuntime(
  label: string,
  env: Record<string, string> = {},
): Promise<SuiteRuntime> {
  const dataDir = mkdtempSync(join(tmpdir(), `airlock-reliability-${label}-`));
  const spec = await allocateRuntime({ dataDir, env });
  let launched = await launchRuntime(spec);
  const settings = readLocalSettings({});
  const runtime: SuiteRuntime = {
    spec,
    pid: launched.pid,
    apiUrl: launched.apiUrl,
    dataDir,
    s3Endpoint: `http://127.0.0.1:${spec.ports.s3}`,
    dynamoDbEndpoint: `http://127.0.0.1:${spec.ports.dynamodb}`,
    routerUrl: `http://127.0.0.1:${spec.ports.router}`,
    bucket: settings.bucket,
    table: settings.table,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    region: settings.region,
    kill: () => {
      launched.child.kill('SIGKILL');
    },
    restart: async () => {
      launched = await launchRuntime(spec);
      runtime.pid = launched.pid;
    },
    stop: async () => {
      await stopRuntime(runtime.pid, dataDir);
      // Kept for a post-mortem only when asked (AIRLOCK_RELIABILITY_KEEP=1).
      if (process.env.AIRLOCK_RELIABILITY_KEEP !== '1') rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return runtime;
}
