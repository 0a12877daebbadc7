import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DIGEST_VERDICTS,
  verifyDigestChain,
  type DigestChainReport,
  type DigestEntry,
  type DigestReport,
  type DigestVerdict,
} from '../functions/domain/audit-digest.js';
import { createInterface } from 'node:readline';
import {
  TRAIL_VERDICTS,
  verifyTrail,
  type TrailReport,
  type TrailVerdict,
} from '../functions/domain/audit-chain.js';
import { EXIT, UsageError, emit, mapConcurrent, type Context } from './context.js';

/** Where the trails come from: an export file (offline) or the API (online). */
/** Digests to check the trails against: a directory of digest files and the public key (PEM). */
export interface DigestSource {
  dir: string;
  publicKeyPath: string;
}

export type VerifySource =
  | { kind: 'export'; path: string; digests?: DigestSource; at?: Date }
  | { kind: 'api'; from: string; to: string; owner?: string };

/** Beside downloaded digests: each key's versions and delete marker as stored (`airlock audit digests`). */
export const DIGEST_INDEX_FILE = 'digests.index';

/** A line of the export that is not an upload with a trail. */
export interface UnreadableLine {
  line: number;
  problem: string;
}

/** What `airlock audit verify` found: the summary an auditor attaches to a report. */
export interface VerificationSummary {
  format: 'airlock-audit-verification/1';
  verifiedAt: string;
  source:
    | { kind: 'export'; path: string; sha256: string; lines: number }
    | { kind: 'api'; url: string; from: string; to: string; owner?: string };
  uploads: number;
  events: number;
  verdicts: Record<TrailVerdict, number>;
  /** Every trail that did not verify, with its first broken link. */
  problems: TrailReport[];
  unreadableLines: UnreadableLine[];
  /**
   * Trails a digest names that are gone after the retention that digest gave them (abandoned
   * uploads the table's TTL may delete): expected, not tampering.
   */
  retentionEnded: number;
  /** When digests were given: each one's verdict, and whether the chain holds. */
  digests?: {
    files: number;
    verdicts: Record<DigestVerdict, number>;
    chainIntact: boolean;
    problems: DigestReport[];
  };
  result: 'VERIFIED' | 'FAILED';
}

const EVENTS_CONCURRENCY = 8;
const PAGE_SIZE = 100;
const MAX_LISTED_UNREADABLE = 100;

/**
 * `airlock audit verify`: checks every trail's hash chain, offline from an NDJSON export or
 * online through the API, and prints a summary. Exit 0 when everything verified, 1 when any
 * trail (or line) did not.
 */
export async function auditVerifyCommand(
  ctx: Context,
  source: VerifySource,
  now = new Date(),
): Promise<number> {
  const digests =
    source.kind === 'export'
      ? source.digests
        ? await readDigests(source.digests, source.at ?? now)
        : undefined
      : await fetchDigests(ctx, now);
  // A trail a digest names and the source lacks is deleted: only when the source is every trail.
  const whole = source.kind === 'export' || (source.from <= FIRST_INSTANT && source.owner === undefined);
  const tally = new Tally(digests?.anchors, whole);
  let summarySource: VerificationSummary['source'];
  if (source.kind === 'export') {
    const read = await readExport(source.path, tally);
    summarySource = { kind: 'export', path: source.path, ...read };
  } else {
    for await (const page of ctx.client.auditUploads({
      from: source.from,
      to: source.to,
      limit: PAGE_SIZE,
    })) {
      const trails = await mapConcurrent(page.items, EVENTS_CONCURRENCY, (upload) =>
        ctx.client.getEvents(upload.uploadId),
      );
      page.items.forEach((upload, index) => tally.trail(upload.uploadId, trails[index] ?? []));
    }
    const { kind: _kind, ...window } = source;
    summarySource = { kind: 'api', url: ctx.apiUrl, ...window };
  }
  // Offline, `--at` is the time the export was taken: retention and the digests' tail count from it.
  const asOf = source.kind === 'export' ? (source.at ?? now) : now;
  const summary = tally.summary(summarySource, now, digests, asOf);
  await emit(ctx.stdout, ctx.json ? `${JSON.stringify(summary, null, 2)}\n` : renderSummary(summary));
  return summary.result === 'VERIFIED' ? EXIT.OK : EXIT.NOT_PROCESSED;
}

class Tally {
  private uploads = 0;
  private events = 0;
  private readonly verdicts = Object.fromEntries(TRAIL_VERDICTS.map((verdict) => [verdict, 0])) as Record<
    TrailVerdict,
    number
  >;
  private readonly problems: TrailReport[] = [];
  private readonly unreadable: UnreadableLine[] = [];
  private unreadableCount = 0;
  private readonly seen = new Set<string>();
  private retentionEnded = 0;

