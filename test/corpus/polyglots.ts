import { crc32 } from 'node:zlib';
import { strToU8, zipSync } from 'fflate';
import * as samples from '../fixtures/samples.js';

/**
 * Byte surgery for the polyglot cases of the hostile corpus: ZIP archives moved to where another
 * format's bytes end, with their offsets rewritten so that strict ZIP readers open them too (as
 * `zip -A` does), end-record comments that make a file end like a PDF, PNG or JPEG, and ZIP64
 * end records. Every builder here makes a file that `unzip -l` lists (checked by hand with
 * Info-ZIP unzip 6.0 when the cases were written).
 */

const END_SIGNATURE = 0x06054b50;
const ZIP64_END_SIGNATURE = 0x06064b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const CENTRAL_HEADER_BYTES = 46;

/** A ZIP holding an HTML page: what a polyglot smuggles past an image or PDF check. */
export const payloadZip = (): Buffer =>
  Buffer.from(zipSync({ 'index.html': strToU8(samples.html().toString('utf8')) }));

/** The offset of the last end-of-central-directory record (fflate writes no comment). */
function endRecordAt(zip: Buffer): number {
  const at = zip.length - 22;
  if (zip.readUInt32LE(at) !== END_SIGNATURE) throw new Error('expected a ZIP without a comment');
  return at;
}

/** The ZIP with every offset moved by `by` bytes: valid once `by` bytes are put before it. */
export function relocated(zip: Buffer, by: number): Buffer {
  const moved = Buffer.from(zip);
  const end = endRecordAt(moved);
  const directorySize = moved.readUInt32LE(end + 12);
  const directoryAt = moved.readUInt32LE(end + 16);
  moved.writeUInt32LE(directoryAt + by, end + 16);
  for (let at = directoryAt; at < directoryAt + directorySize;) {
    moved.writeUInt32LE(moved.readUInt32LE(at + 42) + by, at + 42); // local header offset
    at +=
      CENTRAL_HEADER_BYTES +
      moved.readUInt16LE(at + 28) +
      moved.readUInt16LE(at + 30) +
      moved.readUInt16LE(at + 32);
  }
  return moved;
}

/** The ZIP with `comment` as its end-record comment (the length field says so). */
export function withComment(zip: Buffer, comment: Buffer): Buffer {
  const commented = Buffer.from(zip);
  commented.writeUInt16LE(comment.length, endRecordAt(commented) + 20);
  return Buffer.concat([commented, comment]);
}

/**
 * The ZIP rewritten as ZIP64: a ZIP64 end record and its locator before the classic end record,
 * whose counts and offsets say "see ZIP64" (0xFFFF, 0xFFFFFFFF). `locatorOffsetDelta` corrupts the
 * locator's pointer on purpose.
 */
