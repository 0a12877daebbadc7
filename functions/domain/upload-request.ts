import { z } from 'zod';
import { BadRequestError, PayloadTooLargeError } from '../commons/errors.js';
import type { UploadMethod } from './model.js';
import { normalizeContentType } from './type-policy.js';

/** Largest request body accepted by POST /uploads; real requests are a few hundred bytes. */
export const MAX_REQUEST_BODY_BYTES = 16 * 1024;
const MAX_FILE_NAME_LENGTH = 1024;

const createUploadSchema = z
  .object({
    fileName: z.string().min(1).max(MAX_FILE_NAME_LENGTH),
    contentType: z.string().min(3).max(255),
    size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters, as sha256sum prints')
      .optional(),
    method: z.enum(['POST', 'PUT']).optional(),
  })
  .strict();

export interface CreateUploadRequest {
  fileName: string;
  /** Lowercase essence of the declared media type. */
  contentType: string;
  size: number;
  sha256?: string;
  method: UploadMethod;
}

/** Parses and checks the JSON body of POST /uploads; throws BadRequestError with details. */
export function parseCreateUploadRequest(body: unknown): CreateUploadRequest {
  const parsed = createUploadSchema.safeParse(body);
  if (!parsed.success) {
    throw new BadRequestError('INVALID_REQUEST', 'The request body is invalid.', {
      issues: parsed.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.') || '(body)',
        message: issue.message,
      })),
    });
  }
  const { fileName, contentType, size, sha256, method } = parsed.data;
  if (!fileName.isWellFormed()) {
    // Lone surrogates are not Unicode: DynamoDB and HTTP headers would refuse them later.
    throw new BadRequestError('INVALID_REQUEST', 'The request body is invalid.', {
      issues: [{ path: 'fileName', message: 'must be well-formed Unicode text' }],
    });
  }
  if (fileName.includes('\u0000')) {
    throw new BadRequestError('INVALID_REQUEST', 'The request body is invalid.', {
      issues: [{ path: 'fileName', message: 'must not contain NUL characters' }],
    });
  }
  const essence = normalizeContentType(contentType);
  if (essence === undefined) {
    throw new BadRequestError('INVALID_REQUEST', 'The request body is invalid.', {
      issues: [{ path: 'contentType', message: 'must be a media type such as application/pdf' }],
    });
  }
  return { fileName, contentType: essence, size, ...(sha256 ? { sha256 } : {}), method: method ?? 'POST' };
}

/**
 * Decodes a JSON body with a size bound; throws 400 INVALID_JSON or 413 REQUEST_TOO_LARGE.
 * Sizes above every type's limit (and S3's 5 GiB) are refused later by the type policy with 413.
 */
export function decodeJsonBody(body: string | undefined, isBase64Encoded: boolean): unknown {
  if (body === undefined || body === '') {
    throw new BadRequestError('INVALID_JSON', 'A JSON request body is required.');
  }
  const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  if (Buffer.byteLength(text, 'utf8') > MAX_REQUEST_BODY_BYTES) {
    throw new PayloadTooLargeError(
      'REQUEST_TOO_LARGE',
      `The request body may be at most ${MAX_REQUEST_BODY_BYTES} bytes.`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestError('INVALID_JSON', 'The request body is not valid JSON.');
  }
}
