import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { LOCAL_RUNTIME_CONTEXT } from '../../config/events-config.js';
import { REPO_ROOT } from '../settings.js';

/** A CloudFormation template, as `cdk synth` writes it. */
export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** Names a given template instead of synthesizing one (tests use it to remove a grant). */
export const IAM_TEMPLATE_ENV = 'AIRLOCK_IAM_TEMPLATE';

/** What `infra/app.ts` reads: a change to any of it may change the policies, so it re-synthesizes. */
const TEMPLATE_INPUTS = ['infra', 'functions', 'statemachines', 'cdk.json', 'package-lock.json'];

/**
 * The template of the stack `npm run synth` deploys. With AIRLOCK_IAM_TEMPLATE, that file;
 * otherwise `infra/app.ts` is synthesized in a child process (so CDK is never loaded into the
 * runtime) and cached under `node_modules/.cache/airlock/`, keyed by a hash of its inputs: every
 * runtime after the first starts without synthesizing again.
 */
export async function deployedTemplate(log: (message: string) => void = () => undefined): Promise<{
  template: CfnTemplate;
  source: string;
}> {
  const given = process.env[IAM_TEMPLATE_ENV];
  if (given) return { template: readTemplate(given), source: given };
  const cacheDir = join(REPO_ROOT, 'node_modules', '.cache', 'airlock');
  const cached = join(cacheDir, `template-${inputsHash()}.json`);
  if (!existsSync(cached)) {
    log('synthesizing the CDK app for its IAM policies (cached after the first start)…');
    const template = await synthesize();
    mkdirSync(cacheDir, { recursive: true });
    const temp = `${cached}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(template));
    renameSync(temp, cached); // atomic: runtimes starting at once may both synthesize
  }
  return { template: readTemplate(cached), source: relative(REPO_ROOT, cached) };
}

function readTemplate(path: string): CfnTemplate {
  const template = JSON.parse(readFileSync(path, 'utf8')) as Partial<CfnTemplate>;
  if (typeof template.Resources !== 'object' || template.Resources === null) {
    throw new Error(`${path} is not a CloudFormation template (no Resources).`);
  }
  return template as CfnTemplate;
}

/** A hash of every file `infra/app.ts` reads (sources, ASL, feature flags, locked versions). */
export function inputsHash(root: string = REPO_ROOT): string {
  const hash = createHash('sha256');
  const visit = (path: string): void => {
    const full = join(root, path);
    if (!existsSync(full)) return;
    const files = statSync(full).isDirectory()
      ? readdirSync(full, { withFileTypes: true, recursive: true })
          .filter((entry) => entry.isFile())
          .map((entry) => relative(root, join(entry.parentPath, entry.name)))
          .sort()
      : [path];
    for (const file of files) {
      hash
        .update(`${file}\0`)
        .update(readFileSync(join(root, file)))
        .update('\0');
    }
  };
  for (const input of TEMPLATE_INPUTS) visit(input);
  return hash.digest('hex').slice(0, 16);
}

/**
 * Runs `infra/app.ts` as the CDK CLI would (CDK_OUTDIR, CDK_CONTEXT_JSON with cdk.json's feature
 * flags), with asset bundling skipped and no account or region: the template then refers to
 * AWS::Region and AWS::AccountId, which the runtime resolves to its own.
 */
async function synthesize(): Promise<CfnTemplate> {
  const outdir = await mkdtemp(join(tmpdir(), 'airlock-iam-synth-'));
  try {
    const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
      context?: Record<string, unknown>;
    };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({
        ...cdkJson.context,
        'aws:cdk:bundling-stacks': [],
        [LOCAL_RUNTIME_CONTEXT]: true, // webhooks are the runtime's own (local/outcome-bus.ts)
      }),
      CDK_DISABLE_CLI_TELEMETRY: 'true',
    };
    for (const name of ['CDK_DEFAULT_ACCOUNT', 'CDK_DEFAULT_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'])
      delete env[name];
    let output = '';
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
        cwd: REPO_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('error', reject);
      child.once('exit', resolve);
    });
    const file = join(outdir, 'Airlock.template.json');
    if (code !== 0 || !existsSync(file)) {
      throw new Error(
        `Synthesizing infra/app.ts for its IAM policies failed (exit ${code}):\n${output.slice(-4000)}`,
      );
    }
    return readTemplate(file);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
