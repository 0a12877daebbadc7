import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { UploadStore } from '../functions/adapters/upload-store.js';
import { nextEventTime } from '../functions/domain/audit-trail.js';
import { claimEvent, issuedEvent, outcomeEvent } from '../functions/domain/transition-events.js';
import { outcomeGuard } from '../functions/domain/transitions.js';
import { newUploadId } from '../functions/domain/upload-id.js';
import { ensureTable } from '../local/dynamo.js';
import { BenchClient, csvDocument, DOCUMENT_BYTES, type ExecutionHistory, type Outcome } from './client.js';
import { dynamoClientFor, s3ClientFor, type BenchRuntime } from './runtime.js';
import { distribution, median, round, sum, type Distribution } from './stats.js';
import type { BenchWebhookConsumer } from './webhook-consumer.js';

/**
 * Benchmark 2: end-to-end latency of a 100 KiB file, from the upload's 2xx to PROCESSED seen by
 * a tight poller, against the irreducible work measured in the same run: the same object's
 * upload, HEAD, GET, COPY and DELETE on the same S3 server, plus the DynamoDB writes the
 * pipeline makes per document, done with the same adapter against the same dynalite. And the
 * outcome event of each sample: from PROCESSED recorded to its webhook received by a local
 * consumer, beside the end-to-end latency of the same samples.
 */

export const POLL_INTERVAL_MS = 25;
/** A POST upload's event must come about as promptly as a PUT's: p50 within this factor. */
export const POST_TO_PUT_GOAL = 1.5;

export interface IrreducibleWork {
  /** Median ms of each operation over the samples. */
  components: Record<string, number>;
  totalMs: number;
  samples: number;
}

export interface LatencyResult {
  fileBytes: number;
  pollIntervalMs: number;
  /** Upload by signed PUT (RGW pushes its event at once): ms from the 2xx to PROCESSED seen. */
  put: Distribution;
  /**
   * Upload by presigned POST: this RadosGW (Ceph 16) sends no notification for POST uploads, so
   * locally their events come from its ops log (local/post-events.ts).
   */
  post: Distribution;
  /** post.p50 / put.p50; the goal is at most POST_TO_PUT_GOAL. */
  postToPutRatio: number;
  irreducible: IrreducibleWork;
  /** put.p50 / irreducible.totalMs */
  ratio: number;
  uploadIds: string[];
  lost: number;
  /** The PUT samples' instants, to split their latency with the executions' histories. */
  samples: Array<{ uploadId: string; uploadedAtEpochMs: number; seenAtEpochMs: number }>;
  /** The same for the POST samples. */
  postSamples: LatencyResult['samples'];
  /** Where a PUT sample's time goes (medians, ms); filled in once the histories are read. */
  breakdown?: LatencyBreakdown;
  /** The samples' outcome events (absent when attached to a runtime without the bench consumer). */
  webhook?: WebhookLatency;
}

export interface WebhookLatency {
  /**
   * Every PROCESSED sample (PUT and POST): ms from the transition recorded (the record's
   * updatedAt, the PROCESSED event's time in the trail) to the verified webhook received.
   */
  recordedToReceived: Distribution;
  /** recordedToReceived.p50 / put.p50: the push's share of what a poller waits for. */
  ratioToEndToEnd: number;
  /** PROCESSED samples whose event never came within the wait (should be 0). */
  missing: number;
  /** Deliveries that failed standardwebhooks verification (should be 0). */
  unverified: number;
}

export interface LatencyBreakdown {
  /** Upload 2xx → execution started: RadosGW's notification, the router, the durable record. */
  eventToExecutionMs: number;
  /** Execution started → RecordProcessed done: Claim, Validate, Promote, Record. */
  executionToProcessedMs: number;
  /** → the poll that saw PROCESSED (half the interval on average, plus the request). */
  processedToSeenMs: number;
  samples: number;
}

/** Splits each PUT sample's latency at its execution's start and its RecordProcessed exit. */
export function latencyBreakdown(
  samples: LatencyResult['samples'],
  histories: ExecutionHistory[],
): LatencyBreakdown {
  const parts = { event: [] as number[], execution: [] as number[], seen: [] as number[] };
  for (const sample of samples) {
    const history = histories.find(
      (candidate) =>
        candidate.uploadId === sample.uploadId &&
        candidate.events.some((event) => event.state?.name === 'RecordProcessed'),
    );
    const started = history?.events.find((event) => event.type === 'ExecutionStarted')?.timestamp;
    const recorded = history?.events.find(
      (event) => event.type === 'StateExited' && event.state?.name === 'RecordProcessed',
    )?.timestamp;
    if (started === undefined || recorded === undefined) continue;
    parts.event.push(started - sample.uploadedAtEpochMs);
    parts.execution.push(recorded - started);
    parts.seen.push(sample.seenAtEpochMs - recorded);
  }
  return {
    eventToExecutionMs: round(median(parts.event), 1),
    executionToProcessedMs: round(median(parts.execution), 1),
    processedToSeenMs: round(median(parts.seen), 1),
    samples: parts.event.length,
  };
}

