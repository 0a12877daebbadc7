import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

/**
 * How the console is built, for both of its hosts: the local runtime (local/console-assets.ts)
 * and the CDK deployment (infra/console-hosting.ts). Node-side code, outside the browser bundle
 * (console/tsconfig.json excludes it; the root tsconfig checks it).
 */
export const CONSOLE_DIR = dirname(fileURLToPath(import.meta.url));

/** console/app.ts (with the client code it imports) as one ES module. */
export const CONSOLE_BUILD_OPTIONS = {
  entryPoints: [join(CONSOLE_DIR, 'app.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  minify: true,
  sourcemap: false,
  write: false,
  logLevel: 'silent',
} as const satisfies BuildOptions;

/** The console's files that are served as they are. */
export const CONSOLE_STATIC_FILES = ['index.html', 'styles.css'] as const;
