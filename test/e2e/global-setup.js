// One runtime for the whole e2e tier: starting Ceph is the slow part (about 20 s), and the tests
// use separate users and upload ids, so sharing it is sound. Tests that kill the runtime start
// their own. Every runtime of the tier (the shared one, those tests start, the reliability
// suite's) writes its local IAM report into one directory, which globalTeardown adds up.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocateRuntime, freePort, launchRuntime } from './runtime-process.js';

export default async function globalSetup() {
  const dataDir = mkdtempSync(join(tmpdir(), 'airlock-e2e-'));
  const iamReports = join(dataDir, 'iam-reports');
  mkdirSync(iamReports);
  process.env.AIRLOCK_IAM_REPORT_DIR = iamReports; // inherited by every runtime the tests start
  // The runtime reads its settings from a configuration file, as `npm start` does: this one lists
  // a browser client app's origin (a port of its own on localhost), for the CORS tests.
  const clientAppPort = await freePort();
  const clientAppOrigin = `http://localhost:${clientAppPort}`;
  const config = join(dataDir, 'airlock.config.json');
  writeFileSync(config, JSON.stringify({ allowedOrigins: [clientAppOrigin] }));
  const spec = await allocateRuntime({
    dataDir,
    env: { AIRLOCK_UPLOAD_URL_TTL_SECONDS: '900', AIRLOCK_CONFIG: config },
  });
  const started = Date.now();
  const runtime = await launchRuntime(spec);
  const info = {
    ...spec,
    apiUrl: runtime.apiUrl,
    pid: runtime.pid,
    startupMs: Date.now() - started,
    iamReports,
    clientAppPort,
    clientAppOrigin,
  };
  const infoFile = join(dataDir, 'e2e-runtime.json');
  writeFileSync(infoFile, JSON.stringify(info));
  process.env.AIRLOCK_E2E_RUNTIME = infoFile;
  runtime.child.unref();
}
