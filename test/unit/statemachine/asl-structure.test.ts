import aslValidator from 'asl-validator';
import {
  FUNCTION_PLACEHOLDERS,
  placeholdersOf,
  readUploadPipelineAsl,
  substituteDefinition,
} from '../../../statemachines/definition.js';
import {
  SCAN_PENDING_RETRY,
  TASK_RETRY,
  uploadPipelineJson,
} from '../../../statemachines/upload-pipeline.js';

interface AslState {
  Type: string;
  Next?: string;
  Default?: string;
  End?: boolean;
  Resource?: string;
  TimeoutSeconds?: number;
  Retry?: Array<{
    ErrorEquals: string[];
    MaxAttempts?: number;
    BackoffRate?: number;
    IntervalSeconds?: number;
  }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>;
  Choices?: Array<{ Next: string }>;
}
interface AslDefinition {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
}

const aslText = readUploadPipelineAsl();
const definition = JSON.parse(aslText) as AslDefinition;
const states = Object.entries(definition.States);
const tasks = states.filter(([, state]) => state.Type === 'Task');

const EXPECTED_PLACEHOLDERS = [
  'ClaimFunctionArn',
  'ValidateFunctionArn',
  'ScanFunctionArn',
  'PromoteFunctionArn',
  'RejectFunctionArn',
  'RecordOutcomeFunctionArn',
  'ReleaseQuarantineFunctionArn',
  'PublishOutcomeFunctionArn',
];
const TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'TransientError',
];

/** Tasks whose Retry may differ from TASK_RETRY, each with why. */
const RETRY_EXCEPTIONS: Record<string, string> = {
  Scan: "waits for the engine's result (ScanPending) on a schedule of its own, before TASK_RETRY",
};

