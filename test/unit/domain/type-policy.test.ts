import { statusOf } from '../../../functions/commons/http.js';
import {
  ConfigurationError,
  FileTooLargeError,
  TypeNotAllowedError,
} from '../../../functions/domain/errors.js';
import {
  checkDeclaredType,
  DEFAULT_TYPE_POLICY,
  DOCX,
  isDetectedTypeAllowed,
  MAX_SINGLE_UPLOAD_BYTES,
  normalizeContentType,
  parseTypePolicy,
  XLSX,
} from '../../../functions/domain/type-policy.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** Runs `act` and returns what it threw (fails the test when it throws nothing). */
function thrown(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error to be thrown');
}

describe('DEFAULT_TYPE_POLICY', () => {
  it('allows exactly PDF, PNG, JPEG, plain text, CSV, DOCX and XLSX', () => {
    expect(Object.keys(DEFAULT_TYPE_POLICY).sort()).toEqual(
      [
        'application/pdf',
        'image/png',
        'image/jpeg',
        'text/plain',
        'text/csv',
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      ].sort(),
    );
    expect(DOCX).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    expect(XLSX).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  });

  it('recognises binary types by their magic bytes and text types as text', () => {
    expect(DEFAULT_TYPE_POLICY['application/pdf']!.detect).toEqual({
      kind: 'magic',
      mimes: ['application/pdf'],
    });
    expect(DEFAULT_TYPE_POLICY['image/png']!.detect).toEqual({ kind: 'magic', mimes: ['image/png'] });
    expect(DEFAULT_TYPE_POLICY['image/jpeg']!.detect).toEqual({ kind: 'magic', mimes: ['image/jpeg'] });
    expect(DEFAULT_TYPE_POLICY[DOCX]!.detect).toEqual({ kind: 'magic', mimes: [DOCX] });
    expect(DEFAULT_TYPE_POLICY[XLSX]!.detect).toEqual({ kind: 'magic', mimes: [XLSX] });
    expect(DEFAULT_TYPE_POLICY['text/plain']!.detect).toEqual({ kind: 'text' });
    expect(DEFAULT_TYPE_POLICY['text/csv']!.detect).toEqual({ kind: 'text' });
  });

  it('names a canonical download extension per type', () => {
    const canonical = Object.fromEntries(
      Object.entries(DEFAULT_TYPE_POLICY).map(([type, rule]) => [type, rule.extensions[0]]),
    );
    expect(canonical).toEqual({
      'application/pdf': 'pdf',
      'image/png': 'png',
      'image/jpeg': 'jpg',
      'text/plain': 'txt',
      'text/csv': 'csv',
      [DOCX]: 'docx',
      [XLSX]: 'xlsx',
    });
  });

  it('keeps every limit positive and within S3 single-request ceiling of 5 GiB', () => {
    expect(MAX_SINGLE_UPLOAD_BYTES).toBe(5 * GiB);
    for (const rule of Object.values(DEFAULT_TYPE_POLICY)) {
      expect(rule.maxBytes).toBeGreaterThan(0);
      expect(rule.maxBytes).toBeLessThanOrEqual(MAX_SINGLE_UPLOAD_BYTES);
    }
  });

  it('is itself a valid policy: it survives a JSON round trip through parseTypePolicy', () => {
    expect(parseTypePolicy(JSON.stringify(DEFAULT_TYPE_POLICY))).toEqual(DEFAULT_TYPE_POLICY);
  });
});

describe('normalizeContentType', () => {
  it.each([
    ['application/pdf', 'application/pdf'],
    ['Application/PDF', 'application/pdf'],
    ['TEXT/Plain; charset=UTF-8', 'text/plain'],
    ['text/csv;header=present', 'text/csv'],
    ['  image/png  ', 'image/png'],
    [`${DOCX.toUpperCase()}; foo="bar;baz"`, DOCX],
    ['application/vnd.ms-excel', 'application/vnd.ms-excel'],
    ['image/svg+xml', 'image/svg+xml'],
  ])('normalizes %p to %p', (raw, expected) => {
    expect(normalizeContentType(raw)).toBe(expected);
  });

  it.each([
    '',
    'pdf',
    '/',
    'text/',
    '/plain',
    'text/plain/extra',
    'text plain',
    'text/pl ain',
    '../../etc/passwd',
    'text/plain\r\nX-Injected: 1',
    '*/*',
    'ｔｅｘｔ/plain',
    ';text/plain',
  ])('rejects %p as not a media type', (raw) => {
    expect(normalizeContentType(raw)).toBeUndefined();
  });
});

