import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** The function an SDK call is made by: whose role the local IAM evaluates it under. */
export interface Invocation {
  functionName: string;
  requestId: string;
  /** Epoch ms after which Lambda would have stopped the sandbox. */
  deadline: number;
  /** Set once the deadline passed: the handler's further calls are refused. */
  timedOut: boolean;
}

/** A function's limits, from the synthesized template (MemorySize cannot be held in one process). */
export interface FunctionLimits {
  timeoutSeconds: number;
}

const invocations = new AsyncLocalStorage<Invocation>();

/** The invocation whose code is running now, if any. */
export const currentInvocation = (): Invocation | undefined => invocations.getStore();

/** Lambda's error for a function that outlived its timeout; Step Functions matches this name. */
export class SandboxTimedOutError extends Error {
  override readonly name = 'Sandbox.Timedout';
}

/** Refuses the calls of an invocation Lambda would have stopped. */
export class SandboxStoppedError extends Error {
  override readonly name = 'SandboxStoppedError';
}

/**
 * Runs one invocation of a function as Lambda would: its code runs as that function (for the
 * local IAM, see currentInvocation), and past its timeout the invocation fails with
 * `Sandbox.Timedout` while its late SDK calls are refused. What cannot be done in one process:
 * the handler's code keeps running (Lambda freezes the sandbox), and memory is not limited.
 */
export async function invokeFunction<E, R>(
  functionName: string,
  limits: FunctionLimits,
  handler: (event: E) => Promise<R>,
  event: E,
): Promise<R> {
  const timeoutMs = limits.timeoutSeconds * 1000;
  const invocation: Invocation = {
    functionName,
    requestId: randomUUID(),
    deadline: Date.now() + timeoutMs,
    timedOut: false,
  };
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      invocation.timedOut = true;
      reject(new SandboxTimedOutError(`Task timed out after ${limits.timeoutSeconds.toFixed(2)} seconds`));
    }, timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([invocations.run(invocation, () => handler(event)), expired]);
  } finally {
    clearTimeout(timer);
  }
}
