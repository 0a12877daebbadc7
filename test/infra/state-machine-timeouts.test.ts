import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { retryDelaySeconds, worstPath, type AslDefinition, type AslState } from './support/asl-worst-case.js';
import { logicalIdOf, synthAirlock } from './support/synth.js';
import { referencedId, resourceById, resourcesOfType } from './support/template.js';

/**
 * Timeouts as Lambda and Step Functions apply them, derived from the synthesized template and the
 * ASL it deploys (the S3 asset that DefinitionS3Location names), not from the source files.
 */

/**
 * How much longer a Task waits than its function may run. Step Functions' timer starts when it
 * calls Invoke; the function's own timer starts only after a cold start's Init phase, which Lambda
 * limits to 10 s (when Init overruns, Lambda retries it inside the invocation, under the function
 * timeout). 5 s more covers the Invoke request and its response. With less, a Task could time out
 * and retry while the function's first invocation is still running: two copies of one step at once.
 */
const INIT_PHASE_LIMIT_SECONDS = 10;
const INVOKE_ROUND_TRIP_SECONDS = 5;
const MIN_TASK_MARGIN_SECONDS = INIT_PHASE_LIMIT_SECONDS + INVOKE_ROUND_TRIP_SECONDS;

// Arrange (once): the default stack, its state machine, and the definition it deploys.
const { app, stack, template } = synthAirlock();
const stateMachine = resourceById(template, logicalIdOf(stack.pipeline.stateMachine)).Properties;
const substitutions = stateMachine['DefinitionSubstitutions'] as Record<string, unknown>;

/** The definition file CloudFormation deploys: the asset whose object key the template names. */
function deployedDefinition(): AslDefinition {
  const { Key } = stateMachine['DefinitionS3Location'] as { Key: string };
  const manifest = JSON.parse(readFileSync(join(app.outdir, `${stack.artifactId}.assets.json`), 'utf8')) as {
    files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }>;
  };
  const asset = Object.values(manifest.files).find((file) =>
    Object.values(file.destinations).some((destination) => destination.objectKey === Key),
  );
  if (asset === undefined) throw new Error(`No asset has the definition's key ${Key}.`);
  return JSON.parse(readFileSync(join(app.outdir, asset.source.path), 'utf8')) as AslDefinition;
}
const definition = deployedDefinition();
const tasks = Object.entries(definition.States).filter(([, state]) => state.Type === 'Task');

/** The Timeout of the function a Task's `${Placeholder}` Resource is substituted with. */
function functionTimeoutOf(state: AslState): { functionId: string; timeout: number } {
  const placeholder = /^\$\{(\w+)\}$/.exec(state.Resource ?? '')?.[1];
  const functionId = referencedId(substitutions[placeholder ?? '']);
  if (functionId === undefined) throw new Error(`${state.Resource} is not substituted with a function.`);
  const fn = resourceById(template, functionId);
  expect(fn.Type).toBe('AWS::Lambda::Function');
  // CloudFormation's default when Timeout is absent is 3 s.
  return { functionId, timeout: (fn.Properties['Timeout'] as number | undefined) ?? 3 };
}

describe('the worst-case walker (on small definitions whose answer is known)', () => {
  test('sums capped backoff delays: 1, 2, 4, 8, 16 and 32→30 make 61', () => {
    expect(
      retryDelaySeconds({
        ErrorEquals: ['X'],
        IntervalSeconds: 1,
        MaxAttempts: 6,
        BackoffRate: 2,
        MaxDelaySeconds: 30,
      }),
    ).toBe(61);
    expect(retryDelaySeconds({ ErrorEquals: ['X'] })).toBe(1 + 2 + 4); // the States Language defaults
  });

  test('takes the longest branch, counting every attempt of every retrier', () => {
    // Arrange: A (2 attempts × 10 s + 3 s) then either B (5 s) or, after catching, C (1 attempt × 7 s)
    const small: AslDefinition = {
      StartAt: 'A',
      States: {
        A: {
          Type: 'Task',
          TimeoutSeconds: 10,
          Retry: [{ ErrorEquals: ['E'], IntervalSeconds: 3, MaxAttempts: 1 }],
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'C' }],
          Next: 'Pick',
        },
        Pick: { Type: 'Choice', Choices: [{ Next: 'B' }], Default: 'End' },
        B: { Type: 'Task', TimeoutSeconds: 5, Retry: [], Next: 'End' },
        C: { Type: 'Task', TimeoutSeconds: 7, Next: 'End' },
        End: { Type: 'Succeed' },
      },
    };
    // Act
    const path = worstPath(small);
    // Assert
    expect(path).toEqual({ seconds: 2 * 10 + 3 + 7, states: ['A', 'C', 'End'] });
  });

  test('refuses a cycle: it has no worst case', () => {
    const looping: AslDefinition = {
      StartAt: 'A',
      States: {
        A: { Type: 'Task', TimeoutSeconds: 1, Next: 'B' },
        B: { Type: 'Choice', Choices: [{ Next: 'A' }], Default: 'End' },
        End: { Type: 'Succeed' },
      },
    };
    expect(() => worstPath(looping)).toThrow(/cycle through A/);
  });
});

