import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, type App, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { AirlockStack, type AirlockStackProps } from '../../../infra/airlock-stack.js';
import { unbundledApp } from '../../../infra/nag-report.js';
import type { PipelineFunction } from '../../../infra/upload-pipeline.js';

/** The environment of every stack under test: a concrete account and region, as in a deployment. */
export const ENV = { account: '123456789012', region: 'eu-west-1' } as const;

/** Cloud assemblies written by this test file, removed once it is done. */
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A CDK app as `cdk synth` would build it: the feature flags of cdk.json (they change how
 * policies are rendered) and no asset bundling, so that synthesis takes seconds.
 */
export function newApp(): App {
  const outdir = mkdtempSync(join(tmpdir(), 'airlock-infra-test-'));
  outdirs.push(outdir);
  return unbundledApp(outdir);
}

export interface Synthesized {
  readonly app: App;
  readonly stack: AirlockStack;
  readonly template: Template;
}

/** Builds one Airlock stack in its own app and synthesizes its template. */
export function synthAirlock(pipeline: AirlockStackProps['pipeline'] = {}, app: App = newApp()): Synthesized {
  const stack = new AirlockStack(app, 'Airlock', { env: ENV, pipeline });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The CloudFormation logical id of a construct's L1 resource. */
export function logicalIdOf(construct: IConstruct | undefined): string {
  if (construct === undefined)
    throw new Error('No such construct (a function this configuration does not make?)');
  const resource = construct.node.defaultChild as CfnResource | undefined;
  if (resource === undefined) throw new Error(`${construct.node.path} has no default child resource`);
  return Stack.of(construct).getLogicalId(resource);
}

/** The pipeline's functions by name, in declaration order. */
export function pipelineFunctions(stack: AirlockStack): Array<[PipelineFunction, string]> {
  return (Object.keys(stack.pipeline.functions) as PipelineFunction[]).flatMap((name) => {
    const fn = stack.pipeline.functions[name];
    return fn ? [[name, logicalIdOf(fn)] as [PipelineFunction, string]] : [];
  });
}
