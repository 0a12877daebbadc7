import type { z } from 'zod';
import { InvalidTaskInputError } from './errors.js';
import { InjectedFault, stepFault } from './faults.js';
import { logger } from './logger.js';

/**
 * Wraps a state machine task: checks its input against the contract, logs with the uploadId as
 * correlation key, and lets typed errors through so that the ASL's Retry/Catch match their names.
 */
export function taskHandler<S extends z.ZodType, R>(
  step: string,
  schema: S,
  run: (input: z.infer<S>) => Promise<R>,
): (event: unknown) => Promise<R> {
  return async (event) => {
    const parsed = schema.safeParse(event);
    if (!parsed.success) {
      logger.error('task input rejected', { step, issues: parsed.error.issues.map((i) => i.path.join('.')) });
      throw new InvalidTaskInputError(`${step}: the task input does not match the contract.`);
    }
    const uploadId = uploadIdOf(parsed.data);
    if (uploadId) logger.appendKeys({ uploadId });
    try {
      // Off unless AIRLOCK_FAULTS is set, which is refused in production (see faults.ts).
      const fault = stepFault(step);
      if (fault === 'before') throw new InjectedFault(`${step}: injected fault before the step's work.`);
      const result = await run(parsed.data);
      if (fault === 'after') throw new InjectedFault(`${step}: injected fault after the step's work.`);
      logger.info('step done', { step });
      return result;
    } catch (error) {
      logger.warn('step failed', { step, error: (error as Error).name, detail: (error as Error).message });
      throw error;
    } finally {
      logger.removeKeys(['uploadId']);
    }
  };
}

function uploadIdOf(input: unknown): string | undefined {
  if (typeof input === 'object' && input !== null && 'uploadId' in input) {
    const value = input.uploadId;
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}
