import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import {
  HEAD_SAMPLE_BYTES,
  inspectContent,
  TAIL_SAMPLE_BYTES,
} from '../../functions/domain/content-inspection.js';
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
    expect(facts.tail.length).toBe(TAIL_SAMPLE_BYTES);
    expect(facts.tail.includes('%%EOF')).toBe(true);
  });

  it('keeps exactly the last TAIL_SAMPLE_BYTES bytes, whatever the chunk sizes (some larger than the tail)', async () => {
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const bytes = Buffer.from(
      Array.from({ length: 3 * TAIL_SAMPLE_BYTES + 12345 }, () => Math.floor(random() * 256)),
    );
    for (const most of [1000, 70_000, 300_000]) {
      const pieces: Buffer[] = [];
      for (let offset = 0; offset < bytes.length;) {
        const length = 1 + Math.floor(random() * most);
        pieces.push(bytes.subarray(offset, offset + length));
        offset += length;
      }
      const facts = await inspectContent(Readable.from(pieces), { checkText: false });
      expect(facts.tail.equals(bytes.subarray(-TAIL_SAMPLE_BYTES))).toBe(true);
    }
  });

  it.each(samples.VALID_SAMPLES)(
    'walks the structure of $name from its first byte, even when the first chunks are tiny',
    async ({ bytes }) => {
      // Arrange: the walker is chosen by the first 8 bytes, which arrive over several chunks here.
      const expected = (await inspectContent(chunked(bytes, bytes.length), { checkText: false })).structure;
      for (const size of [1, 2, 3, 5, 7, 9]) {
        // Act
        const facts = await inspectContent(chunked(bytes, size), { checkText: false });
        // Assert
        expect({ size, structure: facts.structure }).toEqual({ size, structure: expected });
      }
      const binary = !['text/plain', 'text/csv'].includes(
        samples.VALID_SAMPLES.find((s) => s.bytes === bytes)?.contentType ?? '',
      );
      expect(expected !== undefined).toBe(binary);
      expect(expected?.problem).toBeUndefined();
    },
  );

  it('reports the structure problem a walker finds, and no structure when reading stopped early', async () => {
    const padded = Buffer.concat([samples.png(), Buffer.alloc(10)]);
    expect((await inspectContent(chunked(padded, 7), { checkText: false })).structure).toEqual({
      format: 'png',
      problem: 'The PNG has data after its IEND chunk.',
    });
    const stopped = await inspectContent(chunked(padded, 7), { checkText: false, stopAfterBytes: 20 });
    expect(stopped.structure).toBeUndefined();
  });

  it('turns a type detector that throws on hostile bytes into a fact, never an exception', async () => {
    // file-type withstood 650,000 fuzzed inputs without throwing; a future parser bug must still
    // end as a verdict, so this detector throws as such a bug would.
    const detectType = () => Promise.reject(new RangeError('Offset is outside the bounds of the DataView'));
    const facts = await inspectContent(chunked(samples.png(), 64), { checkText: false, detectType });
    expect(facts.detectionFailed).toBe(true);
    expect(facts.detectedMime).toBeUndefined();
    expect(facts.sha256).toBe(samples.sha256Hex(samples.png()));
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

  describe('checks UTF-8 and keeps the tail chunk by chunk, whatever the chunk boundaries', () => {
    const cases: Array<[string, Buffer]> = [
      ['2-, 3- and 4-byte characters', Buffer.from('aé€😀b日本😀€é', 'utf8')],
      ['an overlong encoding split in two', Buffer.from([0x61, 0xe0, 0x80, 0x80, 0x62])],
      ['a UTF-16 surrogate split in two', Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62])],
      ['a lead byte followed by ASCII', Buffer.from([0x61, 0xf0, 0x61, 0x62, 0x63, 0x64])],
      ['a lone continuation byte', Buffer.from([0x61, 0x80, 0x62, 0x63])],
      ['a 4-byte lead past U+10FFFF', Buffer.from([0xf5, 0x80, 0x80, 0x80, 0x61])],
      ['a character cut off at the very end', Buffer.from([0x61, 0x62, 0xf0, 0x9f, 0x98])],
      ['a character completed over three tiny chunks', Buffer.from([0xf0, 0x9f, 0x98, 0x80, 0x61])],
    ];

    it.each(cases)('%s', async (_name, bytes) => {
      for (let size = 1; size <= bytes.length; size++) {
        const facts = await inspectContent(chunked(bytes, size), { checkText: true });
        expect({ size, valid: facts.validUtf8 }).toEqual({ size, valid: isUtf8(bytes) });
        expect(facts.tail.equals(bytes)).toBe(true);
      }
    });

    it('agrees with a whole-buffer check on random text cut into random chunks', async () => {
      let seed = 7;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const alphabet = ['a', 'é', '€', '😀', '\n', ','];
      for (let round = 0; round < 50; round++) {
        const text = Array.from(
          { length: 2000 },
          () => alphabet[Math.floor(random() * alphabet.length)],
        ).join('');
        const bytes = Buffer.from(text, 'utf8');
        // Every fifth round, damage one byte so that some inputs are invalid.
        if (round % 5 === 0) bytes[Math.floor(random() * bytes.length)] = 0xff;
        const pieces: Buffer[] = [];
        for (let offset = 0; offset < bytes.length;) {
          const length = 1 + Math.floor(random() * 700);
          pieces.push(bytes.subarray(offset, offset + length));
          offset += length;
        }
        const facts = await inspectContent(Readable.from(pieces), { checkText: true });
        expect(facts.validUtf8).toBe(isUtf8(bytes));
        expect(facts.tail.equals(bytes.subarray(-TAIL_SAMPLE_BYTES))).toBe(true);
        expect(facts.sha256).toBe(samples.sha256Hex(bytes));
      }
    });
  });
});