/** S3 calls on one 100 KiB object and the pipeline's DynamoDB writes, each timed. */
async function irreducibleSample(
  runtime: BenchRuntime,
  s3: ReturnType<typeof s3ClientFor>,
  store: UploadStore,
  bytes: Buffer,
  prefix: string,
): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  const timed = async <T>(name: string, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await call();
    times[name] = performance.now() - started;
    return result;
  };
  const id = newUploadId();
  const key = `${prefix}irreducible-${id}`;
  const put = await timed('s3 PUT', () =>
    s3.send(new PutObjectCommand({ Bucket: runtime.bucket, Key: key, Body: bytes, ContentType: 'text/csv' })),
  );
  const versionId = put.VersionId ?? 'null';
  await timed('s3 HEAD', () => s3.send(new HeadObjectCommand({ Bucket: runtime.bucket, Key: key })));
  await timed('s3 GET', async () => {
    const out = await s3.send(
      new GetObjectCommand({ Bucket: runtime.bucket, Key: key, VersionId: versionId }),
    );
    for await (const chunk of out.Body as AsyncIterable<Uint8Array>) void chunk;
  });
  const copy = await timed('s3 COPY', () =>
    s3.send(
      new CopyObjectCommand({
        Bucket: runtime.bucket,
        Key: `${key}.copy`,
        CopySource: `${runtime.bucket}/${key}?versionId=${encodeURIComponent(versionId)}`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/csv',
        Metadata: { 'upload-id': id, 'source-version-id': versionId },
      }),
    ),
  );
  await timed('s3 DELETE', () =>
    s3.send(new DeleteObjectCommand({ Bucket: runtime.bucket, Key: key, VersionId: versionId })),
  );
  await s3.send(
    new DeleteObjectCommand({ Bucket: runtime.bucket, Key: `${key}.copy`, VersionId: copy.VersionId }),
  );

  // The requests Claim and RecordProcessed make (functions/claim.ts, record-outcome.ts) through
  // the same UploadStore: each status change and its audit event are one UpdateItem, after a
  // consistent read of the record. Creating the record is issuance, before the upload: not timed.
  const created = new Date().toISOString();
  const pending = await store.createPending(
    {
      uploadId: id,
      owner: 'bench',
      status: 'PENDING_UPLOAD',
      fileName: 'bench.csv',
      contentType: 'text/csv',
      size: bytes.length,
      method: 'PUT',
      createdAt: created,
      updatedAt: created,
      expiresAt: created,
    },
    issuedEvent(id, 'bench', created),
    Math.ceil(Date.now() / 1000) + 86_400,
  );
  if (pending === undefined) throw new Error(`A record ${id} exists already.`);
  const executionId = `arn:aws:states:us-east-1:000000000000:execution:bench:${id}`;
  const claim = claimEvent({
    uploadId: id,
    at: nextEventTime(new Date(), pending.trailHead),
    from: 'PENDING_UPLOAD',
    action: 'CLAIMED',
    versionId,
    executionId,
  });
  const claimed = await timed('ddb claim GetItem + UpdateItem', async () =>
    store.claim({
      record: (await store.get(id)) ?? pending,
      from: 'PENDING_UPLOAD',
      versionId,
      executionId,
      event: claim,
    }),
  );
  if (!claimed.written) throw new Error('The benchmark claim was not written.');
  await timed('ddb outcome GetItem + UpdateItem', async () => {
    const record = (await store.get(id)) ?? claimed.record;
    return store.recordOutcome({
      record,
      outcome: 'PROCESSED',
      guard: outcomeGuard('PROCESSED', executionId),
      event: outcomeEvent({
        record,
        outcome: 'PROCESSED',
        at: nextEventTime(new Date(), record.trailHead),
        executionId,
      }),
      facts: { size: bytes.length, sha256: 'a'.repeat(64), detectedType: 'text/csv' },
      storedKey: `clean/${id}`,
    });
  });
  return times;
}

export const BENCH_TABLE = 'airlock-bench';
/** A PUT processed later than this was found by the reconciler, not pushed as an event. */
const RECONCILER_PICKUP_MS = 1000;
const EVENTS_WAIT_MS = 45_000;
/** How long the samples' webhooks may still be on their way once the last sample is seen. */
const WEBHOOK_WAIT_MS = 30_000;

