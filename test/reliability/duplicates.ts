import { mapLimit } from './probes.js';
import { runPart, type PartResult, type RuntimeTarget, type SuiteOptions } from './part.js';
import { backends, drain, makeJobs, runClients, sendBytes, verifyUploads, type SentJob } from './workload.js';

export interface DuplicatesOptions extends SuiteOptions {
  uploads: number;
  record: (sent: SentJob[]) => void;
}

/** One RadosGW notification in the S3 record format it POSTs to the push endpoint. */
function rgwRecord(bucket: string, object: { key: string; size: number; versionId: string }) {
  return {
    eventVersion: '2.2',
    eventSource: 'ceph:s3',
    eventName: 'ObjectCreated:Put',
    eventTime: new Date().toISOString(),
    s3: { bucket: { name: bucket }, object: { ...object, eTag: 'replayed', sequencer: '0' } },
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other] as T, items[index] as T];
  }
  return items;
}

/**
 * Duplicates and ordering: every upload's event replayed 2–3 more times, shuffled across
 * uploads, while the pipeline processes them; and, for a third of them, a second version PUT to
 * the same key while the first is being processed. One promotion per upload, the first version
 * promoted, and a terminal status never overwritten (replays after the end change nothing).
 */
export function runDuplicates(target: RuntimeTarget, options: DuplicatesOptions): Promise<PartResult> {
  return runPart(
    'duplicates',
    'every event replayed 2–3×, shuffled; overwrites while processing',
    async (failures) => {
      const { store } = backends(target);
      const jobs = makeJobs(options.uploads, { method: 'PUT', label: 'dup' }).filter(
        (job) => job.kind !== 'oversize',
      );
      const run = await runClients(target, jobs, 8, { label: 'dup', deadlineMs: 5 * 60_000 });
      for (const { job, error } of run.unsent) failures.push(`not sent (${job.kind}): ${error}`);
      const sent = run.sent.filter((job) => job.versionId !== undefined);
      if (sent.length !== run.sent.length) failures.push('S3 returned no x-amz-version-id for some PUTs');
      options.record(sent);

      const deliver = async (job: SentJob) => {
        const response = await fetch(`${target.routerUrl}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            Records: [
              rgwRecord(target.bucket, {
                key: `quarantine/${job.uploadId}`,
                size: job.bytes.length,
                versionId: job.versionId!,
              }),
            ],
          }),
        });
        await response.arrayBuffer();
        if (response.status !== 200) failures.push(`${job.uploadId}: replay refused with ${response.status}`);
      };
      // 2–3 replays of each event, all shuffled together, sent 8 at a time.
      const replays = shuffle(
        sent.flatMap((job, index) => Array.from({ length: 2 + (index % 2) }, () => job)),
      );
      // Overwrites: a second version of a third of the keys once the first is being processed.
      const overwritten = sent.filter((_, index) => index % 3 === 0);
      const overwrite = async (job: SentJob) => {
        for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
          const status = (await store.get(job.uploadId))?.status;
          if (status !== 'PENDING_UPLOAD') break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        // The grant is still valid: the same signed PUT, with other bytes of the declared size.
        const other = Buffer.alloc(job.bytes.length, 0x41);
        const second = await sendBytes(job.grant, other);
        if (second.status >= 300) failures.push(`${job.uploadId}: overwrite PUT → ${second.status}`);
      };
      await Promise.all([mapLimit(replays, 8, deliver), mapLimit(overwritten, 4, overwrite)]);

      const drained = await drain(
        target,
        sent.map((job) => job.uploadId),
        { deadlineMs: 5 * 60_000 },
      );
      for (const id of drained.stuck) failures.push(`${id}: stuck`);
      // After the end: replay everything once more; nothing may change.
      const before = await mapLimit(sent, 8, async (job) => ({
        record: await store.get(job.uploadId),
        trail: await store.listAudit(job.uploadId),
      }));
      await mapLimit(sent, 8, deliver);
      await drain(
        target,
        sent.map((job) => job.uploadId),
        { deadlineMs: 60_000 },
      );
      let overwrittenTerminal = 0;
      await mapLimit(sent, 8, async (job) => {
        const index = sent.indexOf(job);
        const after = await store.get(job.uploadId);
        const was = before[index]?.record;
        if (after?.status !== was?.status || after?.updatedAt !== was?.updatedAt) {
          overwrittenTerminal++;
          failures.push(
            `${job.uploadId}: terminal record changed by a late replay (${was?.status} → ${after?.status})`,
          );
        }
        const trail = await store.listAudit(job.uploadId);
        const changes = trail.filter((event) => event.action !== 'DISCARDED').length;
        const changesBefore = (before[index]?.trail ?? []).filter(
          (event) => event.action !== 'DISCARDED',
        ).length;
        if (changes !== changesBefore)
          failures.push(`${job.uploadId}: a late replay added a status change to the trail`);
      });
      // The first version is the one promoted (verifyUploads compares the clean/ bytes with job.bytes).
      const verdicts = await verifyUploads(target, sent, failures);
      const discarded = (
        await mapLimit(
          overwritten,
          8,
          async (job) => (await store.listAudit(job.uploadId)).filter((e) => e.action === 'DISCARDED').length,
        )
      ).reduce((sum, n) => sum + n, 0);
      if (discarded < overwritten.length)
        failures.push(`only ${discarded} DISCARDED events for ${overwritten.length} overwrites`);
      return {
        uploads: sent.length,
        replayedEvents: replays.length + sent.length,
        overwrites: overwritten.length,
        secondVersionsDiscarded: discarded,
        promotedTwice: verdicts.promotedTwice,
        wrongVersionPromoted: verdicts.wrongVersion,
        terminalOverwritten: overwrittenTerminal,
        wrongOutcomes: verdicts.wrongOutcome,
        lost: verdicts.lost,
      };
    },
  );
}
