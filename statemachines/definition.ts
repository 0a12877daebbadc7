import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * One definition, two runtimes: CDK loads this file with DefinitionBody.fromFile plus
 * definitionSubstitutions; the local runtime and the tests substitute the same placeholders.
 * The file is written by `npm run gen:asl` from `upload-pipeline.ts`.
 */
export const UPLOAD_PIPELINE_ASL_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  'upload-pipeline.asl.json',
);

/**
 * The one placeholder table: each `${Placeholder}` of the ASL and the pipeline function whose ARN
 * replaces it. The authored definition, infra's definitionSubstitutions and the local executor
 * all read it.
 */
export const FUNCTION_PLACEHOLDERS = {
  ClaimFunctionArn: 'claim',
  ValidateFunctionArn: 'validate',
  ScanFunctionArn: 'scan',
  PromoteFunctionArn: 'promote',
  RejectFunctionArn: 'reject',
  RecordOutcomeFunctionArn: 'record-outcome',
  ReleaseQuarantineFunctionArn: 'release-quarantine',
  PublishOutcomeFunctionArn: 'publish-outcome',
} as const;
export type FunctionPlaceholder = keyof typeof FUNCTION_PLACEHOLDERS;
export type TaskFunctionName = (typeof FUNCTION_PLACEHOLDERS)[FunctionPlaceholder];

const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

export function readUploadPipelineAsl(): string {
  return readFileSync(UPLOAD_PIPELINE_ASL_PATH, 'utf8');
}

/** The set of `${Name}` placeholders in an ASL text. */
export function placeholdersOf(aslText: string): Set<string> {
  return new Set(Array.from(aslText.matchAll(PLACEHOLDER), (match) => match[1] ?? ''));
}

/** Substitutes every placeholder, refusing unknown or missing ones, and parses the result. */
export function substituteDefinition(aslText: string, substitutions: Record<string, string>): unknown {
  const wanted = placeholdersOf(aslText);
  const missing = [...wanted].filter((name) => substitutions[name] === undefined);
  const extra = Object.keys(substitutions).filter((name) => !wanted.has(name));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `Substitutions do not match the definition: missing [${missing.join(', ')}], extra [${extra.join(', ')}].`,
    );
  }
  const text = aslText.replace(PLACEHOLDER, (_match, name: string) => substitutions[name] ?? '');
  return JSON.parse(text) as unknown;
}
