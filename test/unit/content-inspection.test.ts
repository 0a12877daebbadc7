import { Readable } from 'node:stream';
import { HEAD_SAMPLE_BYTES, inspectContent } from '../../functions/domain/content-inspection.js';
import * as samples from '../fixtures/samples.js';

const chunked = (bytes: Buffer, size: number): AsyncIterable<Uint8Array> =>
  Readable.from(
    Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
      bytes.subarray(i * size, (i + 1) * size),
    ),
  );

describe('inspectContent', () => {
  it.each(samples.VALID_SAMPLES)(
    'detects $name as $contentType from its magic bytes',
    async ({ contentType, bytes }) => {
      // Arrange
      const textual = contentType.startsWith('text/');
      // Act
      const facts = await inspectContent(chunked(bytes, 7), { checkText: textual });
      // Assert
      expect(facts.size).toBe(bytes.length);
      expect(facts.sha256).toBe(samples.sha256Hex(bytes));
      if (textual) {
        expect(facts.detectedMime).toBeUndefined();
        expect(facts.validUtf8).toBe(true);
        expect(facts.hasNul).toBe(false);
      } else {
        expect(facts.detectedMime).toBe(contentType);
      }
    },
  );

  it('keeps UTF-8 valid when a multi-byte character is split across chunks', async () => {
    const bytes = Buffer.from('a🎉b你c', 'utf8');
    for (let size = 1; size <= bytes.length; size++) {
      const facts = await inspectContent(chunked(bytes, size), { checkText: true });
      expect(facts.validUtf8).toBe(true);
    }
  });

  it('finds invalid UTF-8, a truncated trailing character and NUL bytes', async () => {
    expect((await inspectContent(chunked(samples.latin1Text(), 3), { checkText: true })).validUtf8).toBe(
      false,
    );
    expect(
      (await inspectContent(chunked(Buffer.from([0x61, 0xe4, 0xbd]), 1), { checkText: true })).validUtf8,
    ).toBe(false);
    expect((await inspectContent(chunked(samples.textWithNul(), 4), { checkText: true })).hasNul).toBe(true);
  });

  it('detects spoofed content: executables, ZIPs and PNG bytes', async () => {
    expect((await inspectContent(chunked(samples.exe(), 64), { checkText: false })).detectedMime).toBe(
      'application/x-msdownload',
    );
    expect((await inspectContent(chunked(samples.plainZip(), 64), { checkText: false })).detectedMime).toBe(
      'application/zip',
    );
    expect(
      (await inspectContent(chunked(samples.html(), 64), { checkText: false })).detectedMime,
    ).toBeUndefined();
  });

  it('hashes every byte of a file far larger than its head sample, keeping the tail', async () => {
    const big = Buffer.alloc(HEAD_SAMPLE_BYTES * 5 + 123, 7);
    big.write('%%EOF', big.length - 6);
    const facts = await inspectContent(chunked(big, 65536), { checkText: false });
    expect(facts.size).toBe(big.length);
    expect(facts.sha256).toBe(samples.sha256Hex(big));
    expect(facts.tail.includes('%%EOF')).toBe(true);
  });

  it('stops reading once more than the allowed bytes arrived', async () => {
    const facts = await inspectContent(chunked(Buffer.alloc(1000), 100), {
      checkText: false,
      stopAfterBytes: 250,
    });
    expect(facts.size).toBe(300);
  });

  it('reports an empty stream as size 0 with the empty hash', async () => {
    const facts = await inspectContent(chunked(Buffer.alloc(0), 1), { checkText: true });
    expect(facts).toMatchObject({ size: 0, sha256: samples.sha256Hex(Buffer.alloc(0)) });
  });
});