describe('upload-pipeline.asl.json', () => {
  it('is what `npm run gen:asl` writes from upload-pipeline.ts (regenerate it after an edit)', () => {
    // Arrange
    const authored = JSON.parse(uploadPipelineJson()) as unknown;
    // Assert: the same content (a readable diff on failure), then the same key order
    expect(definition).toEqual(authored);
    expect(JSON.stringify(definition)).toBe(JSON.stringify(authored));
  });

  it('has exactly the placeholders of the one placeholder table', () => {
    expect([...placeholdersOf(aslText)].sort()).toEqual(Object.keys(FUNCTION_PLACEHOLDERS).sort());
  });

  it.each(tasks)(
    'task %s retries with the one policy, TASK_RETRY, unless it is a named exception',
    (name, state) => {
      if (name in RETRY_EXCEPTIONS) expect(state.Retry).not.toEqual(TASK_RETRY);
      else expect(state.Retry).toEqual(TASK_RETRY);
    },
  );

  it('lets Scan wait for its result first (ScanPending), then retries with TASK_RETRY', () => {
    // The ScanPending retrier comes first: a retrier matching the error earlier would take it.
    expect(definition.States.Scan?.Retry).toEqual([SCAN_PENDING_RETRY, ...TASK_RETRY]);
    expect(TASK_RETRY.some((retrier) => retrier.ErrorEquals.includes('ScanPending'))).toBe(false);
    // Bounded, and long enough for GuardDuty's usual latency (minutes): its delays sum to > 10 min.
    const { IntervalSeconds, MaxAttempts, BackoffRate, MaxDelaySeconds = Infinity } = SCAN_PENDING_RETRY;
    const waited = Array.from({ length: MaxAttempts }, (_, attempt) =>
      Math.min(IntervalSeconds * BackoffRate ** attempt, MaxDelaySeconds),
    ).reduce((sum, delay) => sum + delay, 0);
    expect(waited).toBeGreaterThan(600);
    expect(waited).toBeLessThan(3600);
  });

  it('scans only what validation accepted, and promotes only what the scan kept accepted', () => {
    const route = (name: string) =>
      definition.States[name] as AslState & {
        Choices: Array<{ Variable: string; BooleanEquals: boolean; Next: string }>;
      };
    expect([route('RouteVerdict').Choices, route('RouteVerdict').Default]).toEqual([
      [{ Variable: '$.verdict.accepted', BooleanEquals: true, Next: 'Scan' }],
      'Reject',
    ]);
    expect(definition.States.Scan?.Next).toBe('RouteScan');
    expect([route('RouteScan').Choices, route('RouteScan').Default]).toEqual([
      [{ Variable: '$.verdict.accepted', BooleanEquals: true, Next: 'Promote' }],
      'Reject',
    ]);
    // Promote is reached from RouteScan only.
    const intoPromote = Object.entries(definition.States).filter(
      ([, state]) =>
        state.Next === 'Promote' ||
        state.Default === 'Promote' ||
        (state.Choices ?? []).some((choice) => choice.Next === 'Promote'),
    );
    expect(intoPromote.map(([name]) => name)).toEqual(['RouteScan']);
  });

  it('passes asl-validator once its placeholders are substituted', () => {
    // Arrange
    const substituted = substituteDefinition(
      aslText,
      Object.fromEntries(
        EXPECTED_PLACEHOLDERS.map((name) => [
          name,
          `arn:aws:lambda:us-east-1:123456789012:function:airlock-${name}`,
        ]),
      ),
    );
    // Act
    const result = aslValidator(substituted);
    // Assert
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('uses JSONPath (the local executor supports no JSONata) and a machine-wide timeout', () => {
    expect(aslText).not.toMatch(/JSONata/);
    // How long it must be is derived from the template: test/infra/state-machine-timeouts.test.ts.
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('lists each placeholder exactly once in the set, and every Resource is a placeholder', () => {
    expect([...placeholdersOf(aslText)].sort()).toEqual([...EXPECTED_PLACEHOLDERS].sort());
    for (const [name, state] of tasks) {
      expect({ name, resource: state.Resource }).toEqual({
        name,
        resource: expect.stringMatching(/^\$\{\w+\}$/),
      });
    }
  });

  it('refuses substitutions that miss or add a placeholder', () => {
    expect(() => substituteDefinition(aslText, { ClaimFunctionArn: 'x' })).toThrow(/missing/);
    const all = Object.fromEntries(EXPECTED_PLACEHOLDERS.map((name) => [name, 'arn']));
    expect(() => substituteDefinition(aslText, { ...all, Unknown: 'x' })).toThrow(/extra \[Unknown\]/);
  });

  it('points every Next, Default, Choice and Catch at a state that exists, and reaches every state', () => {
    // Arrange
    const names = new Set(Object.keys(definition.States));
    const reachable = new Set<string>();
    const visit = (name: string): void => {
      if (reachable.has(name)) return;
      expect(names).toContain(name);
      reachable.add(name);
      const state = definition.States[name]!;
      const targets = [
        state.Next,
        state.Default,
        ...(state.Choices ?? []).map((choice) => choice.Next),
        ...(state.Catch ?? []).map((catcher) => catcher.Next),
      ].filter((target): target is string => target !== undefined);
      targets.forEach(visit);
    };
    // Act
    visit(definition.StartAt);
    // Assert
    expect([...reachable].sort()).toEqual([...names].sort());
  });

  it.each(tasks)('task %s retries transient errors with backoff and has a timeout', (_name, state) => {
    expect(state.TimeoutSeconds).toBeGreaterThan(0);
    const transient = state.Retry?.find((retrier) => retrier.ErrorEquals.includes('TransientError'));
    expect(transient?.ErrorEquals).toEqual(expect.arrayContaining(TRANSIENT_ERRORS));
    expect(transient?.BackoffRate).toBeGreaterThan(1);
    expect(transient?.MaxAttempts).toBeGreaterThanOrEqual(3);
  });

  const publishes = tasks.filter(([, state]) => state.Resource === '${PublishOutcomeFunctionArn}');

  it('publishes after every Record state and on the way a resumed run takes past a recorded outcome', () => {
    // Arrange
    const records = tasks.filter(([, state]) => state.Resource === '${RecordOutcomeFunctionArn}');
    const release = (
      definition.States.RouteClaim as { Choices?: Array<{ StringEquals?: string; Next: string }> }
    ).Choices?.find((choice) => choice.StringEquals === 'RELEASE');

    // Assert
    expect(records.length).toBe(3);
    for (const [, record] of records)
      expect(definition.States[record.Next!]?.Resource).toBe('${PublishOutcomeFunctionArn}');
    expect(definition.States[release!.Next]?.Resource).toBe('${PublishOutcomeFunctionArn}');
  });

  it.each(publishes)(
    '%s catches every error into the state it goes on to: publishing never fails the pipeline',
    (_name, state) => {
      expect(state.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.publishError', Next: state.Next },
      ]);
    },
  );

  it.each(
    tasks.filter(
      ([name, state]) => name !== 'RecordFailed' && state.Resource !== '${PublishOutcomeFunctionArn}',
    ),
  )('task %s sends every other error to RecordFailed with the error in $.failure', (_name, state) => {
    expect(state.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'RecordFailed' },
    ]);
  });

  it('ends RecordFailed in a Fail state that carries the original error and cause', () => {
    const recordFailed = definition.States.RecordFailed!;
    expect(recordFailed.Catch).toBeUndefined();
    const publishFailed = definition.States[recordFailed.Next!]!;
    expect(publishFailed.Resource).toBe('${PublishOutcomeFunctionArn}');
    expect(definition.States[publishFailed.Next!]).toEqual({
      Type: 'Fail',
      ErrorPath: '$.failure.Error',
      CausePath: '$.failure.Cause',
    });
  });
});
