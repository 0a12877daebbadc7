import { createServer, type Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { freePort } from './runtime-process.js';
import { sharedRuntime, tokenFor, uniqueUser } from './support.js';

/**
 * A client app in a real browser (Chromium with its web security on), served from an origin
 * listed in the runtime's airlock.config.json `allowedOrigins`: it calls the local API and
 * uploads straight to the local S3 with the presigned POST, with CORS enforced by the browser.
 * The same app served from an origin that is not listed is refused by both.
 */
const runtime = sharedRuntime();
let browser: Browser;
const servers: Server[] = [];

/** The client app: one page whose script uploads a small CSV and reports what happened. */
const APP = `<!doctype html><html><head><meta charset="utf-8"><title>client app</title></head><body><script type="module">
window.upload = async (apiUrl, token) => {
  const steps = [];
  try {
    const created = await fetch(apiUrl + '/uploads', {
      method: 'POST',
      headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
      body: JSON.stringify({ fileName: 'hello.csv', contentType: 'text/csv', size: 12 }),
    });
    steps.push('create ' + created.status);
    const { uploadId, upload } = await created.json();
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', new Blob(['a,b\\n1,2\\n3,4\\n'], { type: 'text/csv' }));
    const sent = await fetch(upload.url, { method: 'POST', body: form });
    steps.push('upload ' + sent.status);
    for (let i = 0; i < 200; i++) {
      const view = await (await fetch(apiUrl + '/uploads/' + uploadId, { headers: { authorization: 'Bearer ' + token } })).json();
      if (view.status !== 'PENDING_UPLOAD' && view.status !== 'PROCESSING') { steps.push('status ' + view.status); break; }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    steps.push('refused: ' + error.name);
  }
  return steps;
};
</script></body></html>`;

async function serveApp(port: number): Promise<void> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(APP);
  });
  servers.push(server);
  // Both loopback addresses: the browser may resolve localhost to either.
  await new Promise<void>((resolve) => server.listen(port, resolve));
}

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  for (const server of servers) server.close();
});

type UploadInPage = (apiUrl: string, token: string) => Promise<string[]>;

describe('a browser client app and CORS', () => {
  it('from an allowed origin, calls the API and uploads to S3 until PROCESSED', async () => {
    // Arrange
    await serveApp(runtime.clientAppPort);
    const page = await browser.newPage();
    await page.goto(`${runtime.clientAppOrigin}/`);
    const token = await tokenFor(runtime, uniqueUser('cors-app'));
    // Act
    const steps = await page.evaluate(
      ([apiUrl, bearer]) => (globalThis as unknown as { upload: UploadInPage }).upload(apiUrl, bearer),
      [runtime.apiUrl, token] as const,
    );
    // Assert
    expect(steps).toEqual(['create 201', 'upload 204', 'status PROCESSED']);
    await page.close();
  });

  it('from an origin that is not listed, the browser refuses the API response', async () => {
    // Arrange
    const port = await freePort();
    await serveApp(port);
    const page = await browser.newPage();
    await page.goto(`http://localhost:${port}/`);
    const token = await tokenFor(runtime, uniqueUser('cors-stranger'));
    // Act
    const steps = await page.evaluate(
      ([apiUrl, bearer]) => (globalThis as unknown as { upload: UploadInPage }).upload(apiUrl, bearer),
      [runtime.apiUrl, token] as const,
    );
    // Assert
    expect(steps).toEqual(['refused: TypeError']);
    await page.close();
  });
});
