/* eslint-disable no-console -- a command-line tool */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { ObjectStore } from '../functions/adapters/object-store.js';
import { UploadStore } from '../functions/adapters/upload-store.js';
import type { ExecutionGateway } from '../functions/adapters/execution-gateway.js';
import { makeRedriveHandler, type RedriveReport } from '../functions/redrive.js';
import { logger } from '../functions/commons/logger.js';
import { readLocalSettings, type LocalSettings } from './settings.js';

/** StartExecution on a running local runtime, through its router (loopback only). */
export class LocalExecutionsClient implements ExecutionGateway {
  constructor(private readonly routerUrl: string) {}

  isRunning(): Promise<boolean> {
    return Promise.reject(new Error('not available through the router'));
  }

  async start(input: unknown, dedupeKey: string): Promise<void> {
    const response = await fetch(`${this.routerUrl}/start-execution`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input, dedupeKey }),
    });
    if (response.status !== 200) throw new Error(`start-execution → ${response.status}`);
  }
}

/**
 * Redrives the FAILED uploads (all, or those named) of the runtime that `settings` describe. The
 * handler answers a cursor (or the named ids left) when its budget runs out; an operator at the
 * command line wants them all, so this goes on until there is nothing left.
 */
export async function redriveLocal(settings: LocalSettings, uploadIds?: string[]): Promise<RedriveReport> {
  const { s3Endpoint } = JSON.parse(readFileSync(join(settings.dataDir, 'runtime.json'), 'utf8')) as {
    s3Endpoint: string;
  };
  const credentials = { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey };
  const redrive = makeRedriveHandler(() => ({
    store: new UploadStore(
      settings.table,
      new DynamoDBClient({
        endpoint: `http://127.0.0.1:${settings.dynamoDbPort}`,
        region: settings.region,
        credentials,
      }),
    ),
    objects: new ObjectStore(
      new S3Client({ endpoint: s3Endpoint, forcePathStyle: true, region: settings.region, credentials }),
    ),
    executions: new LocalExecutionsClient(`http://127.0.0.1:${settings.routerPort}`),
    bucket: settings.bucket,
    now: () => new Date(),
    pageSize: settings.sweep.pageSize,
    concurrency: settings.sweep.concurrency,
    budgetMs: 25_000, // as the deployed function's (REDRIVE_TIME_BUDGET_SECONDS)
  }));
  const total: RedriveReport = { redriven: [], skipped: [] };
  let next: { uploadIds?: string[]; cursor?: string } =
    uploadIds && uploadIds.length > 0 ? { uploadIds } : {};
  for (;;) {
    const report = await redrive(next);
    total.redriven.push(...report.redriven);
    total.skipped.push(...report.skipped);
    if (report.cursor !== undefined) next = { cursor: report.cursor };
    else if (report.remaining !== undefined) next = { uploadIds: report.remaining };
    else return total;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // `npm run redrive [-- <uploadId>…]`: with Airlock running, resume FAILED uploads. Stdout is
  // the report (JSON): the handler's own log lines only at WARN unless asked for.
  if (process.env.POWERTOOLS_LOG_LEVEL === undefined) logger.setLogLevel('WARN');
  const report = await redriveLocal(readLocalSettings(), process.argv.slice(2)).catch((error: unknown) => {
    console.error(`redrive failed: ${(error as Error).message} (is Airlock running? npm start)`);
    process.exit(1);
  });
  console.log(JSON.stringify(report, null, 2));
}
