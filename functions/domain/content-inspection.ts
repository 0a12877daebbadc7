import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { fileTypeFromBuffer } from 'file-type';
import {
  structureWalkerFor,
  WALKER_PREFIX_BYTES,
  type StructuredFormat,
  type StructureWalker,
} from './format-structure/walker.js';
import { ZIP_SEARCH_BYTES } from './format-structure/zip.js';
import type { ActiveContentReport } from './active-content/checks.js';
import { activeContentScannerFor, type ActiveContentScanner } from './active-content/scanner.js';

/** Bytes kept from the start of the file for signature detection (OOXML needs its first zip entries). */
export const HEAD_SAMPLE_BYTES = 128 * 1024;
/** Bytes kept from the end of the file: trailers, and everywhere a ZIP reader looks for an archive. */
export const TAIL_SAMPLE_BYTES = ZIP_SEARCH_BYTES;

/** What the bytes of one object turned out to be. */
export interface ContentFacts {
  size: number;
  sha256: string;
  /** MIME type detected from magic bytes by `file-type`, if any. */
  detectedMime?: string;
  /** The type detector threw on these bytes: their type is unknown (never a crash of the step). */
  detectionFailed?: true;
  /** Valid UTF-8 throughout (only measured when asked for). */
  validUtf8: boolean;
  hasNul: boolean;
  /** The last TAIL_SAMPLE_BYTES bytes (all of them for a smaller file). */
  tail: Buffer;
  /**
   * The walk of the format the first bytes announce (PNG, JPEG, PDF, ZIP), when the file was
   * read to its end: `problem` says where it departs from that format's structure.
   */
  structure?: { format: StructuredFormat; problem?: string };
  /** The active content found in a PDF or a ZIP-based file read to its end (active-content/). */
  activeContent?: ActiveContentReport;
}

/** Finds the type of a file from its first bytes (`file-type` unless a test says otherwise). */
export type DetectType = (head: Uint8Array) => Promise<{ mime: string } | undefined>;

export interface InspectOptions {
  /** Check UTF-8 validity and NUL bytes (for text types). */
  checkText: boolean;
  /** Stop reading once more than this many bytes arrived (the declared size); the count is still exact up to the limit + 1. */
  stopAfterBytes?: number;
  /** The type detector: `file-type` by default. */
  detectType?: DetectType;
  /** Look for active content in PDFs and ZIP-based files (default true). */
  checkActiveContent?: boolean;
}

/**
 * Reads a byte stream once, in constant memory: counts it, hashes it (SHA-256), keeps a bounded
 * head and tail sample, checks text validity incrementally, and walks the structure of the
 * format its first bytes announce. Hostile bytes never make it throw: a detector or walker that
 * fails on them is a fact about the content. Only the stream itself can throw.
 */
export async function inspectContent(
  chunks: AsyncIterable<Uint8Array>,
  options: InspectOptions,
): Promise<ContentFacts> {
  const hash = createHash('sha256');
  const head = Buffer.alloc(HEAD_SAMPLE_BYTES);
  let headLength = 0;
  const tail = new TailKeeper(TAIL_SAMPLE_BYTES);
  let size = 0;
  let hasNul = false;
  const utf8 = new Utf8Check();
  let stoppedEarly = false;
  let walker: GuardedWalker | undefined;
  let walkerChosen = false;
  let scanner: ActiveContentScanner | undefined;
  const scannerFor = (prefix: Buffer) =>
    options.checkActiveContent === false ? undefined : activeContentScannerFor(prefix);

  try {
    for await (const raw of chunks) {
      const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      const before = size;
      size += chunk.length;
      hash.update(chunk);
      if (headLength < HEAD_SAMPLE_BYTES) {
        headLength += chunk.copy(head, headLength, 0, Math.min(chunk.length, HEAD_SAMPLE_BYTES - headLength));
      }
      tail.push(chunk);
      if (!walkerChosen && size >= WALKER_PREFIX_BYTES) {
        // Everything before this chunk is in the head: fewer than WALKER_PREFIX_BYTES bytes.
        walkerChosen = true;
        walker = GuardedWalker.for(head.subarray(0, WALKER_PREFIX_BYTES));
        walker?.push(head.subarray(0, before));
        scanner = scannerFor(head.subarray(0, WALKER_PREFIX_BYTES));
        if (scanner !== undefined) await scanner.push(head.subarray(0, before));
      }
      walker?.push(chunk);
      if (scanner !== undefined) await scanner.push(chunk);
      if (options.checkText) {
        if (!hasNul && chunk.includes(0)) hasNul = true;
        utf8.push(chunk);
      }
      if (options.stopAfterBytes !== undefined && size > options.stopAfterBytes) {
        stoppedEarly = true;
        break;
      }
    }
  } catch (error) {
    // A stream that fails mid-file leaves no zlib stream of the scanner behind.
    scanner?.abort();
    throw error;
  }
  // An unfinished character at the very end is invalid, unless reading stopped mid-file.
  const validUtf8 = stoppedEarly ? utf8.valid : utf8.end();
  if (!walkerChosen && !stoppedEarly) {
    walker = GuardedWalker.for(head.subarray(0, size));
    walker?.push(head.subarray(0, size));
    scanner = scannerFor(head.subarray(0, size));
    if (scanner !== undefined) await scanner.push(head.subarray(0, size));
  }
  const tailBytes = tail.bytes();
  const structure = stoppedEarly ? undefined : walker?.finish(tailBytes, size);
  if (stoppedEarly) scanner?.abort();
  const activeContent = stoppedEarly ? undefined : await scanner?.finish();
  const detection =
    headLength > 0
      ? await detect(options.detectType ?? fileTypeFromBuffer, head.subarray(0, headLength))
      : {};

  return {
    size,
    sha256: hash.digest('hex'),
    ...detection,
    validUtf8: options.checkText ? validUtf8 : false,
    hasNul,
    tail: tailBytes,
    ...(structure ? { structure } : {}),
    ...(activeContent ? { activeContent } : {}),
  };
}

