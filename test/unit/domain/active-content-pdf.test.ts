import { Readable } from 'node:stream';
import { deflateSync } from 'node:zlib';
import type { ActiveContentCheck } from '../../../functions/domain/active-content/checks.js';
import { PdfActiveContentScanner } from '../../../functions/domain/active-content/pdf.js';
import { inspectContent } from '../../../functions/domain/content-inspection.js';
import { DEFAULT_TYPE_POLICY, type TypePolicy } from '../../../functions/domain/type-policy.js';
import { judgeContent } from '../../../functions/domain/verdict.js';
import { PDF_WITH, PDF_WITHOUT, pdfWith, pdfWithObjectStream } from '../../fixtures/active-content.js';

const PDF = 'application/pdf';

const chunked = (bytes: Buffer, size: number): AsyncIterable<Uint8Array> =>
  Readable.from(
    Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
      bytes.subarray(i * size, (i + 1) * size),
    ),
  );

async function scan(bytes: Buffer, chunkSize = 97) {
  return (await inspectContent(chunked(bytes, chunkSize), { checkText: false })).activeContent;
}

async function judge(bytes: Buffer, policy: TypePolicy = DEFAULT_TYPE_POLICY) {
  const facts = await inspectContent(chunked(bytes, 97), { checkText: false });
  return judgeContent({ contentType: PDF, size: bytes.length }, facts, policy);
}

const withAllowed = (...allow: ActiveContentCheck[]): TypePolicy => ({
  ...DEFAULT_TYPE_POLICY,
  [PDF]: { ...DEFAULT_TYPE_POLICY[PDF]!, activeContent: { allow } },
});

/** The checks each sample must trip: what the construct is, by the list. */
const EXPECTED: Record<keyof typeof PDF_WITH, ActiveContentCheck[]> = {
  javascript: ['pdf.javascript'],
  'javascript-hex-escaped': ['pdf.javascript'],
  'javascript-in-object-stream': ['pdf.javascript'],
  launch: ['pdf.launch'],
  'open-action': ['pdf.open-action'],
  'open-action-direct': ['pdf.open-action'],
  'additional-actions': ['pdf.additional-actions'],
  'embedded-file': ['pdf.embedded-file'],
  xfa: ['pdf.xfa'],
  'rich-media': ['pdf.rich-media'],
};

