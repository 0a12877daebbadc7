import type { ActiveContentCheck } from './checks.js';

/**
 * What in an OOXML package is active content, by the three ways Office finds a part: its name
 * (where Office puts it), the relationship that points at it (how Office actually loads it: a
 * renamed part is still found), and the content type [Content_Types].xml gives it. Matching is
 * loose on purpose (case-insensitive, by the meaningful end of a type): a false alarm is a
 * refused file, a miss is a macro delivered.
 */

export interface Flag {
  check: ActiveContentCheck;
  construct: string;
}

/** A ZIP item name as OPC compares part names: percent-decoded, case-insensitive, `/`-separated. */
export function normalizePartName(name: string): string {
  let decoded = name.replace(/\\/g, '/');
  try {
    decoded = decodeURIComponent(decoded);
  } catch {
    // Not percent-encoded: compared as it is.
  }
  return decoded.replace(/^\/+/, '').toLowerCase();
}

export const isContentTypesPart = (name: string): boolean =>
  normalizePartName(name) === '[content_types].xml';
export const isRelationshipsPart = (name: string): boolean => normalizePartName(name).endsWith('.rels');

/** The checks a part's name alone trips. */
export function partNameFlags(name: string): Flag[] {
  const segments = normalizePartName(name).split('/');
  const base = segments.pop() ?? '';
  const flags: Flag[] = [];
  const flag = (check: ActiveContentCheck) => flags.push({ check, construct: `part ${name}` });
  if (/^vba(project|projectsignature[a-z0-9]*)\.bin$|^vbadata\.xml$/.test(base)) flag('ooxml.vba');
  if (segments.includes('macrosheets')) flag('ooxml.xlm-macros');
  if (segments.includes('activex')) flag('ooxml.activex');
  if (/^oleobject\d*\.bin$/.test(base) || (segments.includes('embeddings') && base.endsWith('.bin'))) {
    flag('ooxml.ole-object');
  }
  return flags;
}

/** Embedded packages Office opens as plain documents (chart data is an embedded workbook). */
const PLAIN_EMBEDDED_PACKAGE = /\.(docx|xlsx|pptx)$/i;

/**
 * The checks one relationship trips (`part`: the .rels part it is in). TargetMode other than
 * Internal (the default) makes Office fetch the target when the document opens (a template, an
 * OLE object, a frame, an image, an external workbook link), except for hyperlinks, which only
 * a click follows: remote template injection and CVE-2022-30190 (an external oleObject
 * relationship whose target ran ms-msdt) load content, a hyperlink does not.
 */
export function relationshipFlags(
  part: string,
  relationship: { type: string; target: string; targetModes: string[] },
): Flag[] {
  const kind = (relationship.type.split('/').pop() ?? '').trim().toLowerCase();
  const target = relationship.target.trim();
  const external = relationship.targetModes.some((mode) => mode.trim() !== 'Internal');
  const flags: Flag[] = [];
  const flag = (check: ActiveContentCheck, what: string) =>
    flags.push({ check, construct: `${what} relationship in ${part}` });
  if (kind.includes('vba')) flag('ooxml.vba', `a ${kind}`);
  if (kind.includes('macrosheet')) flag('ooxml.xlm-macros', `a ${kind}`);
  if (kind.includes('activex') || kind === 'control') flag('ooxml.activex', `a ${kind}`);
  if (kind.includes('oleobject'))
    flag('ooxml.ole-object', external ? 'an external oleObject' : 'an oleObject');
  if (kind === 'package' && !external && !PLAIN_EMBEDDED_PACKAGE.test(target)) {
    flag('ooxml.ole-object', `an embedded package (${target.split('/').pop() ?? ''})`);
  }
  if (external && kind !== 'hyperlink')
    flag('ooxml.external-relationship', `an external ${kind || 'untyped'}`);
  return flags;
}

/** The checks a content type in [Content_Types].xml trips (`what`: the part or extension it is for). */
export function contentTypeFlags(contentType: string, what: string): Flag[] {
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  const flags: Flag[] = [];
  const flag = (check: ActiveContentCheck) =>
    flags.push({ check, construct: `content type ${type} for ${what}` });
  if (type.includes('vbaproject') || type.includes('vbadata')) flag('ooxml.vba');
  if (type.includes('macrosheet')) flag('ooxml.xlm-macros');
  if (type.includes('activex')) flag('ooxml.activex');
  if (type.includes('oleobject')) flag('ooxml.ole-object');
  return flags;
}
