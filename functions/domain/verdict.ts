import type { ContentFacts } from './content-inspection.js';
import type { Reason } from './model.js';
import { isDetectedTypeAllowed, type TypePolicy } from './type-policy.js';

/** What the client said it would upload. */
export interface DeclaredContent {
  contentType: string;
  size: number;
  sha256?: string;
}

/** The measured facts that are recorded with the outcome. */
export interface VerdictFacts {
  size: number;
  /** Null when the object was not read to its end (it was larger than declared). */
  sha256: string | null;
  detectedType: string | null;
}

export interface Verdict {
  accepted: boolean;
  reasons: Reason[];
  facts: VerdictFacts;
}

/**
 * The validation rules: the bytes, not the client's labels, decide. Every failed rule adds a
 * reason code; the upload is accepted only when none did.
 */
export function judgeContent(declared: DeclaredContent, facts: ContentFacts, policy: TypePolicy): Verdict {
  const reasons: Reason[] = [];
  const rule = Object.hasOwn(policy, declared.contentType) ? policy[declared.contentType] : undefined;
  const textual = rule?.detect.kind === 'text';
  const detectedType = facts.detectedMime ?? (textual && looksLikeText(facts) ? declared.contentType : null);

  if (facts.size === 0) {
    reasons.push({ code: 'EMPTY_FILE', message: 'The file is empty.' });
  }
  if (facts.size !== declared.size) {
    reasons.push({
      code: 'SIZE_MISMATCH',
      message: `The file has ${facts.size} bytes; ${declared.size} were declared.`,
    });
  }
  if (facts.size > 0) {
    if (rule === undefined) {
      reasons.push({
        code: 'TYPE_NOT_ALLOWED',
        message: `Content type ${declared.contentType} is not allowed.`,
      });
    } else if (rule.detect.kind === 'magic') {
      if (facts.detectedMime === undefined) {
        reasons.push({
          code: 'TYPE_MISMATCH',
          message: `The content is not recognisable as ${declared.contentType}.`,
        });
      } else if (!rule.detect.mimes.includes(facts.detectedMime)) {
        reasons.push({
          code: 'TYPE_MISMATCH',
          message: `The content is ${facts.detectedMime}, but ${declared.contentType} was declared.`,
        });
      } else {
        // Trailers live in the tail, which is only the file's own when it was read to its end.
        if (facts.size <= declared.size) reasons.push(...structuralProblems(facts));
      }
    } else if (facts.detectedMime !== undefined) {
      reasons.push({
        code: 'TYPE_MISMATCH',
        message: `The content is ${facts.detectedMime}, not text as ${declared.contentType} declares.`,
      });
    } else if (!looksLikeText(facts)) {
      reasons.push({
        code: 'TYPE_MISMATCH',
        message: `The content is not UTF-8 text without NUL bytes, as ${declared.contentType} requires.`,
      });
    }
    const alreadyNotAllowed = reasons.some((reason) => reason.code === 'TYPE_NOT_ALLOWED');
    if (
      !alreadyNotAllowed &&
      facts.detectedMime !== undefined &&
      !isDetectedTypeAllowed(policy, facts.detectedMime)
    ) {
      reasons.push({
        code: 'TYPE_NOT_ALLOWED',
        message: `Files of type ${facts.detectedMime} are not allowed.`,
      });
    }
  }
  if (declared.sha256 !== undefined && declared.sha256 !== facts.sha256) {
    reasons.push({
      code: 'CHECKSUM_MISMATCH',
      message: 'The SHA-256 of the content differs from the one declared.',
    });
  }

  return {
    accepted: reasons.length === 0,
    reasons,
    facts: { size: facts.size, sha256: facts.sha256, detectedType },
  };
}

function looksLikeText(facts: ContentFacts): boolean {
  return facts.validUtf8 && !facts.hasNul;
}

/**
 * Checks beyond the signature, which only looks at the head: the file must also end where its
 * format ends. That refuses truncated files, and polyglots (a PDF, PNG or JPEG with a ZIP or
 * anything else appended, a ZIP with another one after it), which other programs would open as
 * the second file.
 */