export function asZip64(zip: Buffer, locatorOffsetDelta = 0): Buffer {
  const end = endRecordAt(zip);
  const entries = zip.readUInt16LE(end + 10);
  const directorySize = zip.readUInt32LE(end + 12);
  const directoryAt = zip.readUInt32LE(end + 16);
  const record = Buffer.alloc(56);
  record.writeUInt32LE(ZIP64_END_SIGNATURE, 0);
  record.writeBigUInt64LE(44n, 4); // the size of the rest of the record
  record.writeUInt16LE(45, 12); // made by
  record.writeUInt16LE(45, 14); // needed to extract
  record.writeBigUInt64LE(BigInt(entries), 24);
  record.writeBigUInt64LE(BigInt(entries), 32);
  record.writeBigUInt64LE(BigInt(directorySize), 40);
  record.writeBigUInt64LE(BigInt(directoryAt), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(ZIP64_LOCATOR_SIGNATURE, 0);
  locator.writeBigUInt64LE(BigInt(end + locatorOffsetDelta), 8);
  locator.writeUInt32LE(1, 16); // disks in all
  const classic = Buffer.alloc(22);
  classic.writeUInt32LE(END_SIGNATURE, 0);
  classic.writeUInt16LE(0xffff, 8);
  classic.writeUInt16LE(0xffff, 10);
  classic.writeUInt32LE(0xffffffff, 12);
  classic.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([zip.subarray(0, end), record, locator, classic]);
}

/** `length` bytes of comment: spaces, then `ending`. */
const commentEndingWith = (ending: Buffer, length: number): Buffer =>
  Buffer.concat([Buffer.alloc(length - ending.length, 0x20), ending]);

/** The last lines a PDF reader wants: a startxref pointing at the real cross-reference table. */
function pdfTrailerOf(pdf: Buffer): Buffer {
  const startxref = pdf.lastIndexOf('startxref');
  return Buffer.from(`\n${pdf.subarray(startxref).toString('latin1')}`, 'latin1');
}

/** A PDF, then a ZIP whose comment (longer than `commentLength`) ends like the PDF does. */
export function pdfWithZipCommentEndingInTrailer(commentLength = 2048, zip = payloadZip()): Buffer {
  const pdf = samples.pdf('Hostile corpus');
  return Buffer.concat([
    pdf,
    withComment(relocated(zip, pdf.length), commentEndingWith(pdfTrailerOf(pdf), commentLength)),
  ]);
}

/** The same with the ZIP in ZIP64 form (the locator sits 20 bytes before the end record). */
export function pdfWithZip64CommentEndingInTrailer(): Buffer {
  const pdf = samples.pdf('Hostile corpus');
  const zip64 = asZip64(relocated(payloadZip(), pdf.length));
  // asZip64 wrote the record offsets for the ZIP alone: move its locator's pointer too.
  const locatorAt = zip64.length - 22 - 20;
  zip64.writeBigUInt64LE(zip64.readBigUInt64LE(locatorAt + 8) + BigInt(pdf.length), locatorAt + 8);
  return Buffer.concat([pdf, withComment(zip64, commentEndingWith(pdfTrailerOf(pdf), 2048))]);
}

/**
 * A PDF, a ZIP, padding, then the PDF's trailer again: the ZIP's end record is `distance` bytes
 * from the end and its comment length (0) does not cover what follows. Info-ZIP unzip 6.0 still
 * opens it 70,000 bytes from the end: it searches the last 66,000 bytes rounded up to its 8 KiB
 * read blocks, beyond the 65,557 bytes where the ZIP specification puts the record.
 */
export function pdfWithZipThenPadding(distance: number): Buffer {
  const pdf = samples.pdf('Hostile corpus');
  const zip = relocated(payloadZip(), pdf.length);
  const trailer = pdfTrailerOf(pdf);
  const padding = Buffer.alloc(distance - 22 - trailer.length, 0x20);
  return Buffer.concat([pdf, zip, padding, trailer]);
}

/** A PNG, then a ZIP whose comment ends in an IEND chunk. */
export function pngWithZipCommentEndingInIend(): Buffer {
  const png = samples.png();
  return Buffer.concat([
    png,
    withComment(relocated(payloadZip(), png.length), commentEndingWith(png.subarray(-12), 2048)),
  ]);
}

/** A JPEG, then a ZIP whose comment ends in an end-of-image marker. */
export function jpegWithZipCommentEndingInEoi(): Buffer {
  const jpeg = samples.jpegImage();
  return Buffer.concat([
    jpeg,
    withComment(relocated(payloadZip(), jpeg.length), commentEndingWith(Buffer.from([0xff, 0xd9]), 2048)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(data.length, 0);
  header.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([header.subarray(4), data])));
  return Buffer.concat([header, data, crc]);
}

/**
 * A well-formed PNG with a private ancillary chunk holding a ZIP, then a 2 KiB text chunk and
 * IEND: every chunk and CRC is right, and the ZIP's comment covers the rest of the file, so its
 * end record is consistent too, more than 1 KiB from the end.
 */
export function pngWithZipInPrivateChunk(): Buffer {
  const png = samples.png();
  const beforeIend = png.subarray(0, png.length - 12);
  const text = pngChunk('tEXt', Buffer.from(`Comment\0${'x'.repeat(2048)}`, 'latin1'));
  const zip = relocated(payloadZip(), beforeIend.length + 8);
  zip.writeUInt16LE(4 + text.length + 12, zip.length - 2); // this chunk's CRC, tEXt and IEND
  return Buffer.concat([beforeIend, pngChunk('ziPp', zip), text, png.subarray(-12)]);
}

/** A JPEG comment (COM) segment. */
function jpegComment(data: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(0xfffe, 0);
  header.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([header, data]);
}

/**
 * A well-formed JPEG with a comment (COM) segment holding a ZIP right after SOI, then a 2 KiB
 * comment segment and the image: the ZIP's end-record comment covers all that follows it, so
 * its length is consistent too, more than 1 KiB from the end.
 */
export function jpegWithZipInCommentSegment(): Buffer {
  const jpeg = samples.jpegImage();
  const zip = relocated(payloadZip(), 2 + 4);
  const rest = Buffer.concat([jpegComment(Buffer.alloc(2048, 0x20)), jpeg.subarray(2)]);
  zip.writeUInt16LE(rest.length, zip.length - 2);
  return Buffer.concat([jpeg.subarray(0, 2), jpegComment(zip), rest]);
}

/** A DOCX whose end-record comment holds a second ZIP, which backward-scanning readers find first. */
export function docxWithZipInComment(): Buffer {
  const docx = samples.docx();
  const hidden = relocated(payloadZip(), docx.length);
  return withComment(docx, hidden);
}

/** A PDF-looking file that has no cross-reference section at all: HTML between %PDF and %%EOF. */
export const htmlDressedAsPdf = (): Buffer =>
  Buffer.from(`%PDF-1.7\n${samples.html().toString('latin1')}startxref\n9\n%%EOF\n`, 'latin1');

/**
 * A PDF 1.5 whose cross-reference section is a stream (`/Type /XRef`), not an `xref` table: a
 * control that must still be accepted. Its objects are uncompressed, so the stream is plain.
 */
export function pdfWithXrefStream(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>',
  ];
  let body = '%PDF-1.5\n%\u00e2\u00e3\u00cf\u00d3\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xrefAt = Buffer.byteLength(body, 'latin1');
  offsets.push(xrefAt);
  // Entries of 1 + 2 + 1 bytes: type, offset, generation; object 0 is the head of the free list.
  const entries = Buffer.alloc(4 * (offsets.length + 1));
  entries.set([0, 0, 0, 0xff], 0);
  offsets.forEach((offset, index) => {
    entries.writeUInt8(1, 4 * (index + 1));
    entries.writeUInt16BE(offset, 4 * (index + 1) + 1);
  });
  const head = `${offsets.length} 0 obj\n<< /Type /XRef /Size ${offsets.length + 1} /W [1 2 1] /Root 1 0 R /Length ${entries.length} >>\nstream\n`;
  const tail = `\nendstream\nendobj\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.concat([Buffer.from(body + head, 'latin1'), entries, Buffer.from(tail, 'latin1')]);
}

/**
 * A PDF with an incremental update: a new object (a stream holding an HTML page, which PDF
 * readers never run) and a second `xref` table whose trailer points back at the first (`/Prev`).
 * Still one PDF: data inside an update is the PDF's own.
 */
export function pdfWithIncrementalUpdate(): Buffer {
  const original = samples.pdf('Hostile corpus');
  const firstXref = Number(/startxref\s+(\d+)/.exec(original.toString('latin1'))?.[1]);
  const html = samples.html().toString('latin1');
  const objectAt = original.length;
  const object = `6 0 obj\n<< /Length ${html.length} >>\nstream\n${html}\nendstream\nendobj\n`;
  const xrefAt = objectAt + Buffer.byteLength(object, 'latin1');
  const update =
    object +
    `xref\n6 1\n${String(objectAt).padStart(10, '0')} 00000 n \n` +
    `trailer\n<< /Size 7 /Root 1 0 R /Prev ${firstXref} >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.concat([original, Buffer.from(update, 'latin1')]);
}
