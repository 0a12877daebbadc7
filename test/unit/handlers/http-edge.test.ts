import { decodeJsonBody, errorResponse, MAX_REQUEST_BODY_BYTES } from '../../../functions/commons/http.js';
import { TransientError } from '../../../functions/commons/errors.js';
import { BadRequestError, HttpError, RequestTooLargeError } from '../../../functions/commons/http-errors.js';
import {
  ConfigurationError,
  FileTooLargeError,
  InvalidCursorError,
  InvalidRequestError,
  TypeNotAllowedError,
} from '../../../functions/domain/errors.js';
import { parseCreateUploadRequest } from '../../../functions/domain/upload-request.js';

/**
 * The HTTP edge's body decoding (base64 flag, byte bound, JSON) and its error shape. The domain
 * never sees transport: it gets the decoded value.
 */

const valid = { fileName: 'report.pdf', contentType: 'application/pdf', size: 1234 };

/** Runs `act` and returns what it threw. */
function thrown(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error to be thrown');
}

/** Runs `act` and returns the edge error it threw (fails the test otherwise). */
function httpError(act: () => unknown): HttpError {
  try {
    act();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected an HTTP edge error to be thrown');
}

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
    const error = httpError(() => decodeJsonBody(body, false));

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
      const error = httpError(() => decodeJsonBody(body, false));

      // Assert
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.code).toBe('INVALID_JSON');
      expect(error.message).toBe('The request body is not valid JSON.');
    },
  );

  it('throws 400 INVALID_JSON for a base64 body that does not decode to JSON', () => {
    expect(httpError(() => decodeJsonBody(Buffer.from('\u0000\u0001').toString('base64'), true)).code).toBe(
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
    const error = httpError(() => decodeJsonBody(body, false));

    // Assert
    expect(error).toBeInstanceOf(RequestTooLargeError);
    expect(error.status).toBe(413);
    expect(error.code).toBe('REQUEST_TOO_LARGE');
  });

  it('counts bytes, not characters: 6,000 three-byte characters are too large', () => {
    // Arrange: 6,000 UTF-16 units but 18,000 UTF-8 bytes.
    const body = JSON.stringify({ ...valid, fileName: '€'.repeat(6000) });

    // Act
    const error = httpError(() => decodeJsonBody(body, false));

    // Assert
    expect(body.length).toBeLessThan(MAX_REQUEST_BODY_BYTES);
    expect(error.code).toBe('REQUEST_TOO_LARGE');
  });

  it('applies the limit to the decoded bytes of a base64 body', () => {
    // Arrange
    const json = JSON.stringify({ ...valid, fileName: 'a'.repeat(MAX_REQUEST_BODY_BYTES) });

    // Act
    const error = httpError(() => decodeJsonBody(Buffer.from(json).toString('base64'), true));

    // Assert
    expect(error.status).toBe(413);
    expect(error.code).toBe('REQUEST_TOO_LARGE');
  });

  it('passes JSON that is not an object on to the request parser, which rejects it', () => {
    // Act
    const decoded = decodeJsonBody('null', false);

    // Assert
    expect(decoded).toBeNull();
    expect(JSON.parse(errorResponse(thrown(() => parseCreateUploadRequest(decoded))).body as string)).toEqual(
      {
        error: expect.objectContaining({ code: 'INVALID_REQUEST' }) as unknown,
      },
    );
  });
});

describe('errorResponse: domain errors get their status at the edge', () => {
  // The statuses of the contract (DESIGN.md, openapi/): 400 bad request, 413 size over the type's
  // limit, 415 type not allowed.
  it.each<[string, Error, number, string]>([
    ['InvalidRequestError', new InvalidRequestError({ issues: [] }), 400, 'INVALID_REQUEST'],
    ['InvalidCursorError', new InvalidCursorError(), 400, 'INVALID_CURSOR'],
    ['FileTooLargeError', new FileTooLargeError('too large', { maxBytes: 1 }), 413, 'FILE_TOO_LARGE'],
    ['TypeNotAllowedError', new TypeNotAllowedError('not allowed'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ])('%s → %i with its code, message and details', (name, error, status, code) => {
    // Act
    const response = errorResponse(error);
    // Assert
    expect(error.name).toBe(name);
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body as string)).toEqual({
      error: {
        code,
        message: error.message,
        ...((error as InvalidRequestError).details
          ? { details: (error as InvalidRequestError).details }
          : {}),
      },
    });
  });

  it('answers 500 with a generic message for an error no client caused, and never its text or cause', () => {
    // Arrange
    const error = new ConfigurationError('TYPE_POLICY is invalid: secret detail', {
      cause: new Error('deeper'),
    });
    // Act
    const response = errorResponse(error);
    // Assert
    expect(response.statusCode).toBe(500);
    expect(response.body).toBe('{"error":{"code":"INTERNAL_ERROR","message":"An internal error occurred."}}');
  });

  it('answers 503 with Retry-After for a TransientError', () => {
    const response = errorResponse(new TransientError('S3 throttled'));
    expect([response.statusCode, response.headers?.['retry-after']]).toEqual([503, '2']);
    expect(response.body).not.toContain('S3 throttled');
  });
});
