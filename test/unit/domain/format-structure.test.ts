import { crc32 } from 'node:zlib';
import { strToU8, zipSync } from 'fflate';
import { MAX_CROSS_REFERENCE_SECTIONS } from '../../../functions/domain/format-structure/pdf.js';
import {
  structureWalkerFor,
  WALKER_PREFIX_BYTES,
  type StructuredFormat,
} from '../../../functions/domain/format-structure/walker.js';
import { embeddedZipProblem, ZIP_SEARCH_BYTES } from '../../../functions/domain/format-structure/zip.js';
import * as polyglots from '../../corpus/polyglots.js';
import * as samples from '../../fixtures/samples.js';

/** Walks `bytes` as inspectContent does: chosen by its first bytes, fed in chunks of `size`. */
function walk(bytes: Buffer, size = 97): { format?: StructuredFormat; problem?: string } {
  const walker = structureWalkerFor(bytes.subarray(0, WALKER_PREFIX_BYTES));
  if (walker === undefined) return {};
  for (let at = 0; at < bytes.length; at += size) walker.push(bytes.subarray(at, at + size));
  const problem = walker.finish(bytes.subarray(-ZIP_SEARCH_BYTES), bytes.length);
  return problem === undefined ? { format: walker.format } : { format: walker.format, problem };
}

const CHUNK_SIZES = [1, 2, 3, 5, 7, 13, 64, 97, 4096, Number.MAX_SAFE_INTEGER];

const pngChunk = (type: string, data: Buffer): Buffer => {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(data.length, 0);
  header.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([header.subarray(4), data])));
  return Buffer.concat([header, data, crc]);
};

const PNG_SIGNATURE = samples.png().subarray(0, 8);
/** The chunks of the sample PNG: IHDR, IDAT, IEND (each length + type + data + CRC). */
function pngChunks(): { ihdr: Buffer; idat: Buffer; iend: Buffer } {
  const png = samples.png();
  const ihdr = png.subarray(8, 8 + 25);
  const iend = png.subarray(-12);
  return { ihdr, idat: png.subarray(33, png.length - 12), iend };
}

/** The sample JPEG's parts: up to its scan's data, the tables and scan again, and EOI. */
function jpegParts(): { upToScanEnd: Buffer; tablesAndScan: Buffer; eoi: Buffer } {
  const jpeg = samples.jpegImage();
  const dht = jpeg.indexOf(Buffer.from([0xff, 0xc4]));
  const eoi = jpeg.length - 2;
  return {
    upToScanEnd: jpeg.subarray(0, eoi),
    tablesAndScan: jpeg.subarray(dht, eoi),
    eoi: jpeg.subarray(eoi),
  };
}

/**
 * The ZIP with the compression method of its last central directory entry (and that entry's local
 * header) set to `method`, the data unchanged: a reader takes the method from these headers.
 */
function withCompressionMethod(zip: Buffer, method: number): Buffer {
  const bytes = Buffer.from(zip);
  const central = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  bytes.writeUInt16LE(method, central + 10);
  bytes.writeUInt16LE(method, bytes.readUInt32LE(central + 42) + 8);
  return bytes;
}

