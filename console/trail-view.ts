/**
 * How the console words what it shows of a trail: each event in one line, a scan verdict, and the
 * trail's verdict (client/audit-chain.ts) with its first broken link marked.
 */
import type { ChainReport, ChainVerdict } from '../client/audit-chain.js';
import type { AuditEvent, UploadView } from './api.js';

/** The scan verdict in one line: what the engine said, which engine and database, when, and the threats (auditors). */
export function scanText(scan: UploadView['scan']): string | undefined {
  if (scan === undefined) return undefined;
  if (scan.status === 'SKIPPED') return 'Malware scan: skipped (scanning is turned off in this deployment).';
  const verdict = {
    NO_THREATS_FOUND: 'no threat found',
    THREATS_FOUND: 'threat found',
    NOT_FULLY_SCANNED: 'could not scan all of it',
  }[scan.status];
  const engine = scan.engine ? ` by ${scan.engine.name} ${scan.engine.version}` : '';
  const database = scan.database
    ? `, signatures ${scan.database.name} ${scan.database.version}${scan.database.publishedAt ? ` of ${scan.database.publishedAt.slice(0, 10)}` : ''}`
    : '';
  const when = scan.scannedAt ? `, ${new Date(scan.scannedAt).toLocaleString()}` : '';
  const threats = scan.threats && scan.threats.length > 0 ? ` — ${scan.threats.join(', ')}` : '';
  return `Malware scan: ${verdict}${engine}${database}${when}${threats}.`;
}

/**
 * The trail's events as list items, oldest first; the event at the first broken link, if any, is
 * highlighted and says what is wrong there.
 */
export function trailItems(events: readonly AuditEvent[], report: ChainReport): HTMLLIElement[] {
  const broken = report.firstBrokenLink;
  return events.map((event, position) => {
    const item = document.createElement('li');
    item.dataset.seq = String(event.seq);
    item.textContent = trailLine(event);
    if (broken?.position === position) {
      item.classList.add('broken-link');
      const problem = document.createElement('strong');
      problem.textContent = ` First broken link (event ${broken.seq} expected here): ${broken.problem}`;
      item.append(problem);
    }
    return item;
  });
}

/** The trail's verdict in words, on `element` (data-verdict holds it as a word). */
export function markVerdict(element: HTMLElement, report: ChainReport): void {
  element.dataset.verdict = report.verdict;
  element.className = `verdict ${report.verdict === 'verified' ? 'verified' : 'broken'}`;
  element.textContent = verdictText(report);
}

/** One event of a trail, read defensively: a tampered event may lack any field or hold any value. */
function trailLine(event: AuditEvent): string {
  try {
    const shown = event as Partial<AuditEvent>;
    const reasons = Array.isArray(shown.reasons)
      ? shown.reasons.map((reason) => reason?.code).join(', ')
      : '';
    const scan = shown.scan ? ` ${scanText(shown.scan)}` : '';
    const actor = shown.actor ? `${shown.actor.type}:${shown.actor.id}` : '?';
    return `#${String(shown.seq)} ${String(shown.at)} ${actor} ${String(shown.action)} ${shown.from ?? '∅'} → ${shown.to ?? '∅'}${reasons ? ` (${reasons})` : ''}${scan}`;
  } catch {
    return JSON.stringify(event);
  }
}

const VERDICT_WORDS: Record<Exclude<ChainVerdict, 'verified'>, string> = {
  modified: 'an event was changed',
  deleted: 'events are missing',
  inserted: 'an event was inserted',
  reordered: 'events are out of order',
};

function verdictText(report: ChainReport): string {
  if (report.verdict === 'verified') {
    return `Verified: every event (${report.events}) matches its hash and follows the one before.`;
  }
  const link = report.firstBrokenLink;
  const where = link && link.position < report.events ? ` First broken link: event ${link.seq}.` : '';
  return `Not verified (${report.verdict}): ${VERDICT_WORDS[report.verdict]}.${where} ${link?.problem ?? ''}`.trim();
}
