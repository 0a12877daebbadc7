/**
 * The active-content checks, by name: what each refuses. A type policy may allow a check for one
 * type (`activeContent.allow`); every check that applies to a type is refused by default.
 */

export type ActiveContentFormat = 'pdf' | 'ooxml';

interface CheckDefinition {
  format: ActiveContentFormat;
  /** What the check finds, as a reason message names it. */
  label: string;
}

export const ACTIVE_CONTENT_CHECKS = {
  'pdf.javascript': { format: 'pdf', label: 'JavaScript' },
  'pdf.launch': { format: 'pdf', label: 'a Launch action' },
  'pdf.open-action': { format: 'pdf', label: 'an action run on opening' },
  'pdf.additional-actions': { format: 'pdf', label: 'actions run on events' },
  'pdf.embedded-file': { format: 'pdf', label: 'an embedded file' },
  'pdf.xfa': { format: 'pdf', label: 'an XFA form' },
  'pdf.rich-media': { format: 'pdf', label: 'rich media' },
  'ooxml.vba': { format: 'ooxml', label: 'a VBA macro project' },
  'ooxml.xlm-macros': { format: 'ooxml', label: 'Excel 4.0 (XLM) macro sheets' },
  'ooxml.activex': { format: 'ooxml', label: 'ActiveX controls' },
  'ooxml.ole-object': { format: 'ooxml', label: 'an OLE object' },
  'ooxml.external-relationship': { format: 'ooxml', label: 'a relationship that loads an external target' },
} as const satisfies Record<string, CheckDefinition>;

export type ActiveContentCheck = keyof typeof ACTIVE_CONTENT_CHECKS;

export const ACTIVE_CONTENT_CHECK_NAMES = Object.keys(ACTIVE_CONTENT_CHECKS) as [
  ActiveContentCheck,
  ...ActiveContentCheck[],
];

/** The format whose active content is checked for files detected as `mime`, if any. */
export function activeContentFormatOf(mime: string): ActiveContentFormat | undefined {
  if (mime === 'application/pdf') return 'pdf';
  if (mime.startsWith('application/vnd.openxmlformats-officedocument.')) return 'ooxml';
  return undefined;
}

/** The checks that apply to files detected as `mime` (none for types without active content). */
export function checksFor(mime: string): ActiveContentCheck[] {
  const format = activeContentFormatOf(mime);
  return ACTIVE_CONTENT_CHECK_NAMES.filter((check) => ACTIVE_CONTENT_CHECKS[check].format === format);
}

/** One kind of construct found: the first occurrence, and how many there were. */
export interface ActiveContentFinding {
  check: ActiveContentCheck;
  /** Where and what, e.g. `/JS in object 12`, `word/vbaProject.bin`. */
  construct: string;
  count: number;
}

/** What the active-content scan of one file found. */
export interface ActiveContentReport {
  format: ActiveContentFormat;
  findings: ActiveContentFinding[];
  /**
   * Why (part of) the file could not be checked: a bound was exceeded, or its layout hides parts
   * from a one-pass reader. Such a file is refused unless every check of its format is allowed.
   */
  uncheckable?: string;
  /** ZIP features the format excludes (OOXML: compression other than stored or deflated, encryption). */
  packageProblem?: string;
}

/** Most findings kept per file: one per check, and a count. */
export class FindingLog {
  private readonly found = new Map<ActiveContentCheck, ActiveContentFinding>();
  uncheckable: string | undefined;
  packageProblem: string | undefined;

  add(check: ActiveContentCheck, construct: string): void {
    const finding = this.found.get(check);
    if (finding === undefined) this.found.set(check, { check, construct: printable(construct), count: 1 });
    else finding.count++;
  }

  /** The first reason the file cannot be checked is the one reported. */
  cannotCheck(why: string): void {
    this.uncheckable ??= printable(why);
  }

  report(format: ActiveContentFormat): ActiveContentReport {
    return {
      format,
      findings: ACTIVE_CONTENT_CHECK_NAMES.flatMap((check) => {
        const finding = this.found.get(check);
        return finding === undefined ? [] : [finding];
      }),
      ...(this.uncheckable !== undefined ? { uncheckable: this.uncheckable } : {}),
      ...(this.packageProblem !== undefined ? { packageProblem: this.packageProblem } : {}),
    };
  }
}

/** Names taken from the file go into reasons: short, one line, no control characters. */
export function printable(text: string, most = 160): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > most ? `${clean.slice(0, most - 1)}…` : clean;
}
