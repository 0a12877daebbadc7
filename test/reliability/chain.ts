import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { AirlockClient } from '../../client/index.js';
import { main } from '../../cli/main.js';
import type { VerificationSummary } from '../../cli/audit-verify.js';
import { RECORD_SK, UNSOLICITED_SK } from '../../functions/adapters/table-layout.js';
import { issueToken } from '../../local/auth.js';
import type { RuntimeTarget } from './part.js';
import { backends } from './workload.js';

/** What the hash-chain check of one runtime found. */
export interface ChainCheck {
  /** Trails in the table: upload records and unsolicited objects' trails. */
  trails: number;
  /** Events in the trails verified. */
  events: number;
  verified: number;
  /** Trails that did not verify, or that the auditor's export did not hold. */
  unverifiable: number;
  /** Trails the export missed (unsolicited ones, or a record that changed while it ran), read one by one. */
  readOneByOne: number;
  problems: string[];
}

/**
 * Verifies the hash chain of every trail in `target`'s table the way an auditor would: as a member
 * of `auditors`, `airlock audit export --format ndjson` over a window that covers every record,
 * each trail the export does not list (an unsolicited object's, or a record that changed status
 * while the export paged) read through `GET /uploads/{id}/events` and added to the file, then
 * `airlock audit verify --export` over the file. The table is scanned only to know which trails
 * must be there: a trail in the table that the auditor cannot read and verify is unverifiable.
 */
export async function verifyEveryTrail(target: RuntimeTarget): Promise<ChainCheck> {
  const expected = await trailsInTable(target);
  const dir = await mkdtemp(join(tmpdir(), 'airlock-chain-'));
  try {
    const token = await issueToken(target.dataDir, {
      sub: 'reliability-auditor',
      groups: ['auditors'],
      ttlSeconds: 3600,
    });
    const env = { AIRLOCK_API_URL: target.apiUrl, AIRLOCK_TOKEN: token };
    const path = join(dir, 'export.ndjson');
    const from = new Date(expected.earliestUpdate - 1000).toISOString();
    const file = createWriteStream(path);
    let exported = '';
    const errors = collect();
    const exportCode = await main({
      argv: ['audit', 'export', '--from', from, '--to', 'now', '--format', 'ndjson'],
      env,
      stdout: teeTo(file, (text) => (exported += idsOnly(text))),
      stderr: errors.stream,
    });
    const problems: string[] = [];
    if (exportCode !== 0) problems.push(`audit export exited ${exportCode}: ${errors.text()}`);

    // Trails the export did not list, read as the auditor reads any one trail.
    const listed = new Set(exported.split('\n').filter((id) => id !== ''));
    const missing = [...expected.ids].filter((id) => !listed.has(id));
    const client = new AirlockClient({ baseUrl: target.apiUrl, token: () => Promise.resolve(token) });
    for (const uploadId of missing) {
      try {
        const events = await client.getEvents(uploadId);
        file.write(`${JSON.stringify({ uploadId, events })}\n`);
      } catch (error) {
        problems.push(`${uploadId}: the auditor cannot read its trail (${(error as Error).message})`);
      }
    }
    file.end();
    await finished(file);

    const out = collect();
    const verifyErrors = collect();
    const verifyCode = await main({
      argv: ['audit', 'verify', '--export', path, '--json'],
      env,
      stdout: out.stream,
      stderr: verifyErrors.stream,
    });
    const summary = JSON.parse(out.text() || '{}') as Partial<VerificationSummary>;
    if (summary.format !== 'airlock-audit-verification/1') {
      problems.push(`audit verify exited ${verifyCode} without a summary: ${verifyErrors.text()}`);
    }
    const failed = new Set<string>();
    for (const report of summary.problems ?? []) {
      failed.add(report.uploadId);
      const link = report.firstBrokenLink;
      problems.push(
        `${report.uploadId}: ${report.verdict} at seq ${link?.seq ?? '?'} (${link?.problem ?? ''})`,
      );
    }
    for (const line of summary.unreadableLines ?? [])
      problems.push(`export line ${line.line}: ${line.problem}`);
    const read = new Set([...listed, ...missing]);
    const unverifiable = [...expected.ids].filter((id) => failed.has(id) || !read.has(id)).length;
    if (unverifiable > 0 && verifyCode === 0) problems.push('audit verify exited 0 with trails unverified');
    return {
      trails: expected.ids.size,
      events: summary.events ?? 0,
      verified: expected.ids.size - unverifiable,
      unverifiable,
      readOneByOne: missing.length,
      problems,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every trail in the table (records and unsolicited objects), and the earliest change of one. */
async function trailsInTable(target: RuntimeTarget): Promise<{ ids: Set<string>; earliestUpdate: number }> {
  const documents = DynamoDBDocumentClient.from(backends(target).dynamo);
  const ids = new Set<string>();
  let earliestUpdate = Date.now();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({
        TableName: target.table,
        ConsistentRead: true,
        FilterExpression: 'sk IN (:record, :unsolicited)',
        ExpressionAttributeValues: { ':record': RECORD_SK, ':unsolicited': UNSOLICITED_SK },
        ProjectionExpression: 'pk, updatedAt',
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      ids.add(String(item.pk).replace(/^UPLOAD#/, ''));
      const changed = Date.parse(String(item.updatedAt ?? ''));
      if (!Number.isNaN(changed)) earliestUpdate = Math.min(earliestUpdate, changed);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return { ids, earliestUpdate };
}

/** The upload ids of NDJSON lines (a line per upload), one per line. */
function idsOnly(text: string): string {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => `${(JSON.parse(line) as { uploadId: string }).uploadId}\n`)
    .join('');
}

/** The CLI's stdout: into the file, and each chunk (whole lines: the export emits a page at a time) seen. */
function teeTo(file: NodeJS.WritableStream, see: (text: string) => void) {
  return {
    write: (text: string) => {
      see(text);
      return file.write(text);
    },
    once: (event: 'drain', listener: () => void) => file.once(event, listener),
  };
}

/** An in-memory output for the CLI. */
function collect(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}
