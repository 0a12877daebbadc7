import type { TypePolicy } from './type-policy.js';

/*
 * The default type policy, as plain data: no schema library, so that browser code (the client
 * library, the console) can use it too. type-policy.ts validates policies and re-exports this.
 */

const MiB = 1024 ** 2;

export const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
export const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export const DEFAULT_TYPE_POLICY: TypePolicy = {
  'application/pdf': {
    maxBytes: 50 * MiB,
    detect: { kind: 'magic', mimes: ['application/pdf'] },
    extensions: ['pdf'],
  },
  'image/png': { maxBytes: 20 * MiB, detect: { kind: 'magic', mimes: ['image/png'] }, extensions: ['png'] },
  'image/jpeg': {
    maxBytes: 20 * MiB,
    detect: { kind: 'magic', mimes: ['image/jpeg'] },
    extensions: ['jpg', 'jpeg'],
  },
  'text/plain': { maxBytes: 10 * MiB, detect: { kind: 'text' }, extensions: ['txt'] },
  'text/csv': { maxBytes: 50 * MiB, detect: { kind: 'text' }, extensions: ['csv'] },
  [DOCX]: { maxBytes: 50 * MiB, detect: { kind: 'magic', mimes: [DOCX] }, extensions: ['docx'] },
  [XLSX]: { maxBytes: 50 * MiB, detect: { kind: 'magic', mimes: [XLSX] }, extensions: ['xlsx'] },
};

/**
 * The content type a file name suggests, from the policy's extensions; undefined when none
 * matches. Only a label to declare: the bytes decide.
 */
export function contentTypeForFileName(
  fileName: string,
  policy: TypePolicy = DEFAULT_TYPE_POLICY,
): string | undefined {
  const extension = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
  if (extension === undefined) return undefined;
  return Object.entries(policy).find(([, rule]) => rule.extensions.includes(extension))?.[0];
}
