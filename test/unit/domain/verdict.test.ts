import { Readable } from 'node:stream';
import {
  inspectContent,
  TAIL_SAMPLE_BYTES,
  type ContentFacts,
} from '../../../functions/domain/content-inspection.js';
import type { ReasonCode } from '../../../functions/domain/model.js';
import { DEFAULT_TYPE_POLICY, type TypePolicy } from '../../../functions/domain/type-policy.js';
import { judgeContent, type DeclaredContent, type Verdict } from '../../../functions/domain/verdict.js';
import * as polyglots from '../../corpus/polyglots.js';
import * as samples from '../../fixtures/samples.js';

/** Inspects real bytes the way the Validate task does (text check only for text types), in small chunks. */
async function inspect(
  bytes: Buffer,
  declared: DeclaredContent,
  policy: TypePolicy = DEFAULT_TYPE_POLICY,
): Promise<ContentFacts> {
  const chunks = Array.from({ length: Math.ceil(bytes.length / 97) }, (_, i) =>
    bytes.subarray(i * 97, (i + 1) * 97),
  );
  return inspectContent(Readable.from(chunks), {
    checkText: policy[declared.contentType]?.detect.kind === 'text',
    stopAfterBytes: declared.size,
  });
}

async function judge(
  bytes: Buffer,
  declared: Partial<DeclaredContent> & { contentType: string },
  policy: TypePolicy = DEFAULT_TYPE_POLICY,
): Promise<Verdict> {
  const full: DeclaredContent = { size: bytes.length, ...declared };
  return judgeContent(full, await inspect(bytes, full, policy), policy);
}

const codes = (verdict: Verdict): ReasonCode[] => verdict.reasons.map((reason) => reason.code).sort();

