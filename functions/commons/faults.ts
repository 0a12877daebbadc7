import { ConfigurationError } from '../domain/errors.js';
import { TransientError } from './errors.js';

/**
 * Fault injection, for the reliability suite only. `AIRLOCK_FAULTS` names the points that fail
 * and how often, e.g. `claim=0.2,validate=0.2,record=0.1,router=0.3` or `steps=0.15` (every task
 * step). A step fails either before doing its work or after it (the work is done but the caller
 * sees an error, as when a Lambda response is lost), so retries are exercised both ways.
 * `crash.<write>` points (`crash.create`, `crash.claim`, `crash.outcome`, `crash.expire`,
 * `crash.discard`; `crash` for all) SIGKILL the whole process right after that write of the upload
 * store succeeded: what a crash at that write boundary leaves behind.
 *
 * Off unless the variable is set. Refused on Lambda (AWS_LAMBDA_FUNCTION_NAME is set there) and
 * wherever AIRLOCK_ENV is `production`: a production configuration can never inject faults.
 */
export const FAULTS_ENV = 'AIRLOCK_FAULTS';

/** Task steps by the name their handler gives taskHandler, lowercased; plus the local router. */
export const FAULT_POINTS = [
  'claim',
  'validate',
  'promote',
  'reject',
  'record',
  'releasequarantine',
  'router',
  'crash.create',
  'crash.claim',
  'crash.outcome',
  'crash.expire',
  'crash.discard',
] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];
/** The upload store's writes after which the process may be killed (see crashAfterWrite). */
export type CrashPoint = Extract<FaultPoint, `crash.${string}`>;
const CRASH_POINTS = FAULT_POINTS.filter((point): point is CrashPoint => point.startsWith('crash.'));
const STEP_POINTS = FAULT_POINTS.filter(
  (point) => point !== 'router' && !(CRASH_POINTS as readonly string[]).includes(point),
);
const GROUPS: Record<string, readonly FaultPoint[]> = { steps: STEP_POINTS, crash: CRASH_POINTS };

export type FaultRates = Partial<Record<FaultPoint, number>>;

export function parseFaultRates(raw: string): FaultRates {
  const rates: FaultRates = {};
  for (const entry of raw.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const [name = '', value = ''] = entry.split('=').map((part) => part.trim().toLowerCase());
    const rate = Number(value);
    if (value === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new ConfigurationError(
        `${FAULTS_ENV}: "${entry}" needs a rate between 0 and 1 (e.g. claim=0.2).`,
      );
    }
    const points = GROUPS[name] ?? FAULT_POINTS.filter((point) => point === name);
    if (points.length === 0) {
      throw new ConfigurationError(
        `${FAULTS_ENV}: unknown fault point "${name}" (known: steps, crash, ${FAULT_POINTS.join(', ')}).`,
      );
    }
    for (const point of points) rates[point] = rate;
  }
  return rates;
}

/** Throws when fault injection is asked for in a production configuration. */
export function assertFaultsAllowed(env: NodeJS.ProcessEnv): void {
  if (!env[FAULTS_ENV]) return;
  if (env.AWS_LAMBDA_FUNCTION_NAME !== undefined || env.AIRLOCK_ENV === 'production') {
    throw new ConfigurationError(
      `${FAULTS_ENV} is set, but fault injection is refused in a production configuration.`,
    );
  }
}

interface FaultState {
  rates: FaultRates;
  injected: Partial<Record<FaultPoint, number>>;
}

let state: FaultState | undefined;

function current(env: NodeJS.ProcessEnv = process.env): FaultState | undefined {
  if (state === undefined) {
    const raw = env[FAULTS_ENV];
    if (!raw) return undefined;
    assertFaultsAllowed(env);
    state = { rates: parseFaultRates(raw), injected: {} };
  }
  return state;
}

/** True when fault injection was switched on for this process (AIRLOCK_FAULTS set). */
export const faultsEnabled = (env: NodeJS.ProcessEnv = process.env): boolean => current(env) !== undefined;

/** Replaces the rates at run time (the local runtime's /faults control). Only when enabled. */
export function setFaultRates(rates: FaultRates): void {
  const enabled = current();
  if (enabled === undefined)
    throw new ConfigurationError(`${FAULTS_ENV} is not set: fault injection is off.`);
  enabled.rates = rates;
}

export function faultReport(): { rates: FaultRates; injected: Partial<Record<FaultPoint, number>> } {
  const enabled = current();
  return enabled
    ? { rates: { ...enabled.rates }, injected: { ...enabled.injected } }
    : { rates: {}, injected: {} };
}

/** Decides whether to fail at `point` now, and counts it. Never true when injection is off. */
export function shouldInjectFault(point: FaultPoint, random: () => number = Math.random): boolean {
  const enabled = current();
  const rate = enabled?.rates[point] ?? 0;
  if (enabled === undefined || rate <= 0 || random() >= rate) return false;
  enabled.injected[point] = (enabled.injected[point] ?? 0) + 1;
  return true;
}

/** Where a step's injected fault strikes: before its work, or after it (a lost response). */
export function stepFault(step: string, random: () => number = Math.random): 'before' | 'after' | undefined {
  const point = step.toLowerCase() as FaultPoint;
  if (!(FAULT_POINTS as readonly string[]).includes(point) || !shouldInjectFault(point, random))
    return undefined;
  return random() < 0.5 ? 'before' : 'after';
}

export class InjectedFault extends TransientError {}

/**
 * Called by the upload store right after a write succeeded: when `point` is drawn, the process is
 * killed on the spot (SIGKILL: nothing is flushed, no handler runs), as a crash of the function,
 * or of the whole local runtime, at that write boundary would. Never when injection is off.
 */
export function crashAfterWrite(
  point: CrashPoint,
  kill: () => void = () => process.kill(process.pid, 'SIGKILL'),
): void {
  if (shouldInjectFault(point)) kill();
}

/** Test hook: forget the state read from the environment. */
export function resetFaultsForTests(): void {
  state = undefined;
}
