import { S3Client } from '@aws-sdk/client-s3';
import { Presigner } from '../../../functions/adapters/presigner.js';
import { contentDisposition, downloadName } from '../../../functions/domain/file-name.js';
import {
  hexToBase64,
  MAX_DOWNLOAD_URL_TTL_SECONDS,
  MAX_UPLOAD_URL_TTL_SECONDS,
  postGrant,
  putGrant,
  putHeaders,
  type GrantInput,
} from '../../../functions/domain/upload-grant.js';
import { newUploadId } from '../../../functions/domain/upload-id.js';

const BUCKET = 'airlock-test-bucket';
const SHA256_HEX = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
/** The same digest as S3 wants it: base64 of the 32 raw bytes. */
const SHA256_BASE64 = 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=';

const uploadId = newUploadId();

const input = (overrides: Partial<GrantInput> = {}): GrantInput => ({
  uploadId,
  contentType: 'application/pdf',
  size: 4321,
  ttlSeconds: 600,
  ...overrides,
});

type PolicyCondition = Record<string, string> | [string, ...unknown[]];
interface PostPolicy {
  expiration: string;
  conditions: PolicyCondition[];
}

const decodePolicy = (fields: Record<string, string>): PostPolicy =>
  JSON.parse(Buffer.from(fields.Policy!, 'base64').toString('utf8')) as PostPolicy;

/** Exact-match conditions (`{"field": "value"}` or `["eq", "$field", "value"]`), by lowercased field name. */
function exactConditions(policy: PostPolicy): Map<string, string> {
  const exact = new Map<string, string>();
  for (const condition of policy.conditions) {
    if (Array.isArray(condition)) {
      const [operator, field, value] = condition;
      if (operator === 'eq' && typeof field === 'string' && typeof value === 'string') {
        exact.set(field.replace(/^\$/, '').toLowerCase(), value);
      }
    } else {
      for (const [field, value] of Object.entries(condition)) exact.set(field.toLowerCase(), value);
    }
  }
  return exact;
}

/** Conditions that let a field vary (starts-with), which an upload policy must never contain. */
const startsWithConditions = (policy: PostPolicy): PolicyCondition[] =>
  policy.conditions.filter((condition) => Array.isArray(condition) && condition[0] === 'starts-with');

describe('hexToBase64', () => {
  it('turns a sha256sum hex digest into the base64 S3 checksum headers use', () => {
    expect(hexToBase64(SHA256_HEX)).toBe(SHA256_BASE64);
  });
});

describe('postGrant', () => {
  it('pins the key, Content-Type, exact size and upload id, without a checksum when none was declared', () => {
    // Act
    const grant = postGrant(input());

    // Assert
    expect(grant).toEqual({
      key: `quarantine/${uploadId}`,
      fields: { 'Content-Type': 'application/pdf', 'x-amz-meta-upload-id': uploadId },
      conditions: [['content-length-range', 4321, 4321]],
      expiresSeconds: 600,
    });
  });

  it('adds the SHA-256 checksum fields when a digest was declared', () => {
    // Act
    const grant = postGrant(input({ sha256: SHA256_HEX }));

    // Assert
    expect(grant.fields).toEqual({
      'Content-Type': 'application/pdf',
      'x-amz-meta-upload-id': uploadId,
      'x-amz-checksum-algorithm': 'SHA256',
      'x-amz-checksum-sha256': SHA256_BASE64,
    });
  });

  it.each<[number, number]>([
    [3600, MAX_UPLOAD_URL_TTL_SECONDS],
    [900, 900],
    [0, 1],
    [-5, 1],
  ])('clamps a ttl of %p seconds to %p', (ttlSeconds, expected) => {
    expect(postGrant(input({ ttlSeconds })).expiresSeconds).toBe(expected);
  });
});

