import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ENV_NAMES } from '../../functions/commons/env-names.js';
import type { ScannerKind } from '../../functions/domain/scan-verdict.js';
import { acknowledge } from '../nag-packs.js';
import { CLEAN_PREFIX, QUARANTINE_PREFIX, REJECTED_PREFIX } from '../../functions/domain/model.js';
import { PipelineLambda, type PipelineFunctionDefaults } from './pipeline-function.js';
import type { UploadStorage } from './upload-storage.js';

/** The functions the state machine runs as its Task states. */
export const STEP_FUNCTIONS = [
  'claim',
  'validate',
  'scan',
  'promote',
  'reject',
  'record-outcome',
  'release-quarantine',
  'publish-outcome',
] as const;

export type StepFunction = (typeof STEP_FUNCTIONS)[number];

/** Validate streams a whole file once (up to 5 GiB): its Lambda and Task timeout. */
export const VALIDATE_TIMEOUT = Duration.minutes(15);

export interface PipelineStepsProps {
  /** The bucket and table; their grant helpers scope every statement to one prefix or index. */
  readonly storage: UploadStorage;
  readonly defaults: PipelineFunctionDefaults;
  /** The malware engine the Scan step reads the results of (SCANNER). */
  readonly scanner: ScannerKind;
}

/**
 * The state machine's task functions, each with exactly the grants its step needs. Made on the
 * pipeline's scope (their logical ids are pinned: running executions call them by ARN).
 */
export function buildSteps(
  scope: Construct,
  { storage, defaults, scanner }: PipelineStepsProps,
): Record<StepFunction, PipelineLambda> {
  const step = (name: StepFunction, options: { memorySize?: number; timeout?: Duration } = {}) =>
    new PipelineLambda(scope, name, { invoker: 'state-machine', defaults, ...options });

  // Claim reads the record, then moves it to PROCESSING with its event in one conditional update
  // (a discard appends to the record's trail, or to the trail of the key of an unsolicited
  // object): it never puts an item whole.
  const claim = step('claim');
  storage.grantItems(claim, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);

  // Validate is the only reader of quarantine/: it streams the exact version once.
  const validate = step('validate', { memorySize: 1024, timeout: VALIDATE_TIMEOUT });
  storage.grantObjects(validate, ['s3:GetObjectVersion'], QUARANTINE_PREFIX); // named versions only

  // Scan reads the engine's result for the version (stored by the intake); with GuardDuty it may
  // ask for a new scan after a failed one and note the request. With no scanner it reads nothing.
  const scan = step('scan');
  scan.addEnvironment(ENV_NAMES.scanner, scanner);
  if (scanner !== 'none') storage.grantItems(scan, ['dynamodb:GetItem']);
  if (scanner === 'guardduty') {
    storage.grantItems(scan, ['dynamodb:PutItem']);
    grantOnDemandScans(scan);
  }

  // Promote and Reject copy the version server-side; GetObject on their own destination is the
  // HEAD that makes each version copied at most once.
  const promote = step('promote', { timeout: Duration.minutes(5) });
  storage.grantObjects(promote, ['s3:GetObjectVersion'], QUARANTINE_PREFIX);
  storage.grantObjects(promote, ['s3:PutObject', 's3:GetObject'], CLEAN_PREFIX);
  const reject = step('reject', { timeout: Duration.minutes(5) });
  storage.grantObjects(reject, ['s3:GetObjectVersion'], QUARANTINE_PREFIX);
  storage.grantObjects(reject, ['s3:PutObject', 's3:GetObject'], REJECTED_PREFIX);

  // Record reads the record, then writes the outcome and its event in one conditional update.
  const recordOutcome = step('record-outcome');
  storage.grantItems(recordOutcome, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);

  // Release deletes the processed version from quarantine/ (deleting needs no key).
  const releaseQuarantine = step('release-quarantine');
  storage.grantObjects(releaseQuarantine, ['s3:DeleteObjectVersion'], QUARANTINE_PREFIX);

  // Publish reads the record (its trail is in it), HEADs the promoted copy for its version, and marks
  // the record published; the bus grant and its name are added where the bus is made.
  const publishOutcome = step('publish-outcome');
  storage.grantItems(publishOutcome, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
  storage.grantObjects(publishOutcome, ['s3:GetObject'], CLEAN_PREFIX);

  return {
    claim,
    validate,
    scan,
    promote,
    reject,
    'record-outcome': recordOutcome,
    'release-quarantine': releaseQuarantine,
    'publish-outcome': publishOutcome,
  };
}

/**
 * GuardDuty's on-demand scan of an object version (SendObjectMalwareScan), which names no resource
 * type: the plan's own role reads the object, and the result comes back through the intake.
 */
export function grantOnDemandScans(fn: PipelineLambda): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['guardduty:SendObjectMalwareScan'], resources: ['*'] }),
  );
  acknowledge(
    fn.executionRole,
    'AwsSolutions-IAM5[Resource::*]',
    "X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) and guardduty:SendObjectMalwareScan support no resource-level permissions; the scan reads the object with the Malware Protection plan's own role.",
  );
}
