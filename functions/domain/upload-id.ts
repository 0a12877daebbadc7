import { monotonicFactory } from 'ulid';

/** A ULID: 26 Crockford base32 chars, time-sortable, 80 random bits. Never derived from user input. */
export const UPLOAD_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

const nextUlid = monotonicFactory();

export function newUploadId(now: number = Date.now()): string {
  return nextUlid(now);
}

export function isUploadId(value: string): boolean {
  return UPLOAD_ID_PATTERN.test(value);
}
