/** The pipeline's functions, in declaration order. */
export const PIPELINE_FUNCTIONS = [
  'create-upload',
  'get-upload',
  'list-uploads',
  'get-upload-events',
  'audit-uploads',
  'claim',
  'validate',
  'scan',
  'promote',
  'reject',
  'record-outcome',
  'release-quarantine',
  'publish-outcome',
  'sweeper',
  'redrive',
  'scan-result',
  'rescan',
  'deliver-webhooks',
  'write-audit-digest',
  'audit-digests',
] as const;

/** The name of one pipeline function: its handler is `functions/<name>.ts`. */
export type PipelineFunction = (typeof PIPELINE_FUNCTIONS)[number];

/** `record-outcome` → `RecordOutcome`: the stem of a function's construct ids. */
export const pascalCase = (name: string): string =>
  name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
