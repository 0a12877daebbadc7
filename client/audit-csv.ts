/**
 * The one CSV writer of audit exports, shared by the CLI (`airlock audit export`) and the web
 * console's "Export CSV". Not part of the published @airlock/client package (it is excluded from
 * its build and not exported from index.ts), because it needs csv-stringify; the package has no
 * dependencies. The browser build of csv-stringify is used: it runs in Node and in browsers alike.
 */
import { stringify } from 'csv-stringify/browser/esm/sync';
import type { AuditEvent, AuditUploadView } from './types.js';

export type CsvCell = string | number | undefined | null;

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
 * CSV text (RFC 4180, CRLF line ends): fields quoted when they hold a comma, quote, CR or LF, or
 * start or end with white space. File names and owners are user input, so a field a spreadsheet
 * would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`
 * (csv-stringify's `escape_formulas`) and shows as text.
 */
export function csvText(rows: ReadonlyArray<ReadonlyArray<CsvCell>>): string {
  return stringify(
    rows.map((row) => row.map((cell) => (cell === undefined || cell === null ? '' : String(cell)))),
    { escape_formulas: true, record_delimiter: 'windows', quoted_match: /[\r\n]|^\s|\s$/, eof: true },
  );
}

/** The header row of an audit export. */
export const auditCsvHeader = (): string => csvText([AUDIT_CSV_HEADER]);

/**
 * The CSV rows of one upload: one per audit event, oldest first. An upload without events (none
 * should exist) still gets one row, so that nothing listed is lost from the export.
 */
export function auditCsvRows(upload: AuditUploadView, events: readonly AuditEvent[]): string {
  const base = [upload.uploadId, upload.owner, upload.fileName, upload.status];
  if (events.length === 0) return csvText([[...base, '', '', '', '', '', '', '', '']]);
  return csvText(
    events.map((event) => [
      ...base,
      event.at,
      event.action,
      event.from ?? '',
      event.to ?? '',
      event.reasons.map((reason) => reason.code).join(';'),
      event.versionId ?? '',
      `${event.actor.type}:${event.actor.id}`,
      event.executionId ?? '',
    ]),
  );
}