  /** `anchors`: the head each upload had in its latest verified digest. */
  constructor(
    private readonly anchors?: ReadonlyMap<string, DigestEntry>,
    private readonly wholeSource = true,
  ) {}

  /** A trail as the API shows it: its events without their upload id, which the hash covers. */
  trail(uploadId: string, events: readonly unknown[]): void {
    const stored = events.map((event) =>
      typeof event === 'object' && event !== null ? { ...event, uploadId } : event,
    );
    this.seen.add(uploadId);
    this.count(verifyTrail(uploadId, stored, this.anchors?.get(uploadId)), events.length);
  }

  private count(report: TrailReport, events: number): void {
    this.uploads++;
    this.events += events;
    this.verdicts[report.verdict]++;
    if (report.verdict !== 'verified') this.problems.push(report);
  }

  unreadableLine(line: number, problem: string): void {
    this.unreadableCount++;
    if (this.unreadable.length < MAX_LISTED_UNREADABLE) this.unreadable.push({ line, problem });
  }

  summary(
    source: VerificationSummary['source'],
    now: Date,
    digests?: DigestChainReport & { files: number },
    asOf: Date = now,
  ): VerificationSummary {
    // A trail a digest names that the export does not hold: deleted whole.
    for (const [uploadId, anchor] of this.wholeSource ? (this.anchors ?? []) : []) {
      if (this.seen.has(uploadId)) continue;
      if (anchor.retainUntil !== undefined && anchor.retainUntil <= asOf.toISOString()) this.retentionEnded++;
      else this.count(verifyTrail(uploadId, [], anchor), 0);
    }
    const failed = this.problems.length > 0 || this.unreadableCount > 0 || digests?.chainIntact === false;
    return {
      format: 'airlock-audit-verification/1',
      verifiedAt: now.toISOString(),
      source,
      uploads: this.uploads,
      events: this.events,
      verdicts: { ...this.verdicts },
      problems: [...this.problems],
      unreadableLines: [...this.unreadable],
      retentionEnded: this.retentionEnded,
      ...(digests ? { digests: digestSummary(digests) } : {}),
      result: failed ? 'FAILED' : 'VERIFIED',
    };
  }
}

function digestSummary(
  report: DigestChainReport & { files: number },
): NonNullable<VerificationSummary['digests']> {
  const verdicts = Object.fromEntries(DIGEST_VERDICTS.map((verdict) => [verdict, 0])) as Record<
    DigestVerdict,
    number
  >;
  for (const digest of report.digests) verdicts[digest.verdict]++;
  return {
    files: report.files,
    verdicts,
    chainIntact: report.chainIntact,
    problems: report.digests.filter((digest) => digest.verdict !== 'verified'),
  };
}

const FIRST_INSTANT = new Date(0).toISOString();

/** A digest key as stored: overwritten (several versions; the first is read) or deleted. */
export function storedProblem(stored: { versions: number; deleted: boolean }): string | undefined {
  if (stored.deleted) return 'deleted (a delete marker hides it)';
  if (stored.versions > 1)
    return `overwritten: its key has ${stored.versions} versions (the first is checked)`;
  return undefined;
}

/** Online: the digests and the public key through the API (auditors). */
async function fetchDigests(ctx: Context, at: Date): Promise<DigestChainReport & { files: number }> {
  const { publicKeyPem } = await ctx.client.auditPublicKey();
  const read: Array<{ name: string; content: unknown; problem?: string }> = [];
  for await (const page of ctx.client.auditDigests({ limit: PAGE_SIZE })) {
    for (const item of page.items) {
      const problem = storedProblem(item);
      // A deleted digest is left out: the chain then shows it missing.
      if (item.deleted) continue;
      read.push({ name: item.name, content: item.digest, ...(problem ? { problem } : {}) });
    }
  }
  return { ...verifyDigestChain(read, publicKeyPem, { at }), files: read.length };
}

/** Every `*.json` of the digest directory, checked against the public key. */
async function readDigests(source: DigestSource, at: Date): Promise<DigestChainReport & { files: number }> {
  const publicKey = await readOrRefuse(source.publicKeyPath, 'the public key');
  const names = (await listOrRefuse(source.dir)).filter((name) => name.endsWith('.json')).sort();
  const stored = await readIndex(source.dir);
  const read = await Promise.all(
    names.map(async (name) => {
      const text = await readOrRefuse(join(source.dir, name), 'a digest');
      const problem = stored.get(name);
      try {
        return { name, content: JSON.parse(text) as unknown, ...(problem ? { problem } : {}) };
      } catch {
        return { name, content: undefined };
      }
    }),
  );
  try {
    return { ...verifyDigestChain(read, publicKey, { at }), files: names.length };
  } catch {
    throw new UsageError(`${source.publicKeyPath} is not a PEM public key`, { hint: false });
  }
}

