import { readFileSync, rmSync } from 'node:fs';
import { stopRuntime } from './runtime-process.js';

export default async function globalTeardown() {
  const infoFile = process.env.AIRLOCK_E2E_RUNTIME;
  if (!infoFile) return;
  const info = JSON.parse(readFileSync(infoFile, 'utf8'));
  await stopRuntime(info.pid, info.dataDir);
  if (!process.env.AIRLOCK_E2E_KEEP) rmSync(info.dataDir, { recursive: true, force: true });
}
