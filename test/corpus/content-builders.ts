import { strToU8, zipSync } from 'fflate';
import { CLAMD_LIMITS } from '../../local/clamd.js';
import * as active from '../fixtures/active-content.js';
import * as malware from '../fixtures/malware-samples.js';
import * as samples from '../fixtures/samples.js';
import * as polyglots from './polyglots.js';

/**
 * The bytes of the hostile content corpus (test/corpus/hostile-content.json names them), built
 * in memory from the real samples: no binary blobs in the repo.
 */

/** A 1×1 GIF89a: the front half of a GIFAR. */
function gif(): Buffer {
  return Buffer.concat([
    Buffer.from('GIF89a', 'ascii'),
    Buffer.from('01000100800000' + '000000ffffff', 'hex'), // 1×1 screen, a colour table of 2
    Buffer.from('2c00000000010001000002024401003b', 'hex'), // image descriptor, LZW data, trailer
  ]);
}

/** A JAR (a ZIP with a manifest and a class file name): the back half of a GIFAR. */
const jar = (): Buffer =>
  Buffer.from(
    zipSync({
      'META-INF/MANIFEST.MF': strToU8('Manifest-Version: 1.0\nMain-Class: Evil\n'),
      'Evil.class': new Uint8Array([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52]),
    }),
  );

const { payloadZip } = polyglots;

/** The IEND chunk every PNG ends with. */
const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/** The start of an ELF executable (64-bit, little-endian). */
function elf(): Buffer {
  const bytes = Buffer.alloc(128);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0);
  bytes.writeUInt16LE(2, 16); // ET_EXEC
  bytes.writeUInt16LE(0x3e, 18); // x86-64
  return bytes;
}

const half = (bytes: Buffer): Buffer => bytes.subarray(0, Math.floor(bytes.length / 2));

