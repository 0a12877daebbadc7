import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { fileTypeFromBuffer } from 'file-type';

/** Bytes kept from the start of the file for signature detection (OOXML needs its first zip entries). */
export const HEAD_SAMPLE_BYTES = 128 * 1024;
/** Bytes kept from the end of the file for trailer checks (a PDF ends with %%EOF). */
export const TAIL_SAMPLE_BYTES = 1024;

/** What the bytes of one object turned out to be. */
export interface ContentFacts {
  size: number;
  sha256: string;
  /** MIME type detected from magic bytes by `file-type`, if any. */
  detectedMime?: string;
  /** Valid UTF-8 throughout (only measured when asked for). */
  validUtf8: boolean;
  hasNul: boolean;
  /** The last TAIL_SAMPLE_BYTES bytes. */
  tail: Buffer;
}

export interface InspectOptions {
  /** Check UTF-8 validity and NUL bytes (for text types). */
  checkText: boolean;
  /** Stop reading once more than this many bytes arrived (the declared size); the count is still exact up to the limit + 1. */
  stopAfterBytes?: number;
}

/**
 * Reads a byte stream once, in constant memory: counts it, hashes it (SHA-256), keeps a bounded
 * head and tail sample, and checks text validity incrementally.
 */
export async function inspectContent(
  chunks: AsyncIterable<Uint8Array>,
  options: InspectOptions,
): Promise<ContentFacts> {
  const hash = createHash('sha256');
  const head = Buffer.alloc(HEAD_SAMPLE_BYTES);
  let headLength = 0;
  const tail = Buffer.alloc(TAIL_SAMPLE_BYTES);
  let tailLength = 0;
  let size = 0;
  let hasNul = false;
  const utf8 = new Utf8Check();
  let stoppedEarly = false;

  for await (const raw of chunks) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    size += chunk.length;
    hash.update(chunk);
    if (headLength < HEAD_SAMPLE_BYTES) {
      headLength += chunk.copy(head, headLength, 0, Math.min(chunk.length, HEAD_SAMPLE_BYTES - headLength));
    }
    tailLength = keepTail(tail, tailLength, chunk);
    if (options.checkText) {
      if (!hasNul && chunk.includes(0)) hasNul = true;
      utf8.push(chunk);
    }
    if (options.stopAfterBytes !== undefined && size > options.stopAfterBytes) {
      stoppedEarly = true;
      break;
    }
  }
  // An unfinished character at the very end is invalid, unless reading stopped mid-file.
  const validUtf8 = stoppedEarly ? utf8.valid : utf8.end();

  const detected = headLength > 0 ? await fileTypeFromBuffer(head.subarray(0, headLength)) : undefined;
  return {
    size,
    sha256: hash.digest('hex'),
    ...(detected ? { detectedMime: detected.mime } : {}),
    validUtf8: options.checkText ? validUtf8 : false,
    hasNul,
    tail: tail.subarray(0, tailLength),
  };
}

/**
 * Keeps the last bytes seen in `tail` (a fixed buffer, so that nothing is allocated per chunk)
 * and returns how many it now holds.
 */
function keepTail(tail: Buffer, length: number, chunk: Buffer): number {
  if (chunk.length >= tail.length) {
    chunk.copy(tail, 0, chunk.length - tail.length);
    return tail.length;
  }
  const kept = Math.min(length, tail.length - chunk.length);
  tail.copyWithin(0, length - kept, length);
  chunk.copy(tail, kept);
  return kept + chunk.length;
}

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
