import type { Reason, UploadView } from '../client/index.js';

/** Text output of the CLI: aligned tables, sizes. Pure functions. (CSV: client/audit-csv.ts.) */

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
