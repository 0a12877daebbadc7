import { BadRequestError, ClientError, PayloadTooLargeError } from '../../../functions/commons/errors.js';
import {
  decodeJsonBody,
  MAX_REQUEST_BODY_BYTES,
  parseCreateUploadRequest,
} from '../../../functions/domain/upload-request.js';

const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const valid = { fileName: 'report.pdf', contentType: 'application/pdf', size: 1234 };

/** Runs `act` and returns the client error it threw (fails the test otherwise). */
function clientError(act: () => unknown): ClientError {
  try {
    act();
  } catch (error) {
    if (error instanceof ClientError) return error;
    throw error;
  }
  throw new Error('expected a client error to be thrown');
}

type Issue = { path: string; message: string };
const issuesOf = (error: ClientError): Issue[] => (error.details as { issues: Issue[] }).issues;
const issuePaths = (error: ClientError): string[] => issuesOf(error).map((issue) => issue.path);

describe('parseCreateUploadRequest', () => {
  describe('valid bodies', () => {
    it('defaults the method to POST and omits an undeclared sha256', () => {
      // Act
      const request = parseCreateUploadRequest({ ...valid });

      // Assert
      expect(request).toStrictEqual({
        fileName: 'report.pdf',
        contentType: 'application/pdf',
        size: 1234,
        method: 'POST',
      });
    });

    it('keeps a declared sha256 and method PUT', () => {
      // Act
      const request = parseCreateUploadRequest({ ...valid, sha256: SHA256, method: 'PUT' });

      // Assert
      expect(request).toStrictEqual({
        fileName: 'report.pdf',
        contentType: 'application/pdf',
        size: 1234,
        sha256: SHA256,
        method: 'PUT',
      });
    });

    it('accepts method POST explicitly', () => {
      expect(parseCreateUploadRequest({ ...valid, method: 'POST' }).method).toBe('POST');
    });

    it('normalizes the content type to its lowercase essence', () => {
      // Act
      const request = parseCreateUploadRequest({ ...valid, contentType: 'Text/Plain; charset=UTF-8' });

      // Assert
      expect(request.contentType).toBe('text/plain');
    });

    it('keeps the file name as given (sanitizing is for Content-Disposition only)', () => {
      // Arrange
      const fileName = '../../etc/passwd\u202E.txt';

      // Act
      const request = parseCreateUploadRequest({ ...valid, fileName });

      // Assert
      expect(request.fileName).toBe(fileName);
    });

    it('accepts a file name of exactly 1024 characters', () => {
      expect(parseCreateUploadRequest({ ...valid, fileName: 'a'.repeat(1024) }).fileName).toHaveLength(1024);
    });

    it('accepts the largest safe integer size (the type policy refuses it later with 413)', () => {
      expect(parseCreateUploadRequest({ ...valid, size: Number.MAX_SAFE_INTEGER }).size).toBe(
        Number.MAX_SAFE_INTEGER,
      );
    });
  });

  describe('invalid bodies: 400 INVALID_REQUEST naming the field', () => {
    it.each<[string, Record<string, unknown>, string]>([
      ['missing fileName', { contentType: 'application/pdf', size: 1 }, 'fileName'],
      ['missing contentType', { fileName: 'a.pdf', size: 1 }, 'contentType'],
      ['missing size', { fileName: 'a.pdf', contentType: 'application/pdf' }, 'size'],
      ['fileName as a number', { ...valid, fileName: 42 }, 'fileName'],
      ['fileName as an array', { ...valid, fileName: ['a.pdf'] }, 'fileName'],
      ['empty fileName', { ...valid, fileName: '' }, 'fileName'],
      ['fileName over 1024 chars', { ...valid, fileName: 'a'.repeat(1025) }, 'fileName'],
      ['contentType as a number', { ...valid, contentType: 7 }, 'contentType'],
      ['contentType that is not a media type', { ...valid, contentType: 'portable document' }, 'contentType'],
      ['contentType too short', { ...valid, contentType: 'a/' }, 'contentType'],
      ['contentType over 255 chars', { ...valid, contentType: `text/${'x'.repeat(251)}` }, 'contentType'],
      ['size as a string', { ...valid, size: '1234' }, 'size'],
      ['size as null', { ...valid, size: null }, 'size'],
      ['negative size', { ...valid, size: -1 }, 'size'],
      ['non-integer size', { ...valid, size: 1.5 }, 'size'],
      ['size beyond the safe integers', { ...valid, size: 2 ** 53 }, 'size'],
      ['sha256 in uppercase', { ...valid, sha256: SHA256.toUpperCase() }, 'sha256'],
      ['sha256 of 63 chars', { ...valid, sha256: SHA256.slice(1) }, 'sha256'],
      ['sha256 of 65 chars', { ...valid, sha256: `${SHA256}0` }, 'sha256'],
      ['sha256 with a non-hex char', { ...valid, sha256: `${SHA256.slice(1)}g` }, 'sha256'],
      ['sha256 in base64', { ...valid, sha256: '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' }, 'sha256'],
      ['sha256 as a number', { ...valid, sha256: 12 }, 'sha256'],
      ['method GET', { ...valid, method: 'GET' }, 'method'],
      ['method PATCH', { ...valid, method: 'PATCH' }, 'method'],
      ['method in lowercase', { ...valid, method: 'put' }, 'method'],
      ['NUL in fileName', { ...valid, fileName: 'a\u0000.pdf' }, 'fileName'],
    ])('rejects %s', (_label, body, path) => {
      // Act
      const error = clientError(() => parseCreateUploadRequest(body));

      // Assert
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.status).toBe(400);
      expect(error.code).toBe('INVALID_REQUEST');
      expect([...new Set(issuePaths(error))]).toEqual([path]);
    });

    it('rejects extra fields (strict), naming the unknown key', () => {
      // Act
      const error = clientError(() =>
        parseCreateUploadRequest({ ...valid, key: 'clean/x', bucket: 'other' }),
      );

      // Assert
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.code).toBe('INVALID_REQUEST');
      expect(issuePaths(error)).toEqual(['(body)']);
      expect(issuesOf(error)[0]?.message).toMatch(/key/);
      expect(issuesOf(error)[0]?.message).toMatch(/bucket/);
    });

    it('reports every wrong field at once', () => {
      // Act
      const error = clientError(() => parseCreateUploadRequest({ fileName: 1, size: -1 }));

      // Assert
      expect(issuePaths(error).sort()).toEqual(['contentType', 'fileName', 'size']);
    });

    it('says what a NUL in the file name is', () => {
      // Act
      const error = clientError(() => parseCreateUploadRequest({ ...valid, fileName: 'x\u0000' }));

      // Assert
      expect(issuesOf(error)).toEqual([{ path: 'fileName', message: 'must not contain NUL characters' }]);
    });

    it.each<[string, unknown]>([
      ['null', null],
      ['an array', [valid]],
      ['a string', 'report.pdf'],
      ['a number', 42],
    ])('rejects a body that is %s, at path (body)', (_label, body) => {
      // Act
      const error = clientError(() => parseCreateUploadRequest(body));

      // Assert
      expect(error.code).toBe('INVALID_REQUEST');
      expect(issuePaths(error)).toEqual(['(body)']);
    });
  });
});

