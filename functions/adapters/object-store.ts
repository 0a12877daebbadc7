import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ObjectVersionMissingError } from '../commons/errors.js';
import type { ObjectRef } from '../domain/model.js';
import { errorName, toPipelineError } from './aws-errors.js';

const MISSING = new Set(['NoSuchKey', 'NoSuchVersion', 'NotFound']);

const isMissing = (error: unknown): boolean =>
  MISSING.has(errorName(error) ?? '') ||
  (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode === 404;

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
        body: out.Body as AsyncIterable<Uint8Array>,
        abort: () => controller.abort(),
      };
    } catch (error) {
      if (error instanceof ObjectVersionMissingError) throw error;
      if (isMissing(error)) {
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
    options: { contentType: string; metadata: Record<string, string> },
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
        }),
      );
      return out.VersionId ? { versionId: out.VersionId } : {};
    } catch (error) {
      if (isMissing(error)) {
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
    options: { contentType: string; metadata: Record<string, string> },
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
      // Without s3:ListBucket, S3 answers 403 (not 404) for a missing key. Treating it as "no copy"
      // is safe: the CopyObject that follows surfaces any real permission problem.
      const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
      if (isMissing(error) || status === 403 || errorName(error) === 'Forbidden') return undefined;
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
      if (isMissing(error)) return;
      throw toPipelineError('DeleteObject', error);
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
