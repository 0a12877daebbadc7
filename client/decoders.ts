import { isRecord, type Guard } from './transport.js';
import type {
  AuditDigestItem,
  AuditPublicKey,
  AuditEvent,
  AuditUploadView,
  CreatedUpload,
  Page,
  ResponseBody,
  SignedDownload,
  UploadGrant,
  UploadView,
} from './types.js';

/**
 * What the client checks of each answer before it types it: the fields it reads itself. It does
 * not validate the whole schema (the tests check real answers against the document), and it lets
 * a newer server's extra values through: a status or code it does not know is still a string.
 */

const isString = (value: unknown): value is string => typeof value === 'string';

const isStringMap = (value: unknown): value is Record<string, string> =>
  isRecord(value) && Object.values(value).every(isString);

export const isUploadGrant: Guard<UploadGrant> = (value): value is UploadGrant =>
  isRecord(value) &&
  isString(value.url) &&
  ((value.method === 'POST' && isStringMap(value.fields)) ||
    (value.method === 'PUT' && isStringMap(value.headers)));

export const isCreatedUpload: Guard<ResponseBody<'createUpload', 201>> = (value): value is CreatedUpload =>
  isRecord(value) &&
  isString(value.uploadId) &&
  isString(value.status) &&
  isString(value.statusUrl) &&
  isUploadGrant(value.upload);

export const isUploadView: Guard<ResponseBody<'getUpload', 200>> = (value): value is UploadView =>
  isRecord(value) && isString(value.uploadId) && isString(value.status);

export const isUploadEvents: Guard<ResponseBody<'getUploadEvents', 200>> = (
  value,
): value is { uploadId: string; events: AuditEvent[]; cursor?: string } =>
  isRecord(value) &&
  Array.isArray(value.events) &&
  value.events.every(isRecord) &&
  (value.cursor === undefined || isString(value.cursor));

export const isSignedDownload: Guard<ResponseBody<'downloadUpload', 200>> = (
  value,
): value is SignedDownload => isRecord(value) && isString(value.url) && isString(value.expiresAt);

export const isAuditUploadView: Guard<AuditUploadView> = (value): value is AuditUploadView =>
  isRecord(value) && isString(value.owner) && isUploadView(value);

export const isAuditDigestItem: Guard<AuditDigestItem> = (value): value is AuditDigestItem =>
  isRecord(value) &&
  isString(value.name) &&
  typeof value.versions === 'number' &&
  typeof value.deleted === 'boolean';

export const isAuditPublicKey: Guard<AuditPublicKey> = (value): value is AuditPublicKey =>
  isRecord(value) && isString(value.keyId) && isString(value.publicKeyPem);

/** A page: an `items` array, and a string `cursor` when there is a next page. */
export const isPageOf =
  <T>(isItem: Guard<T>): Guard<Page<T>> =>
  (value): value is Page<T> =>
    isRecord(value) &&
    Array.isArray(value.items) &&
    value.items.every(isItem) &&
    (value.cursor === undefined || isString(value.cursor));
