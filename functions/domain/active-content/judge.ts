import type { Reason } from '../model.js';
import {
  ACTIVE_CONTENT_CHECKS,
  activeContentFormatOf,
  checksFor,
  type ActiveContentReport,
} from './checks.js';

const FORMAT_NAMES = { pdf: 'PDF', ooxml: 'OOXML package' } as const;

/**
 * The reasons a file detected as `mime` is refused for its active content: ACTIVE_CONTENT
 * naming each construct found under a check the type does not allow (one reason, every check
 * named), or when the file could not be checked at all, unless every check of its format is
 * allowed; TYPE_MISMATCH for ZIP features OOXML excludes.
 */
export function activeContentReasons(
  report: ActiveContentReport | undefined,
  mime: string,
  allowed: readonly string[],
): Reason[] {
  const format = activeContentFormatOf(mime);
  if (report === undefined || format === undefined || report.format !== format) return [];
  const name = FORMAT_NAMES[format];
  const reasons: Reason[] = [];
  if (report.packageProblem !== undefined) {
    reasons.push({
      code: 'TYPE_MISMATCH',
      message: `The ${mime} file is not a valid package: ${report.packageProblem}.`,
    });
  }
  const refused = report.findings.filter(({ check }) => !allowed.includes(check));
  const constructs = refused.map(({ check, construct, count }) => {
    const more = count > 1 ? ` and ${count - 1} more` : '';
    return `${ACTIVE_CONTENT_CHECKS[check].label} (${construct}${more}) [${check}]`;
  });
  const uncheckable =
    report.uncheckable !== undefined && !checksFor(mime).every((check) => allowed.includes(check))
      ? `it could not be checked for active content: ${report.uncheckable}`
      : undefined;
  if (constructs.length > 0 || uncheckable !== undefined) {
    const parts = [
      ...(constructs.length > 0 ? [`it holds ${constructs.join('; ')}`] : []),
      ...(uncheckable !== undefined ? [uncheckable] : []),
    ];
    reasons.push({ code: 'ACTIVE_CONTENT', message: `The ${name} is refused: ${parts.join('; and ')}.` });
  }
  return reasons;
}
