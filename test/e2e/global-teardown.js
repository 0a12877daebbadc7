/* eslint-disable no-console -- the tier's own summary */
import { readFileSync, rmSync } from 'node:fs';
import { iamTotals, stopRuntime } from './runtime-process.js';

/**
 * Stops the shared runtime, then reports what the local IAM checked in every runtime of the
 * tier against the synthesized policies, and fails the run if anything was denied: outside the
 * tests that remove a grant on purpose (with runtimes that report elsewhere), every path the
 * tier walks must be allowed by the deployed policies.
 */
export default async function globalTeardown() {
  const infoFile = process.env.AIRLOCK_E2E_RUNTIME;
  if (!infoFile) return;
  const info = JSON.parse(readFileSync(infoFile, 'utf8'));
  await stopRuntime(info.pid, info.dataDir); // it writes its last IAM report as it stops
  const totals = iamTotals(info.iamReports);
  if (!process.env.AIRLOCK_E2E_KEEP) rmSync(info.dataDir, { recursive: true, force: true });
  const denied = totals.sdkCalls.denied + totals.presignedGrants.denied + totals.serviceCalls.denied;
  console.log(
    `\nLocal IAM (${totals.runtimes} runtime(s)): ${totals.sdkCalls.checked} SDK calls, ` +
      `${totals.presignedGrants.checked} presigned grants and ${totals.serviceCalls.checked} service calls ` +
      `checked against the synthesized policies; ${denied} denied.`,
  );
  if (totals.runtimes === 0) throw new Error('No runtime of the e2e tier wrote a local IAM report.');
  if (denied > 0) {
    for (const denial of totals.denials) console.log(`  denied: ${JSON.stringify(denial)}`);
    throw new Error(
      `The local IAM denied ${denied} call(s) during the e2e tier; the deployed policies would too.`,
    );
  }
}
