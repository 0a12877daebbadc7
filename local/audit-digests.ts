import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

/** The local key that signs audit digests: an EC P-256 private key (PKCS#8 PEM), mode 0600. */
export const LOCAL_DIGEST_KEY_FILE = 'audit-digest-key.pem';

/** Creates the data dir's digest key on first start, and returns its path. */
export function ensureDigestKey(dataDir: string): string {
  const path = join(dataDir, LOCAL_DIGEST_KEY_FILE);
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // 'wx': never overwrite a key a concurrent start wrote (the digests it signed would not verify).
    try {
      writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return path;
}

/**
 * The digest bucket as the construct makes it: Object Lock enabled at creation (RadosGW, like
 * S3, cannot enable it later on a bucket made without it), versioned, with a default retention.
 * Returns false when the server refused Object Lock (not RadosGW): digests are then unlocked.
 */
export async function setUpDigestBucket(
  s3: S3Client,
  bucket: string,
  retention: { mode: 'COMPLIANCE' | 'GOVERNANCE'; days: number },
): Promise<boolean> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  try {
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: retention.mode, Days: retention.days } },
        },
      }),
    );
    return true;
  } catch {
    return false;
  }
}
