import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's headless Chromium, as every browser test drives it. Web security stays on (no
 * --disable-web-security), so CORS and CSP are the browser's own.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
