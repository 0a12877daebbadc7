import type { FunctionPlaceholder } from './definition.js';

/**
 * The upload pipeline's state machine, authored once. `npm run gen:asl` writes it to
 * `upload-pipeline.asl.json` (placeholders kept), the file CDK and the local runtime both load;
 * a unit test fails when that file is stale.
 */

export interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds: number;
  readonly MaxAttempts: number;
  readonly BackoffRate: number;
  readonly MaxDelaySeconds?: number;
  readonly JitterStrategy?: 'FULL' | 'NONE';
}

export interface Catcher {
  readonly ErrorEquals: readonly string[];
  readonly ResultPath: string;
  readonly Next: string;
}

export interface TaskState {
  readonly Type: 'Task';
  readonly Comment?: string;
  readonly Resource: string;
  readonly Parameters: Readonly<Record<string, unknown>>;
  readonly ResultPath: string | null;
  readonly TimeoutSeconds: number;
  readonly Retry: readonly Retrier[];
  readonly Catch?: readonly Catcher[];
  readonly Next: string;
}

/** What a Task sets itself; the Resource, Retry and Catch come from `task()`. */
interface TaskFields {
  readonly Comment?: string;
  readonly Parameters: Readonly<Record<string, unknown>>;
  readonly ResultPath: string | null;
  /** Chosen per Task, next to the function it invokes. */
  readonly TimeoutSeconds: number;
  readonly Next: string;
  /** Only for a Task that must differ from TASK_RETRY; the structure test names each exception. */
  readonly Retry?: readonly Retrier[];
}

/** The one retry policy of every Task: Lambda's transient faults and ours, with jittered backoff. */
export const TASK_RETRY: readonly Retrier[] = [
  {
    ErrorEquals: [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
      'TransientError',
    ],
    IntervalSeconds: 1,
    MaxAttempts: 6,
    BackoffRate: 2,
    MaxDelaySeconds: 30,
    JitterStrategy: 'FULL',
  },
  // A function that ran out of time or memory, or whose runtime crashed: once more, in case the
  // sandbox was at fault. Each retry may cost the function's whole timeout again.
  { ErrorEquals: ['Sandbox.Timedout', 'Lambda.Unknown'], IntervalSeconds: 2, MaxAttempts: 1, BackoffRate: 2 },
  // The Task outwaits its function (afterFunction), so this is an invocation that never answered.
  { ErrorEquals: ['States.Timeout'], IntervalSeconds: 2, MaxAttempts: 2, BackoffRate: 2 },
];

/**
 * The Scan Task's own wait for the engine's result: ScanPending (no result stored yet) is retried
 * every 5 s at first, then less often, for about 20 minutes of delays in all, well beyond
 * GuardDuty's usual latency (seconds to a few minutes for the largest files); then FAILED, and
 * a redrive waits again (and asks for a new scan). Locally the result is stored by Validate's own
 * read, before this step runs.
 */
export const SCAN_PENDING_RETRY: Retrier = {
  ErrorEquals: ['ScanPending'],
  IntervalSeconds: 5,
  MaxAttempts: 12,
  BackoffRate: 1.5,
  MaxDelaySeconds: 300,
};

/**
 * A Task's TimeoutSeconds for a function with this timeout (as infra sets it): longer by a cold
 * start's Init phase (Lambda limits it to 10 s) and the Invoke round trip, so that Step Functions
 * never retries while the function's first invocation still runs. The function then fails first,
 * with Sandbox.Timedout. test/infra/state-machine-timeouts.test.ts checks it against the template.
 */
const afterFunction = (functionTimeoutSeconds: number): number => functionTimeoutSeconds + 30;

/** The one catch: every error a Task's retries did not absorb is recorded as FAILED. */
export const TO_RECORD_FAILED: readonly Catcher[] = [
  { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'RecordFailed' },
];

