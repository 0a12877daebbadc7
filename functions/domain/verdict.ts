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
        reasons.push(...structuralProblems(facts));
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

/** Checks beyond the signature, for formats whose truncation the signature cannot show. */
function structuralProblems(facts: ContentFacts): Reason[] {
  if (facts.detectedMime === 'application/pdf' && !facts.tail.includes('%%EOF')) {
    return [{ code: 'TYPE_MISMATCH', message: 'The PDF is truncated: it has no %%EOF trailer.' }];
  }
  return [];
}