/** Waits for each PROCESSED sample's event at the consumer, then times record → received. */
async function webhookLatency(
  consumer: BenchWebhookConsumer,
  samples: Outcome[],
  endToEndP50: number,
): Promise<WebhookLatency> {
  const processed = samples.filter((outcome) => outcome.status === 'PROCESSED');
  const eventOf = (uploadId: string) =>
    [...consumer.received.values()].find(
      (event) => event.uploadId === uploadId && event.status === 'PROCESSED',
    );
  const deadline = performance.now() + WEBHOOK_WAIT_MS;
  while (processed.some((outcome) => eventOf(outcome.uploadId) === undefined) && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  const delays: number[] = [];
  for (const outcome of processed) {
    const event = eventOf(outcome.uploadId);
    if (event !== undefined) delays.push(event.receivedAtEpochMs - outcome.recordedAtEpochMs);
  }
  const recordedToReceived = roundDistribution(distribution(delays));
  return {
    recordedToReceived,
    ratioToEndToEnd: round(recordedToReceived.p50 / endToEndP50, 2),
    missing: processed.length - delays.length,
    unverified: consumer.unverified,
  };
}

export async function runLatencyBenchmark(
  runtime: BenchRuntime,
  options: { putSamples: number; postSamples: number; prefix: string; timeoutMs: number },
  log: (message: string) => void,
): Promise<LatencyResult> {
  const client = await BenchClient.create(runtime, 'bench-latency');
  const document = csvDocument();
  const s3 = s3ClientFor(runtime);
  const dynamo = dynamoClientFor(runtime);
  await ensureTable(dynamo, BENCH_TABLE);
  const store = new UploadStore(BENCH_TABLE, dynamo);
  const poll = { intervalMs: POLL_INTERVAL_MS, timeoutMs: options.timeoutMs };
  const outcomes: { put: Outcome[]; post: Outcome[] } = { put: [], post: [] };
  const irreducible: Array<Record<string, number>> = [];
  try {
    // Warm-up: connections, JIT, the handlers' lazily built clients. Not counted. A RadosGW
    // that has just created its notification topic pushes nothing until its next scan of the
    // topic queues (every 30 s, Ceph's rgw_notify.cc): until then the reconciler finds PUT
    // uploads too, about 1.5 s late. Wait for pushed events before measuring.
    const pushedBy = performance.now() + EVENTS_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      const warm = await client.process(document, 'PUT', poll);
      if (warm.seenAt - warm.uploadedAt < RECONCILER_PICKUP_MS || performance.now() > pushedBy) break;
      if (attempt === 0) {
        log(
          'latency: RadosGW is not pushing events yet (it takes a new topic at its next 30 s scan); waiting…',
        );
      }
    }
    await client.process(document, 'POST', poll); // its own warm-up: the form, the ops log source
    await irreducibleSample(runtime, s3, store, document.bytes, options.prefix);
    for (let i = 0; i < Math.max(options.putSamples, options.postSamples); i++) {
      // Interleaved, so that PUT, POST and the irreducible work all see the same machine.
      if (i < options.putSamples) {
        outcomes.put.push(await client.process(document, 'PUT', poll));
        irreducible.push(await irreducibleSample(runtime, s3, store, document.bytes, options.prefix));
      }
      if (i < options.postSamples) outcomes.post.push(await client.process(document, 'POST', poll));
    }
  } finally {
    await dynamo.send(new DeleteTableCommand({ TableName: BENCH_TABLE })).catch(() => undefined);
  }
  const processed = (list: Outcome[]) =>
    list
      .filter((outcome) => outcome.status === 'PROCESSED')
      .map((outcome) => outcome.seenAt - outcome.uploadedAt);
  const lost = [...outcomes.put, ...outcomes.post].filter((outcome) => outcome.status !== 'PROCESSED').length;
  const names = Object.keys(irreducible[0] ?? {});
  const components = Object.fromEntries(
    names.map((name) => [name, round(median(irreducible.map((sample) => sample[name] ?? 0)), 2)]),
  );
  const totalMs = round(sum(Object.values(components)), 2);
  const put = roundDistribution(distribution(processed(outcomes.put)));
  const post = roundDistribution(distribution(processed(outcomes.post)));
  log(`latency: PUT p50 ${put.p50} ms, POST p50 ${post.p50} ms, irreducible ${totalMs} ms`);
  const webhook = runtime.webhooks
    ? await webhookLatency(runtime.webhooks, [...outcomes.put, ...outcomes.post], put.p50)
    : undefined;
  if (webhook) {
    log(
      `latency: PROCESSED recorded → webhook received p50 ${webhook.recordedToReceived.p50} ms, ` +
        `p95 ${webhook.recordedToReceived.p95} ms (${webhook.ratioToEndToEnd}× PUT p50; missing ${webhook.missing})`,
    );
  }
  return {
    fileBytes: DOCUMENT_BYTES,
    pollIntervalMs: POLL_INTERVAL_MS,
    put,
    post,
    irreducible: { components, totalMs, samples: irreducible.length },
    ratio: round(put.p50 / totalMs, 2),
    postToPutRatio: round(post.p50 / put.p50, 2),
    uploadIds: [...outcomes.put, ...outcomes.post].map((outcome) => outcome.uploadId),
    samples: outcomes.put.map(instants),
    postSamples: outcomes.post.map(instants),
    lost,
    ...(webhook ? { webhook } : {}),
  };
}

const instants = (outcome: Outcome): LatencyResult['samples'][number] => ({
  uploadId: outcome.uploadId,
  uploadedAtEpochMs: round(outcome.uploadedAtEpochMs, 1),
  seenAtEpochMs: round(performance.timeOrigin + outcome.seenAt, 1),
});

export function roundDistribution(value: Distribution): Distribution {
  return {
    n: value.n,
    p50: round(value.p50, 1),
    p95: round(value.p95, 1),
    p99: round(value.p99, 1),
    min: round(value.min, 1),
    max: round(value.max, 1),
  };
}
