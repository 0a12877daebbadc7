import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_ACCOUNT, LOCAL_REGION, LOCAL_STATE_MACHINE_ARN, localFunctionArn } from '../executor.js';
import type { LocalSettings } from '../settings.js';
import { IAM_REPORT_DIR_ENV, IamEnforcer } from './enforcer.js';
import { readDeployedPolicies } from './roles.js';
import { deployedTemplate } from './template.js';

export { IamEnforcer, IAM_REPORT_DIR_ENV, type IamReport, type IamCount } from './enforcer.js';

/**
 * The deployed stack's IAM, enforced on this runtime: the synthesized template's role policies
 * and bucket policy, resolved to the local bucket, table, state machine and account. The report
 * goes to `<data>/iam/report-<pid>-<start>.json` (and AIRLOCK_IAM_REPORT_DIR when set); the
 * template that was enforced is kept beside it.
 */
export async function startIam(
  settings: LocalSettings,
  log: (message: string) => void,
): Promise<IamEnforcer> {
  const { template, source } = await deployedTemplate(log);
  const where = { account: LOCAL_ACCOUNT, region: LOCAL_REGION, bucket: settings.bucket };
  const deployed = readDeployedPolicies(template, {
    ...where,
    digestBucket: settings.auditDigests.bucket,
    table: settings.table,
    stateMachineArn: LOCAL_STATE_MACHINE_ARN,
    functionArn: localFunctionArn,
  });
  const dir = join(settings.dataDir, 'iam');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'template.json'), JSON.stringify(template, null, 1));
  const file = `report-${process.pid}-${Date.now()}.json`;
  const shared = process.env[IAM_REPORT_DIR_ENV];
  return new IamEnforcer(deployed, where, source, [join(dir, file), ...(shared ? [join(shared, file)] : [])]);
}
