import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { CONSOLE_BUILD_OPTIONS, CONSOLE_DIR } from '../console/build-options.js';

export interface StaticRoute {
  contentType: string;
  body: () => Promise<Buffer | string>;
}

/**
 * The web console as static routes: index.html, styles.css and app.js, bundled once from
 * console/app.ts (which uses the typed client library) with esbuild. No secrets are bundled:
 * the console asks for a token at sign-in.
 */
export async function consoleRoutes(): Promise<Record<string, StaticRoute>> {
  const script = await bundleConsole();
  const file = (name: string) => () => readFile(join(CONSOLE_DIR, name));
  return {
    '/': { contentType: 'text/html; charset=utf-8', body: file('index.html') },
    '/index.html': { contentType: 'text/html; charset=utf-8', body: file('index.html') },
    '/styles.css': { contentType: 'text/css; charset=utf-8', body: file('styles.css') },
    '/app.js': { contentType: 'text/javascript; charset=utf-8', body: () => Promise.resolve(script) },
    // Same origin locally; on AWS this file is written at deploy time with the API's URL.
    '/config.json': { contentType: 'application/json', body: () => Promise.resolve('{"apiUrl":""}') },
  };
}

export async function bundleConsole(): Promise<string> {
  return (await build(CONSOLE_BUILD_OPTIONS)).outputFiles[0]?.text ?? '';
}
