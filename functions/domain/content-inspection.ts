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
  let tail = Buffer.alloc(0);
  let size = 0;
  let hasNul = false;
  let validUtf8 = true;
  let utf8Carry: Buffer = Buffer.alloc(0);
  let stoppedEarly = false;

  for await (const raw of chunks) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    size += chunk.length;
    hash.update(chunk);
    if (headLength < HEAD_SAMPLE_BYTES) {
      headLength += chunk.copy(head, headLength, 0, Math.min(chunk.length, HEAD_SAMPLE_BYTES - headLength));
    }
    tail =
      chunk.length >= TAIL_SAMPLE_BYTES
        ? Buffer.from(chunk.subarray(chunk.length - TAIL_SAMPLE_BYTES))
        : Buffer.concat([tail, chunk]).subarray(-TAIL_SAMPLE_BYTES);
    if (options.checkText) {
      if (!hasNul && chunk.includes(0)) hasNul = true;
      if (validUtf8) {
        const joined = utf8Carry.length > 0 ? Buffer.concat([utf8Carry, chunk]) : chunk;
        const cut = completeUtf8Prefix(joined);
        validUtf8 = isUtf8(joined.subarray(0, cut));
        utf8Carry = Buffer.from(joined.subarray(cut));
      }
    }
    if (options.stopAfterBytes !== undefined && size > options.stopAfterBytes) {
      stoppedEarly = true;
      break;
    }
  }
  // An unfinished character at the very end is invalid, unless reading stopped mid-file.
  if (utf8Carry.length > 0 && !stoppedEarly) validUtf8 = false;

  const detected = headLength > 0 ? await fileTypeFromBuffer(head.subarray(0, headLength)) : undefined;
  return {
    size,
    sha256: hash.digest('hex'),
    ...(detected ? { detectedMime: detected.mime } : {}),
    validUtf8: options.checkText ? validUtf8 : false,
    hasNul,
    tail,
  };
}

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