describe('putGrant and putHeaders', () => {
  it('signs the exact key, type, length and upload id', () => {
    // Act
    const grant = putGrant(input({ ttlSeconds: 10_000 }));

    // Assert
    expect(grant).toStrictEqual({
      key: `quarantine/${uploadId}`,
      ifNoneMatch: '*',
      contentType: 'application/pdf',
      contentLength: 4321,
      metadata: { 'upload-id': uploadId },
      expiresSeconds: 900,
    });
    expect(putHeaders(grant)).toStrictEqual({
      'content-type': 'application/pdf',
      'content-length': '4321',
      'x-amz-meta-upload-id': uploadId,
      'if-none-match': '*',
    });
  });

  it('adds the checksum header when a digest was declared', () => {
    // Act
    const grant = putGrant(input({ sha256: SHA256_HEX }));

    // Assert
    expect(grant.checksumSha256Base64).toBe(SHA256_BASE64);
    expect(putHeaders(grant)).toStrictEqual({
      'content-type': 'application/pdf',
      'content-length': '4321',
      'x-amz-meta-upload-id': uploadId,
      'if-none-match': '*',
      'x-amz-checksum-sha256': SHA256_BASE64,
    });
  });
});

describe('Presigner (real SigV4 signing, offline)', () => {
  const client = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const presigner = new Presigner(BUCKET, client);

  afterAll(() => client.destroy());

  /** The object key a URL addresses, for virtual-hosted or path-style URLs. */
  function keyOf(url: URL): string {
    const path = decodeURIComponent(url.pathname);
    return url.hostname.startsWith(`${BUCKET}.`)
      ? path.slice(1)
      : path.replace(new RegExp(`^/${BUCKET}/`), '');
  }

  describe('signPost', () => {
    it.each([
      ['without a declared sha256', undefined],
      ['with a declared sha256', SHA256_HEX],
    ])('covers every form field with an exact policy condition, %s', async (_label, sha256) => {
      // Arrange
      const grant = postGrant(input(sha256 === undefined ? {} : { sha256 }));

      // Act
      const { fields } = await presigner.signPost(grant);
      const policy = decodePolicy(fields);
      const exact = exactConditions(policy);

      // Assert
      const uncovered = Object.entries(fields).filter(
        ([name, value]) =>
          name !== 'Policy' && name !== 'X-Amz-Signature' && exact.get(name.toLowerCase()) !== value,
      );
      expect(uncovered).toEqual([]);
      expect(startsWithConditions(policy)).toEqual([]);
    });

    it('pins key, bucket, Content-Type, exact size and upload id, and no checksum when none was declared', async () => {
      // Arrange
      const grant = postGrant(input());

      // Act
      const { url, fields } = await presigner.signPost(grant);
      const policy = decodePolicy(fields);
      const exact = exactConditions(policy);

      // Assert
      expect(new URL(url).protocol).toBe('https:');
      expect(fields.key).toBe(`quarantine/${uploadId}`);
      expect(exact.get('key')).toBe(`quarantine/${uploadId}`);
      expect(exact.get('bucket')).toBe(BUCKET);
      expect(exact.get('content-type')).toBe('application/pdf');
      expect(exact.get('x-amz-meta-upload-id')).toBe(uploadId);
      expect(policy.conditions).toContainEqual(['content-length-range', 4321, 4321]);
      expect(
        policy.conditions.filter((c) => Array.isArray(c) && c[0] === 'content-length-range'),
      ).toHaveLength(1);
      expect(exact.has('x-amz-checksum-algorithm')).toBe(false);
      expect(exact.has('x-amz-checksum-sha256')).toBe(false);
      expect(Object.keys(fields).map((name) => name.toLowerCase())).not.toContain('x-amz-checksum-sha256');
    });

    it('pins the SHA-256 checksum (base64 of the hex digest) and its algorithm when one was declared', async () => {
      // Arrange
      const grant = postGrant(input({ sha256: SHA256_HEX }));

      // Act
      const { fields } = await presigner.signPost(grant);
      const exact = exactConditions(decodePolicy(fields));

      // Assert
      expect(exact.get('x-amz-checksum-algorithm')).toBe('SHA256');
      expect(exact.get('x-amz-checksum-sha256')).toBe(SHA256_BASE64);
      expect(fields['x-amz-checksum-sha256']).toBe(SHA256_BASE64);
    });

    it('expires within 15 minutes even when a longer lifetime is asked for', async () => {
      // Arrange
      const before = Date.now();

      // Act
      const { fields } = await presigner.signPost(postGrant(input({ ttlSeconds: 24 * 3600 })));
      const expiration = Date.parse(decodePolicy(fields).expiration);

      // Assert
      expect(Number.isNaN(expiration)).toBe(false);
      expect(expiration).toBeGreaterThan(before);
      // The policy's expiration has whole seconds: allow the rounding, never more than 15 minutes.
      expect(expiration).toBeLessThanOrEqual(Date.now() + 15 * 60 * 1000 + 1000);
      expect(expiration).toBeGreaterThanOrEqual(before + 15 * 60 * 1000 - 1000);
    });

    it('keeps the key server-generated: no ${filename} placeholder, no user input', async () => {
      // Act
      const { fields } = await presigner.signPost(postGrant(input()));

      // Assert
      expect(fields.key).toMatch(/^quarantine\/[0-9A-HJKMNP-TV-Z]{26}$/);
    });
  });

  describe('signPut', () => {
    it('signs content-length, content-type, host, If-None-Match and the upload id header, and expires within 900 s', async () => {
      // Act
      const url = new URL(await presigner.signPut(putGrant(input({ ttlSeconds: 3600 }))));
      const query = url.searchParams;

      // Assert
      expect(keyOf(url)).toBe(`quarantine/${uploadId}`);
      expect(query.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
      expect(query.get('X-Amz-SignedHeaders')?.split(';')).toEqual([
        'content-length',
        'content-type',
        'host',
        'if-none-match',
        'x-amz-meta-upload-id',
      ]);
      expect(Number(query.get('X-Amz-Expires'))).toBeGreaterThan(0);
      expect(Number(query.get('X-Amz-Expires'))).toBeLessThanOrEqual(900);
      expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    });

    it('also signs x-amz-checksum-sha256 when a digest was declared', async () => {
      // Act
      const url = new URL(await presigner.signPut(putGrant(input({ sha256: SHA256_HEX }))));

      // Assert
      expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual([
        'content-length',
        'content-type',
        'host',
        'if-none-match',
        'x-amz-checksum-sha256',
        'x-amz-meta-upload-id',
      ]);
    });

    it.each([
      ['without a declared sha256', undefined],
      ['with a declared sha256', SHA256_HEX],
    ])('keeps checksum and metadata out of the query string, %s', async (_label, sha256) => {
      // Act
      const url = new URL(await presigner.signPut(putGrant(input(sha256 === undefined ? {} : { sha256 }))));
      const names = [...url.searchParams.keys()].map((name) => name.toLowerCase());

      // Assert: a hoisted header would be a query parameter the client cannot be held to.
      expect(names).not.toContain('x-amz-checksum-crc32');
      expect(names).not.toContain('x-amz-sdk-checksum-algorithm');
      expect(names).not.toContain('x-amz-checksum-sha256');
      expect(names).not.toContain('x-amz-meta-upload-id');
      expect(names.filter((name) => name.startsWith('x-amz-checksum-'))).toEqual([]);
    });
  });

  describe('signDownload', () => {
    const disposition = contentDisposition(downloadName('invoice.pdf.exe', ['pdf']));

    it('signs a GET of the clean key that saves as an attachment', async () => {
      // Act
      const url = new URL(
        await presigner.signDownload({
          key: `clean/${uploadId}`,
          contentType: 'application/pdf',
          contentDisposition: disposition,
          ttlSeconds: 120,
        }),
      );

      // Assert
      expect(keyOf(url)).toBe(`clean/${uploadId}`);
      expect(url.searchParams.get('response-content-disposition')).toBe(disposition);
      expect(url.searchParams.get('response-content-disposition')).toMatch(/^attachment; filename="/);
      expect(url.searchParams.get('response-content-type')).toBe('application/pdf');
      expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    });

    it.each<[number, string]>([
      [3600, String(MAX_DOWNLOAD_URL_TTL_SECONDS)],
      [301, '300'],
      [0, '1'],
    ])('clamps a lifetime of %p seconds to %p', async (ttlSeconds, expected) => {
      // Act
      const url = new URL(
        await presigner.signDownload({
          key: `clean/${uploadId}`,
          contentType: 'application/pdf',
          contentDisposition: disposition,
          ttlSeconds,
        }),
      );

      // Assert
      expect(url.searchParams.get('X-Amz-Expires')).toBe(expected);
      expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(300);
    });
  });
});
