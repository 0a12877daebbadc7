import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { UploadStore } from '../functions/adapters/upload-store.js';
import { nextEventTime } from '../functions/domain/audit-trail.js';
import { postGrant } from '../functions/domain/upload-grant.js';
import { newUploadId } from '../functions/domain/upload-id.js';
import { BenchClient, csvDocument } from './client.js';
import { dynamoClientFor, type BenchRuntime } from './runtime.js';
import { percentile, round } from './stats.js';

/**
 * Benchmark 4: issuance. POST /uploads (JWT check, two DynamoDB writes, signing) over HTTP at a
 * fixed concurrency, against a bare createPresignedPost of the same policy in this process.
 */

export const ISSUANCE_CONCURRENCY = 8;

export interface RateFigure {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
}

export interface IssuanceResult {
  concurrency: number;
  api: RateFigure;
  presign: RateFigure;
  /** api.perSecond / presign.perSecond */
  ratio: number;
}

async function hammer(
  concurrency: number,
  seconds: number,
  call: () => Promise<boolean>,
): Promise<RateFigure> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const ok = await call().catch(() => false);
        latencies.push(performance.now() - t);
        if (!ok) errors++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    requests: latencies.length,
    errors,
    seconds: round(elapsed, 2),
    perSecond: round((latencies.length - errors) / elapsed, 1),
    p50Ms: round(percentile(latencies, 50), 3),
    p95Ms: round(percentile(latencies, 95), 3),
  };
}

export async function runIssuanceBenchmark(
  runtime: BenchRuntime,
  options: { seconds: number; concurrency?: number },
  log: (message: string) => void,
): Promise<IssuanceResult> {
  const concurrency = options.concurrency ?? ISSUANCE_CONCURRENCY;
  const client = await BenchClient.create(runtime, 'bench-issuance');
  const document = csvDocument();
  const issued: string[] = [];
  await client.createUpload(document, 'POST'); // warm-up
  const api = await hammer(concurrency, options.seconds, async () => {
    const created = await client.createUpload(document, 'POST');
    issued.push(created.uploadId);
    return true;
  });

  // The same signing the create-upload handler does (functions/adapters/presigner.ts), bare:
  // the S3 client as functions/commons/config.ts builds it, the policy from postGrant.
  const s3 = new S3Client({
    endpoint: runtime.s3Endpoint,
    forcePathStyle: true,
    region: runtime.region,
    credentials: runtime.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const presignOnce = async () => {
    const grant = postGrant({
      uploadId: newUploadId(),
      contentType: 'text/csv',
      size: document.bytes.length,
      sha256: document.sha256,
      ttlSeconds: 900,
    });
    const signed = await createPresignedPost(s3, {
      Bucket: runtime.bucket,
      Key: grant.key,
      Fields: grant.fields,
      Conditions: grant.conditions,
      Expires: grant.expiresSeconds,
    });
    return signed.url !== '';
  };
  await presignOnce();
  const presign = await hammer(concurrency, options.seconds, presignOnce);
  log(
    `issuance: POST /uploads ${api.perSecond}/s (p95 ${api.p95Ms} ms), createPresignedPost ${presign.perSecond}/s`,
  );

  await expireIssued(runtime, issued);
  return { concurrency, api, presign, ratio: round(api.perSecond / presign.perSecond, 4) };
}

/**
 * The uploads issued here are never sent: expire them at once (as the sweeper would after 15
 * minutes), so that the reconciler does not keep listing their keys while other work runs.
 */
async function expireIssued(runtime: BenchRuntime, uploadIds: string[]): Promise<void> {
  const store = new UploadStore(runtime.table, dynamoClientFor(runtime));
  const queue = [...uploadIds];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
        const record = await store.get(id);
        if (record === undefined) continue;
        const at = nextEventTime(new Date(), record.trailHead);
        await store.expire({
          record,
          event: {
            uploadId: id,
            at,
            actor: { type: 'system', id: 'bench' },
            action: 'EXPIRED',
            from: 'PENDING_UPLOAD',
            to: 'EXPIRED',
            reasons: [{ code: 'UPLOAD_EXPIRED', message: 'Issued by the benchmark, never uploaded.' }],
          },
          deleteAfter: Math.ceil(Date.parse(at) / 1000) + 86_400,
        });
      }
    }),
  );
}
