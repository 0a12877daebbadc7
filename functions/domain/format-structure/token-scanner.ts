/**
 * Finds byte tokens in a stream, in file order, wherever the chunk boundaries fall, and lets the
 * caller look a bounded distance around each hit (`byteAt`). Constant memory: only the last
 * `lookBehind + lookAhead` bytes of earlier chunks are kept, never a chunk itself.
 */
export class TokenScanner {
  private readonly kept: Buffer;
  private keptLength = 0;
  private keptFrom = 0;
  private chunk: Buffer = EMPTY;
  /** Where the current chunk starts in the file: every byte before it has been pushed. */
  private chunkFrom = 0;
  /** Tokens starting before this offset have been reported. */
  private scannedTo = 0;

  /**
   * @param lookAhead bytes from a token's start that must have arrived before it is reported
   * @param lookBehind bytes before a token's start that `byteAt` must still know when it is
   */
  constructor(
    private readonly tokens: readonly Buffer[],
    private readonly lookAhead: number,
    private readonly lookBehind: number,
    private readonly onToken: (token: number, at: number) => void,
  ) {
    this.kept = Buffer.alloc(lookBehind + lookAhead);
  }

  /** The byte at `offset` of the file, while it is still known (undefined beyond the end). */
  byteAt(offset: number): number | undefined {
    if (offset >= this.chunkFrom) return this.chunk[offset - this.chunkFrom];
    if (offset >= this.keptFrom) return this.kept[offset - this.keptFrom];
    return undefined;
  }

  push(chunk: Buffer): void {
    this.chunk = chunk;
    this.scanUpTo(this.chunkFrom + chunk.length - this.lookAhead + 1);
    this.keep(chunk);
    this.chunkFrom += chunk.length;
    this.chunk = EMPTY;
  }

  /** The stream ended: reports the tokens near its end (their look-ahead runs past the end). */
  finish(): void {
    this.scanUpTo(this.chunkFrom);
  }

  private scanUpTo(end: number): void {
    // Tokens starting in the kept bytes straddle into this chunk: few, so checked one by one.
    for (let at = this.scannedTo; at < Math.min(end, this.chunkFrom); at++) {
      const token = this.tokens.findIndex((bytes) => this.matches(at, bytes));
      if (token >= 0) this.onToken(token, at);
    }
    // Tokens inside the chunk: found with indexOf, reported in file order.
    const from = Math.max(this.scannedTo, this.chunkFrom) - this.chunkFrom;
    const limit = end - this.chunkFrom;
    const next = (token: number, after: number): number => {
      const found = this.chunk.indexOf(this.tokens[token] ?? EMPTY, after);
      return found < 0 || found >= limit ? Infinity : found;
    };
    const upcoming = this.tokens.map((_, token) => next(token, from));
    for (;;) {
      const first = Math.min(...upcoming);
      if (first === Infinity) break;
      const token = upcoming.indexOf(first);
      this.onToken(token, this.chunkFrom + first);
      upcoming[token] = next(token, first + 1);
    }
    this.scannedTo = Math.max(this.scannedTo, end);
  }

  private matches(at: number, token: Buffer): boolean {
    for (let i = 0; i < token.length; i++) if (this.byteAt(at + i) !== token[i]) return false;
    return true;
  }

  /** Keeps the last bytes of everything pushed so far. */
  private keep(chunk: Buffer): void {
    const size = this.kept.length;
    if (chunk.length >= size) {
      chunk.copy(this.kept, 0, chunk.length - size);
      this.keptLength = size;
    } else {
      const old = Math.min(this.keptLength, size - chunk.length);
      this.kept.copyWithin(0, this.keptLength - old, this.keptLength);
      chunk.copy(this.kept, old);
      this.keptLength = old + chunk.length;
    }
    this.keptFrom = this.chunkFrom + chunk.length - this.keptLength;
  }
}

const EMPTY = Buffer.alloc(0);
