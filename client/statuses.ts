import { uploadStatusValues } from './generated/airlock-api.js';
import type { UploadStatus } from './types.js';

/** Every status of the lifecycle, in the document's order (generated from its enum). */
export const UPLOAD_STATUSES: readonly UploadStatus[] = uploadStatusValues;

/** Statuses a poller may stop at. FAILED is terminal for clients, though a redrive may resume it. */
export const TERMINAL_STATUSES: ReadonlySet<UploadStatus> = new Set<UploadStatus>([
  'PROCESSED',
  'REJECTED',
  'FAILED',
  'EXPIRED',
  'QUARANTINED',
]);

export const isTerminal = (status: UploadStatus): boolean => TERMINAL_STATUSES.has(status);

/**
 * The content type to declare for a file name, by its extension, among the types of the default
 * type policy; undefined when unknown. The bytes decide anyway: a spoofed file is rejected
 * whatever it declares. (test/unit/client/contract.test.ts keeps this table equal to the
 * server's default policy.)
 */
const TYPE_BY_EXTENSION: Readonly<Record<string, string>> = {
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  txt: 'text/plain',
  csv: 'text/csv',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

export function contentTypeFor(fileName: string): string | undefined {
  const extension = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
  return extension !== undefined && Object.hasOwn(TYPE_BY_EXTENSION, extension)
    ? TYPE_BY_EXTENSION[extension]
    : undefined;
}