export const CONTENT_BUILDERS: Readonly<Record<string, () => Buffer>> = {
  // Valid files (for wrong declarations, checksums and safe serving).
  pdf: () => samples.pdf('Hostile corpus'),
  png: () => samples.png(),
  jpeg: () => samples.jpegImage(),
  docx: () => samples.docx(),
  empty: () => Buffer.alloc(0),

  // Polyglots: one file that is two.
  'pdf-with-zip-appended': () => Buffer.concat([samples.pdf('Hostile corpus'), payloadZip()]),
  'jpeg-with-zip-appended': () => Buffer.concat([samples.jpegImage(), payloadZip()]),
  'png-with-zip-appended': () => Buffer.concat([samples.png(), payloadZip()]),
  'png-with-zip-then-iend': () => Buffer.concat([samples.png(), payloadZip(), PNG_IEND]),
  gifar: () => Buffer.concat([gif(), jar()]),
  'docx-with-zip-appended': () => Buffer.concat([samples.docx(), payloadZip()]),
  // ... whose end records hide where a ZIP reader still finds them (test/corpus/polyglots.ts).
  'pdf-with-zip-comment-ending-in-trailer': () => polyglots.pdfWithZipCommentEndingInTrailer(),
  'pdf-with-zip-max-comment': () => polyglots.pdfWithZipCommentEndingInTrailer(0xffff),
  'pdf-with-zip64-comment-ending-in-trailer': () => polyglots.pdfWithZip64CommentEndingInTrailer(),
  'pdf-with-zip-then-70k-padding': () => polyglots.pdfWithZipThenPadding(70_000),
  'png-with-zip-comment-ending-in-iend': () => polyglots.pngWithZipCommentEndingInIend(),
  'jpeg-with-zip-comment-ending-in-eoi': () => polyglots.jpegWithZipCommentEndingInEoi(),
  'png-with-zip-in-private-chunk': () => polyglots.pngWithZipInPrivateChunk(),
  'jpeg-with-zip-in-comment-segment': () => polyglots.jpegWithZipInCommentSegment(),
  'docx-with-zip-in-comment': () => polyglots.docxWithZipInComment(),
  'jpeg-with-second-image': () => Buffer.concat([samples.jpegImage(), samples.jpegImage()]),

  // Truncated files.
  'truncated-pdf': () => samples.truncatedPdf(),
  'truncated-png': () => half(samples.png()),
  'truncated-jpeg': () => half(samples.jpegImage()),
  'truncated-docx': () => half(samples.docx()),

  // Archives that are not what they claim, or not one archive.
  'docx-zip64-wrong-locator': () => polyglots.asZip64(samples.docx(), 7),
  'plain-zip': () => samples.plainZip(),
  'zip-with-content-types-only': () =>
    Buffer.from(zipSync({ '[Content_Types].xml': strToU8('<?xml version="1.0"?><Types/>') })),

  // Well-formed variants that must still be accepted.
  'docx-zip64': () => polyglots.asZip64(samples.docx()),
  'pdf-with-xref-stream': () => polyglots.pdfWithXrefStream(),
  'pdf-with-incremental-update': () => polyglots.pdfWithIncrementalUpdate(),

  // Executables.
  exe: () => samples.exe(),
  elf,

  // Markup and scripts.
  html: () => samples.html(),
  'html-dressed-as-pdf': () => polyglots.htmlDressedAsPdf(),
  'svg-with-script': () =>
    Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>\n',
    ),
  'xml-svg-with-script': () =>
    Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n',
    ),

  // Padding.
  'png-zero-padded': () => Buffer.concat([samples.png(), Buffer.alloc(4096)]),
  'pdf-zero-padded': () => Buffer.concat([samples.pdf('Hostile corpus'), Buffer.alloc(64)]),
  'text-zero-padded': () => Buffer.concat([samples.text(), Buffer.alloc(64)]),

  // Active content (test/fixtures/active-content.ts), and controls without it.
  'pdf-with-javascript': active.PDF_WITH.javascript,
  'pdf-with-hex-escaped-javascript': active.PDF_WITH['javascript-hex-escaped'],
  'pdf-with-javascript-in-object-stream': active.PDF_WITH['javascript-in-object-stream'],
  'pdf-with-launch': active.PDF_WITH.launch,
  'pdf-with-open-action': active.PDF_WITH['open-action'],
  'pdf-with-additional-actions': active.PDF_WITH['additional-actions'],
  'pdf-with-embedded-file': active.PDF_WITH['embedded-file'],
  'pdf-with-xfa': active.PDF_WITH.xfa,
  'pdf-with-open-action-to-page': active.PDF_WITHOUT['open-action-to-a-page'],
  'docx-with-vba': active.OOXML_WITH['docx-vba'],
  'docx-with-renamed-vba': active.OOXML_WITH['docx-vba-renamed'],
  'xlsx-with-vba': active.OOXML_WITH['xlsx-vba'],
  'xlsx-with-xlm-macros': active.OOXML_WITH['xlsx-xlm-macro-sheet'],
  'docx-with-activex': active.OOXML_WITH['docx-activex'],
  'docx-with-ole-object': active.OOXML_WITH['docx-ole-object'],
  'docx-with-remote-template': active.OOXML_WITH['docx-remote-template'],
  'docx-follina': active.OOXML_WITH['docx-follina'],
  'docx-with-hidden-relationships': () => active.docxWithHiddenRelationships(),
  'docx-with-lzma-entry': () => active.docxWithEntryMethod(14),
  'docx-with-external-hyperlink': active.OOXML_WITHOUT['docx-external-hyperlink'],
  'docx-with-data-descriptors': () => active.zipOf(active.entriesOf(active.docxFiles(), 8, 'signed')),

  // Text that is not UTF-8 text.
  'utf16le-text': () => Buffer.from('id,name\n1,Zoë\n', 'utf16le'),
  'latin1-text': () => samples.latin1Text(),
  'text-with-nul': () => samples.textWithNul(),

  // Valid files carrying malware (EICAR), or nested past what the engine unpacks: only the scan
  // refuses them.
  eicar: () => malware.eicar(),
  'docx-with-eicar-in-zip': () =>
    malware.docxWith({ 'word/embeddings/attachment.zip': malware.zip({ 'readme.txt': malware.eicar() }) }),
  'text-with-eicar-across-chunks': () => textWithEicarAt([16 * 1024, 64 * 1024, 192 * 1024]),
  'csv-with-eicar-at-end': () => Buffer.concat([samples.csv(), malware.eicar(), Buffer.from('\n')]),
  'docx-nested-past-recursion': () =>
    malware.docxWith({ 'word/embeddings/nested.zip': malware.nestedZip(CLAMD_LIMITS.maxRecursion + 2) }),
};

/** 256 KiB of plain text with EICAR straddling each of `boundaries` (S3's and Node's chunk sizes). */
function textWithEicarAt(boundaries: number[]): Buffer {
  const text = Buffer.alloc(256 * 1024, 'lorem ipsum dolor sit amet\n');
  for (const boundary of boundaries) malware.eicar().copy(text, boundary - 30);
  return text;
}

export function buildContent(name: string): Buffer {
  const builder = CONTENT_BUILDERS[name];
  if (builder === undefined) throw new Error(`No content builder named "${name}"`);
  return builder();
}