describe('structure walkers', () => {
  const wellFormed: Array<[string, () => Buffer, StructuredFormat]> = [
    ['the PNG sample', () => samples.png(), 'png'],
    ['a larger PNG', () => samples.png(64, 48), 'png'],
    ['the JPEG sample', () => samples.jpegImage(), 'jpeg'],
    ['a larger JPEG', () => samples.jpegImage(64, 40), 'jpeg'],
    [
      'a JPEG with a second scan (as progressive JPEGs have)',
      () => {
        const { upToScanEnd, tablesAndScan, eoi } = jpegParts();
        return Buffer.concat([upToScanEnd, tablesAndScan, eoi]);
      },
      'jpeg',
    ],
    [
      'a JPEG whose scan data has stuffed FF 00 bytes, restart markers and fill bytes',
      () => Buffer.from('ffd8ffda0008010100003f001200ff0034ffd056ff00ffffd9', 'hex'),
      'jpeg',
    ],
    ['the PDF sample', () => samples.pdf(), 'pdf'],
    ['a PDF with a cross-reference stream', () => polyglots.pdfWithXrefStream(), 'pdf'],
    ['a PDF with an incremental update', () => polyglots.pdfWithIncrementalUpdate(), 'pdf'],
    [
      'a PDF whose last lines end in CR LF',
      () => {
        const pdf = samples.pdf();
        const offset = /startxref\s+(\d+)/.exec(pdf.toString('latin1'))?.[1] ?? '';
        const end = Buffer.from(`startxref\r\n${offset}\r\n%%EOF\r\n`, 'latin1');
        return Buffer.concat([pdf.subarray(0, pdf.lastIndexOf('startxref')), end]);
      },
      'pdf',
    ],
    ['the DOCX sample', () => samples.docx(), 'zip'],
    ['the XLSX sample', () => samples.xlsx(), 'zip'],
    ['a DOCX in ZIP64 form', () => polyglots.asZip64(samples.docx()), 'zip'],
    [
      'a DOCX with an end-record comment',
      () => polyglots.withComment(samples.docx(), Buffer.from('Airlock')),
      'zip',
    ],
  ];

  it.each(wellFormed)(
    'walks %s to its end without a problem, in chunks of any size',
    (_name, build, format) => {
      const bytes = build();
      for (const size of CHUNK_SIZES) expect({ size, ...walk(bytes, size) }).toEqual({ size, format });
    },
  );

  const departures: Array<[string, () => Buffer, RegExp]> = [
    // PNG
    [
      'a PNG with one byte after IEND',
      () => Buffer.concat([samples.png(), Buffer.from([0])]),
      /data after its IEND/,
    ],
    ['a PNG cut inside its IDAT chunk', () => samples.png().subarray(0, 50), /PNG is truncated/],
    ['a PNG cut before IEND', () => samples.png().subarray(0, -12), /PNG is truncated/],
    [
      'a PNG whose IDAT data was changed (CRC no longer matches)',
      () => {
        const png = samples.png();
        png[45] = (png[45] ?? 0) ^ 0x01;
        return png;
      },
      /IDAT chunk whose CRC is wrong/,
    ],
    [
      'a PNG whose first chunk is not IHDR',
      () => {
        const { ihdr, idat, iend } = pngChunks();
        return Buffer.concat([PNG_SIGNATURE, pngChunk('tEXt', Buffer.from('a\0b')), ihdr, idat, iend]);
      },
      /does not start with its 13-byte IHDR/,
    ],
    [
      'a PNG without image data',
      () => {
        const { ihdr, iend } = pngChunks();
        return Buffer.concat([PNG_SIGNATURE, ihdr, iend]);
      },
      /no image data/,
    ],
    [
      'a PNG whose IEND chunk carries data',
      () => {
        const { ihdr, idat } = pngChunks();
        return Buffer.concat([PNG_SIGNATURE, ihdr, idat, pngChunk('IEND', Buffer.from('zip'))]);
      },
      /IEND chunk with data/,
    ],
    [
      'a PNG with a chunk type that is not letters',
      () => {
        const { ihdr, idat, iend } = pngChunks();
        return Buffer.concat([PNG_SIGNATURE, ihdr, pngChunk('PK\u0003\u0004', Buffer.alloc(4)), idat, iend]);
      },
      /type is not four letters/,
    ],
    // JPEG
    [
      'a JPEG with one byte after EOI',
      () => Buffer.concat([samples.jpegImage(), Buffer.from([0])]),
      /data after its end-of-image/,
    ],
    [
      'a JPEG followed by a second JPEG',
      () => Buffer.concat([samples.jpegImage(), samples.jpegImage()]),
      /data after its end-of-image/,
    ],
    ['a JPEG cut in its scan data', () => samples.jpegImage().subarray(0, -4), /JPEG is truncated/],
    ['a JPEG cut inside a segment', () => samples.jpegImage().subarray(0, 100), /JPEG is truncated/],
    ['a JPEG with no scan before EOI', () => Buffer.from('ffd8ffe000044a46ffd9', 'hex'), /no image data/],
    [
      'a JPEG with a stray byte between segments',
      () => Buffer.from('ffd8ffe0000200ffd9', 'hex'),
      /stray bytes/,
    ],
    ['a JPEG with a second SOI', () => Buffer.from('ffd8ffd8ffd9', 'hex'), /misplaced marker \(FF D8\)/],
    [
      'a JPEG with a segment length under 2',
      () => Buffer.from('ffd8ffe00001ffd9', 'hex'),
      /impossible length/,
    ],
    // PDF
    ['a PDF cut before %%EOF', () => samples.truncatedPdf(), /PDF is truncated/],
    [
      'a PDF with bytes after %%EOF',
      () => Buffer.concat([samples.pdf(), Buffer.from('x')]),
      /data after its %%EOF/,
    ],
    [
      'a PDF with NUL bytes after %%EOF',
      () => Buffer.concat([samples.pdf(), Buffer.alloc(4)]),
      /data after its %%EOF/,
    ],
    [
      'a PDF without startxref',
      () =>
        Buffer.from(
          samples
            .pdf()
            .toString('latin1')
            .replace(/startxref\s+\d+\s+/, ''),
          'latin1',
        ),
      /no startxref offset/,
    ],
    [
      'a PDF whose startxref is one byte off',
      () => withStartxref(samples.pdf(), (offset) => offset + 1),
      /does not point at a cross-reference section/,
    ],
    [
      'a PDF whose startxref points at the `startxref` keyword itself',
      () => withStartxref(samples.pdf(), (_offset, pdf) => pdf.lastIndexOf('startxref') + 5),
      /does not point/,
    ],
    [
      'a PDF whose startxref points at "xref" inside a string',
      () => {
        const pdf = samples.pdf('see (xref) here');
        return withStartxref(pdf, () => pdf.indexOf('xref) here'));
      },
      /does not point/,
    ],
    [
      'a PDF whose startxref points at an object that is not a cross-reference stream',
      () => withStartxref(samples.pdf(), (_offset, pdf) => pdf.indexOf('1 0 obj')),
      /does not point/,
    ],
    [
      'a PDF whose startxref points at an object naming /XRefStm, not /XRef',
      () => {
        const pdf = samples.pdf();
        const extra = Buffer.from(`7 0 obj\n<< /XRefStm 0 >>\nendobj\n`, 'latin1');
        const at = pdf.lastIndexOf('xref\n0 ');
        return withStartxref(Buffer.concat([pdf.subarray(0, at), extra, pdf.subarray(at)]), () => at);
      },
      /does not point/,
    ],
    ['HTML between %PDF and a startxref/%%EOF trailer', () => polyglots.htmlDressedAsPdf(), /does not point/],
    [
      `a PDF with more than ${MAX_CROSS_REFERENCE_SECTIONS} cross-reference sections`,
      () => {
        const pdf = samples.pdf();
        const at = pdf.lastIndexOf('trailer');
        const extra = Buffer.from('xref\n0 0\n'.repeat(MAX_CROSS_REFERENCE_SECTIONS), 'latin1');
        return withStartxref(
          Buffer.concat([pdf.subarray(0, at), extra, pdf.subarray(at)]),
          () => at + extra.length - 9,
        );
      },
      /more than 4096 cross-reference sections/,
    ],
    // ZIP
    ['a DOCX cut short', () => samples.docx().subarray(0, 600), /truncated: it has no ZIP end record/],
    [
      'a DOCX with bytes after its end record',
      () => Buffer.concat([samples.docx(), Buffer.from('x')]),
      /data after its end record/,
    ],
    [
      'a DOCX with a second ZIP appended, offsets rewritten for where it sits',
      () =>
        Buffer.concat([samples.docx(), polyglots.relocated(polyglots.payloadZip(), samples.docx().length)]),
      /does not list the entry the file starts with/,
    ],
    [
      'a DOCX with a second ZIP appended as is',
      () => Buffer.concat([samples.docx(), polyglots.payloadZip()]),
      /does not end where its end record starts/,
    ],
    [
      'a DOCX whose end-record comment holds a second ZIP',
      () => polyglots.docxWithZipInComment(),
      /does not list the entry the file starts with/,
    ],
    [
      'a DOCX in ZIP64 form whose locator points 7 bytes off',
      () => polyglots.asZip64(samples.docx(), 7),
      /ZIP64 locator does not point/,
    ],
    [
      'a DOCX whose end record says ZIP64 without a locator',
      () => {
        const docx = samples.docx();
        docx.writeUInt32LE(0xffffffff, docx.length - 6);
        return docx;
      },
      /ZIP64 but has no ZIP64 locator/,
    ],
    [
      'a DOCX whose end record says it spans two disks',
      () => {
        const docx = samples.docx();
        docx.writeUInt16LE(1, docx.length - 18);
        return docx;
      },
      /spans several disks/,
    ],
    ...[12, 14, 93, 98].map((method): [string, () => Buffer, RegExp] => [
      `a DOCX with an entry compressed with method ${method} (bzip2, LZMA, zstd, PPMd: the engine cannot read them)`,
      () => withCompressionMethod(samples.docx(), method),
      new RegExp(`compressed with method ${method}; only stored \\(0\\) and deflated \\(8\\)`),
    ]),
    [
      'a ZIP with an end record signature in an entry comment of its central directory',
      () =>
        Buffer.from(
          zipSync({ '[Content_Types].xml': [strToU8('<Types/>'), { comment: 'PK\u0005\u0006 hidden' }] }),
        ),
      /second ZIP end record in its central directory/,
    ],
  ];

  it.each(departures)(
    'finds where %s departs from its format, in chunks of any size',
    (_name, build, problem) => {
      const bytes = build();
      const first = walk(bytes, 1);
      expect(first.problem).toMatch(problem);
      for (const size of CHUNK_SIZES) expect({ size, ...walk(bytes, size) }).toEqual({ size, ...first });
    },
  );

  it('leaves files of other formats (and empty ones) unwalked', () => {
    for (const bytes of [
      samples.text(),
      samples.html(),
      samples.exe(),
      Buffer.alloc(0),
      Buffer.from('%PD'),
    ]) {
      expect(structureWalkerFor(bytes.subarray(0, WALKER_PREFIX_BYTES))).toBeUndefined();
    }
  });

  it('never throws on damaged files: 3,000 random mutations of each format end in a verdict', () => {
    let seed = 13;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const bases = [
      samples.png(),
      samples.jpegImage(),
      samples.pdf(),
      samples.docx(),
      polyglots.pdfWithXrefStream(),
    ];
    let problems = 0;
    for (const base of bases) {
      for (let round = 0; round < 3000; round++) {
        const bytes = Buffer.from(
          base.subarray(0, Math.max(WALKER_PREFIX_BYTES, Math.floor(random() * base.length * 1.2))),
        );
        for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) {
          const at = WALKER_PREFIX_BYTES + Math.floor(random() * (bytes.length - WALKER_PREFIX_BYTES));
          if (at < bytes.length) bytes[at] = Math.floor(random() * 256);
        }
        const result = walk(bytes, 1 + Math.floor(random() * 300));
        if (result.problem !== undefined) problems++;
      }
    }
    // Most mutations damage the structure (so the walkers were exercised), and none threw.
    expect(problems).toBeGreaterThan(bases.length * 3000 * 0.5);
  });
});

