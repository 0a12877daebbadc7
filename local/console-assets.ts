import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { CONSOLE_BUILD_OPTIONS, CONSOLE_DIR } from '../console/build-options.js';
import { consoleDocumentCsp, withDocumentCsp, type ConsoleOrigins } from '../console/security-headers.js';

export interface StaticRoute {
  contentType: string;
  body: () => Promise<Buffer | string>;
}

/**
 * The web console as static routes: index.html, styles.css and app.js, bundled once from
 * console/app.ts (which uses the typed client library) with esbuild. No secrets are bundled:
 * the console asks for a token at sign-in. index.html carries the document's CSP for `origins`,
 * as the deployment writes it (console/security-headers.ts).
 */
export async function consoleRoutes(origins: ConsoleOrigins): Promise<Record<string, StaticRoute>> {
  const script = await bundleConsole();
  const file = (name: string) => () => readFile(join(CONSOLE_DIR, name));
  const csp = consoleDocumentCsp(origins);
  const indexHtml = async () => withDocumentCsp(await readFile(join(CONSOLE_DIR, 'index.html'), 'utf8'), csp);
  return {
    '/': { contentType: 'text/html; charset=utf-8', body: indexHtml },
    '/index.html': { contentType: 'text/html; charset=utf-8', body: indexHtml },
    '/styles.css': { contentType: 'text/css; charset=utf-8', body: file('styles.css') },
    '/app.js': { contentType: 'text/javascript; charset=utf-8', body: () => Promise.resolve(script) },
    // Same origin locally; on AWS this file is written at deploy time with the API's URL.
    '/config.json': { contentType: 'application/json', body: () => Promise.resolve('{"apiUrl":""}') },
  };
}

export async function bundleConsole(): Promise<string> {
  return (await build(CONSOLE_BUILD_OPTIONS)).outputFiles[0]?.text ?? '';
}
