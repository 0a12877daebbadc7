import { createInflate, createInflateRaw } from 'node:zlib';

/** Inflated bytes one file may produce in all, shared by its inflaters. */
export class InflateBudget {
  constructor(public left: number) {}
}

/**
 * Incremental inflation with node:zlib, in constant memory: the caller feeds compressed bytes
 * as they stream past and gets the inflated bytes synchronously, piece by piece (never held).
 * It finds where the compressed stream ends by itself: once it ended, `write` takes fewer bytes
 * than it was given (zlib's own count, `bytesWritten`), and the rest belongs to what follows.
 */
export class Inflater {
  private readonly engine;
  /** The compressed stream reached its end. */
  ended = false;
  /** The inflated output would have exceeded the budget: inflation stopped there. */
  overBudget = false;
  /** zlib refused the data (not compressed, or damaged): inflation stopped there. */
  damaged = false;
  /** Compressed bytes taken so far. */
  consumed = 0;
  private aborted = false;

  constructor(
    kind: 'zlib' | 'raw',
    private readonly budget: InflateBudget,
    /** Gets each inflated piece; returns false when it wants no more (inflation stops at once). */
    private readonly onOutput: (bytes: Buffer) => boolean | void,
  ) {
    this.engine = kind === 'zlib' ? createInflate() : createInflateRaw();
    this.engine.on('data', (bytes: Buffer) => {
      if (this.overBudget || this.damaged || this.aborted) return;
      if (bytes.length > this.budget.left) {
        this.overBudget = true;
        this.engine.destroy();
        return;
      }
      this.budget.left -= bytes.length;
      if (this.onOutput(bytes) === false) this.abort();
    });
    // Always listened to: an unhandled 'error' event would throw out of the step.
    this.engine.on('error', () => {
      if (!this.overBudget) this.damaged = true;
    });
    this.engine.on('end', () => {
      this.ended = true;
    });
  }

  /** Inflation stopped: the stream ended, was damaged, or went over budget. */
  get stopped(): boolean {
    return this.ended || this.damaged || this.overBudget || this.aborted;
  }

  /**
   * Feeds the next compressed bytes; resolves once zlib took what it wanted of them and every
   * inflated byte was handed on, with how many it took (fewer than given once the stream ended).
   */
  async write(input: Buffer): Promise<number> {
    if (this.stopped || input.length === 0) return 0;
    if (this.engine.destroyed) return 0;
    const before = this.engine.bytesWritten;
    await new Promise<void>((resolve) => {
      const onError = () => resolve();
      this.engine.once('error', onError);
      this.engine.write(input, () => {
        this.engine.off('error', onError);
        resolve();
      });
    });
    const taken = this.engine.bytesWritten - before;
    this.consumed += taken;
    // zlib left input unread although it had room for output: the compressed stream ended.
    if (taken < input.length && !this.damaged && !this.overBudget && !this.aborted) this.ended = true;
    return taken;
  }

  /** No more input: resolves once zlib said whether the stream was complete (`ended`) or not. */
  async finish(): Promise<void> {
    if (this.engine.destroyed) return;
    await new Promise<void>((resolve) => {
      this.engine.once('close', () => resolve());
      this.engine.end();
    });
  }

  /** Frees zlib's memory; no more output. */
  abort(): void {
    this.aborted = true;
    this.engine.destroy();
  }
}