/** The problems `airlock audit digests` found where the digests are stored, by file name. */
async function readIndex(dir: string): Promise<Map<string, string>> {
  const problems = new Map<string, string>();
  let text: string;
  try {
    text = await readFile(join(dir, DIGEST_INDEX_FILE), 'utf8');
  } catch {
    return problems; // digests gathered some other way: their content is all there is
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const entry = JSON.parse(line) as { name: string; versions: number; deleted: boolean };
    const problem = storedProblem(entry);
    if (problem !== undefined) problems.set(entry.name, problem);
  }
  return problems;
}

async function readOrRefuse(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        hint: false,
      },
    );
  }
}

async function listOrRefuse(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    throw new UsageError(
      `cannot read the digest directory ${dir} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        hint: false,
      },
    );
  }
}

/** Reads an NDJSON export line by line (constant memory), hashing the file as it goes. */
async function readExport(path: string, tally: Tally): Promise<{ sha256: string; lines: number }> {
  const hash = createHash('sha256');
  const stream = createReadStream(path);
  stream.on('data', (chunk) => hash.update(chunk));
  let lines = 0;
  try {
    for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
      lines++;
      if (text.trim() === '') continue;
      let upload: unknown;
      try {
        upload = JSON.parse(text);
      } catch {
        tally.unreadableLine(lines, 'not JSON');
        continue;
      }
      const { uploadId, events } = (upload ?? {}) as { uploadId?: unknown; events?: unknown };
      if (typeof uploadId !== 'string' || !Array.isArray(events)) {
        tally.unreadableLine(lines, 'not an upload with "uploadId" and "events"');
        continue;
      }
      tally.trail(uploadId, events);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
      throw new UsageError(`cannot read the export ${path} (${code})`, { hint: false });
    }
    throw error;
  }
  return { sha256: hash.digest('hex'), lines };
}

/** The summary as text: what was checked, the tally, then each trail that did not verify. */
export function renderSummary(summary: VerificationSummary): string {
  const source =
    summary.source.kind === 'export'
      ? `export ${summary.source.path} (${summary.source.lines} lines, sha256 ${summary.source.sha256})`
      : `API ${summary.source.url}, uploads${summary.source.owner !== undefined ? ` of ${summary.source.owner}` : ''} last changed from ${summary.source.from} to ${summary.source.to}`;
  const out = [
    'Airlock audit trail verification',
    `verified at: ${summary.verifiedAt}`,
    `source:      ${source}`,
    `uploads:     ${summary.uploads}`,
    `events:      ${summary.events}`,
    `trails:      ${TRAIL_VERDICTS.map((verdict) => `${verdict} ${summary.verdicts[verdict]}`).join(', ')}`,
  ];
  if (summary.retentionEnded > 0) {
    out.push(
      `retention:   ${summary.retentionEnded} abandoned trail(s) gone after the retention their digest gave`,
    );
  }
  if (summary.problems.length > 0) out.push('', 'trails that did not verify (first broken link):');
  for (const problem of summary.problems) {
    const link = problem.firstBrokenLink;
    out.push(
      `  ${problem.uploadId}  ${problem.verdict.toUpperCase()}  at seq ${link?.seq ?? '?'}: ${link?.problem ?? ''}`,
    );
  }
  if (summary.digests !== undefined) {
    const { files, verdicts, chainIntact } = summary.digests;
    out.push(
      '',
      `digests:     ${files} files; ${DIGEST_VERDICTS.map((verdict) => `${verdict} ${verdicts[verdict]}`).join(', ')}; chain ${chainIntact ? 'intact' : 'BROKEN'}`,
    );
    for (const digest of summary.digests.problems) {
      out.push(
        `  digest ${digest.number} ${digest.name}  ${digest.verdict.toUpperCase()}: ${digest.problem ?? ''}`,
      );
    }
  }
  if (summary.unreadableLines.length > 0) out.push('', 'lines that are not an upload with its trail:');
  for (const line of summary.unreadableLines) out.push(`  line ${line.line}: ${line.problem}`);
  out.push('', `result: ${summary.result}`);
  return `${out.join('\n')}\n`;
}
