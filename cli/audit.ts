import type { AuditEvent, AuditUploadView, UploadStatus } from '../client/index.js';
import { UsageError, emit, mapConcurrent, type Context } from './context.js';
import { auditCsvHeader, auditCsvRows } from '../client/audit-csv.js';

export type AuditFormat = 'csv' | 'ndjson';

export interface AuditExportOptions {
  from: string;
  to: string;
  status?: UploadStatus;
  owner?: string;
  format: AuditFormat;
}

/** Trails fetched at once within a page. */
const EVENTS_CONCURRENCY = 8;
const PAGE_SIZE = 100;

/**
 * `airlock audit export`: every upload whose last change falls within [from, to], each with
 * its full audit trail, streamed page by page (constant memory whatever the window).
 * CSV: one row per audit event. NDJSON: one line per upload, the upload view plus `events`.
 */
export async function auditExportCommand(ctx: Context, options: AuditExportOptions): Promise<number> {
  // The CSV header goes out with the first page, so a refusal (403) leaves stdout empty.
  let chunk = options.format === 'csv' ? auditCsvHeader() : '';
  for await (const page of ctx.client.auditUploads({
    from: options.from,
    to: options.to,
    limit: PAGE_SIZE,
    ...(options.status ? { status: options.status } : {}),
    ...(options.owner ? { owner: options.owner } : {}),
  })) {
    const trails = await mapConcurrent(page.items, EVENTS_CONCURRENCY, (upload) =>
      ctx.client.getEvents(upload.uploadId),
    );
    page.items.forEach((upload, index) => {
      chunk += render(options.format, upload, trails[index] ?? []);
    });
    await emit(ctx.stdout, chunk);
    chunk = '';
  }
  return 0;
}

function render(format: AuditFormat, upload: AuditUploadView, events: AuditEvent[]): string {
  return format === 'csv' ? auditCsvRows(upload, events) : `${JSON.stringify({ ...upload, events })}\n`;
}

/**
 * An instant for --from/--to: `now`, an ISO 8601 date (midnight UTC) or date-time. Returned as
 * a full ISO string so that the API gets one form.
 */
export function parseInstant(value: string, name: string, now: Date = new Date()): string {
  if (value === 'now') return now.toISOString();
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new UsageError(`--${name} must be an ISO 8601 date or date-time (or "now"), got "${value}"`);
  }
  return date.toISOString();
}
