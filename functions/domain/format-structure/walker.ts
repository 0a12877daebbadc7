import { JpegWalker } from './jpeg.js';
import { PdfWalker } from './pdf.js';
import { PngWalker } from './png.js';
import { ZipWalker } from './zip.js';

/** The formats whose own structure is walked, beyond their signature and their last bytes. */
export type StructuredFormat = 'png' | 'jpeg' | 'pdf' | 'zip';

/** The format walked for a detected MIME type, if any. */
export function formatOfMime(mime: string): StructuredFormat | undefined {
  if (mime === 'image/png') return 'png';
  if (mime === 'image/jpeg') return 'jpeg';
  if (mime === 'application/pdf') return 'pdf';
  return isZipContainer(mime) ? 'zip' : undefined;
}

/** Formats that are ZIP archives: their own end is a ZIP end record. */
export function isZipContainer(mime: string): boolean {
  return (
    mime === 'application/zip' ||
    mime === 'application/java-archive' ||
    mime === 'application/epub+zip' ||
    mime.startsWith('application/vnd.openxmlformats-officedocument.') ||
    mime.startsWith('application/vnd.oasis.opendocument.')
  );
}

/**
 * Follows one format's structure as the bytes stream past, in constant memory, and says where
 * the file departs from it. It never throws on hostile bytes: a departure is a problem to report.
 */
export interface StructureWalker {
  readonly format: StructuredFormat;
  /** The next bytes of the file, in order. Looking stops at the first problem. */
  push(chunk: Buffer): void;
  /** The file ended (`tail`: its last bytes, `size`: its length): the problem found, if any. */
  finish(tail: Buffer, size: number): string | undefined;
}

/** How many first bytes decide which walker (if any) follows a file. */
export const WALKER_PREFIX_BYTES = 8;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_START = Buffer.from([0xff, 0xd8, 0xff]);
const PDF_START = Buffer.from('%PDF', 'latin1');
const ZIP_START = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/**
 * The walker for the format that `prefix` (the first WALKER_PREFIX_BYTES bytes, or all of a
 * shorter file) announces, with the signatures `file-type` itself matches.
 */
export function structureWalkerFor(prefix: Buffer): StructureWalker | undefined {
  const startsWith = (signature: Buffer) => prefix.subarray(0, signature.length).equals(signature);
  if (startsWith(PNG_SIGNATURE)) return new PngWalker();
  if (startsWith(JPEG_START)) return new JpegWalker();
  if (startsWith(PDF_START)) return new PdfWalker();
  if (startsWith(ZIP_START)) return new ZipWalker();
  return undefined;
}
