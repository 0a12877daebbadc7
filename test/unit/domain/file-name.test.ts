import { decodeTime } from 'ulid';
import {
  contentDisposition,
  downloadName,
  extensionOf,
  sanitizeFileName,
} from '../../../functions/domain/file-name.js';
import { cleanKey, quarantineKey, rejectedKey } from '../../../functions/domain/model.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import { isUploadId, newUploadId } from '../../../functions/domain/upload-id.js';

const PDF_EXTENSIONS = DEFAULT_TYPE_POLICY['application/pdf']!.extensions;

/** `attachment; filename="<ascii>"; filename*=UTF-8''<pct>`, split into its two parameters. */
const DISPOSITION = /^attachment; filename="([^"]*)"; filename\*=UTF-8''([^\s";]*)$/;

function parseDisposition(header: string): { ascii: string; encoded: string } {
  const match = DISPOSITION.exec(header);
  if (match === null) throw new Error(`not a well-formed Content-Disposition: ${JSON.stringify(header)}`);
  return { ascii: match[1]!, encoded: match[2]! };
}

const codePoints = (value: string): number => Array.from(value).length;

/** Names attackers and careless clients actually send, with what the sanitized name must be. */
const HOSTILE_NAMES: ReadonlyArray<{ label: string; raw: string; sanitized: string }> = [
  { label: 'Unix path traversal', raw: '../../etc/passwd', sanitized: 'passwd' },
  { label: 'Windows path traversal', raw: '..\\..\\windows\\system32', sanitized: 'system32' },
  { label: 'Windows absolute path', raw: 'C:\\Users\\me\\evil.bat', sanitized: 'evil.bat' },
  { label: 'NUL byte', raw: 'report\u0000.pdf', sanitized: 'report.pdf' },
  {
    label: 'CR/LF header injection',
    raw: 'evil\r\nSet-Cookie: session=1\r\n\r\n.txt',
    sanitized: 'evilSet-Cookie session=1.txt',
  },
  {
    label: 'quote breaking out of the parameter',
    raw: 'a"; filename="evil.exe',
    sanitized: 'a; filename=evil.exe',
  },
  { label: 'single and double quotes', raw: 'it\'s "quoted".txt', sanitized: "it's quoted.txt" },
  { label: 'RTL override', raw: 'invoice\u202Efdp.exe', sanitized: 'invoicefdp.exe' },
  { label: 'bidi isolates and zero-width chars', raw: 'na\u2066me\u200B\uFEFF.txt', sanitized: 'name.txt' },
  { label: 'tabs and DEL', raw: 'tab\there\u007f.csv', sanitized: 'tabhere.csv' },
  {
    label: '1,000 chars with an extension',
    raw: `${'a'.repeat(996)}.pdf`,
    sanitized: `${'a'.repeat(196)}.pdf`,
  },
  { label: '1,000 chars without an extension', raw: 'x'.repeat(1000), sanitized: 'x'.repeat(200) },
  {
    label: '1,000 emoji with an extension',
    raw: `${'😀'.repeat(1000)}.png`,
    sanitized: `${'😀'.repeat(196)}.png`,
  },
  { label: 'double extension', raw: 'invoice.pdf.exe', sanitized: 'invoice.pdf.exe' },
  { label: 'emoji and accents', raw: 'résumé 🎉.pdf', sanitized: 'résumé 🎉.pdf' },
  { label: 'reserved device CON', raw: 'CON', sanitized: '_CON' },
  { label: 'reserved device nul.txt', raw: 'nul.txt', sanitized: '_nul.txt' },
  { label: 'reserved device LPT1', raw: 'LPT1', sanitized: '_LPT1' },
  { label: 'reserved device with a double extension', raw: 'com1.tar.gz', sanitized: '_com1.tar.gz' },
  { label: 'reserved device hidden by a trailing dot', raw: 'aux.', sanitized: '_aux' },
  { label: 'empty name', raw: '', sanitized: 'download' },
  { label: 'only dots', raw: '...', sanitized: 'download' },
  { label: 'dots and spaces', raw: ' . . ', sanitized: 'download' },
  { label: 'a directory', raw: 'uploads/', sanitized: 'download' },
  { label: 'only an RTL override', raw: '\u202E', sanitized: 'download' },
  { label: 'hidden file', raw: '.htaccess', sanitized: 'htaccess' },
  { label: 'surrounding spaces', raw: '  spaced name.txt  ', sanitized: 'spaced name.txt' },
  { label: 'percent-encoded traversal', raw: '%2e%2e%2fetc%2fpasswd', sanitized: '%2e%2e%2fetc%2fpasswd' },
  { label: 'lone surrogate (valid in JSON)', raw: 'bad\uD800name.txt', sanitized: 'badname.txt' },
  { label: 'full-width path separators', raw: '‥／‥／etc／passwd', sanitized: '‥／‥／etc／passwd' },
  { label: 'Windows-forbidden characters', raw: 'a<b>c:d|e?f*g.txt', sanitized: 'abcdefg.txt' },
];

