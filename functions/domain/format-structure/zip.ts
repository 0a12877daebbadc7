import { TokenScanner } from './token-scanner.js';
import type { StructureWalker } from './walker.js';

/**
 * ZIP archives are found from their end: a reader looks backwards from the last byte for the
 * end-of-central-directory record ("end record", signature PK\5\6), which says where the central
 * directory is. The specification puts it in the last 65,557 bytes (22 bytes of record and at
 * most 65,535 of comment), with a ZIP64 locator (20 bytes) just before it; readers do not all
 * insist that the comment length matches the end of the file, and Info-ZIP unzip 6.0 looks
 * further back (the last 66,000 bytes rounded up to its 8 KiB read blocks: about 74 KiB).
 */

/** How far from the end a ZIP end record is looked for: beyond all of the searches above. */
export const ZIP_SEARCH_BYTES = 128 * 1024;

const END_SIGNATURE = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
const END_RECORD_BYTES = 22;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_BYTES = 20;
const ZIP64_END_SIGNATURE = 0x06064b50;
const ZIP64_END_RECORD_BYTES = 56;

/**
 * For a file that is not a ZIP: a problem when its last bytes (`tail`, up to ZIP_SEARCH_BYTES)
 * hold a ZIP end record signature anywhere, whatever its comment length says, so that no ZIP
 * reader finds an archive in it.
 */
export function embeddedZipProblem(tail: Buffer): string | undefined {
  const at = tail.lastIndexOf(END_SIGNATURE);
  if (at < 0) return undefined;
  return `a ZIP archive's end record sits ${tail.length - at} bytes before its end`;
}

interface Directory {
  /** Where the central directory starts and how long it is (offsets in the file). */
  offset: number;
  size: number;
  /** Where the central directory must end: the (ZIP64) end record. */
  endsAt: number;
}

const CENTRAL_HEADER = Buffer.from([0x50, 0x4b, 0x01, 0x02]);
const CENTRAL_HEADER_BYTES = 46;
/** Central directory headers of an entry at offset 0 remembered at most (one per archive). */
export const MAX_FIRST_ENTRY_HEADERS = 64;
/**
 * The compression methods a ZIP-based document may use: stored (0) and deflated (8), the only two
 * OOXML allows (ECMA-376 Part 2). They are also the ones the malware engine can read: ClamAV
 * answers OK for a member compressed with LZMA, PPMd or zstd, without having looked inside it.
 */
export const ALLOWED_COMPRESSION_METHODS: ReadonlySet<number> = new Set([0, 8]);
/** Central directory headers with another method remembered at most (hits inside data included). */
const MAX_OTHER_METHOD_HEADERS = 64;

/**
 * Checks that a ZIP-based file (DOCX, XLSX, …) is exactly one archive, as readers from either end
 * see it. `file-type` reads it from the front (the local header at offset 0); most readers go
 * from the end record to the central directory. So: the last end record signature must be the
 * record that ends the file (its comment reaching exactly the last byte), single-disk; its
 * central directory (found directly, or through the ZIP64 locator and record) must end where
 * that record starts, hold no other end record, and list the entry at offset 0, the one the file
 * starts with. A second archive appended (offsets rewritten or not), hidden in the comment, or
 * put before the first, fails one of these. One pass, constant memory: while the bytes stream
 * past, it remembers where central directory headers of an entry at offset 0 are (at most
 * MAX_FIRST_ENTRY_HEADERS); the rest is read from the tail.
 */
export class ZipWalker implements StructureWalker {
  readonly format = 'zip';
  private readonly firstEntryHeaders: number[] = [];
  private tooManyFirstEntries = false;
  /** Where central directory headers with a method other than stored or deflated are, and which. */
  private readonly otherMethods: Array<{ at: number; method: number }> = [];
  private tooManyOtherMethods = false;
  private readonly scanner = new TokenScanner([CENTRAL_HEADER], CENTRAL_HEADER_BYTES, 0, (_token, at) =>
    this.onCentralHeader(at),
  );

  push(chunk: Buffer): void {
    this.scanner.push(chunk);
  }

  finish(tail: Buffer, size: number): string | undefined {
    this.scanner.finish();
    const directory = zipDirectory(tail, size);
    if (typeof directory === 'string') return directory;
    const end = directory.offset + directory.size;
    // Headers inside the central directory are entries; elsewhere the signature is data.
    const odd = this.otherMethods.find(({ at }) => at >= directory.offset && at < end);
    if (odd !== undefined) {
      return `An entry is compressed with method ${odd.method}; only stored (0) and deflated (8) are allowed, as OOXML requires.`;
    }
    if (this.tooManyOtherMethods) {
      return `The archive has more than ${MAX_OTHER_METHOD_HEADERS} central directory headers with a compression method other than stored or deflated.`;
    }
    if (!this.firstEntryHeaders.some((at) => at >= directory.offset && at < end)) {
      return this.tooManyFirstEntries
        ? `The archive has more than ${MAX_FIRST_ENTRY_HEADERS} central directory headers for offset 0.`
        : 'The archive is not one ZIP: its central directory does not list the entry the file starts with.';
    }
    return undefined;
  }

