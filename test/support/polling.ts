/**
 * The only ways the e2e and reliability tiers wait: poll a probe until it yields a value, with a
 * deadline. Never a bare sleep.
 */

export interface PollOptions {
  timeoutMs: number;
  /** Pause between probes (default 100 ms). */
  intervalMs?: number;
}

/** Polls `probe` until it returns something other than undefined; undefined at the deadline. */
export async function pollFor<T>(
  probe: () => Promise<T | undefined>,
  options: PollOptions,
): Promise<T | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}

/**
 * Polls `probe` until it returns a value other than undefined, or fails at the deadline with
 * `what` and (from `describeLast`) the last thing seen.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: Partial<PollOptions> & { describeLast?: () => string } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const value = await pollFor(probe, {
    timeoutMs,
    ...(options.intervalMs ? { intervalMs: options.intervalMs } : {}),
  });
  if (value !== undefined) return value;
  const last = options.describeLast ? ` (last: ${options.describeLast()})` : '';
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last}`);
}

/** Waits until the wall clock has passed `instantMs` (e.g. an expiry plus a margin). */
export async function waitUntilClockPasses(instantMs: number, what: string): Promise<void> {
  await pollUntil(what, () => Promise.resolve(Date.now() > instantMs ? true : undefined), {
    timeoutMs: Math.max(0, instantMs - Date.now()) + 5_000,
    intervalMs: 50,
  });
}
