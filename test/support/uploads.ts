/**
 * Uploads as a client sends them, by hand: the tests need to send what the typed client never
 * would (changed fields, wrong headers, other bytes), so they build the S3 request themselves.
 */

export { TERMINAL_STATUSES, isTerminal } from '../../client/index.js';

/** A grant as the API returns it, loose enough for one read back from JSON or altered by a test. */
export interface GrantLike {
  method: 'POST' | 'PUT' | (string & {});
  url: string;
  fields?: Record<string, string>;
  headers?: Record<string, string>;
  expiresAt?: string;
}

export interface GrantOverrides {
  /** POST: fields added or replaced. */
  fields?: Record<string, string>;
  /** POST: the file part's Content-Type (default application/octet-stream). */
  fileContentType?: string;
  /** PUT: headers added or replaced. */
  headers?: Record<string, string>;
}

/**
 * The request a client sends for a grant: a multipart/form-data POST with every policy field then
 * the file, or a PUT with exactly the signed headers (fetch sets content-length itself).
 */
export function grantRequest(
  grant: GrantLike,
  bytes: Uint8Array,
  overrides: GrantOverrides = {},
): RequestInit {
  if (grant.method === 'PUT') {
    const headers = { ...grant.headers, ...overrides.headers };
    delete headers['content-length'];
    return { method: 'PUT', headers, body: bytes };
  }
  const form = new FormData();
  for (const [name, value] of Object.entries({ ...grant.fields, ...overrides.fields }))
    form.append(name, value);
  const type = overrides.fileContentType ?? 'application/octet-stream';
  form.append('file', new Blob([bytes], { type }), 'upload.bin');
  return { method: 'POST', body: form };
}

/** Sends the bytes with a grant; S3's answer as status and text. */
export async function sendWithGrant(
  grant: GrantLike,
  bytes: Uint8Array,
  overrides: GrantOverrides = {},
): Promise<{ status: number; text: string }> {
  const response = await fetch(grant.url, grantRequest(grant, bytes, overrides));
  return { status: response.status, text: await response.text() };
}