describe('checkDeclaredType', () => {
  it('returns the rule of an allowed type within its limit, including exactly at the limit', () => {
    // Arrange
    const rule = DEFAULT_TYPE_POLICY['application/pdf']!;

    // Act
    const small = checkDeclaredType(DEFAULT_TYPE_POLICY, 'application/pdf', 1);
    const atLimit = checkDeclaredType(DEFAULT_TYPE_POLICY, 'application/pdf', rule.maxBytes);

    // Assert
    expect(small).toBe(rule);
    expect(atLimit).toBe(rule);
  });

  it('throws 415 UNSUPPORTED_MEDIA_TYPE for a type outside the policy, listing the allowed types', () => {
    // Act
    const error = thrown(() => checkDeclaredType(DEFAULT_TYPE_POLICY, 'application/x-msdownload', 10));

    // Assert
    expect(error).toBeInstanceOf(TypeNotAllowedError);
    const e = error as TypeNotAllowedError;
    expect(statusOf(e)).toBe(415); // at the HTTP edge
    expect(e.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(e.name).toBe('TypeNotAllowedError');
    expect(e.details).toEqual({ allowed: Object.keys(DEFAULT_TYPE_POLICY).sort() });
  });

  it('expects a normalized type: an unnormalized one is not in the policy', () => {
    expect(() => checkDeclaredType(DEFAULT_TYPE_POLICY, 'Application/PDF', 10)).toThrow(TypeNotAllowedError);
  });

  it('throws 413 FILE_TOO_LARGE with details.maxBytes one byte over the limit of the type', () => {
    // Act
    const error = thrown(() => checkDeclaredType(DEFAULT_TYPE_POLICY, 'text/plain', 10 * MiB + 1));

    // Assert
    expect(error).toBeInstanceOf(FileTooLargeError);
    const e = error as FileTooLargeError;
    expect(statusOf(e)).toBe(413); // at the HTTP edge
    expect(e.code).toBe('FILE_TOO_LARGE');
    expect(e.details).toEqual({ maxBytes: 10 * MiB });
  });

  it('uses the limit of the declared type, not of the largest type', () => {
    // Arrange: 30 MiB is fine for CSV (50 MiB) but not for PNG (20 MiB).
    const size = 30 * MiB;

    // Act
    const csv = checkDeclaredType(DEFAULT_TYPE_POLICY, 'text/csv', size);

    // Assert
    expect(csv.maxBytes).toBe(50 * MiB);
    expect(() => checkDeclaredType(DEFAULT_TYPE_POLICY, 'image/png', size)).toThrow(FileTooLargeError);
  });
});

describe('parseTypePolicy', () => {
  const validRule = { maxBytes: 1024, detect: { kind: 'magic', mimes: ['image/gif'] }, extensions: ['gif'] };

  it('accepts a valid JSON policy with magic and text rules', () => {
    // Arrange
    const json = JSON.stringify({
      'image/gif': validRule,
      'text/markdown': { maxBytes: 5 * GiB, detect: { kind: 'text' }, extensions: ['md', 'markdown'] },
    });

    // Act
    const policy = parseTypePolicy(json);

    // Assert
    expect(policy).toEqual({
      'image/gif': validRule,
      'text/markdown': { maxBytes: 5 * GiB, detect: { kind: 'text' }, extensions: ['md', 'markdown'] },
    });
  });

  it('throws ConfigurationError for JSON that does not parse', () => {
    // Act
    const error = thrown(() => parseTypePolicy('{"image/gif": '));

    // Assert
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).name).toBe('ConfigurationError');
    expect((error as Error).message).toBe('The type policy is not valid JSON.');
  });

  it.each<[string, unknown]>([
    ['an empty policy', {}],
    ['a JSON array', [validRule]],
    ['JSON null', null],
    ['maxBytes over 5 GiB', { 'image/gif': { ...validRule, maxBytes: 5 * GiB + 1 } }],
    ['maxBytes of 0', { 'image/gif': { ...validRule, maxBytes: 0 } }],
    ['a fractional maxBytes', { 'image/gif': { ...validRule, maxBytes: 10.5 } }],
    ['an unknown key in a rule', { 'image/gif': { ...validRule, scan: true } }],
    ['an unknown key in detect', { 'image/gif': { ...validRule, detect: { kind: 'text', mimes: ['x/y'] } } }],
    ['an unknown detect kind', { 'image/gif': { ...validRule, detect: { kind: 'extension' } } }],
    ['magic without mimes', { 'image/gif': { ...validRule, detect: { kind: 'magic', mimes: [] } } }],
    ['no extensions', { 'image/gif': { ...validRule, extensions: [] } }],
    ['an extension with a dot', { 'image/gif': { ...validRule, extensions: ['.gif'] } }],
    ['an uppercase extension', { 'image/gif': { ...validRule, extensions: ['GIF'] } }],
    ['an uppercase type', { 'Image/GIF': validRule }],
    ['a type with parameters', { 'text/plain; charset=utf-8': validRule }],
    ['a key that is not a media type', { gif: validRule }],
    ['a missing maxBytes', { 'image/gif': { detect: validRule.detect, extensions: ['gif'] } }],
  ])('throws ConfigurationError for %s', (_label, policy) => {
    // Act
    const error = thrown(() => parseTypePolicy(JSON.stringify(policy)));

    // Assert
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/^The type policy is invalid: /);
  });

  describe('activeContent.allow', () => {
    const pdfRule = {
      maxBytes: 1024,
      detect: { kind: 'magic', mimes: ['application/pdf'] },
      extensions: ['pdf'],
    };
    const docxRule = { maxBytes: 1024, detect: { kind: 'magic', mimes: [DOCX] }, extensions: ['docx'] };

    it('accepts checks that apply to the formats the type detects, and none', () => {
      const policy = parseTypePolicy(
        JSON.stringify({
          'application/pdf': {
            ...pdfRule,
            activeContent: { allow: ['pdf.javascript', 'pdf.embedded-file'] },
          },
          [DOCX]: { ...docxRule, activeContent: { allow: ['ooxml.external-relationship'] } },
          'application/x-both': {
            ...pdfRule,
            detect: { kind: 'magic', mimes: ['application/pdf', XLSX] },
            activeContent: { allow: ['pdf.xfa', 'ooxml.vba'] },
          },
          'image/gif': { ...validRule, activeContent: { allow: [] } },
        }),
      );
      expect(policy['application/pdf']?.activeContent).toEqual({
        allow: ['pdf.javascript', 'pdf.embedded-file'],
      });
      expect(policy[DOCX]?.activeContent).toEqual({ allow: ['ooxml.external-relationship'] });
      expect(policy['application/x-both']?.activeContent?.allow).toEqual(['pdf.xfa', 'ooxml.vba']);
    });

    it.each<[string, unknown, RegExp]>([
      ['an unknown check', { ...pdfRule, activeContent: { allow: ['pdf.flash'] } }, /activeContent\.allow/],
      [
        'a PDF check on a DOCX',
        { ...docxRule, activeContent: { allow: ['pdf.javascript'] } },
        /pdf\.javascript does not apply/,
      ],
      [
        'an OOXML check on a PDF',
        { ...pdfRule, activeContent: { allow: ['ooxml.vba'] } },
        /ooxml\.vba does not apply/,
      ],
      [
        'a check on a text type',
        {
          maxBytes: 1,
          detect: { kind: 'text' },
          extensions: ['txt'],
          activeContent: { allow: ['pdf.launch'] },
        },
        /does not apply/,
      ],
      [
        'a check on an image',
        { ...validRule, activeContent: { allow: ['pdf.javascript'] } },
        /does not apply/,
      ],
      ['allow given as a string', { ...pdfRule, activeContent: { allow: 'pdf.javascript' } }, /allow/],
      ['an unknown key', { ...pdfRule, activeContent: { allow: [], refuse: ['pdf.xfa'] } }, /refuse/],
    ])('refuses %s', (_label, rule, message) => {
      const error = thrown(() => parseTypePolicy(JSON.stringify({ 'application/x-type': rule })));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(message);
    });
  });

  it('accepts a limit of exactly 5 GiB', () => {
    const policy = parseTypePolicy(JSON.stringify({ 'image/gif': { ...validRule, maxBytes: 5 * GiB } }));
    expect(policy['image/gif']?.maxBytes).toBe(5 * GiB);
  });
});

describe('isDetectedTypeAllowed', () => {
  it.each([
    ['application/pdf', true],
    ['image/png', true],
    ['image/jpeg', true],
    [DOCX, true],
    [XLSX, true],
    ['application/zip', false],
    ['application/x-msdownload', false],
    ['image/gif', false],
    ['application/x-elf', false],
    // Text is never a magic-byte detection: file-type does not report text/plain.
    ['text/plain', false],
  ])('under the default policy, detected %p is allowed: %p', (mime, allowed) => {
    expect(isDetectedTypeAllowed(DEFAULT_TYPE_POLICY, mime)).toBe(allowed);
  });

  it('allows a detected type listed by any rule, not only the declared one', () => {
    // Arrange
    const policy = parseTypePolicy(
      JSON.stringify({
        'application/x-zip-compressed': {
          maxBytes: 10,
          detect: { kind: 'magic', mimes: ['application/zip'] },
          extensions: ['zip'],
        },
      }),
    );

    // Act
    const allowed = isDetectedTypeAllowed(policy, 'application/zip');

    // Assert
    expect(allowed).toBe(true);
    expect(isDetectedTypeAllowed(policy, 'application/pdf')).toBe(false);
  });
});
