/**
 * The worst-case duration of an ASL definition, as Step Functions applies its fields: every Task
 * attempt may run for its whole TimeoutSeconds, each retrier keeps its own attempt count (so a
 * Task runs at most 1 + the sum of its retriers' MaxAttempts times), and each retry waits at most
 * IntervalSeconds · BackoffRate^k capped by MaxDelaySeconds (full jitter only shortens it).
 */

export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
}
export interface AslState {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Retry?: AslRetrier[];
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  Choices?: Array<{ Next: string }>;
  Default?: string;
  Next?: string;
  End?: boolean;
}
export interface AslDefinition {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
}

// The States Language defaults of a retrier's fields.
const DEFAULT_INTERVAL_SECONDS = 1;
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_BACKOFF_RATE = 2;

/** The longest total wait one retrier can add: the sum of its capped backoff delays. */
export function retryDelaySeconds(retrier: AslRetrier): number {
  const interval = retrier.IntervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
  const rate = retrier.BackoffRate ?? DEFAULT_BACKOFF_RATE;
  const cap = retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY;
  let total = 0;
  for (let k = 0; k < (retrier.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS); k++) {
    total += Math.min(interval * rate ** k, cap);
  }
  return total;
}

/** How many times a Task may run: once, plus every retry of every retrier. */
export function taskAttempts(state: AslState): number {
  return (
    1 + (state.Retry ?? []).reduce((sum, retrier) => sum + (retrier.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS), 0)
  );
}

/** A Task's worst case: every attempt runs to its timeout, every retry waits its longest delay. */
export function taskWorstCaseSeconds(name: string, state: AslState): number {
  if (state.TimeoutSeconds === undefined) throw new Error(`Task ${name} has no TimeoutSeconds.`);
  const delays = (state.Retry ?? []).reduce((sum, retrier) => sum + retryDelaySeconds(retrier), 0);
  return taskAttempts(state) * state.TimeoutSeconds + delays;
}

/** Where a state may go next: its Next or Default, each Choice, and each Catch. */
export function successorsOf(state: AslState): string[] {
  const targets = [
    state.Next,
    state.Default,
    ...(state.Choices ?? []).map((choice) => choice.Next),
    ...(state.Catch ?? []).map((catcher) => catcher.Next),
  ].filter((target): target is string => target !== undefined);
  return [...new Set(targets)];
}

export interface WorstPath {
  readonly seconds: number;
  /** The states of the longest path, in order. */
  readonly states: readonly string[];
}

/**
 * The longest path from StartAt to a terminal state, each Task weighted by its worst case and
 * every other state by zero. The graph must be a DAG: a cycle has no worst case, so it is refused.
 */
export function worstPath(definition: AslDefinition): WorstPath {
  const done = new Map<string, WorstPath>();
  const onStack = new Set<string>();
  const visit = (name: string): WorstPath => {
    const known = done.get(name);
    if (known !== undefined) return known;
    if (onStack.has(name)) throw new Error(`The definition has a cycle through ${name}.`);
    const state = definition.States[name];
    if (state === undefined) throw new Error(`No state ${name}.`);
    onStack.add(name);
    const own = state.Type === 'Task' ? taskWorstCaseSeconds(name, state) : 0;
    const tails = successorsOf(state).map(visit);
    const longestTail = tails.reduce(
      (longest, tail) => (tail.seconds > longest.seconds ? tail : longest),
      tails[0] ?? { seconds: 0, states: [] },
    );
    onStack.delete(name);
    const path = { seconds: own + longestTail.seconds, states: [name, ...longestTail.states] };
    done.set(name, path);
    return path;
  };
  return visit(definition.StartAt);
}
