import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { runPart, type PartResult, type RuntimeTarget, type SuiteOptions } from './part.js';
import { backends, trailProblems, type SentJob } from './workload.js';
import { mapLimit } from './probes.js';
import { verifyEveryTrail } from './chain.js';

export interface AuditOptions extends SuiteOptions {
  /** Every upload the load, duplicate and fault parts sent. */
  sent: SentJob[];
  /** Other runtimes of the suite (the backlog's) whose trails are verified as well. */
  alsoVerify?: RuntimeTarget[];
}

/** What must never be stored or logged: presigned URL parts, POST policies, tokens, secrets. */
export function secretPatterns(secretAccessKey: string): Array<{ name: string; pattern: RegExp }> {
  return [
    { name: 'SigV4 signature', pattern: /X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token/i },
    { name: 'SigV2 signature', pattern: /[?&](Signature|AWSAccessKeyId)=/ },
    { name: 'POST policy', pattern: /"x-amz-signature"|eyJleHBpcmF0aW9u/ },
    { name: 'JWT', pattern: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./ },
    { name: 'bearer token', pattern: /Bearer\s+[A-Za-z0-9._-]{16,}/i },
    { name: 'S3 secret key', pattern: new RegExp(secretAccessKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) },
    { name: 'URL with a query', pattern: /https?:\/\/[^\s"']+\?[^\s"']+/ },
  ];
}

/**
 * Audit completeness after the load and fault runs: every upload's trail goes from ISSUED to its
 * terminal status with no gap and no duplicate transition; every trail in the table (SIGKILLs,
 * outages and redrives included) verifies by its hash chain as an auditor checks it (chain.ts);
 * and no URL, signature or token is in any item of the table or any line of the runtime's log
 * (handlers and runtime, INFO level).
 */
export function runAuditCompleteness(target: RuntimeTarget, options: AuditOptions): Promise<PartResult> {
  return runPart(
    'audit',
    'every trail complete and its hash chain verified; no URL, signature or token in the table or logs',
    async (failures) => {
      const { store, dynamo } = backends(target);
      const documents = DynamoDBDocumentClient.from(dynamo);
      let gaps = 0;
      await mapLimit(options.sent, 16, async (job) => {
        const record = await store.get(job.uploadId);
        if (record === undefined) {
          failures.push(`${job.uploadId}: no record`);
          gaps++;
          return;
        }
        const problems = trailProblems(await store.listAudit(job.uploadId), record.status);
        if (problems.length > 0) {
          gaps++;
          failures.push(`${job.uploadId}: ${problems.join('; ')}`);
        }
      });

      // Every trail of every runtime, by the auditor's export and `airlock audit verify`.
      const chains = { trails: 0, events: 0, verified: 0, unverifiable: 0, readOneByOne: 0 };
      for (const runtime of [target, ...(options.alsoVerify ?? [])]) {
        const check = await verifyEveryTrail(runtime);
        for (const key of Object.keys(chains) as Array<keyof typeof chains>) chains[key] += check[key];
        failures.push(...check.problems.slice(0, 50));
      }
      if (chains.trails === 0) failures.push('no trail in the table to verify');
      if (chains.unverifiable > 0)
        failures.push(`${chains.unverifiable} of ${chains.trails} trails unverifiable`);

      const patterns = secretPatterns(target.credentials.secretAccessKey);
      // The table: every item, records and audit events alike. No URL of any kind belongs there.
      const tablePatterns = [...patterns, { name: 'URL', pattern: /https?:\/\//i }];
      let items = 0;
      let tableHits = 0;
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(
          new ScanCommand({ TableName: target.table, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
        );
        for (const item of page.Items ?? []) {
          items++;
          const text = JSON.stringify(item);
          for (const { name, pattern } of tablePatterns) {
            if (pattern.test(text)) {
              tableHits++;
              failures.push(`table item ${text.slice(0, 80)}…: ${name}`);
            }
          }
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);

      let lines = 0;
      let logHits = 0;
      for (const file of await logFiles(target.dataDir)) {
        const text = await readFile(file, 'utf8');
        for (const line of text.split('\n')) {
          if (line === '') continue;
          lines++;
          for (const { name, pattern } of patterns) {
            if (pattern.test(line)) {
              logHits++;
              if (logHits <= 20) failures.push(`${file}: ${name} in "${line.slice(0, 120)}…"`);
            }
          }
        }
      }
      if (lines === 0) failures.push('no log lines to check: the runtime log is missing');
      if (options.sent.length === 0) failures.push('no uploads to check');
      return {
        trailsChecked: options.sent.length,
        trailsWithGaps: gaps,
        chainsInTable: chains.trails,
        chainsVerified: chains.verified,
        chainsUnverifiable: chains.unverifiable,
        chainEventsVerified: chains.events,
        chainsReadOneByOne: chains.readOneByOne,
        tableItemsScanned: items,
        secretsInTable: tableHits,
        logLinesScanned: lines,
        secretsInLogs: logHits,
      };
    },
  );
}

/** The runtime's own log (handler logs included) and the executor's execution histories. */
async function logFiles(dataDir: string): Promise<string[]> {
  const executions = join(dataDir, 'executions');
  const histories = (await readdir(executions).catch(() => [] as string[]))
    .filter((file) => file.endsWith('.events.ndjson'))
    .map((file) => join(executions, file));
  return [join(dataDir, 'runtime.log'), ...histories];
}
