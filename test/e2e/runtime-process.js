// Starts `npm start`'s entry point (tsx local/start.ts) as a separate process on free loopback
// ports with its own data dir, and waits for GET /health. Plain ESM so jest's globalSetup can
// load it without a transform.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** @returns {Promise<number>} */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * @param {{ dataDir: string, ports?: Record<string, number>, env?: Record<string, string> }} options
 */
export async function allocateRuntime(options) {
  const ports = options.ports ?? {
    api: await freePort(),
    router: await freePort(),
    dynamodb: await freePort(),
    s3: await freePort(),
    mon: await freePort(),
  };
  return { dataDir: options.dataDir, ports, env: options.env ?? {} };
}

/**
 * @param {{ dataDir: string, ports: Record<string, number>, env: Record<string, string> }} spec
 * @param {number} [timeoutMs]
 */
export async function launchRuntime(spec, timeoutMs = 240_000) {
  mkdirSync(spec.dataDir, { recursive: true });
  const log = createWriteStream(join(spec.dataDir, 'runtime.log'), { flags: 'a' });
  // node itself (not the tsx CLI, which would put a wrapper process in between): signals,
  // SIGKILL included, reach the runtime.
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      AIRLOCK_DATA_DIR: spec.dataDir,
      AIRLOCK_PORT: String(spec.ports.api),
      AIRLOCK_ROUTER_PORT: String(spec.ports.router),
      AIRLOCK_DYNAMODB_PORT: String(spec.ports.dynamodb),
      AIRLOCK_S3_PORT: String(spec.ports.s3),
      AIRLOCK_CEPH_MON_PORT: String(spec.ports.mon),
      AIRLOCK_LOG_LEVEL: 'INFO',
      ...spec.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const apiUrl = `http://localhost:${spec.ports.api}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`The runtime exited with ${child.exitCode}:\n${logTail(spec.dataDir)}`);
    }
    const healthy = await fetch(`${apiUrl}/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (healthy) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`The runtime was not healthy within ${timeoutMs} ms:\n${logTail(spec.dataDir)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { apiUrl, pid: child.pid ?? 0, child };
}

/** The end of the runtime's log, so that a failed start explains itself in the test output. */
function logTail(dataDir) {
  try {
    return readFileSync(join(dataDir, 'runtime.log'), 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no runtime.log)';
  }
}

/** Stops a runtime by pid (SIGTERM), then waits for it and its Ceph daemons to exit. */
export async function stopRuntime(pid, dataDir, timeoutMs = 60_000) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  const deadline = Date.now() + timeoutMs;
  const daemonsFile = join(dataDir, 'ceph', 'daemons.json');
  const daemons = existsSync(daemonsFile) ? JSON.parse(readFileSync(daemonsFile, 'utf8')) : [];
  const alive = (p) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  while ([pid, ...daemons.map((d) => d.pid)].some(alive) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (const p of [pid, ...daemons.map((d) => d.pid)]) {
    if (alive(p)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/**
 * Adds up the local IAM reports that runtimes wrote into `dir` (each runtime process writes its
 * own `report-<pid>-<start>.json`, see local/iam/index.ts): checks and denials by kind, and the
 * denials themselves.
 * @param {string} dir
 */
export function iamTotals(dir) {
  const totals = {
    runtimes: 0,
    sdkCalls: { checked: 0, denied: 0 },
    presignedGrants: { checked: 0, denied: 0 },
    serviceCalls: { checked: 0, denied: 0 },
    denials: [],
  };
  const files = existsSync(dir) ? readdirSync(dir).filter((name) => /^report-.*\.json$/.test(name)) : [];
  for (const file of files) {
    const report = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    totals.runtimes++;
    for (const kind of ['sdkCalls', 'presignedGrants', 'serviceCalls']) {
      totals[kind].checked += report[kind].checked;
      totals[kind].denied += report[kind].denied;
    }
    totals.denials.push(...report.denials);
  }
  return totals;
}