describe('state machine timeouts', () => {
  test('every Task invokes a function of the template, and there are some', () => {
    expect(tasks.length).toBeGreaterThan(0);
    for (const [, state] of tasks) expect(functionTimeoutOf(state).functionId).toMatch(/Function/);
  });

  test(`every Task waits longer than its function may run (by ≥ ${MIN_TASK_MARGIN_SECONDS} s), so a retry never overlaps a running invocation`, () => {
    // Act
    const tooShort = tasks
      .map(([name, state]) => ({ name, task: state.TimeoutSeconds, fn: functionTimeoutOf(state).timeout }))
      .filter(({ task, fn }) => task === undefined || task < fn + MIN_TASK_MARGIN_SECONDS);
    // Assert
    expect(tooShort).toEqual([]);
  });

  test('every Task retries a timed-out or crashed invocation (Sandbox.Timedout, Lambda.Unknown) a little', () => {
    // Act
    const retries = tasks.flatMap(([name, state]) =>
      ['Sandbox.Timedout', 'Lambda.Unknown'].map((error) => ({
        name,
        error,
        maxAttempts: state.Retry?.find((retrier) => retrier.ErrorEquals.includes(error))?.MaxAttempts ?? 0,
      })),
    );
    // Assert: a little means once or twice, as each retry may cost the function's whole timeout again
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.filter(({ maxAttempts }) => maxAttempts < 1 || maxAttempts > 2)).toEqual([]);
  });

  test("the machine's TimeoutSeconds covers the worst retry path of its states, RecordFailed included", () => {
    // Act
    const worst = worstPath(definition);
    // Assert: a machine timeout below it would end an execution mid-retry, skipping RecordFailed
    expect(worst.states).toContain('RecordFailed');
    expect(definition.TimeoutSeconds).toBeGreaterThanOrEqual(worst.seconds);
  });
});

describe('the sweeper and the quarantine lifecycle around the machine timeout', () => {
  test('a FAILED upload still has its quarantine bytes for a redrive', () => {
    // Arrange: what the template says of the grant, the sweeper and the quarantine lifecycle
    const sweeper = resourceById(template, logicalIdOf(stack.pipeline.functions.sweeper)).Properties;
    const env = (sweeper['Environment'] as { Variables: Record<string, string> }).Variables;
    const uploadTtl = Number(env['UPLOAD_URL_TTL_SECONDS']);
    const processingTimeout = Number(env['PROCESSING_TIMEOUT_SECONDS']);
    const schedule = [...resourcesOfType(template, 'AWS::Events::Rule').values()]
      .map((rule) => rule.Properties['ScheduleExpression'])
      .find((expression): expression is string => typeof expression === 'string');
    const sweepInterval = Number(/^rate\((\d+) minutes?\)$/.exec(schedule ?? '')?.[1]) * 60;
    const bucket = resourceById(template, logicalIdOf(stack.pipeline.bucket)).Properties;
    const rules = (bucket['LifecycleConfiguration'] as { Rules: Array<Record<string, unknown>> }).Rules;
    const quarantineDays = rules.find((rule) => rule['Prefix'] === 'quarantine/')?.['ExpirationInDays'];

    // Act: an upload is FAILED at the latest when RecordFailed runs before the machine timeout,
    // or, if its execution ended otherwise, at the first sweep after processingTimeout from the
    // claim (the sweeper skips a PROCESSING upload while its execution still runs).
    const failedBy = uploadTtl + Math.max(definition.TimeoutSeconds ?? 0, processingTimeout) + sweepInterval;

    // Assert
    expect(Math.min(uploadTtl, processingTimeout, sweepInterval)).toBeGreaterThan(0); // all read (NaN is not)
    expect(failedBy).toBeLessThan(Number(quarantineDays) * 86_400);
  });
});