/** A Lambda Task by its ARN placeholder: every Task retries; all but RecordFailed catch. */
function task(
  fn: FunctionPlaceholder,
  { Comment, Parameters, ResultPath, TimeoutSeconds, Next, Retry = TASK_RETRY }: TaskFields,
  { catches = true } = {},
): TaskState {
  // Keys in the order the ASL file shows them, so that the generated JSON reads top to bottom.
  return {
    Type: 'Task',
    ...(Comment === undefined ? {} : { Comment }),
    Resource: `\${${fn}}`,
    Parameters,
    ResultPath,
    TimeoutSeconds,
    Retry,
    ...(catches ? { Catch: TO_RECORD_FAILED } : {}),
    Next,
  };
}

/**
 * Publish: the outcome event of the recorded transition. Retried like every Task, then caught
 * into `next` whatever happened: delivery never fails the pipeline, and an event left
 * unpublished is the sweeper's (the record is its outbox).
 */
function publish(next: string): TaskState {
  return {
    ...task(
      'PublishOutcomeFunctionArn',
      {
        Comment: "Publishes the recorded outcome's event (id evt_<uploadId>_<seq>) unless already published.",
        Parameters: { 'detail.$': '$.detail' },
        ResultPath: '$.published',
        TimeoutSeconds: afterFunction(30),
        Next: next,
      },
      { catches: false },
    ),
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.publishError', Next: next }],
  };
}

/** The claimed object version, as every step after Claim receives it. */
const CLAIMED_OBJECT = { 'uploadId.$': '$.claim.uploadId', 'object.$': '$.claim.object' };
/** The event and execution every outcome record names. */
const RECORD_CONTEXT = { 'detail.$': '$.detail', 'executionId.$': '$$.Execution.Id' };