function structuralProblems(facts: ContentFacts): Reason[] {
  const mime = facts.detectedMime;
  if (mime === undefined) return [];
  const mismatch = (message: string): Reason[] => [{ code: 'TYPE_MISMATCH', message }];
  if (!isZipContainer(mime) && findZipEndRecord(facts.tail) !== undefined) {
    return mismatch(`The ${mime} file has a ZIP archive appended to it.`);
  }
  if (mime === 'application/pdf') {
    const trailer = facts.tail.lastIndexOf('%%EOF');
    if (trailer < 0) return mismatch('The PDF is truncated: it has no %%EOF trailer.');
    if (!/^[\t\n\f\r ]*$/.test(facts.tail.subarray(trailer + 5).toString('latin1'))) {
      return mismatch('The PDF has data after its %%EOF trailer.');
    }
  } else if (mime === 'image/png') {
    if (!endsWith(facts.tail, PNG_IEND_CHUNK)) {
      return mismatch('The PNG is truncated or has data after its IEND chunk.');
    }
  } else if (mime === 'image/jpeg') {
    if (!endsWith(facts.tail, JPEG_END_OF_IMAGE)) {
      return mismatch('The JPEG is truncated or has data after its end-of-image marker.');
    }
  } else if (isZipContainer(mime)) {
    if (!isWholeZip(facts)) {
      return mismatch('The archive is truncated, or has data before or after it.');
    }
  }
  return [];
}

const PNG_IEND_CHUNK = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
const JPEG_END_OF_IMAGE = Buffer.from([0xff, 0xd9]);
const ZIP_END_SIGNATURE = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
const ZIP_END_RECORD_BYTES = 22;

const endsWith = (bytes: Buffer, suffix: Buffer): boolean =>
  bytes.length >= suffix.length && bytes.subarray(bytes.length - suffix.length).equals(suffix);

/** Formats that are ZIP archives: their own end is a ZIP end record. */
function isZipContainer(mime: string): boolean {
  return (
    mime === 'application/zip' ||
    mime === 'application/java-archive' ||
    mime === 'application/epub+zip' ||
    mime.startsWith('application/vnd.openxmlformats-officedocument.') ||
    mime.startsWith('application/vnd.oasis.opendocument.')
  );
}

interface ZipEndRecord {
  /** Offset of the record within `tail`. */
  at: number;
  centralDirectorySize: number;
  centralDirectoryOffset: number;
  commentLength: number;
}

/** The last plausible ZIP end-of-central-directory record in `tail` (single-disk archives only). */
function findZipEndRecord(tail: Buffer): ZipEndRecord | undefined {
  let at = tail.lastIndexOf(ZIP_END_SIGNATURE);
  while (at >= 0) {
    const plausible =
      at + ZIP_END_RECORD_BYTES <= tail.length &&
      tail.readUInt16LE(at + 4) === 0 && // this disk
      tail.readUInt16LE(at + 6) === 0 && // the disk where the central directory starts
      tail.readUInt16LE(at + 8) === tail.readUInt16LE(at + 10); // entries here, entries in all
    if (plausible) {
      return {
        at,
        centralDirectorySize: tail.readUInt32LE(at + 12),
        centralDirectoryOffset: tail.readUInt32LE(at + 16),
        commentLength: tail.readUInt16LE(at + 20),
      };
    }
    at = at > 0 ? tail.lastIndexOf(ZIP_END_SIGNATURE, at - 1) : -1;
  }
  return undefined;
}

/**
 * A ZIP that is exactly one archive: it ends with its end record (and comment), and its central
 * directory ends where that record starts, so nothing was put before or after it.
 */
function isWholeZip(facts: ContentFacts): boolean {
  const record = findZipEndRecord(facts.tail);
  if (record === undefined) return false;
  if (record.at + ZIP_END_RECORD_BYTES + record.commentLength !== facts.tail.length) return false;
  if (record.centralDirectoryOffset === 0xffffffff) return true; // ZIP64: offsets are elsewhere
  const recordOffset = facts.size - facts.tail.length + record.at;
  return record.centralDirectoryOffset + record.centralDirectorySize === recordOffset;
}
