import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { checkGrantToSign } from '../commons/local-hooks.js';
import type { PostGrant, PutGrant } from '../domain/upload-grant.js';
import { downloadTtlSeconds } from '../domain/upload-grant.js';

export interface SignedPost {
  url: string;
  fields: Record<string, string>;
}

/**
 * Signs upload and download grants. Signing is local (no request is sent). The results are
 * credentials: they are returned to the caller and never logged or stored. In the local runtime
 * each grant is first held against the signing function's own IAM policies (a no-op on Lambda).
 */
export class Presigner {
  constructor(
    private readonly bucket: string,
    private readonly client: S3Client = new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED' }),
  ) {}

  async signPost(grant: PostGrant): Promise<SignedPost> {
    await checkGrantToSign({ operation: 'PutObject', method: 'POST', bucket: this.bucket, key: grant.key });
    const { url, fields } = await createPresignedPost(this.client, {
      Bucket: this.bucket,
      Key: grant.key,
      Fields: grant.fields,
      Conditions: grant.conditions,
      Expires: grant.expiresSeconds,
    });
    return { url, fields };
  }

  /**
   * A PUT URL whose signature covers content-type, content-length, the metadata headers and
   * If-None-Match (a client that leaves it out gets 403, not a second object).
   */
  async signPut(grant: PutGrant): Promise<string> {
    await checkGrantToSign({ operation: 'PutObject', method: 'PUT', bucket: this.bucket, key: grant.key });
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: grant.key,
      IfNoneMatch: grant.ifNoneMatch,
      ContentType: grant.contentType,
      ContentLength: grant.contentLength,
      Metadata: grant.metadata,
      ...(grant.checksumSha256Base64 !== undefined ? { ChecksumSHA256: grant.checksumSha256Base64 } : {}),
    });
    const signed = new Set(['content-type', 'content-length', 'x-amz-meta-upload-id', 'if-none-match']);
    if (grant.checksumSha256Base64 !== undefined) signed.add('x-amz-checksum-sha256');
    return getSignedUrl(this.client, command, {
      expiresIn: grant.expiresSeconds,
      signableHeaders: signed,
      // Keep them as headers the client must send, not query parameters S3 would ignore.
      unhoistableHeaders: signed,
    });
  }

  /** A short-lived GET of a promoted object, saved as an attachment under a safe name. */
  async signDownload(params: {
    key: string;
    contentType: string;
    contentDisposition: string;
    ttlSeconds: number;
  }): Promise<string> {
    await checkGrantToSign({ operation: 'GetObject', method: 'GET', bucket: this.bucket, key: params.key });
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: params.key,
        ResponseContentDisposition: params.contentDisposition,
        ResponseContentType: params.contentType,
      }),
      { expiresIn: downloadTtlSeconds(params.ttlSeconds) },
    );
  }
}