  /**
   * A central directory header: its compression method (bytes 10-11), and whether its entry's
   * local header is at offset 0 (bytes 42-45).
   */
  private onCentralHeader(at: number): void {
    const method = (this.scanner.byteAt(at + 10) ?? 0) | ((this.scanner.byteAt(at + 11) ?? 0) << 8);
    if (!ALLOWED_COMPRESSION_METHODS.has(method)) {
      if (this.otherMethods.length < MAX_OTHER_METHOD_HEADERS) this.otherMethods.push({ at, method });
      else this.tooManyOtherMethods = true;
    }
    for (let i = 42; i < CENTRAL_HEADER_BYTES; i++) if (this.scanner.byteAt(at + i) !== 0) return;
    if (this.firstEntryHeaders.length < MAX_FIRST_ENTRY_HEADERS) this.firstEntryHeaders.push(at);
    else this.tooManyFirstEntries = true;
  }
}

/**
 * The central directory the file's end record points to, or the problem that stops a reader
 * from finding exactly one. `tail` holds the file's last bytes, `size` its length.
 */
function zipDirectory(tail: Buffer, size: number): Directory | string {
  const at = tail.lastIndexOf(END_SIGNATURE);
  if (at < 0) return 'The archive is truncated: it has no ZIP end record.';
  if (at + END_RECORD_BYTES > tail.length) return 'The archive has data after its end record.';
  if (at + END_RECORD_BYTES + tail.readUInt16LE(at + 20) !== tail.length) {
    return 'The archive has data after its end record, or its comment length is wrong.';
  }
  const base = size - tail.length;
  const directory = hasZip64Locator(tail, at)
    ? zip64Directory(tail, base, at)
    : classicDirectory(tail, base, at);
  if (typeof directory === 'string') return directory;
  if (directory.offset + directory.size !== directory.endsAt) {
    return 'The archive is not one ZIP: its central directory does not end where its end record starts.';
  }
  // A second end record inside the central directory would be a second archive to some reader.
  const directoryInTail = Math.max(0, directory.offset - base);
  if (tail.subarray(directoryInTail, at).includes(END_SIGNATURE)) {
    return 'The archive holds a second ZIP end record in its central directory.';
  }
  return directory;
}

const hasZip64Locator = (tail: Buffer, endAt: number): boolean =>
  endAt >= ZIP64_LOCATOR_BYTES && tail.readUInt32LE(endAt - ZIP64_LOCATOR_BYTES) === ZIP64_LOCATOR_SIGNATURE;

function classicDirectory(tail: Buffer, base: number, at: number): Directory | string {
  const disk = tail.readUInt16LE(at + 4);
  const directoryDisk = tail.readUInt16LE(at + 6);
  const entriesHere = tail.readUInt16LE(at + 8);
  const entries = tail.readUInt16LE(at + 10);
  const size = tail.readUInt32LE(at + 12);
  const offset = tail.readUInt32LE(at + 16);
  if (entries === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    return 'The archive says it is ZIP64 but has no ZIP64 locator.';
  }
  if (disk !== 0 || directoryDisk !== 0 || entriesHere !== entries) {
    return 'The archive spans several disks.';
  }
  return { offset, size, endsAt: base + at };
}

function zip64Directory(tail: Buffer, base: number, at: number): Directory | string {
  const locatorAt = at - ZIP64_LOCATOR_BYTES;
  const recordOffset = Number(tail.readBigUInt64LE(locatorAt + 8));
  const recordAt = recordOffset - base;
  if (tail.readUInt32LE(locatorAt + 4) !== 0 || tail.readUInt32LE(locatorAt + 16) > 1) {
    return 'The archive spans several disks.';
  }
  if (
    recordAt < 0 ||
    recordAt + ZIP64_END_RECORD_BYTES > locatorAt ||
    tail.readUInt32LE(recordAt) !== ZIP64_END_SIGNATURE ||
    recordAt + 12 + Number(tail.readBigUInt64LE(recordAt + 4)) !== locatorAt
  ) {
    return 'The archive is not one ZIP: its ZIP64 locator does not point at the ZIP64 end record before it.';
  }
  const entriesHere = tail.readBigUInt64LE(recordAt + 24);
  const entries = tail.readBigUInt64LE(recordAt + 32);
  if (
    tail.readUInt32LE(recordAt + 16) !== 0 ||
    tail.readUInt32LE(recordAt + 20) !== 0 ||
    entriesHere !== entries
  ) {
    return 'The archive spans several disks.';
  }
  return {
    size: Number(tail.readBigUInt64LE(recordAt + 40)),
    offset: Number(tail.readBigUInt64LE(recordAt + 48)),
    endsAt: recordOffset,
  };
}
