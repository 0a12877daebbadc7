/**
 * The cdk-nag counts of the default Airlock stack, per pack (AwsSolutions, Serverless,
 * NIST 800-53 R5): how many findings are unacknowledged (synthesis fails unless 0), how many are
 * acknowledged on their construct with a reason, and which rules those are.
 *
 * As a module: `import { nagReport } from './infra/nag-report.js'` and `await nagReport()`.
 * As a script: `npx tsx infra/nag-report.ts [--json]` prints a table (or the NagReport as JSON)
 * and exits 1 if any finding is unacknowledged.
 *
 * Synthesis runs in a temporary directory with asset bundling skipped (no esbuild, no Docker):
 * cdk-nag reads the construct tree and the template, never the bundled code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { AirlockStack } from './airlock-stack.js';
import { addNagPacks, NAG_PACKS, type NagPackName } from './nag-packs.js';

/** The counts of one cdk-nag pack. A finding is one rule (or IAM finding) on one resource. */
export interface NagPackReport {
  /** The pack, as cdk-nag names its plugin: `AwsSolutions`, `Serverless` or `NIST.800.53.R5`. */
  readonly pack: NagPackName;
  /** Findings without an acknowledgement. `npm run synth` fails unless this is 0. */
  readonly unacknowledged: number;
  /** Findings acknowledged on the construct they concern, each with its reason. */
  readonly acknowledged: number;
  /**
   * The rules with at least one acknowledged finding, sorted and without the finding detail:
   * `AwsSolutions-IAM5` stands for `AwsSolutions-IAM5[Resource::*]` and its siblings.
   */
  readonly rulesAcknowledged: string[];
}

/** The cdk-nag counts of one synthesized stack, per pack and in total. */
export interface NagReport {
  /** The stack that was checked (`Airlock`). */
  readonly stack: string;
  /** One entry per pack, in the order of NAG_PACKS. */
  readonly packs: NagPackReport[];
  /** The sums over the packs. */
  readonly totals: { readonly unacknowledged: number; readonly acknowledged: number };
}

/** The part of the cloud assembly's `validation-report.json` (CDK policy validation) read here. */
export interface ValidationReport {
  readonly pluginReports: ReadonlyArray<{
    readonly pluginName: string;
    readonly violations: ReadonlyArray<{
      readonly ruleName: string;
      readonly violatingConstructs: ReadonlyArray<{ readonly constructPath: string }>;
    }>;
    readonly suppressedViolations?: ReadonlyArray<{
      readonly ruleName: string;
      readonly violatingConstructs: ReadonlyArray<{ readonly constructPath: string }>;
      readonly acknowledgedId: string;
      readonly acknowledgedAt: string;
      readonly reason: string;
    }>;
  }>;
}

const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as {
  context?: Record<string, unknown>;
};

/**
 * A CDK app as `cdk synth` builds it (the feature flags of cdk.json), writing to `outdir`, with
 * asset bundling skipped so that synthesis takes seconds and needs neither esbuild nor Docker.
 */
export function unbundledApp(outdir: string): App {
  return new App({ outdir, context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
}

/**
 * Synthesizes an app whose validation plugins are registered, and reads the validation report.
 * `error` is what synthesis threw (unacknowledged findings make it throw); the report is written
 * either way, unless synthesis failed before validation.
 */
export function synthesizeWithReport(app: App): { error: unknown; report: ValidationReport | undefined } {
  let error: unknown;
  try {
    app.synth();
  } catch (caught) {
    error = caught;
  }
  const path = join(app.outdir, 'validation-report.json');
  const report = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ValidationReport) : undefined;
  return { error, report };
}

/** The rule of a finding: `AwsSolutions-IAM5[Resource::*]` → `AwsSolutions-IAM5`. */
export const ruleOf = (ruleName: string): string => ruleName.replace(/\[.*\]$/s, '');

/** Counts one validation report per pack. A pack missing from the report counts as not run. */
export function summarize(report: ValidationReport, stack = 'Airlock'): NagReport {
  const packs = NAG_PACKS.map((pack): NagPackReport => {
    const plugin = report.pluginReports.find((candidate) => candidate.pluginName === pack);
    if (plugin === undefined) throw new Error(`The validation report has no ${pack} section`);
    const suppressed = plugin.suppressedViolations ?? [];
    const count = (findings: ReadonlyArray<{ violatingConstructs: readonly unknown[] }>) =>
      findings.reduce((sum, finding) => sum + finding.violatingConstructs.length, 0);
    return {
      pack,
      unacknowledged: count(plugin.violations),
      acknowledged: count(suppressed),
      rulesAcknowledged: [...new Set(suppressed.map((finding) => ruleOf(finding.ruleName)))].sort(),
    };
  });
  return {
    stack,
    packs,
    totals: {
      unacknowledged: packs.reduce((sum, pack) => sum + pack.unacknowledged, 0),
      acknowledged: packs.reduce((sum, pack) => sum + pack.acknowledged, 0),
    },
  };
}

/**
 * Synthesizes the default Airlock stack (every UploadPipeline default, as the committed
 * airlock.config.json keeps them) in a temporary directory with the three cdk-nag packs, and
 * returns its counts. Rejects only when synthesis
 * fails for another reason than findings; unacknowledged findings are counted, not thrown.
 */
export async function nagReport(): Promise<NagReport> {
  const outdir = await mkdtemp(join(tmpdir(), 'airlock-nag-'));
  try {
    const app = unbundledApp(outdir);
    new AirlockStack(app, 'Airlock', {
      env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    });
    addNagPacks(app);
    const { error, report } = synthesizeWithReport(app);
    if (report === undefined) throw error instanceof Error ? error : new Error(String(error));
    return summarize(report);
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** The report as a table, one line per pack. */
export function formatNagReport(report: NagReport): string {
  const lines = report.packs.map(
    (pack) =>
      `${pack.pack.padEnd(16)} ${String(pack.unacknowledged).padStart(14)} ${String(pack.acknowledged).padStart(12)}  ${pack.rulesAcknowledged.join(', ')}`,
  );
  return [
    `cdk-nag findings of the ${report.stack} stack`,
    `${'pack'.padEnd(16)} ${'unacknowledged'.padStart(14)} ${'acknowledged'.padStart(12)}  rules acknowledged`,
    ...lines,
    `${'total'.padEnd(16)} ${String(report.totals.unacknowledged).padStart(14)} ${String(report.totals.acknowledged).padStart(12)}`,
  ].join('\n');
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const report = await nagReport();
  process.stdout.write(
    `${process.argv.includes('--json') ? JSON.stringify(report, null, 2) : formatNagReport(report)}\n`,
  );
  process.exitCode = report.totals.unacknowledged === 0 ? 0 : 1;
}
