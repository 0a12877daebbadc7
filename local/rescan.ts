/* eslint-disable no-console -- a command-line tool */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RescanReport } from '../functions/rescan.js';
import { readLocalSettings, type LocalSettings } from './settings.js';

/** The rescan function failed (as `aws lambda invoke` reports a FunctionError). */
export class RescanFailedError extends Error {
  override readonly name = 'RescanFailedError';
}

/**
 * Rescans every promoted file of the runtime that `settings` describe, after a signature update
 * say. Like `aws lambda invoke` on AWS, it asks the running runtime to invoke the rescan function,
 * which runs there under its synthesized role; locally the ClamAV engine reads and scans each
 * promoted copy and its result goes to the intake, which quarantines what is now found infected.
 * The function answers a cursor when its budget runs out; this goes on until there is nothing left.
 */
export async function rescanLocal(settings: LocalSettings): Promise<RescanReport> {
  const { apiUrl } = JSON.parse(readFileSync(join(settings.dataDir, 'runtime.json'), 'utf8')) as {
    apiUrl: string;
  };
  const total: RescanReport = { requested: [], skipped: [] };
  let cursor: string | undefined;
  do {
    const response = await fetch(`${apiUrl}/_local/functions/rescan/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(cursor === undefined ? {} : { cursor }),
    });
    const body: unknown = await response.json();
    if (response.status !== 200)
      throw new RescanFailedError(`invoke → ${response.status}: ${JSON.stringify(body)}`);
    if (response.headers.get('x-amz-function-error') !== null) {
      const { errorType, errorMessage } = body as { errorType?: string; errorMessage?: string };
      throw new RescanFailedError(`${errorType ?? 'Error'}: ${errorMessage ?? ''}`);
    }
    const report = body as RescanReport;
    total.requested.push(...report.requested);
    total.skipped.push(...report.skipped);
    cursor = report.cursor;
  } while (cursor !== undefined);
  return total;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // `npm run rescan`: with Airlock running, scan every promoted file again. Stdout is the report.
  const report = await rescanLocal(readLocalSettings()).catch((error: unknown) => {
    const reason = error instanceof RescanFailedError ? '' : ' (is Airlock running? npm start)';
    console.error(`rescan failed: ${(error as Error).message}${reason}`);
    process.exit(1);
  });
  console.log(JSON.stringify(report, null, 2));
}