describe('judgeContent with real sample bytes', () => {
  describe('accepts every valid sample of every allowed type', () => {
    it.each(samples.VALID_SAMPLES)(
      'accepts $name declared as $contentType',
      async ({ contentType, bytes }) => {
        // Arrange
        const declared = { contentType, size: bytes.length };

        // Act
        const verdict = await judge(bytes, declared);

        // Assert
        expect(verdict).toEqual({
          accepted: true,
          reasons: [],
          facts: { size: bytes.length, sha256: samples.sha256Hex(bytes), detectedType: contentType },
        });
      },
    );
  });

  it('covers each type of the default policy with one valid sample', () => {
    // Arrange
    const sampled = samples.VALID_SAMPLES.map((sample) => sample.contentType).sort();

    // Act
    const allowed = Object.keys(DEFAULT_TYPE_POLICY).sort();

    // Assert
    expect(sampled).toEqual(allowed);
  });

  describe('rejects spoofed content', () => {
    it('rejects HTML declared as application/pdf with TYPE_MISMATCH and no detected type', async () => {
      // Arrange
      const bytes = samples.html();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.pdf });

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH']);
      expect(verdict.facts).toEqual({
        size: bytes.length,
        sha256: samples.sha256Hex(bytes),
        detectedType: null,
      });
    });

    it('rejects an EXE declared as application/pdf with TYPE_MISMATCH and TYPE_NOT_ALLOWED', async () => {
      // Arrange
      const bytes = samples.exe();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.pdf });

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH', 'TYPE_NOT_ALLOWED']);
      expect(verdict.facts).toEqual({
        size: 512,
        sha256: samples.sha256Hex(bytes),
        detectedType: 'application/x-msdownload',
      });
      expect(verdict.reasons.find((r) => r.code === 'TYPE_MISMATCH')?.message).toContain(
        'application/x-msdownload',
      );
    });

    it('rejects PNG bytes declared as image/jpeg with TYPE_MISMATCH only (PNG itself is allowed)', async () => {
      // Arrange
      const bytes = samples.png();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.jpeg });

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH']);
      expect(verdict.facts.detectedType).toBe('image/png');
    });

    it('rejects a plain ZIP declared as DOCX with TYPE_MISMATCH and TYPE_NOT_ALLOWED (application/zip is not allowed)', async () => {
      // Arrange
      const bytes = samples.plainZip();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.docx });

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH', 'TYPE_NOT_ALLOWED']);
      expect(verdict.facts.detectedType).toBe('application/zip');
    });

    it('rejects a DOCX declared as XLSX with TYPE_MISMATCH (both OOXML zips, told apart)', async () => {
      // Arrange
      const bytes = samples.docx();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.xlsx });

      // Assert
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH']);
      expect(verdict.facts.detectedType).toBe(samples.MIME.docx);
    });

    it('rejects a truncated PDF (signature present, no %%EOF trailer) with TYPE_MISMATCH', async () => {
      // Arrange
      const bytes = samples.truncatedPdf();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.pdf });

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH']);
      expect(verdict.reasons[0]?.message).toMatch(/truncated/);
      expect(verdict.facts).toEqual({
        size: 200,
        sha256: samples.sha256Hex(bytes),
        detectedType: 'application/pdf',
      });
    });

    it('rejects PNG bytes declared as text/plain with TYPE_MISMATCH', async () => {
      // Arrange
      const bytes = samples.png();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.text });

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH']);
      expect(verdict.facts.detectedType).toBe('image/png');
    });

    it('rejects an EXE declared as text/plain with TYPE_MISMATCH and TYPE_NOT_ALLOWED', async () => {
      // Arrange
      const bytes = samples.exe();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.text });

      // Assert
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH', 'TYPE_NOT_ALLOWED']);
      expect(verdict.facts.detectedType).toBe('application/x-msdownload');
    });

    it('rejects Latin-1 (not UTF-8) text declared as text/plain with TYPE_MISMATCH', async () => {
      // Arrange
      const bytes = samples.latin1Text();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.text });

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH']);
      expect(verdict.facts).toEqual({
        size: bytes.length,
        sha256: samples.sha256Hex(bytes),
        detectedType: null,
      });
    });

    it('rejects text containing a NUL byte declared as text/plain with TYPE_MISMATCH', async () => {
      // Arrange
      const bytes = samples.textWithNul();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.text });

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH']);
      expect(verdict.facts.detectedType).toBeNull();
    });

    it('rejects Latin-1 text declared as text/csv with TYPE_MISMATCH', async () => {
      // Arrange
      const bytes = samples.latin1Text();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.csv });

      // Assert
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH']);
    });
  });

  describe('rejects files that do not end where their format ends (truncated files, polyglots)', () => {
    const zip = samples.plainZip();
    const iend = samples.png().subarray(-12);
    it.each([
      [
        'a PDF with a ZIP appended',
        () => Buffer.concat([samples.pdf(), zip]),
        samples.MIME.pdf,
        /ZIP archive/,
      ],
      [
        'a JPEG with a ZIP appended',
        () => Buffer.concat([samples.jpegImage(), zip]),
        samples.MIME.jpeg,
        /ZIP archive/,
      ],
      [
        'a PNG with a ZIP appended',
        () => Buffer.concat([samples.png(), zip]),
        samples.MIME.png,
        /ZIP archive/,
      ],
      [
        'a PNG, a ZIP, then another IEND chunk',
        () => Buffer.concat([samples.png(), zip, iend]),
        samples.MIME.png,
        /ZIP archive/,
      ],
      [
        'a PDF with bytes after %%EOF',
        () => Buffer.concat([samples.pdf(), Buffer.from('<html>')]),
        samples.MIME.pdf,
        /after its %%EOF/,
      ],
      [
        'a PDF padded with NUL bytes',
        () => Buffer.concat([samples.pdf(), Buffer.alloc(16)]),
        samples.MIME.pdf,
        /after its %%EOF/,
      ],
      ['a PNG cut short', () => samples.png().subarray(0, 60), samples.MIME.png, /PNG is truncated/],
      [
        'a PNG padded with NUL bytes',
        () => Buffer.concat([samples.png(), Buffer.alloc(4096)]),
        samples.MIME.png,
        /PNG has data after its IEND chunk/,
      ],
      [
        'a JPEG cut short',
        () => samples.jpegImage().subarray(0, 300),
        samples.MIME.jpeg,
        /JPEG is truncated/,
      ],
      [
        'a DOCX with a second ZIP appended',
        () => Buffer.concat([samples.docx(), zip]),
        samples.MIME.docx,
        /archive/,
      ],
      [
        'a DOCX with bytes after its end record',
        () => Buffer.concat([samples.docx(), Buffer.from('trailing')]),
        samples.MIME.docx,
        /archive/,
      ],
      ['a DOCX cut short', () => samples.docx().subarray(0, 600), samples.MIME.docx, /archive is truncated/],
    ])('rejects %s with TYPE_MISMATCH', async (_label, build, contentType, message) => {
      // Arrange
      const bytes = build();

      // Act
      const verdict = await judge(bytes, { contentType });

      // Assert
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH']);
      expect(verdict.reasons[0]?.message).toMatch(message);
      expect(verdict.facts.detectedType).toBe(contentType);
    });

    it('accepts a PDF whose %%EOF is followed by line breaks and spaces only', async () => {
      // Arrange
      const bytes = Buffer.concat([samples.pdf(), Buffer.from('\r\n  \n')]);

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.pdf });

      // Assert
      expect(verdict.accepted).toBe(true);
    });

    it('accepts a DOCX whose ZIP end record carries a comment', async () => {
      // Arrange: set the comment length of the end record (its last 2 bytes) and append the comment.
      const docx = samples.docx();
      const comment = Buffer.from('Produced by Airlock tests');
      docx.writeUInt16LE(comment.length, docx.length - 2);
      const bytes = Buffer.concat([docx, comment]);

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.docx });

      // Assert
      expect(verdict.accepted).toBe(true);
    });

    it(`refuses a PDF with a ZIP end record exactly ${TAIL_SAMPLE_BYTES} bytes before its end, and looks no further`, async () => {
      // Arrange: a PDF, a ZIP, padding, and the PDF's trailer again, so that the PDF's own
      // structure is whole and only the ZIP can be found.
      const inside = polyglots.pdfWithZipThenPadding(TAIL_SAMPLE_BYTES);
      const outside = polyglots.pdfWithZipThenPadding(TAIL_SAMPLE_BYTES + 1);

      // Act
      const refused = await judge(inside, { contentType: samples.MIME.pdf });
      const beyond = await judge(outside, { contentType: samples.MIME.pdf });

      // Assert
      expect(codes(refused)).toEqual(['TYPE_MISMATCH']);
      expect(refused.reasons[0]?.message).toBe(
        `The application/pdf file is also a ZIP archive: a ZIP archive's end record sits ${TAIL_SAMPLE_BYTES} bytes before its end.`,
      );
      expect(beyond.accepted).toBe(true);
    });

    it('leaves the trailer alone when the file is larger than declared (only its start was read)', async () => {
      // Arrange
      const bytes = samples.png();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.png, size: bytes.length - 20 });

      // Assert
      expect(codes(verdict)).toEqual(['SIZE_MISMATCH']);
    });
  });

  describe('content the type detector fails on', () => {
    const failingDetector = () => Promise.reject(new Error('Unexpected end of data'));

    it.each([samples.MIME.png, samples.MIME.text])(
      'rejects it declared as %s with TYPE_MISMATCH and no detected type (a verdict, not a failure)',
      async (contentType) => {
        // Arrange
        const bytes = contentType === samples.MIME.png ? samples.png() : samples.text();
        const declared = { contentType, size: bytes.length };
        const facts = await inspectContent(Readable.from([bytes]), {
          checkText: contentType === samples.MIME.text,
          detectType: failingDetector,
        });

        // Act
        const verdict = judgeContent(declared, facts, DEFAULT_TYPE_POLICY);

        // Assert
        expect(verdict).toEqual({
          accepted: false,
          reasons: [
            {
              code: 'TYPE_MISMATCH',
              message: `The content could not be recognised as ${contentType}: its type could not be determined.`,
            },
          ],
          facts: { size: bytes.length, sha256: samples.sha256Hex(bytes), detectedType: null },
        });
      },
    );
  });

  describe('size, emptiness and checksum', () => {
    it('rejects an empty file declared with size 0 with EMPTY_FILE only', async () => {
      // Arrange
      const bytes = Buffer.alloc(0);

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.pdf, size: 0 });

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(codes(verdict)).toEqual(['EMPTY_FILE']);
      expect(verdict.facts).toEqual({
        size: 0,
        sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        detectedType: null,
      });
    });

    it('rejects an empty file declared as 10 bytes with EMPTY_FILE and SIZE_MISMATCH', async () => {
      // Arrange
      const bytes = Buffer.alloc(0);

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.text, size: 10 });

      // Assert
      expect(codes(verdict)).toEqual(['EMPTY_FILE', 'SIZE_MISMATCH']);
    });

    it('rejects a valid PNG that is shorter than declared with SIZE_MISMATCH only', async () => {
      // Arrange
      const bytes = samples.png();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.png, size: bytes.length + 1 });

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(codes(verdict)).toEqual(['SIZE_MISMATCH']);
      expect(verdict.reasons[0]?.message).toBe(
        `The file has ${bytes.length} bytes; ${bytes.length + 1} were declared.`,
      );
      expect(verdict.facts).toEqual({
        size: bytes.length,
        sha256: samples.sha256Hex(bytes),
        detectedType: 'image/png',
      });
    });

    it('rejects a valid text file that is longer than declared with SIZE_MISMATCH', async () => {
      // Arrange
      const bytes = samples.text();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.text, size: 5 });

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(codes(verdict)).toEqual(['SIZE_MISMATCH']);
      expect(verdict.facts.size).toBeGreaterThan(5);
    });

    it('rejects a wrong declared SHA-256 with CHECKSUM_MISMATCH only', async () => {
      // Arrange
      const bytes = samples.pdf();
      const wrong = samples.sha256Hex(samples.pdf('something else'));

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.pdf, sha256: wrong });

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(codes(verdict)).toEqual(['CHECKSUM_MISMATCH']);
      expect(verdict.facts.sha256).toBe(samples.sha256Hex(bytes));
      expect(verdict.facts.sha256).not.toBe(wrong);
    });

    it('accepts a file whose declared SHA-256 is right', async () => {
      // Arrange
      const bytes = samples.xlsx();

      // Act
      const verdict = await judge(bytes, {
        contentType: samples.MIME.xlsx,
        sha256: samples.sha256Hex(bytes),
      });

      // Assert
      expect(verdict).toEqual({
        accepted: true,
        reasons: [],
        facts: { size: bytes.length, sha256: samples.sha256Hex(bytes), detectedType: samples.MIME.xlsx },
      });
    });

    it('reports every failed rule at once: size, type and checksum', async () => {
      // Arrange
      const bytes = samples.html();

      // Act
      const verdict = await judge(bytes, {
        contentType: samples.MIME.png,
        size: bytes.length + 100,
        sha256: '0'.repeat(64),
      });

      // Assert
      expect(codes(verdict)).toEqual(['CHECKSUM_MISMATCH', 'SIZE_MISMATCH', 'TYPE_MISMATCH']);
    });
  });

  describe('the type policy', () => {
    it('rejects a declared type missing from the policy with TYPE_NOT_ALLOWED, even for well-formed bytes', async () => {
      // Arrange: a real PDF, but the policy only allows PNG.
      const policy: TypePolicy = { 'image/png': DEFAULT_TYPE_POLICY['image/png']! };
      const bytes = samples.pdf();

      // Act
      const verdict = await judge(bytes, { contentType: samples.MIME.pdf }, policy);

      // Assert
      expect(verdict.accepted).toBe(false);
      expect(new Set(codes(verdict))).toEqual(new Set(['TYPE_NOT_ALLOWED']));
      expect(verdict.reasons[0]?.message).toBe('Content type application/pdf is not allowed.');
      expect(verdict.facts.detectedType).toBe('application/pdf');
    });

    it('rejects text declared as a type the policy does not know (text/html) with TYPE_NOT_ALLOWED', async () => {
      // Arrange
      const bytes = samples.html();

      // Act
      const verdict = await judge(bytes, { contentType: 'text/html' });

      // Assert
      expect(codes(verdict)).toEqual(['TYPE_NOT_ALLOWED']);
      expect(verdict.facts.detectedType).toBeNull();
    });

    it('rejects PNG bytes as TYPE_NOT_ALLOWED under a policy that allows only PDF', async () => {
      // Arrange
      const policy: TypePolicy = {
        'application/pdf': {
          maxBytes: 1024,
          detect: { kind: 'magic', mimes: ['application/pdf'] },
          extensions: ['pdf'],
        },
      };
      const bytes = samples.png();

      // Act
      const verdict = await judge(bytes, { contentType: 'application/pdf' }, policy);

      // Assert
      expect(codes(verdict)).toEqual(['TYPE_MISMATCH', 'TYPE_NOT_ALLOWED']);
    });
  });
});
