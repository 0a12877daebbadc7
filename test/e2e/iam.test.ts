import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { IamReport } from '../../local/iam/index.js';
import { deployedTemplate, type CfnTemplate } from '../../local/iam/template.js';
import * as samples from '../fixtures/samples.js';
import {
  allocateRuntime,
  iamTotals,
  launchRuntime,
  stopRuntime,
  type RuntimeSpec,
} from './runtime-process.js';
import { createUpload, sharedRuntime, tokenFor, uniqueUser, upload, waitForOutcome } from './support.js';

/**
 * The deployed IAM, enforced locally: an upload walks every step under its function's
 * synthesized role, and `npm run redrive` runs as the redrive function. Then the negative proof:
 * the same template with one needed grant removed (redrive's dynamodb:GetItem), and redriving by
 * id fails with AccessDeniedException, as it did on AWS before that grant was added.
 */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface RuntimeRef {
  apiUrl: string;
  dataDir: string;
}

const iamReport = async (runtime: { apiUrl: string }): Promise<IamReport> =>
  (await (await fetch(`${runtime.apiUrl}/_local/iam`)).json()) as IamReport;

/** `npm run redrive -- <ids>` against a runtime, as an operator runs it. */
async function redrive(runtime: RuntimeRef, uploadIds: string[]) {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', 'local/redrive.ts', ...uploadIds], {
    cwd: REPO_ROOT,
    env: { ...process.env, AIRLOCK_DATA_DIR: runtime.dataDir },
    timeout: 60_000,
  }).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? 1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
}

/** One upload through the whole pipeline; its id once PROCESSED. */
async function processedUpload(runtime: RuntimeRef): Promise<string> {
  const token = await tokenFor(runtime, uniqueUser('iam'));
  const bytes = samples.pdf();
  const created = await createUpload(runtime, token, {
    fileName: 'iam.pdf',
    contentType: 'application/pdf',
    size: bytes.length,
    method: 'PUT',
  });
  expect((await upload(created.upload, bytes)).status).toBe(200);
  expect((await waitForOutcome(runtime, token, created.uploadId)).status).toBe('PROCESSED');
  return created.uploadId;
}

describe('local IAM on the shared runtime (the synthesized template, unchanged)', () => {
  it('runs each step of an upload as its own function, every call allowed', async () => {
    // Arrange: what each step's function must be checked for (as its role, by its action).
    const runtime = sharedRuntime();
    const steps: Array<[string, string]> = [
      ['create-upload', 's3:PutObject'], // the presigned PUT, at signing
      ['create-upload', 'dynamodb:PutItem'],
      ['state-machine', 'lambda:InvokeFunction'],
      ['claim', 'dynamodb:UpdateItem'],
      ['validate', 's3:GetObjectVersion'],
      ['promote', 's3:GetObjectVersion'],
      ['promote', 's3:PutObject'],
      ['record-outcome', 'dynamodb:UpdateItem'],
      ['release-quarantine', 's3:DeleteObjectVersion'],
      ['get-upload', 'dynamodb:GetItem'],
    ];
    const checked = (report: IamReport, [principal, action]: [string, string]) =>
      report.byPrincipal[principal]?.[action]?.checked ?? 0;
    const before = await iamReport(runtime);

    // Act
    await processedUpload(runtime);
    const after = await iamReport(runtime);

    // Assert
    const unchecked = steps.filter((step) => checked(after, step) <= checked(before, step));
    expect(unchecked).toEqual([]);
    // The execution is started by the event rule's role, or by the reconciler (the sweeper's).
    const starts = (report: IamReport) =>
      checked(report, ['events-rule', 'states:StartExecution']) +
      checked(report, ['sweeper', 'states:StartExecution']);
    expect(starts(after)).toBeGreaterThan(starts(before));
    expect(after.denials).toEqual([]);
  });

  it('redrives by id as the redrive function: it reads the named upload (dynamodb:GetItem) and is allowed', async () => {
    // Arrange
    const runtime = sharedRuntime();
    const uploadId = await processedUpload(runtime);
    const before = (await iamReport(runtime)).byPrincipal.redrive?.['dynamodb:GetItem']?.checked ?? 0;

    // Act
    const result = await redrive(runtime, [uploadId]);

    // Assert: a PROCESSED upload is not redriven; reading it was allowed.
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual({ redriven: [], skipped: [] });
    const after = (await iamReport(runtime)).byPrincipal.redrive?.['dynamodb:GetItem'];
    expect(after).toEqual({ checked: before + 1, denied: 0 });
  });
});