describe('PDF active content', () => {
  it.each(Object.keys(PDF_WITH) as Array<keyof typeof PDF_WITH>)(
    'finds %s, whatever the chunk sizes, and the verdict refuses it with ACTIVE_CONTENT',
    async (sample) => {
      // Arrange
      const bytes = PDF_WITH[sample]();
      // Act
      const reports = await Promise.all([1, 2, 5, 64, 4096, bytes.length].map((size) => scan(bytes, size)));
      const verdict = await judge(bytes);
      // Assert
      for (const report of reports) {
        expect(report?.findings.map((finding) => finding.check)).toEqual(EXPECTED[sample]);
        expect(report?.uncheckable).toBeUndefined();
      }
      expect(verdict.accepted).toBe(false);
      expect(verdict.reasons.map((reason) => reason.code)).toEqual(['ACTIVE_CONTENT']);
      for (const check of EXPECTED[sample]) expect(verdict.reasons[0]?.message).toContain(`[${check}]`);
    },
  );

  it.each(Object.keys(PDF_WITHOUT) as Array<keyof typeof PDF_WITHOUT>)('accepts %s', async (sample) => {
    const bytes = PDF_WITHOUT[sample]();
    expect(await scan(bytes, 3)).toEqual({ format: 'pdf', findings: [] });
    expect(await judge(bytes)).toMatchObject({ accepted: true, reasons: [] });
  });

  it('names the construct and where it is: the escaped spelling and the object', async () => {
    const report = await scan(PDF_WITH['javascript-hex-escaped']());
    expect(report?.findings[0]).toEqual({
      check: 'pdf.javascript',
      construct: '/JavaScript (written /J#61vaScript) in object 6',
      count: 2, // /JavaScript and /JS (written /J#53)
    });
    const compressed = await scan(PDF_WITH['javascript-in-object-stream']());
    expect(compressed?.findings[0]?.construct).toBe('/JavaScript in the compressed stream of object 8');
  });

  it('finds a name split at every possible chunk boundary', async () => {
    const bytes = PDF_WITH.launch();
    const at = bytes.indexOf('/Launch');
    for (let cut = at - 2; cut <= at + '/Launch'.length + 2; cut++) {
      const pieces = Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]);
      const facts = await inspectContent(pieces, { checkText: false });
      expect({ cut, checks: facts.activeContent?.findings.map((finding) => finding.check) }).toEqual({
        cut,
        checks: ['pdf.launch'],
      });
    }
  });

  it('tells an /OpenAction to a destination object from one to an action object, in either order', async () => {
    // The catalog (object 1) comes before its target here; put the target first too.
    const targetFirst = pdfWith({ objects: ['[3 0 R /Fit]'] })
      .toString('latin1')
      .replace('/Pages 2 0 R ', '/Pages 2 0 R /OpenAction 6 0 R ');
    expect((await scan(Buffer.from(targetFirst, 'latin1')))?.findings).toEqual([]);
    // An object number defined twice (an incremental update), once as an action: refused.
    const redefined =
      pdfWith({ catalog: '/OpenAction 6 0 R', objects: ['[3 0 R /Fit]'] }).toString('latin1') +
      '6 0 obj\n<< /S /URI /URI (https://example.com/) >>\nendobj\n';
    expect((await scan(Buffer.from(redefined, 'latin1')))?.findings.map((f) => f.check)).toEqual([
      'pdf.open-action',
    ]);
  });

  it('lets a type allow one check: the others still refuse', async () => {
    expect(await judge(PDF_WITH.javascript(), withAllowed('pdf.javascript'))).toMatchObject({
      accepted: true,
    });
    const both = pdfWith({
      catalog: '/Names << /JavaScript 6 0 R >>',
      page: '/Annots [8 0 R]',
      objects: [
        '<< /Names [(a) 7 0 R] >>',
        '<< /S /JavaScript /JS (1) >>',
        '<< /Type /Annot /Subtype /Link /Rect [0 0 1 1] /A << /S /Launch /F (x) >> >>',
      ],
    });
    const verdict = await judge(both, withAllowed('pdf.javascript'));
    expect(verdict.reasons.map((reason) => reason.code)).toEqual(['ACTIVE_CONTENT']);
    expect(verdict.reasons[0]?.message).toContain('[pdf.launch]');
    expect(verdict.reasons[0]?.message).not.toContain('[pdf.javascript]');
  });

  it('stops inflating at its bound and refuses what it could not check, unless every PDF check is allowed', async () => {
    // Arrange: a compressed stream of 64 KiB of zeros, against a bound of 16 KiB.
    const bomb = pdfWith({
      objects: [{ dict: '/Filter /FlateDecode', stream: deflateSync(Buffer.alloc(64 * 1024)) }],
    });
    const scanner = new PdfActiveContentScanner(16 * 1024);
    // Act
    for (let at = 0; at < bomb.length; at += 1000) await scanner.push(bomb.subarray(at, at + 1000));
    const report = await scanner.finish();
    // Assert
    expect(report.uncheckable).toBe('its compressed streams inflate to more than 16384 bytes');
    const within = new PdfActiveContentScanner(64 * 1024);
    await within.push(bomb);
    expect((await within.finish()).uncheckable).toBeUndefined();
  });

  it('refuses an encrypted PDF with object streams, and object streams beside filters it does not decode', async () => {
    const encrypted = pdfWithObjectStream('')
      .toString('latin1')
      .replace('/Root 1 0 R', '/Root 1 0 R /Encrypt 99 0 R');
    const encryptedReport = await scan(Buffer.from(encrypted, 'latin1'));
    expect(encryptedReport?.uncheckable).toMatch(/encrypted/);
    // A stream (not in the cross-reference, as an attacker may leave it) encoded in hex.
    const hexEncoded = pdfWithObjectStream('')
      .toString('latin1')
      .replace(
        'startxref',
        '9 0 obj\n<< /Filter /ASCIIHexDecode /Length 7 >>\nstream\n414243>\nendstream\nendobj\nstartxref',
      );
    expect((await scan(Buffer.from(hexEncoded, 'latin1')))?.uncheckable).toMatch(/ASCIIHexDecode/);
    // The same filter in a PDF without object streams hides nothing: every dictionary is in the open.
    const plainHex = pdfWith({
      objects: [{ dict: '/Filter /ASCIIHexDecode', stream: Buffer.from('48656c6c6f>') }],
    });
    expect((await scan(plainHex))?.uncheckable).toBeUndefined();
    // Uncheckable PDFs are refused, unless the type allows every PDF check.
    const verdict = await judge(Buffer.from(encrypted, 'latin1'));
    expect(verdict.reasons).toEqual([
      {
        code: 'ACTIVE_CONTENT',
        message: expect.stringMatching(/could not be checked for active content: it is encrypted/),
      },
    ]);
    const everything = withAllowed(
      'pdf.javascript',
      'pdf.launch',
      'pdf.open-action',
      'pdf.additional-actions',
      'pdf.embedded-file',
      'pdf.xfa',
      'pdf.rich-media',
    );
    expect(await judge(Buffer.from(encrypted, 'latin1'), everything)).toMatchObject({ accepted: true });
  });

  it('treats a stream that only looks like zlib data as data: no finding, nothing uncheckable', async () => {
    // 78 9C starts a zlib stream; what follows is not deflate data.
    const fake = pdfWith({
      objects: [{ dict: '', stream: Buffer.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0x00, 0x2f]) }],
    });
    expect(await scan(fake, 5)).toEqual({ format: 'pdf', findings: [] });
  });

  it('skips the scan when asked to, and for files it did not read to their end', async () => {
    const bytes = PDF_WITH.javascript();
    expect(
      (await inspectContent(chunked(bytes, 64), { checkText: false, checkActiveContent: false }))
        .activeContent,
    ).toBeUndefined();
    const stopped = await inspectContent(chunked(bytes, 64), { checkText: false, stopAfterBytes: 100 });
    expect(stopped.activeContent).toBeUndefined();
  });
});