export const UPLOAD_PIPELINE = {
  Comment:
    'Airlock upload pipeline: one execution per S3 Object Created event under quarantine/. Claim the version, validate its bytes, decide on its malware scan, promote or reject it, record the outcome, publish its event, then release the quarantine version. Every step is idempotent, so retries, duplicate events and redrives are safe.',
  StartAt: 'Claim',
  // Covers the worst retry path of the states (about 5 h 22 min: every attempt of every Task on the
  // longest path running to its timeout, the Scan step's wait for its result included, then
  // RecordFailed's and its publish), so that the machine never ends an execution mid-retry, before
  // RecordFailed. test/infra/state-machine-timeouts.test.ts derives it.
  TimeoutSeconds: 19_500,
  States: {
    Claim: task('ClaimFunctionArn', {
      Comment: 'One conditional write PENDING_UPLOAD|FAILED -> PROCESSING for this object version.',
      Parameters: { 'detail.$': '$.detail', 'eventTime.$': '$.time', 'executionId.$': '$$.Execution.Id' },
      ResultPath: '$.claim',
      TimeoutSeconds: afterFunction(30),
      Next: 'RouteClaim',
    }),
    RouteClaim: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.claim.outcome', StringEquals: 'CLAIMED', Next: 'Validate' },
        { Variable: '$.claim.outcome', StringEquals: 'DISCARD', Next: 'Discard' },
        // A resumed or redriven run past a recorded outcome: its event may not have gone out.
        { Variable: '$.claim.outcome', StringEquals: 'RELEASE', Next: 'Publish' },
      ],
      Default: 'Duplicate',
    },
    Duplicate: {
      Type: 'Succeed',
      Comment: 'Another delivery for a version already taken: nothing is written.',
    },
    Discard: task('ReleaseQuarantineFunctionArn', {
      Comment:
        'Unsolicited object, or another version of an upload already taken: audited by Claim, removed here.',
      Parameters: CLAIMED_OBJECT,
      ResultPath: null,
      TimeoutSeconds: afterFunction(30),
      Next: 'Discarded',
    }),
    Discarded: { Type: 'Succeed' },
    Validate: task('ValidateFunctionArn', {
      Comment: 'Streams the exact version once: size, magic-byte type, text validity, SHA-256.',
      Parameters: { ...CLAIMED_OBJECT, 'declared.$': '$.claim.declared' },
      ResultPath: '$.verdict',
      TimeoutSeconds: afterFunction(900),
      Next: 'RouteVerdict',
    }),
    RouteVerdict: {
      Type: 'Choice',
      Choices: [{ Variable: '$.verdict.accepted', BooleanEquals: true, Next: 'Scan' }],
      Default: 'Reject',
    },
    Scan: task('ScanFunctionArn', {
      Comment:
        "Decides on the malware engine's result for this exact version, fail closed: only an explicit no-threat result keeps the verdict accepted.",
      Parameters: {
        ...CLAIMED_OBJECT,
        'verdict.$': '$.verdict',
        'claimedAt.$': '$.claim.claimedAt',
        'detail.$': '$.detail',
      },
      ResultPath: '$.verdict',
      TimeoutSeconds: afterFunction(30),
      Retry: [SCAN_PENDING_RETRY, ...TASK_RETRY],
      Next: 'RouteScan',
    }),
    RouteScan: {
      Type: 'Choice',
      Choices: [{ Variable: '$.verdict.accepted', BooleanEquals: true, Next: 'Promote' }],
      Default: 'Reject',
    },
    Promote: task('PromoteFunctionArn', {
      Comment: 'Server-side copy of the version to clean/<uploadId>.',
      Parameters: { ...CLAIMED_OBJECT, 'facts.$': '$.verdict.facts' },
      ResultPath: '$.stored',
      TimeoutSeconds: afterFunction(300),
      Next: 'RecordProcessed',
    }),
    RecordProcessed: task('RecordOutcomeFunctionArn', {
      Parameters: {
        outcome: 'PROCESSED',
        ...RECORD_CONTEXT,
        'claimedAt.$': '$.claim.claimedAt',
        'facts.$': '$.verdict.facts',
        'scan.$': '$.verdict.scan',
        'storedKey.$': '$.stored.storedKey',
      },
      ResultPath: '$.record',
      TimeoutSeconds: afterFunction(30),
      Next: 'Publish',
    }),
    Reject: task('RejectFunctionArn', {
      Comment: 'Keeps the refused version under rejected/<uploadId> for forensics.',
      Parameters: { ...CLAIMED_OBJECT, 'facts.$': '$.verdict.facts' },
      ResultPath: '$.stored',
      TimeoutSeconds: afterFunction(300),
      Next: 'RecordRejected',
    }),
    RecordRejected: task('RecordOutcomeFunctionArn', {
      Parameters: {
        outcome: 'REJECTED',
        ...RECORD_CONTEXT,
        'claimedAt.$': '$.claim.claimedAt',
        'facts.$': '$.verdict.facts',
        'reasons.$': '$.verdict.reasons',
        'scan.$': '$.verdict.scan',
        'storedKey.$': '$.stored.storedKey',
      },
      ResultPath: '$.record',
      TimeoutSeconds: afterFunction(30),
      Next: 'Publish',
    }),
    Publish: publish('ReleaseQuarantine'),
    ReleaseQuarantine: task('ReleaseQuarantineFunctionArn', {
      Comment: 'Deletes the quarantine version once its outcome is recorded.',
      Parameters: CLAIMED_OBJECT,
      ResultPath: null,
      TimeoutSeconds: afterFunction(30),
      Next: 'Done',
    }),
    Done: { Type: 'Succeed' },
    RecordFailed: task(
      'RecordOutcomeFunctionArn',
      {
        Comment:
          'Catch-all: FAILED with error and cause, unless another outcome stands. The quarantine version stays for a redrive.',
        Parameters: { outcome: 'FAILED', ...RECORD_CONTEXT, 'failure.$': '$.failure' },
        ResultPath: '$.record',
        TimeoutSeconds: afterFunction(30),
        Next: 'PublishFailed',
      },
      { catches: false }, // its own failure has nowhere further to go: the sweeper is the backstop
    ),
    PublishFailed: publish('Failed'),
    Failed: { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
  },
} as const;

/** The text of `upload-pipeline.asl.json` before formatting: `npm run gen:asl` formats it with prettier. */
export function uploadPipelineJson(): string {
  return JSON.stringify(UPLOAD_PIPELINE, null, 2);
}