describe('local IAM with one needed grant removed from the synthesized template', () => {
  let spec: RuntimeSpec;
  let pid = 0;
  let dataDir = '';

  beforeAll(async () => {
    // A copy of the template the runtime enforces, less the redrive role's dynamodb:GetItem.
    dataDir = mkdtempSync(join(tmpdir(), 'airlock-e2e-iam-'));
    const { template } = await deployedTemplate();
    const removed = withoutAction(template, 'Airlock redrive', 'dynamodb:GetItem');
    expect(removed).toBe(1);
    const templateFile = join(dataDir, 'template-without-redrive-getitem.json');
    writeFileSync(templateFile, JSON.stringify(template));
    spec = await allocateRuntime({
      dataDir: join(dataDir, 'runtime'),
      // Its denials are this test's to count, not the tier's (globalTeardown fails on any).
      env: { AIRLOCK_IAM_TEMPLATE: templateFile, AIRLOCK_IAM_REPORT_DIR: join(dataDir, 'reports') },
    });
    pid = (await launchRuntime(spec)).pid;
  });

  afterAll(async () => {
    if (pid) await stopRuntime(pid, spec.dataDir);
    if (!process.env.AIRLOCK_E2E_KEEP) rmSync(dataDir, { recursive: true, force: true });
  });

  it('redrive by id fails with AccessDeniedException, and only that call is denied', async () => {
    // Arrange
    const runtime = { apiUrl: `http://localhost:${spec.ports.api}`, dataDir: spec.dataDir };
    const uploadId = await processedUpload(runtime);

    // Act
    const result = await redrive(runtime, [uploadId]);

    // Assert
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /redrive failed: DependencyError: GetItem\(upload\) failed \(AccessDeniedException\)/,
    );
    const report = await iamReport(runtime);
    expect(report.denials).toEqual([
      expect.objectContaining({
        principal: 'redrive',
        action: 'dynamodb:GetItem',
        resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/airlock-local',
        because: 'because no identity-based policy allows the dynamodb:GetItem action',
      }),
    ]);
    await stopRuntime(pid, spec.dataDir);
    pid = 0;
    expect(iamTotals(join(dataDir, 'reports')).sdkCalls.denied).toBe(1);
  });
});

/** Removes `action` from the role of the function described `description`; how many it removed. */
function withoutAction(template: CfnTemplate, description: string, action: string): number {
  const resources = template.Resources;
  const fn = Object.values(resources).find((resource) => resource.Properties?.Description === description);
  const roleId = ((fn?.Properties?.Role as { 'Fn::GetAtt'?: string[] } | undefined)?.['Fn::GetAtt'] ?? [])[0];
  let removed = 0;
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = (resource.Properties?.Roles as Array<{ Ref?: string }> | undefined) ?? [];
    if (!roles.some((role) => role.Ref === roleId)) continue;
    const document = resource.Properties?.PolicyDocument as {
      Statement: Array<{ Action: string | string[] }>;
    };
    for (const statement of document.Statement) {
      const actions = [statement.Action].flat();
      if (!actions.includes(action)) continue;
      removed++;
      statement.Action = actions.filter((a) => a !== action);
    }
    document.Statement = document.Statement.filter((statement) => [statement.Action].flat().length > 0);
  }
  return removed;
}
