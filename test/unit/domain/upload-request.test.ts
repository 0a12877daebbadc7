import { statusOf } from '../../../functions/commons/http.js';
import { DomainError, InvalidRequestError } from '../../../functions/domain/errors.js';
import { parseCreateUploadRequest } from '../../../functions/domain/upload-request.js';

const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const valid = { fileName: 'report.pdf', contentType: 'application/pdf', size: 1234 };

/** Runs `act` and returns the domain error it threw (fails the test otherwise). */
function domainError(act: () => unknown): DomainError {
  try {
    act();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a domain error to be thrown');
}

type Issue = { path: string; message: string };
const issuesOf = (error: DomainError): Issue[] => (error.details as { issues: Issue[] }).issues;
const issuePaths = (error: DomainError): string[] => issuesOf(error).map((issue) => issue.path);

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
      const error = domainError(() => parseCreateUploadRequest(body));

      // Assert
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(statusOf(error)).toBe(400); // at the HTTP edge
      expect(error.code).toBe('INVALID_REQUEST');
      expect([...new Set(issuePaths(error))]).toEqual([path]);
    });

    it('rejects extra fields (strict), naming the unknown key', () => {
      // Act
      const error = domainError(() =>
        parseCreateUploadRequest({ ...valid, key: 'clean/x', bucket: 'other' }),
      );

      // Assert
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.code).toBe('INVALID_REQUEST');
      expect(issuePaths(error)).toEqual(['(body)']);
      expect(issuesOf(error)[0]?.message).toMatch(/key/);
      expect(issuesOf(error)[0]?.message).toMatch(/bucket/);
    });

    it('reports every wrong field at once', () => {
      // Act
      const error = domainError(() => parseCreateUploadRequest({ fileName: 1, size: -1 }));

      // Assert
      expect(issuePaths(error).sort()).toEqual(['contentType', 'fileName', 'size']);
    });

    it('says what a NUL in the file name is', () => {
      // Act
      const error = domainError(() => parseCreateUploadRequest({ ...valid, fileName: 'x\u0000' }));

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
      const error = domainError(() => parseCreateUploadRequest(body));

      // Assert
      expect(error.code).toBe('INVALID_REQUEST');
      expect(issuePaths(error)).toEqual(['(body)']);
    });
  });
});
