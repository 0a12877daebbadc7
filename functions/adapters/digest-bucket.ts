import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Digest } from '../domain/audit-digest.js';
import { toPipelineError } from './aws-errors.js';

/** Where digests are stored in their bucket: `digests/<periodEnd>.json`, sortable by period. */
export const DIGEST_PREFIX = 'digests/';

/** A digest's key as stored: how many versions it has, and whether a delete marker hides it. */
export interface StoredDigest {
  key: string;
  /** Object versions of the key, oldest first (a digest is written once: more is an overwrite). */
  versionIds: string[];
  /** The key's latest version is a delete marker (Object Lock keeps the versions themselves). */
  deleted: boolean;
}

/**
 * The digest bucket (S3 Object Lock, default retention): the writer puts each digest once and
 * reads back one a crashed run left; auditors list every key with its versions and read the
 * first version of each, the one Object Lock keeps whatever was written over it.
 */
export class DigestBucket {
  constructor(
    private readonly bucket: string,
    private readonly client: S3Client = new S3Client({}),
  ) {}

  /** The digest stored under `key`, if any (a run that crashed before its cursor moved). */
  async find(key: string): Promise<unknown> {
    const listed = await this.send('ListObjectsV2(digest)', () =>
      this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key, MaxKeys: 1 })),
    );
    if (listed.Contents?.[0]?.Key !== key) return undefined;
    return this.read(key);
  }

  /**
   * Writes a digest. Content-MD5 is sent because S3 requires an integrity header on writes to a
   * bucket with Object Lock retention.
   */
  async put(key: string, digest: Digest): Promise<void> {
    const body = Buffer.from(`${JSON.stringify(digest, null, 2)}\n`, 'utf8');
    await this.send('PutObject(digest)', () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          ContentMD5: createHash('md5').update(body).digest('base64'),
        }),
      ),
    );
  }

  /**
   * Up to `limit` digest keys after `after` (a key), each with all its versions: a listing page
   * may end within a key's versions, so the last key of a page is only given once complete.
   */
  async list(params: { after?: string; limit: number }): Promise<{ items: StoredDigest[]; more: boolean }> {
    // S3 lists a key's versions newest first (LastModified has only seconds: not an order).
    const byKey = new Map<string, { versions: string[]; deleted: boolean }>();
    let keyMarker = params.after;
    let versionMarker: string | undefined;
    let truncated = true;
    while (truncated && byKey.size <= params.limit) {
      const page = await this.send('ListObjectVersions(digests)', () =>
        this.client.send(
          new ListObjectVersionsCommand({
            Bucket: this.bucket,
            Prefix: DIGEST_PREFIX,
            ...(keyMarker ? { KeyMarker: keyMarker } : {}),
            ...(versionMarker ? { VersionIdMarker: versionMarker } : {}),
          }),
        ),
      );
      const entry = (key: string) => {
        let found = byKey.get(key);
        if (found === undefined) byKey.set(key, (found = { versions: [], deleted: false }));
        return found;
      };
      for (const version of page.Versions ?? []) {
        if (version.Key === undefined || version.VersionId === undefined) continue;
        entry(version.Key).versions.push(version.VersionId);
      }
      for (const marker of page.DeleteMarkers ?? []) {
        if (marker.Key !== undefined && marker.IsLatest === true) entry(marker.Key).deleted = true;
      }
      truncated = page.IsTruncated === true;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
    const keys = [...byKey.keys()].sort();
    const complete = truncated ? keys.slice(0, -1) : keys;
    const items = complete.slice(0, params.limit).map((key) => {
      const { versions, deleted } = byKey.get(key)!;
      return {
        key,
        versionIds: [...versions].reverse(),
        deleted,
      };
    });
    return { items, more: truncated || complete.length > params.limit };
  }

  /** One digest as stored: its current version, or the version named. */
  async read(key: string, versionId?: string): Promise<unknown> {
    const out = await this.send('GetObject(digest)', () =>
      this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(versionId ? { VersionId: versionId } : {}),
        }),
      ),
    );
    const text = (await out.Body?.transformToString('utf8')) ?? '';
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw toPipelineError(operation, error);
    }
  }
}