describe('decodeJsonBody', () => {
  it('parses a JSON body', () => {
    expect(decodeJsonBody(JSON.stringify(valid), false)).toEqual(valid);
  });

  it('parses a base64-encoded JSON body, as API Gateway sends binary bodies', () => {
    // Arrange
    const body = Buffer.from(JSON.stringify({ ...valid, fileName: 'grüße.pdf' }), 'utf8').toString('base64');

    // Act
    const decoded = decodeJsonBody(body, true);

    // Assert
    expect(decoded).toEqual({ ...valid, fileName: 'grüße.pdf' });
  });

  it.each<[string, string | undefined]>([
    ['missing', undefined],
    ['empty', ''],
  ])('throws 400 INVALID_JSON for a %s body', (_label, body) => {
    // Act
    const error = clientError(() => decodeJsonBody(body, false));

    // Assert
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.status).toBe(400);
    expect(error.code).toBe('INVALID_JSON');
    expect(error.message).toBe('A JSON request body is required.');
  });

  it.each(['{', '{"fileName": "a.pdf",}', "{'fileName': 'a.pdf'}", 'fileName=a.pdf&size=1', 'undefined'])(
    'throws 400 INVALID_JSON for malformed JSON %p',
    (body) => {
      // Act
      const error = clientError(() => decodeJsonBody(body, false));

      // Assert
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.code).toBe('INVALID_JSON');
      expect(error.message).toBe('The request body is not valid JSON.');
    },
  );

  it('throws 400 INVALID_JSON for a base64 body that does not decode to JSON', () => {
    expect(clientError(() => decodeJsonBody(Buffer.from('\u0000\u0001').toString('base64'), true)).code).toBe(
      'INVALID_JSON',
    );
  });

  it('accepts a body of exactly 16 KiB', () => {
    // Arrange
    const json = JSON.stringify(valid);
    const body = json + ' '.repeat(MAX_REQUEST_BODY_BYTES - json.length);

    // Act
    const decoded = decodeJsonBody(body, false);

    // Assert
    expect(MAX_REQUEST_BODY_BYTES).toBe(16 * 1024);
    expect(Buffer.byteLength(body)).toBe(16 * 1024);
    expect(decoded).toEqual(valid);
  });

  it('throws 413 REQUEST_TOO_LARGE for a body one byte over 16 KiB', () => {
    // Arrange
    const json = JSON.stringify(valid);
    const body = json + ' '.repeat(MAX_REQUEST_BODY_BYTES - json.length + 1);

    // Act
    const error = clientError(() => decodeJsonBody(body, false));

    // Assert
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.status).toBe(413);
    expect(error.code).toBe('REQUEST_TOO_LARGE');
  });

  it('counts bytes, not characters: 6,000 three-byte characters are too large', () => {
    // Arrange: 6,000 UTF-16 units but 18,000 UTF-8 bytes.
    const body = JSON.stringify({ ...valid, fileName: '€'.repeat(6000) });

    // Act
    const error = clientError(() => decodeJsonBody(body, false));

    // Assert
    expect(body.length).toBeLessThan(MAX_REQUEST_BODY_BYTES);
    expect(error.code).toBe('REQUEST_TOO_LARGE');
  });

  it('applies the limit to the decoded bytes of a base64 body', () => {
    // Arrange
    const json = JSON.stringify({ ...valid, fileName: 'a'.repeat(MAX_REQUEST_BODY_BYTES) });

    // Act
    const error = clientError(() => decodeJsonBody(Buffer.from(json).toString('base64'), true));

    // Assert
    expect(error.status).toBe(413);
    expect(error.code).toBe('REQUEST_TOO_LARGE');
  });

  it('passes JSON that is not an object on to the request parser, which rejects it', () => {
    // Act
    const decoded = decodeJsonBody('null', false);

    // Assert
    expect(decoded).toBeNull();
    expect(clientError(() => parseCreateUploadRequest(decoded)).code).toBe('INVALID_REQUEST');
  });
});
