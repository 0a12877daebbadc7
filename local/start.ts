/* eslint-disable no-console -- the local runtime's own terminal output */
import { startRuntime } from './runtime.js';
import { readLocalSettings } from './settings.js';

/** `npm start`: Airlock on this machine, in the foreground, until Ctrl-C or SIGTERM. */
const settings = readLocalSettings();
const started = Date.now();
const runtime = await startRuntime(settings, (message) => console.log(`[airlock] ${message}`)).catch(
  (error: unknown) => {
    console.error(`[airlock] could not start: ${(error as Error).message}`);
    process.exit(1);
  },
);

console.log(`
Airlock is running (${((Date.now() - started) / 1000).toFixed(1)} s).

  API         ${runtime.apiUrl}
  health      ${runtime.apiUrl}/health
  S3          ${runtime.s3Endpoint} (bucket ${settings.bucket})
  data dir    ${settings.dataDir}

Get a token:  npm run -s token -- alice            (add --group auditors for an auditor)
Try it:       npm run demo
Stop:         Ctrl-C
`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`[airlock] ${signal}: stopping…`);
  void runtime.stop().then(() => process.exit(0));
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
