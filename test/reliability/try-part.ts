/* eslint-disable no-console -- a developer's driver: it prints */
import { rmSync } from 'node:fs';
import { startSuiteRuntime } from './harness.js';
import { runHostileCorpus } from './hostile.js';
import { runIsolation } from './isolation.js';
import type { PartResult, RuntimeTarget, SuiteOptions } from './part.js';

/**
 * Tries one part against a fresh runtime while developing it:
 * `npx tsx test/reliability/try-part.ts hostile|isolation [--quick] [--keep]`. Prints the result
 * as JSON and exits 1 when the part failed. The runtime is always stopped, and its data dir
 * (which this driver made) removed unless `--keep`.
 */
const PARTS: Record<string, (target: RuntimeTarget, options: SuiteOptions) => Promise<PartResult>> = {
  hostile: runHostileCorpus,
  isolation: runIsolation,
};

const [name = '', ...flags] = process.argv.slice(2);
const part = PARTS[name];
if (part === undefined) {
  console.error(
    `usage: npx tsx test/reliability/try-part.ts ${Object.keys(PARTS).join('|')} [--quick] [--keep]`,
  );
  process.exit(2);
}

const started = Date.now();
const runtime = await startSuiteRuntime('dev');
console.log(`runtime up in ${Date.now() - started} ms (${runtime.apiUrl}, data ${runtime.dataDir})`);
let result: PartResult | undefined;
try {
  result = await part(runtime, { quick: flags.includes('--quick'), log: console.log });
  console.log(JSON.stringify(result, null, 2));
} finally {
  await runtime.stop();
  if (!flags.includes('--keep')) rmSync(runtime.dataDir, { recursive: true, force: true });
}
process.exit(result?.passed ? 0 : 1);
