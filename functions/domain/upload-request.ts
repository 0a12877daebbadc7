import { z } from 'zod';
import { InvalidRequestError } from './errors.js';
import type { UploadMethod } from './model.js';
import { normalizeContentType } from './type-policy.js';

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

/** Parses and checks the JSON body of POST /uploads; throws InvalidRequestError with details. */
export function parseCreateUploadRequest(body: unknown): CreateUploadRequest {
  const parsed = createUploadSchema.safeParse(body);
  if (!parsed.success) {
    throw new InvalidRequestError({
      issues: parsed.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.') || '(body)',
        message: issue.message,
      })),
    });
  }
  const { fileName, contentType, size, sha256, method } = parsed.data;
  if (!fileName.isWellFormed()) {
    // Lone surrogates are not Unicode: DynamoDB and HTTP headers would refuse them later.
    throw new InvalidRequestError({
      issues: [{ path: 'fileName', message: 'must be well-formed Unicode text' }],
    });
  }
  if (fileName.includes('\u0000')) {
    throw new InvalidRequestError({
      issues: [{ path: 'fileName', message: 'must not contain NUL characters' }],
    });
  }
  const essence = normalizeContentType(contentType);
  if (essence === undefined) {
    throw new InvalidRequestError({
      issues: [{ path: 'contentType', message: 'must be a media type such as application/pdf' }],
    });
  }
  return { fileName, contentType: essence, size, ...(sha256 ? { sha256 } : {}), method: method ?? 'POST' };
}
