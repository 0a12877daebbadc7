/**
 * File names are user input. They are stored as metadata and used only in Content-Disposition
 * (RFC 6266 / RFC 8187). S3 keys never contain them.
 */

const MAX_NAME_CODE_POINTS = 200;
const FALLBACK_NAME = 'download';

// C0/C1 controls and DEL; bidi embeddings, overrides and isolates; zero-width chars and BOM;
// lone surrogates (JSON can carry them; they have no UTF-8 form and make encodeURIComponent throw).
const INVISIBLE_OR_CONTROL =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]/gu;
// Quotes, and characters that Windows refuses in names (path separators are handled first).
const FORBIDDEN = /["<>:|?*]/g;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;

/** A display-safe base name: no path parts, controls, quotes, bidi tricks or device names. */
export function sanitizeFileName(raw: string): string {
  const cleaned = raw.normalize('NFC').replace(INVISIBLE_OR_CONTROL, '');
  const lastSegment = cleaned.split(/[/\\]/).pop() ?? '';
  let name = lastSegment
    .replace(FORBIDDEN, '')
    .trim()
    .replace(/^[.\s]+|[.\s]+$/g, '');
  const stem = name.split('.', 1)[0] ?? '';
  if (WINDOWS_DEVICE.test(stem.trim())) name = `_${name}`;
  name = truncateKeepingExtension(name, MAX_NAME_CODE_POINTS);
  return name === '' ? FALLBACK_NAME : name;
}

function truncateKeepingExtension(name: string, limit: number): string {
  const codePoints = Array.from(name);
  if (codePoints.length <= limit) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? Array.from(name.slice(dot)) : [];
  if (extension.length === 0 || extension.length > 17) return codePoints.slice(0, limit).join('');
  return codePoints.slice(0, limit - extension.length).join('') + extension.join('');
}

/** The name's last extension, lowercased, or '' when it has none. */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/**
 * The download name: sanitized, and ending in an extension of the validated type, so that
 * `invoice.pdf.exe` validated as a PDF saves as `invoice.pdf.exe.pdf`, never as an executable.
 */
export function downloadName(rawName: string, allowedExtensions: readonly string[]): string {
  const name = sanitizeFileName(rawName);
  const canonical = allowedExtensions[0];
  if (canonical === undefined || allowedExtensions.includes(extensionOf(name))) return name;
  return `${name}.${canonical}`;
}

/** `attachment; filename="<ascii>"; filename*=UTF-8''<pct-encoded>` for an already safe name. */
export function contentDisposition(safeName: string): string {
  const ascii = safeName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    // NFKD turns compatibility forms into ASCII specials (`／` → `/`, `＂` → `"`): replace those too.
    .replace(/[^\x20-\x7e]|[%\\/";:<>|?*]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeRfc8187(safeName)}`;
}

/** RFC 8187 value-chars: attr-char stays, everything else is percent-encoded UTF-8. */
function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