describe('embeddedZipProblem', () => {
  const endRecord = Buffer.from('504b0506', 'hex');

  it('finds a ZIP end record signature anywhere in the last bytes, even one cut short', () => {
    expect(embeddedZipProblem(Buffer.concat([endRecord, Buffer.alloc(ZIP_SEARCH_BYTES - 4)]))).toMatch(
      `${ZIP_SEARCH_BYTES} bytes before its end`,
    );
    expect(embeddedZipProblem(Buffer.concat([Buffer.alloc(100), endRecord.subarray(0, 4)]))).toMatch(
      '4 bytes before its end',
    );
  });

  it('finds nothing in bytes without one', () => {
    expect(embeddedZipProblem(samples.png())).toBeUndefined();
    expect(embeddedZipProblem(Buffer.from('PK\u0005\u0005PK\u0006\u0006'))).toBeUndefined();
  });
});

/** The PDF with its last startxref offset replaced by `offsetFor(the old offset, the pdf)`. */
function withStartxref(pdf: Buffer, offsetFor: (offset: number, pdf: Buffer) => number): Buffer {
  const text = pdf.toString('latin1');
  const match = /startxref\s+(\d+)\s+%%EOF\s*$/.exec(text);
  if (match === null) throw new Error('expected a PDF ending in startxref');
  const offset = offsetFor(Number(match[1]), pdf);
  return Buffer.from(`${text.slice(0, match.index)}startxref\n${offset}\n%%EOF\n`, 'latin1');
}
