/* eslint-disable no-console -- a command-line tool */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RedriveReport } from '../functions/redrive.js';
import { readLocalSettings, type LocalSettings } from './settings.js';

/** The redrive function failed (as `aws lambda invoke` reports a FunctionError). */
export class RedriveFailedError extends Error {
  override readonly name = 'RedriveFailedError';
}

/**
 * Redrives the FAILED uploads (all, or those named) of the runtime that `settings` describe.
 * Like `aws lambda invoke` on AWS, it asks the running runtime to invoke the redrive function,
 * which runs there under the redrive role's synthesized policies. The handler answers a cursor (or
 * the named ids left) when its budget runs out; an operator at the command line wants them all,
 * so this goes on until there is nothing left.
 */
export async function redriveLocal(settings: LocalSettings, uploadIds?: string[]): Promise<RedriveReport> {
  const { apiUrl } = JSON.parse(readFileSync(join(settings.dataDir, 'runtime.json'), 'utf8')) as {
    apiUrl: string;
  };
  const invoke = async (payload: { uploadIds?: string[]; cursor?: string }): Promise<RedriveReport> => {
    const response = await fetch(`${apiUrl}/_local/functions/redrive/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    const body: unknown = await response.json();
    if (response.status !== 200)
      throw new RedriveFailedError(`invoke → ${response.status}: ${JSON.stringify(body)}`);
    if (response.headers.get('x-amz-function-error') !== null) {
      const { errorType, errorMessage } = body as { errorType?: string; errorMessage?: string };
      throw new RedriveFailedError(`${errorType ?? 'Error'}: ${errorMessage ?? ''}`);
    }
    return body as RedriveReport;
  };
  const total: RedriveReport = { redriven: [], skipped: [] };
  let next: { uploadIds?: string[]; cursor?: string } =
    uploadIds && uploadIds.length > 0 ? { uploadIds } : {};
  for (;;) {
    const report = await invoke(next);
    total.redriven.push(...report.redriven);
    total.skipped.push(...report.skipped);
    if (report.cursor !== undefined) next = { cursor: report.cursor };
    else if (report.remaining !== undefined) next = { uploadIds: report.remaining };
    else return total;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // `npm run redrive [-- <uploadId>…]`: with Airlock running, resume FAILED uploads. Stdout is
  // the report (JSON).
  const report = await redriveLocal(readLocalSettings(), process.argv.slice(2)).catch((error: unknown) => {
    const reason = error instanceof RedriveFailedError ? '' : ' (is Airlock running? npm start)';
    console.error(`redrive failed: ${(error as Error).message}${reason}`);
    process.exit(1);
  });
  console.log(JSON.stringify(report, null, 2));
}
