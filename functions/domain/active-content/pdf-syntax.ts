/** PDF lexical rules the active-content scan needs (ISO 32000-2, 7.2 and 7.3.5). */

const WHITE = new Uint8Array(256);
for (const byte of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]) WHITE[byte] = 1;
const DELIMITER = new Uint8Array(256);
for (const char of '()<>[]{}/%') DELIMITER[char.charCodeAt(0)] = 1;

export const isWhite = (byte: number | undefined): boolean => byte !== undefined && WHITE[byte] === 1;
/** A byte that continues a name or keyword: neither whitespace nor a delimiter. */
export const isRegular = (byte: number | undefined): boolean =>
  byte !== undefined && WHITE[byte] === 0 && DELIMITER[byte] === 0;
export const isDigit = (byte: number | undefined): boolean =>
  byte !== undefined && byte >= 0x30 && byte <= 0x39;

/** The longest name looked for, as written: 15 characters, each possibly as `#xx`. */
export const MAX_NAME_BYTES = 48;

const HEX = /^[0-9A-Fa-f]{2}$/;

/**
 * The name whose `/` is at `at`, decoded (`#xx` is the byte xx: `/J#61vaScript` is
 * `/JavaScript`), and where it ends; undefined when it is longer than any name looked for, or
 * runs past the known bytes.
 */
export function nameAt(
  bytes: Buffer,
  at: number,
  final: boolean,
): { name: string; raw: string; end: number } | undefined {
  let end = at + 1;
  while (end < bytes.length && end - at - 1 <= MAX_NAME_BYTES && isRegular(bytes[end])) end++;
  if (end - at - 1 > MAX_NAME_BYTES || (end === bytes.length && !final)) return undefined;
  const raw = bytes.toString('latin1', at + 1, end);
  if (!raw.includes('#')) return { name: raw, raw, end };
  let name = '';
  for (let i = 0; i < raw.length; i++) {
    const hex = raw.slice(i + 1, i + 3);
    if (raw[i] === '#' && HEX.test(hex)) {
      name += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else {
      name += raw[i];
    }
  }
  return { name, raw, end };
}

/** The first byte at or after `at` that is neither whitespace nor in a comment (or bytes.length). */
export function skipWhiteAndComments(bytes: Buffer, at: number): number {
  let i = at;
  while (i < bytes.length) {
    const byte = bytes[i];
    if (isWhite(byte)) {
      i++;
    } else if (byte === 0x25) {
      while (i < bytes.length && bytes[i] !== 0x0a && bytes[i] !== 0x0d) i++;
    } else {
      break;
    }
  }
  return i;
}

/** A zlib stream header (RFC 1950): deflate, a valid window, the check bits, no preset dictionary. */
export function isZlibHeader(cmf: number | undefined, flg: number | undefined): boolean {
  if (cmf === undefined || flg === undefined) return false;
  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0 && (flg & 0x20) === 0;
}

/**
 * Object numbers whose definitions (`n g obj`) were all arrays, for telling an /OpenAction that
 * refers to a destination (`[page /Fit]`) from one that refers to an action. Two bitmaps over
 * the numbers a PDF may use (ISO 32000-2, Annex C: at most 8,388,607 objects): 2 MiB, whatever
 * the file.
 */
export class ObjectKinds {
  static readonly MAX_OBJECT_NUMBER = 8_388_607;
  private arrays: Uint8Array | undefined;
  private others: Uint8Array | undefined;

  record(number: number, isArray: boolean): void {
    if (number > ObjectKinds.MAX_OBJECT_NUMBER) return;
    this.arrays ??= new Uint8Array((ObjectKinds.MAX_OBJECT_NUMBER >> 3) + 1);
    this.others ??= new Uint8Array((ObjectKinds.MAX_OBJECT_NUMBER >> 3) + 1);
    const map = isArray ? this.arrays : this.others;
    map[number >> 3] = (map[number >> 3] ?? 0) | (1 << (number & 7));
  }

  /** Every definition of `number` seen was an array. */
  onlyArrays(number: number): boolean {
    if (this.arrays === undefined || this.others === undefined || number > ObjectKinds.MAX_OBJECT_NUMBER) {
      return false;
    }
    const bit = 1 << (number & 7);
    return ((this.arrays[number >> 3] ?? 0) & bit) !== 0 && ((this.others[number >> 3] ?? 0) & bit) === 0;
  }
}

/** The object number of the header "<number> <generation> obj" whose `obj` is at `at`, if it is one. */
export function objectHeaderAt(window: Buffer, at: number): number | undefined {
  if (isRegular(window[at + 3])) return undefined;
  let before = at - 1;
  const skip = (test: (byte: number | undefined) => boolean, most: number): number => {
    let count = 0;
    while (count < most && before >= 0 && test(window[before])) {
      before--;
      count++;
    }
    return count;
  };
  if (skip(isWhite, 8) === 0 || skip(isDigit, 5) === 0 || skip(isWhite, 8) === 0) return undefined;
  const numberEnd = before + 1;
  if (skip(isDigit, 10) === 0 || isRegular(window[before])) return undefined;
  return Number(window.toString('latin1', before + 1, numberEnd));
}
