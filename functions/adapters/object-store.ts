import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ObjectVersionMissingError } from '../commons/errors.js';
import type { ObjectRef } from '../domain/model.js';
import { errorName, toBodyReadError, toPipelineError } from './aws-errors.js';

/**
 * "This key, or this version of it, does not exist": the only 404s that mean an object is gone.
 * NoSuchBucket, or a 404 without an S3 error code (a wrong endpoint, a proxy), is a failure:
 * never "already deleted" nor "no copy yet".
 */
const OBJECT_MISSING = new Set(['NoSuchKey', 'NoSuchVersion']);
const isObjectMissing = (error: unknown): boolean => OBJECT_MISSING.has(errorName(error) ?? '');

export interface OpenedVersion {
  contentLength?: number;
  body: AsyncIterable<Uint8Array>;
  /** Stops the download early (e.g. once the size is known to be wrong). */
  abort(): void;
}

/** S3 operations on exact object versions. Every call names its version: never "the latest". */
export class ObjectStore {
  constructor(private readonly client: S3Client = new S3Client({})) {}

  /** Streams one version; the body is read once, never buffered whole. */
  async openVersion(ref: ObjectRef): Promise<OpenedVersion> {
    const controller = new AbortController();
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }),
        { abortSignal: controller.signal },
      );
      if (!out.Body) throw new ObjectVersionMissingError(`GetObject returned no body for ${ref.key}.`);
      return {
        ...(out.ContentLength !== undefined ? { contentLength: out.ContentLength } : {}),
        body: readingTransiently(out.Body as AsyncIterable<Uint8Array>),
        abort: () => controller.abort(),
      };
    } catch (error) {
      if (error instanceof ObjectVersionMissingError) throw error;
      if (isObjectMissing(error)) {
        throw new ObjectVersionMissingError(`Version ${ref.versionId} of ${ref.key} does not exist.`);
      }
      throw toPipelineError('GetObject', error);
    }
  }

  /**
   * Server-side copy of one version to `destinationKey`, with metadata replaced by ours. Safe to
   * repeat: the destination simply gets the same bytes again.
   */
  async copyVersion(
    source: ObjectRef,
    destinationKey: string,
    options: { contentType: string; metadata: Record<string, string>; dropTags?: boolean },
  ): Promise<{ versionId?: string }> {
    try {
      const out = await this.client.send(
        new CopyObjectCommand({
          Bucket: source.bucket,
          Key: destinationKey,
          CopySource: `${source.bucket}/${encodeURIComponent(source.key)}?versionId=${encodeURIComponent(source.versionId)}`,
          MetadataDirective: 'REPLACE',
          ContentType: options.contentType,
          Metadata: options.metadata,
          // The copy starts without the source's tags (which S3 would otherwise read and copy).
          ...(options.dropTags ? { TaggingDirective: 'REPLACE' } : {}),
        }),
      );
      return out.VersionId ? { versionId: out.VersionId } : {};
    } catch (error) {
      if (isObjectMissing(error)) {
        throw new ObjectVersionMissingError(`Version ${source.versionId} of ${source.key} does not exist.`);
      }
      throw toPipelineError('CopyObject', error);
    }
  }

  /**
   * Copies one version to `destinationKey` unless the destination already holds a copy of that
   * very version (its `source-version-id` metadata says so): a resumed or retried step never
   * creates a second copy.
   */
  async copyVersionOnce(
    source: ObjectRef,
    destinationKey: string,
    options: { contentType: string; metadata: Record<string, string>; dropTags?: boolean },
  ): Promise<{ versionId?: string; copied: boolean }> {
    const existing = await this.head(source.bucket, destinationKey);
    if (existing?.metadata['source-version-id'] === source.versionId) {
      return { ...(existing.versionId ? { versionId: existing.versionId } : {}), copied: false };
    }
    const copy = await this.copyVersion(source, destinationKey, {
      ...options,
      metadata: { ...options.metadata, 'source-version-id': source.versionId },
    });
    return { ...copy, copied: true };
  }

  /** The current version's metadata, or undefined when there is no object. */
  async head(
    bucket: string,
    key: string,
  ): Promise<{ versionId?: string; metadata: Record<string, string> } | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { ...(out.VersionId ? { versionId: out.VersionId } : {}), metadata: out.Metadata ?? {} };
    } catch (error) {
      // HeadObject answers without a body, so the SDK names its 404 NotFound whether the key or
      // the bucket is missing; and without s3:ListBucket, S3 answers 403 for a missing key. Both
      // are safe to read as "no copy": the CopyObject that follows surfaces a missing bucket or
      // a real permission problem. A 404 that S3 named otherwise (NoSuchBucket) is a failure.
      const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
      const name = errorName(error);
      if (isObjectMissing(error) || name === 'NotFound' || status === 403 || name === 'Forbidden') {
        return undefined;
      }
      throw toPipelineError('HeadObject', error);
    }
  }

  /** Permanently deletes one version. Deleting a version that is already gone succeeds. */
  async deleteVersion(ref: ObjectRef): Promise<void> {
    try {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }),
      );
    } catch (error) {
      if (isObjectMissing(error)) return;
      throw toPipelineError('DeleteObject', error);
    }
  }

  /**
   * Replaces the tags of one version (PutObjectTagging with its VersionId). The bucket policy
   * denies reading an object tagged `airlock-status=quarantined`, presigned URLs included.
   */
  async tagVersion(ref: ObjectRef, tags: Record<string, string>): Promise<void> {
    try {
      await this.client.send(
        new PutObjectTaggingCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          VersionId: ref.versionId,
          Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
        }),
      );
    } catch (error) {
      if (isObjectMissing(error)) {
        throw new ObjectVersionMissingError(`Version ${ref.versionId} of ${ref.key} does not exist.`);
      }
      throw toPipelineError('PutObjectTagging', error);
    }
  }

  /** The live versions of exactly `key` (not of keys it prefixes), oldest first. */
  async listVersions(bucket: string, key: string): Promise<Array<{ versionId: string; size: number }>> {
    try {
      const out = await this.client.send(
        new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, MaxKeys: 100 }),
      );
      return (out.Versions ?? [])
        .filter((version) => version.Key === key && version.VersionId !== undefined)
        .sort((a, b) => (a.LastModified?.getTime() ?? 0) - (b.LastModified?.getTime() ?? 0))
        .map((version) => ({ versionId: version.VersionId as string, size: version.Size ?? 0 }));
    } catch (error) {
      throw toPipelineError('ListObjectVersions', error);
    }
  }
}

/**
 * The body as it is read: an error while the bytes stream (the connection reset, closed early or
 * timed out) is a TransientError, so that the state machine retries the step. What the reader
 * does with the chunks is not wrapped: its own errors surface as they are.
 */
async function* readingTransiently(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    // A consumer that stops early (break) closes the body through this loop, as it would directly.
    for await (const chunk of body) yield chunk;
  } catch (error) {
    throw toBodyReadError('GetObject', error);
  }
}
