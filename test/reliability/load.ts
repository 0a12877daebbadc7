import { runPart, type PartResult, type RuntimeTarget, type SuiteOptions } from './part.js';
import { drain, makeJobs, runClients, verifyUploads, type SentJob } from './workload.js';

export interface LoadOptions extends SuiteOptions {
  uploads: number;
  clients: number;
  /** Uploads the suite has sent, for the audit-completeness part at the end. */
  record: (sent: SentJob[]) => void;
}

/**
 * Load: many clients at once, each creating uploads and sending the bytes as a browser would,
 * mixing valid files of every type, spoofed ones and oversize attempts. Then every upload must
 * reach its right terminal status: 0 lost, 0 stuck, 0 promoted twice, 0 wrong outcomes.
 */
export function runLoad(target: RuntimeTarget, options: LoadOptions): Promise<PartResult> {
  return runPart(
    'load',
    `${options.uploads} uploads from ${options.clients} concurrent clients`,
    async (failures) => {
      const jobs = makeJobs(options.uploads, { label: 'load' });
      const sent = await runClients(target, jobs, options.clients, {
        label: 'load',
        deadlineMs: 15 * 60_000,
      });
      const sentAt = Date.now();
      options.log(
        `load: ${sent.sent.length} uploads sent in ${((sentAt - sent.startedAt) / 1000).toFixed(1)} s; draining…`,
      );
      for (const { job, error } of sent.unsent) failures.push(`not sent (${job.kind}): ${error}`);
      options.record(sent.sent);
      const drained = await drain(
        target,
        sent.sent.map((job) => job.uploadId),
        { deadlineMs: 10 * 60_000 },
      );
      const verdicts = await verifyUploads(target, sent.sent, failures);
      return {
        uploads: jobs.length,
        clients: options.clients,
        valid: jobs.filter((job) => job.kind === 'valid').length,
        spoofed: jobs.filter((job) => job.kind === 'spoofed').length,
        oversize: jobs.filter((job) => job.kind === 'oversize').length,
        processed: verdicts.byStatus.PROCESSED ?? 0,
        rejected: verdicts.byStatus.REJECTED ?? 0,
        expired: verdicts.byStatus.EXPIRED ?? 0,
        lost: verdicts.lost + sent.unsent.length,
        stuck: verdicts.stuck + drained.stuck.length,
        promotedTwice: verdicts.promotedTwice,
        wrongOutcomes: verdicts.wrongOutcome + verdicts.wrongVersion,
        readableThatShouldNot: verdicts.readableThatShouldNot,
        sendSeconds: round((sentAt - sent.startedAt) / 1000),
        drainSeconds: round(drained.drainMs / 1000),
        // Oversize uploads can only end when their grant expires; the drain includes that wait.
        uploadsPerSecond: round(jobs.length / ((sentAt - sent.startedAt) / 1000)),
      };
    },
  );
}

const round = (value: number) => Math.round(value * 10) / 10;
