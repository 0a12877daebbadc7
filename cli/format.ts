import type { AuditEvent, AuditUploadView, Reason, UploadView } from '../client/index.js';

/** Text output of the CLI: aligned tables, CSV (RFC 4180), sizes. Pure functions. */

/** Columns separated by two spaces, padded to the widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(displayWidth(title), ...rows.map((row) => displayWidth(row[column] ?? ''))),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell + ' '.repeat((widths[column] ?? 0) - displayWidth(cell)),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Characters, not UTF-16 units (close enough for aligning names with accents or emoji). */
const displayWidth = (text: string): number => [...text].length;

/** A cell safe for one line of a table: control characters shown as '?' , '-' when empty. */
export function cell(value: string | number | undefined | null): string {
  if (value === undefined || value === null || value === '') return '-';
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return String(value).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
}

/**
 * The malware scan's verdict as `name value` lines: the verdict, the engine, its signature
 * database (version, publication time) and when it judged; the threat names where the API gives
 * them (to auditors).
 */
export function scanLines(scan: UploadView['scan']): Array<[string, string]> {
  if (scan === undefined) return [];
  const lines: Array<[string, string]> = [['scan', scan.status]];
  if (scan.engine) lines.push(['scanEngine', `${scan.engine.name} ${scan.engine.version}`]);
  if (scan.database) {
    const published = scan.database.publishedAt ? ` (${scan.database.publishedAt})` : '';
    lines.push(['scanDatabase', `${scan.database.name} ${scan.database.version}${published}`]);
  }
  if (scan.scannedAt) lines.push(['scannedAt', scan.scannedAt]);
  for (const threat of scan.threats ?? []) lines.push(['threat', threat]);
  if (scan.detail) lines.push(['scanDetail', scan.detail]);
  return lines;
}

export const reasonCodes = (reasons: readonly Reason[] | undefined, separator = ','): string =>
  (reasons ?? []).map((reason) => reason.code).join(separator);

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, or starts or ends
 * with a space. A field starting with `=`, `+`, `-`, `@`, tab or CR (a spreadsheet formula:
 * file names and owners are user input) gets a leading `'` so spreadsheets show it as text.
 */
export function csvField(value: string | number | undefined | null): string {
  let text = value === undefined || value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvRow = (fields: ReadonlyArray<string | number | undefined | null>): string =>
  fields.map(csvField).join(',') + '\r\n';

export const AUDIT_CSV_HEADER = [
  'uploadId',
  'owner',
  'fileName',
  'status',
  'at',
  'action',
  'from',
  'to',
  'reasons',
  'versionId',
  'actor',
  'executionId',
] as const;

/**
 * The CSV rows of one upload: one per audit event, oldest first. An upload without events (none
 * should exist) still gets one row, so that nothing listed is lost from the export.
 */
export function auditCsvRows(upload: AuditUploadView, events: readonly AuditEvent[]): string {
  const base = [upload.uploadId, upload.owner, upload.fileName, upload.status];
  if (events.length === 0) return csvRow([...base, '', '', '', '', '', '', '', '']);
  return events
    .map((event) =>
      csvRow([
        ...base,
        event.at,
        event.action,
        event.from ?? '',
        event.to ?? '',
        reasonCodes(event.reasons, ';'),
        event.versionId ?? '',
        `${event.actor.type}:${event.actor.id}`,
        event.executionId ?? '',
      ]),
    )
    .join('');
}
