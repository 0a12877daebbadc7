import { activeContentReasons } from './active-content/judge.js';
import type { ContentFacts } from './content-inspection.js';
import { formatOfMime } from './format-structure/walker.js';
import { embeddedZipProblem } from './format-structure/zip.js';
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
  const detectedType =
    facts.detectedMime ??
    (textual && !facts.detectionFailed && looksLikeText(facts) ? declared.contentType : null);

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
    if (facts.detectionFailed) {
      reasons.push({
        code: 'TYPE_MISMATCH',
        message: `The content could not be recognised as ${declared.contentType}: its type could not be determined.`,
      });
    } else if (rule === undefined) {
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
        if (facts.size <= declared.size) {
          const structural = structuralProblems(facts);
          reasons.push(...structural);
          const allowed = rule.activeContent?.allow ?? [];
          // A ZIP feature OOXML excludes (an LZMA entry, say) is a structural problem and a package
          // problem alike: one TYPE_MISMATCH says it.
          const mismatch = structural.some((reason) => reason.code === 'TYPE_MISMATCH');
          reasons.push(
            ...activeContentReasons(facts.activeContent, facts.detectedMime, allowed).filter(
              (reason) => !(mismatch && reason.code === 'TYPE_MISMATCH'),
            ),
          );
        }
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
 * Checks beyond the signature, which only looks at the head: the file must also be laid out as
 * its format says, from its first byte to its last (see format-structure/). That refuses
 * truncated files, and polyglots (a PDF, PNG or JPEG that is also a ZIP, a ZIP with another one
 * after or inside it), which other programs would open as the second file.
 */
function structuralProblems(facts: ContentFacts): Reason[] {
  const mime = facts.detectedMime;
  if (mime === undefined) return [];
  const mismatch = (message: string): Reason[] => [{ code: 'TYPE_MISMATCH', message }];
  const format = formatOfMime(mime);
  if (format !== 'zip') {
    const zip = embeddedZipProblem(facts.tail);
    if (zip !== undefined) return mismatch(`The ${mime} file is also a ZIP archive: ${zip}.`);
  }
  if (format === undefined) return [];
  if (facts.structure?.format !== format) return mismatch(`The content is not laid out as ${mime}.`);
  return facts.structure.problem === undefined ? [] : mismatch(facts.structure.problem);
}
