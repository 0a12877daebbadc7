import {
  AirlockApiError,
  AirlockNetworkError,
  AirlockTimeoutError,
  type AirlockClient,
} from '../client/index.js';

/** What every command gets: the client, the output streams, and the global flags. */

export const EXIT = {
  OK: 0,
  /** A file was rejected, failed or expired, or the API or S3 refused it. */
  NOT_PROCESSED: 1,
  USAGE: 2,
  /** The API could not be reached, answered with an error, or a wait timed out. */
  API: 3,
} as const;

export interface Output {
  write(text: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
  isTTY?: boolean;
  rows?: number;
  columns?: number;
}

export interface Context {
  client: AirlockClient;
  apiUrl: string;
  stdout: Output;
  stderr: Output;
  json: boolean;
  debug: boolean;
}

/** A mistake in how the CLI was called: exit code 2, with a hint to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** Whether the message ends with a pointer to --help (not for, say, a missing file). */
  readonly hint: boolean;
  constructor(message: string, options: { hint?: boolean } = {}) {
    super(message);
    this.hint = options.hint ?? true;
  }
}

/** Writes to stdout, waiting while it is full, so large exports stream in constant memory. */
export async function emit(out: Output, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

/** One line, `airlock: <message>`. */
export const errorLine = (message: string): string => `airlock: ${message.replace(/\s*\n\s*/g, ' ')}\n`;

/** The one-line message of an error, for the user (no stack). */
export function describeError(error: unknown): string {
  if (error instanceof AirlockApiError) {
    const retry = error.retryAfterSeconds !== undefined ? `; retry in ${error.retryAfterSeconds} s` : '';
    return `${error.message} (${error.status} ${error.code}${retry})`;
  }
  if (error instanceof AirlockNetworkError || error instanceof AirlockTimeoutError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The exit code an error ends the CLI with. */
export function exitCodeFor(error: unknown): number {
  return error instanceof UsageError ? EXIT.USAGE : EXIT.API;
}

export function parsePositiveInt(value: string | undefined, name: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < 1 || number > max) {
    throw new UsageError(`${name} must be an integer from 1 to ${max}, got "${value}"`);
  }
  return number;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLocalUrl(url: string): boolean {
  try {
    return LOOPBACK.has(new URL(url).hostname.toLowerCase());
  } catch {
    return false;
  }
}

/** Runs `work` over `items` with at most `limit` at once; results in input order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A semaphore: `run` waits for a free slot. */
export function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next waiter, so `active` never overshoots.
    if (active >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    else active++;
    try {
      return await task();
    } finally {
      const waiter = queue.shift();
      if (waiter) waiter();
      else active--;
    }
  };
}