describe('sanitizeFileName', () => {
  it.each(HOSTILE_NAMES)('sanitizes $label', ({ raw, sanitized }) => {
    // Act
    const result = sanitizeFileName(raw);

    // Assert
    expect(result).toBe(sanitized);
  });

  it.each(HOSTILE_NAMES)('keeps $label free of path parts, controls and bidi tricks', ({ raw }) => {
    // Act
    const result = sanitizeFileName(raw);

    // Assert
    expect(result).not.toMatch(/[/\\]/);
    // eslint-disable-next-line no-control-regex
    expect(result).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069"]/);
    expect(result).not.toMatch(/^[.\s]|[.\s]$/);
    expect(result.length).toBeGreaterThan(0);
    expect(codePoints(result)).toBeLessThanOrEqual(200);
    expect(result).toBe(result.normalize('NFC'));
  });

  it('keeps the extension when it truncates a long name to 200 code points', () => {
    // Arrange
    const raw = `${'Ω'.repeat(500)}.xlsx`;

    // Act
    const result = sanitizeFileName(raw);

    // Assert
    expect(codePoints(result)).toBe(200);
    expect(result.endsWith('.xlsx')).toBe(true);
    expect(extensionOf(result)).toBe('xlsx');
  });

  it('normalizes to NFC so that the same name always reads the same', () => {
    // Arrange: "é" as e + combining acute accent.
    const decomposed = 'cafe\u0301.txt';

    // Act
    const result = sanitizeFileName(decomposed);

    // Assert
    expect(result).toBe('caf\u00e9.txt');
  });
});

describe('extensionOf', () => {
  it.each([
    ['invoice.pdf.exe', 'exe'],
    ['photo.JPEG', 'jpeg'],
    ['notes', ''],
    ['.bashrc', ''],
  ])('finds the last extension of %p: %p', (name, extension) => {
    expect(extensionOf(name)).toBe(extension);
  });
});

describe('downloadName', () => {
  it('appends the validated type to a double extension: invoice.pdf.exe saves as a PDF', () => {
    // Act
    const name = downloadName('invoice.pdf.exe', PDF_EXTENSIONS);

    // Assert
    expect(name).toBe('invoice.pdf.exe.pdf');
    expect(extensionOf(name)).toBe('pdf');
  });

  it('defeats an RTL-override disguise by appending the real extension', () => {
    // Act
    const name = downloadName('invoice\u202Efdp.exe', PDF_EXTENSIONS);

    // Assert
    expect(name).toBe('invoicefdp.exe.pdf');
  });

  it('keeps a name whose extension is one of the type (any case)', () => {
    // Act
    const name = downloadName('photo.JPEG', DEFAULT_TYPE_POLICY['image/jpeg']!.extensions);

    // Assert
    expect(name).toBe('photo.JPEG');
  });

  it('uses the canonical (first) extension when the name has another one', () => {
    // Act
    const name = downloadName('photo.png', DEFAULT_TYPE_POLICY['image/jpeg']!.extensions);

    // Assert
    expect(name).toBe('photo.png.jpg');
  });

  it('adds an extension to a name without one, and to the fallback name', () => {
    // Act
    const plain = downloadName('notes', ['txt']);
    const fallback = downloadName('../..', PDF_EXTENSIONS);
    const device = downloadName('CON', ['txt']);

    // Assert
    expect(plain).toBe('notes.txt');
    expect(fallback).toBe('download.pdf');
    expect(device).toBe('_CON.txt');
  });

  it('leaves the sanitized name alone when the type has no extensions', () => {
    expect(downloadName('a/b.exe', [])).toBe('b.exe');
  });

  it('ends a 1,000-char executable name in .pdf, at most one extension past the 200 code point limit', () => {
    // Act
    const name = downloadName(`${'a'.repeat(996)}.exe`, PDF_EXTENSIONS);

    // Assert
    expect(name.endsWith('.exe.pdf')).toBe(true);
    expect(codePoints(name)).toBeLessThanOrEqual(200 + '.pdf'.length);
  });
});

