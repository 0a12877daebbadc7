import type { AuditEvent, UploadView } from '../client/index.js';
import { emit, type Context } from './context.js';
import { cell } from './format.js';

const TERMINAL_ACTIONS = new Set(['PROCESSED', 'REJECTED', 'FAILED', 'EXPIRED', 'QUARANTINED']);
/** Uploads looked at per poll: the caller's most recent ones. */
const RECENT = 100;
/** An auditor's window reaches this far back before the previous poll (clocks, slow writers). */
const AUDIT_OVERLAP_MS = 60_000;

export interface FollowOptions {
  /** Every owner's uploads (auditors), not only the caller's. */
  all: boolean;
  intervalMs: number;
  /** Stop after this many polls (tests); forever by default. */
  polls?: number;
  signal?: AbortSignal;
}

/** One outcome as `events --follow` prints it: the outcome event's id, type and facts. */
export interface FollowedOutcome {
  id: string;
  type: string;
  time: string;
  uploadId: string;
  owner?: string;
  status: string;
  reasons: string[];
}

/**
 * `airlock events --follow`: prints each terminal transition as it is recorded, with the outcome
 * event's id (`evt_<uploadId>_<sequence>`, the id webhooks and EventBridge carry), until
 * interrupted. It polls the API with the caller's own credentials: the caller's most recent
 * uploads, or, for auditors with --all, every upload changed since the previous poll. Outcomes
 * recorded before it started are not printed; each transition is printed once.
 */
export async function followCommand(ctx: Context, options: FollowOptions): Promise<number> {
  const printed = new Set<string>();
  let since = new Date(Date.now() - AUDIT_OVERLAP_MS).toISOString();
  let baseline = true;
  for (let poll = 0; options.polls === undefined || poll < options.polls; poll++) {
    if (options.signal?.aborted) break;
    const pollStarted = new Date();
    const changed = options.all ? await changedForAuditor(ctx, since) : await recentOwn(ctx);
    for (const view of changed) {
      if (!TERMINAL_ACTIONS.has(view.status)) continue;
      const outcomes = outcomesOf(view, await ctx.client.getEvents(view.uploadId));
      for (const outcome of outcomes) {
        if (printed.has(outcome.id)) continue;
        printed.add(outcome.id);
        if (!baseline) await emit(ctx.stdout, render(ctx, outcome));
      }
    }
    baseline = false;
    since = new Date(pollStarted.getTime() - AUDIT_OVERLAP_MS).toISOString();
    if (options.polls !== undefined && poll + 1 >= options.polls) break;
    await pause(options.intervalMs, options.signal);
  }
  return 0;
}

async function recentOwn(ctx: Context): Promise<UploadView[]> {
  for await (const page of ctx.client.listUploads({ limit: RECENT })) return page.items;
  return [];
}

async function changedForAuditor(ctx: Context, since: string): Promise<UploadView[]> {
  const views: UploadView[] = [];
  for await (const page of ctx.client.auditUploads({ from: since, to: new Date().toISOString(), limit: 100 }))
    views.push(...page.items);
  return views;
}

/** The terminal transitions of a trail, numbered as the outcome events number them. */
export function outcomesOf(view: UploadView & { owner?: string }, trail: AuditEvent[]): FollowedOutcome[] {
  return trail.flatMap((event, index) => {
    if (!TERMINAL_ACTIONS.has(event.action) || event.to !== event.action) return [];
    const seq = (event as AuditEvent & { seq?: number }).seq ?? index + 1;
    return [
      {
        id: `evt_${view.uploadId}_${seq}`,
        type: `airlock.upload.${event.action.toLowerCase()}`,
        time: event.at,
        uploadId: view.uploadId,
        ...(view.owner !== undefined ? { owner: view.owner } : {}),
        status: event.action,
        reasons: event.reasons.map((reason) => reason.code),
      },
    ];
  });
}

function render(ctx: Context, outcome: FollowedOutcome): string {
  if (ctx.json) return `${JSON.stringify(outcome)}\n`;
  const fields = [outcome.time, outcome.status, outcome.uploadId, outcome.owner ?? '', outcome.id];
  return `${[...fields, outcome.reasons.join(';')].map((value) => cell(value)).join('  ')}\n`;
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
