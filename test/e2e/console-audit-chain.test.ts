import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT, readLocalSettings } from '../../local/settings.js';
import * as samples from '../fixtures/samples.js';
import { launchChromium } from '../support/browser.js';
import { createUpload, sharedRuntime, tokenFor, uniqueUser, upload, waitForOutcome } from './support.js';

/**
 * The console's auditor view marks each trail with its verdict, checked in the browser
 * (client/audit-chain.ts under the console's CSP). A real upload makes a real trail; then, as an
 * attacker who can write the table would, the trail is changed directly in dynalite, and the
 * auditor must see it not verified, with the first broken link marked at the event tampered with.
 */

const runtime = sharedRuntime();
const settings = readLocalSettings({});
const doc = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    endpoint: `http://127.0.0.1:${runtime.ports.dynamodb}`,
    region: settings.region,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
  }),
);
const key = (uploadId: string) => ({ pk: `UPLOAD#${uploadId}`, sk: 'RECORD' });
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  doc.destroy();
});

type StoredEvent = Record<string, unknown> & { seq: number };

async function storedEvents(uploadId: string): Promise<StoredEvent[]> {
  const out = await doc.send(
    new GetCommand({ TableName: settings.table, Key: key(uploadId), ConsistentRead: true }),
  );
  return (out.Item?.events ?? []) as StoredEvent[];
}

/** The attacker's one write: the trail replaced in place, the record left as it was. */
async function overwriteEvents(uploadId: string, events: unknown[]): Promise<void> {
  await doc.send(
    new UpdateCommand({
      TableName: settings.table,
      Key: key(uploadId),
      UpdateExpression: 'SET #events = :events',
      ExpressionAttributeNames: { '#events': 'events' },
      ExpressionAttributeValues: { ':events': events },
    }),
  );
}

/** A processed upload of its own owner: a trail of ISSUED, CLAIMED, PROCESSED. */
async function processedUpload(owner: string): Promise<string> {
  const token = await tokenFor(runtime, owner);
  const bytes = samples.pdf(`console chain ${Math.random()}`);
  const created = await createUpload(runtime, token, {
    fileName: 'contract.pdf',
    contentType: 'application/pdf',
    size: bytes.length,
  });
  expect((await upload(created.upload, bytes)).status).toBeLessThan(300);
  expect((await waitForOutcome(runtime, token, created.uploadId)).status).toBe('PROCESSED');
  return created.uploadId;
}

/** The page's DOM, typed just enough for the conditions below (this tier compiles without the DOM lib). */
interface PageWindow {
  document: { querySelector(css: string): { getAttribute(name: string): string | null } | null };
}

/**
 * Opens the owner's one upload's trail in the audit view and waits, with a deadline, until the
 * trail shows the verdict of `uploadId` (a function, not a string: the CSP refuses string evaluation).
 */
async function openTrail(page: Page, owner: string, uploadId: string): Promise<void> {
  await page.getByRole('button', { name: 'Audit' }).click();
  await page.getByLabel('Owner').fill(owner);
  await page.getByRole('button', { name: 'Search' }).click();
  const row = page.locator(`#audit-table tbody tr[data-upload-id="${uploadId}"]`);
  await row.waitFor({ timeout: 30_000 });
  await row.getByRole('button', { name: 'Open trail' }).click();
  await page.waitForFunction(
    (title) => {
      const { document } = globalThis as unknown as PageWindow;
      return (
        document.querySelector('#trail-title')?.getAttribute('data-upload-id') === title &&
        document.querySelector('#trail-verdict')?.getAttribute('data-verdict') !== null
      );
    },
    uploadId,
    { timeout: 30_000 },
  );
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(runtime.apiUrl);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Upload documents' }).waitFor();
}

describe("the console's auditor view verifies each trail", () => {
  it('shows a trail as verified, then, once an event is changed in the table, not verified with that event marked', async () => {
    // Arrange
    const owner = uniqueUser('chained');
    const uploadId = await processedUpload(owner);
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await signIn(page, await tokenFor(runtime, uniqueUser('auditor'), ['auditors']));
    await openTrail(page, owner, uploadId);
    const verdict = page.locator('#trail-verdict');
    expect(await verdict.getAttribute('data-verdict')).toBe('verified');
    expect(await verdict.textContent()).toMatch(/^Verified: every event \(3\)/);
    expect(await page.locator('#trail-list li').count()).toBe(3);
    expect(await page.locator('#trail-list li.broken-link').count()).toBe(0);
    // Act: the CLAIMED event (seq 2) given another actor, its hash left as it was.
    const events = await storedEvents(uploadId);
    expect(events.map((event) => event.action)).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED']);
    await overwriteEvents(uploadId, [
      events[0],
      { ...events[1], actor: { type: 'user', id: 'mallory' } },
      events[2],
    ]);
    await page.getByRole('button', { name: 'Open trail' }).click();
    await page.waitForFunction(
      () =>
        (globalThis as unknown as PageWindow).document
          .querySelector('#trail-verdict')
          ?.getAttribute('data-verdict') === 'modified',
      undefined,
      { timeout: 30_000 },
    );
    // Assert
    expect(await verdict.textContent()).toMatch(
      /^Not verified \(modified\): an event was changed\. First broken link: event 2\./,
    );
    const marked = page.locator('#trail-list li.broken-link');
    expect(await marked.count()).toBe(1);
    expect(await marked.getAttribute('data-seq')).toBe('2');
    expect(await marked.textContent()).toContain('user:mallory CLAIMED');
    expect(await marked.textContent()).toContain(
      'First broken link (event 2 expected here): This event was changed',
    );
    mkdirSync(join(REPO_ROOT, 'test-results', 'console'), { recursive: true });
    await page.screenshot({
      path: join(REPO_ROOT, 'test-results', 'console', 'audit-trail-modified.png'),
      fullPage: true,
    });
    expect(violations).toEqual([]);
    await page.close();
  });

  it('marks a deleted event at the place where it is missing', async () => {
    // Arrange
    const owner = uniqueUser('chained');
    const uploadId = await processedUpload(owner);
    const events = await storedEvents(uploadId);
    await overwriteEvents(uploadId, [events[0], events[2]]);
    const page = await browser.newPage();
    await signIn(page, await tokenFor(runtime, uniqueUser('auditor'), ['auditors']));
    // Act
    await openTrail(page, owner, uploadId);
    // Assert: the PROCESSED event (seq 3) now stands where event 2 belongs.
    expect(await page.locator('#trail-verdict').getAttribute('data-verdict')).toBe('deleted');
    const marked = page.locator('#trail-list li.broken-link');
    expect(await marked.getAttribute('data-seq')).toBe('3');
    expect(await marked.textContent()).toContain('1 event is missing before event 3.');
    await page.close();
  });
});