describe('contentDisposition', () => {
  it('writes the RFC 6266 form for a plain ASCII name', () => {
    expect(contentDisposition('report.pdf')).toBe(
      `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`,
    );
  });

  it('transliterates accents in the ASCII fallback and percent-encodes UTF-8 in filename*', () => {
    // Act
    const header = contentDisposition('Zoë résumé.pdf');

    // Assert
    expect(header).toBe(
      `attachment; filename="Zoe resume.pdf"; filename*=UTF-8''Zo%C3%AB%20r%C3%A9sum%C3%A9.pdf`,
    );
  });

  it("percent-encodes RFC 8187 non-attr-chars that encodeURIComponent leaves: ' ( ) *", () => {
    // Act
    const { encoded } = parseDisposition(contentDisposition("it's (1)*.txt"));

    // Assert
    expect(encoded).toBe('it%27s%20%281%29%2A.txt');
  });

  it('never decodes twice: a literal % stays a literal %', () => {
    // Act
    const { ascii, encoded } = parseDisposition(contentDisposition('100%2F.txt'));

    // Assert
    expect(ascii).toBe('100_2F.txt');
    expect(encoded).toBe('100%252F.txt');
    expect(decodeURIComponent(encoded)).toBe('100%2F.txt');
  });

  it('does not let NFKD turn full-width separators and quotes into ASCII ones in the fallback', () => {
    // Arrange: these are not path separators or quotes until NFKD maps them to ASCII.
    const name = sanitizeFileName('‥／‥／etc＼passwd＂：x');

    // Act
    const { ascii, encoded } = parseDisposition(contentDisposition(name));

    // Assert
    expect(ascii).toBe('.._.._etc_passwd__x');
    expect(decodeURIComponent(encoded)).toBe(name);
  });

  describe.each(HOSTILE_NAMES)('for the hostile name "$label"', ({ raw }) => {
    /** What GET /uploads/{id} sends for a PDF uploaded under this name. */
    const act = (): { name: string; header: string } => {
      const name = downloadName(raw, PDF_EXTENSIONS);
      return { name, header: contentDisposition(name) };
    };

    it('is one header line: no CR, LF or other controls', () => {
      // Act
      const { header } = act();

      // Assert
      // eslint-disable-next-line no-control-regex
      expect(header).not.toMatch(/[\u0000-\u001f\u007f]/);
    });

    it('starts with attachment; filename=" and has exactly the two parameters', () => {
      // Act
      const { header } = act();

      // Assert
      expect(header.startsWith('attachment; filename="')).toBe(true);
      expect(header).toMatch(DISPOSITION);
    });

    it('has a quoted ASCII fallback of printable ASCII without " \\ % ; or /', () => {
      // Act
      const { ascii } = parseDisposition(act().header);

      // Assert
      expect(ascii).toMatch(/^[\x20-\x7e]+$/);
      expect(ascii).not.toMatch(/["\\%;/]/);
    });

    it("has a filename*=UTF-8'' value of attr-chars that decodes back to the sanitized name", () => {
      // Act
      const { name, header } = act();
      const { encoded } = parseDisposition(header);

      // Assert
      expect(encoded).toMatch(/^(?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-F]{2})+$/);
      expect(decodeURIComponent(encoded)).toBe(name);
    });

    it('downloads under a name with no / or \\ that ends in .pdf', () => {
      // Act
      const { name } = act();

      // Assert
      expect(name).not.toMatch(/[/\\]/);
      expect(extensionOf(name)).toBe('pdf');
    });
  });
});

describe('upload ids and object keys', () => {
  const KEY = /^quarantine\/[0-9A-HJKMNP-TV-Z]{26}$/;

  it('builds quarantine keys from a server-generated ULID only', () => {
    // Act
    const id = newUploadId();
    const key = quarantineKey(id);

    // Assert
    expect(key).toMatch(KEY);
    expect(isUploadId(id)).toBe(true);
    expect(cleanKey(id)).toBe(`clean/${id}`);
    expect(rejectedKey(id)).toBe(`rejected/${id}`);
  });

  it('generates distinct, well-formed ids in bulk', () => {
    // Act
    const ids = Array.from({ length: 500 }, () => newUploadId());

    // Assert
    expect(new Set(ids).size).toBe(500);
    for (const id of ids) expect(quarantineKey(id)).toMatch(KEY);
  });

  it('sorts ids by creation time, and in creation order within one millisecond', () => {
    // Arrange: times ahead of the clock, so the monotonic generator starts from them.
    const base = Date.now() + 60_000;
    const times = [base, base, base, base + 1, base + 1_000, base + 86_400_000];

    // Act
    const ids = times.map((time) => newUploadId(time));

    // Assert
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.map((id) => decodeTime(id))).toEqual(times);
  });

  it.each([
    'quarantine/../clean/x',
    '01ARZ3NDEKTSV4RRFFQ69G5FA',
    '01ARZ3NDEKTSV4RRFFQ69G5FAI',
    'invoice.pdf',
  ])('does not take %p for an upload id', (value) => {
    expect(isUploadId(value)).toBe(false);
  });
});