async function detect(
  detectType: DetectType,
  head: Buffer,
): Promise<{ detectedMime?: string; detectionFailed?: true }> {
  try {
    const detected = await detectType(head);
    return detected ? { detectedMime: detected.mime } : {};
  } catch {
    // A parser bug reached by hostile bytes: the content is refused, the step does not fail.
    return { detectionFailed: true };
  }
}

/** A walker whose own failure on hostile bytes becomes a structure problem, never an exception. */
class GuardedWalker {
  private failed = false;

  private constructor(private readonly walker: StructureWalker) {}

  static for(prefix: Buffer): GuardedWalker | undefined {
    const walker = structureWalkerFor(prefix);
    return walker ? new GuardedWalker(walker) : undefined;
  }

  push(chunk: Buffer): void {
    if (this.failed || chunk.length === 0) return;
    try {
      this.walker.push(chunk);
    } catch {
      this.failed = true;
    }
  }

  finish(tail: Buffer, size: number): { format: StructuredFormat; problem?: string } {
    const { format } = this.walker;
    let problem: string | undefined;
    try {
      problem = this.failed ? undefined : this.walker.finish(tail, size);
    } catch {
      this.failed = true;
    }
    if (this.failed) problem = `The file's ${format.toUpperCase()} structure could not be read.`;
    return problem === undefined ? { format } : { format, problem };
  }
}

/**
 * The last `capacity` bytes of a stream, without copying the stream: chunks of at least
 * SMALL_CHUNK bytes are kept by reference (a reader's chunks are fresh buffers, never reused),
 * smaller ones are gathered into SMALL_CHUNK-byte buffers, and whatever can no longer be in the
 * last `capacity` bytes is let go. So at most about 2 × capacity / SMALL_CHUNK pieces (or one
 * larger chunk) are held, however long the stream.
 */
class TailKeeper {
  private readonly pieces: Buffer[] = [];
  private held = 0;
  private small: Buffer | undefined;
  private smallLength = 0;

  constructor(private readonly capacity: number) {}

  push(chunk: Buffer): void {
    if (chunk.length >= SMALL_CHUNK) {
      this.endSmall();
      this.add(chunk);
      return;
    }
    for (let at = 0; at < chunk.length;) {
      this.small ??= Buffer.allocUnsafe(SMALL_CHUNK);
      const copied = chunk.copy(this.small, this.smallLength, at);
      this.smallLength += copied;
      at += copied;
      if (this.smallLength === SMALL_CHUNK) this.endSmall();
    }
  }

  /** The kept bytes in order, at most `capacity` of them. */
  bytes(): Buffer {
    this.endSmall();
    const all = Buffer.concat(this.pieces);
    return all.subarray(Math.max(0, all.length - this.capacity));
  }

  private endSmall(): void {
    if (this.small !== undefined && this.smallLength > 0) this.add(this.small.subarray(0, this.smallLength));
    this.small = undefined;
    this.smallLength = 0;
  }

  private add(piece: Buffer): void {
    this.pieces.push(piece);
    this.held += piece.length;
    while (this.pieces.length > 1 && this.held - (this.pieces[0]?.length ?? 0) >= this.capacity) {
      this.held -= this.pieces.shift()?.length ?? 0;
    }
  }
}

const SMALL_CHUNK = 4096;

/**
 * Incremental UTF-8 validity over a stream of chunks. Each chunk is checked in place: only a
 * character split across a chunk boundary (at most 4 bytes) is copied, never the chunk itself.
 */
class Utf8Check {
  valid = true;
  /** The start of a character the previous chunk ended inside (1-3 bytes, lead byte first). */
  private carry: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    if (!this.valid) return;
    let rest = chunk;
    if (this.carry.length > 0) {
      const lead = this.carry[0] ?? 0;
      const missing = (lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2) - this.carry.length;
      if (chunk.length < missing) {
        // Still unfinished (a tiny chunk): keep carrying, with the bytes this chunk added.
        this.carry = Buffer.concat([this.carry, chunk]);
        if (!chunk.every((byte) => (byte & 0xc0) === 0x80)) this.valid = false;
        return;
      }
      // The split character alone: valid or not, the bytes after it start afresh.
      if (!isUtf8(Buffer.concat([this.carry, chunk.subarray(0, missing)]))) {
        this.valid = false;
        return;
      }
      rest = chunk.subarray(missing);
    }
    const cut = completeUtf8Prefix(rest);
    if (!isUtf8(rest.subarray(0, cut))) this.valid = false;
    this.carry = cut < rest.length ? Buffer.from(rest.subarray(cut)) : EMPTY;
  }

  /** Validity of the whole stream: an unfinished character at its very end is invalid. */
  end(): boolean {
    return this.valid && this.carry.length === 0;
  }
}

const EMPTY = Buffer.alloc(0);

/** Length of the prefix of `bytes` that ends on a UTF-8 character boundary. */
function completeUtf8Prefix(bytes: Buffer): number {
  const end = bytes.length;
  // A character is at most 4 bytes: look back at most 3 for the start of an unfinished one.
  for (let back = 1; back <= Math.min(3, end); back++) {
    const byte = bytes[end - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? end - back : end;
  }
  return end;
}
