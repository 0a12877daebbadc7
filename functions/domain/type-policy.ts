import { z } from 'zod';
import { ACTIVE_CONTENT_CHECK_NAMES, checksFor } from './active-content/checks.js';
import { ConfigurationError, FileTooLargeError, TypeNotAllowedError } from './errors.js';

/** S3's ceiling for a single POST or PUT. */
export const MAX_SINGLE_UPLOAD_BYTES = 5 * 1024 ** 3;

const ruleSchema = z
  .object({
    /** Largest accepted size in bytes (at most 5 GiB, S3's single-request limit). */
    maxBytes: z.number().int().positive().max(MAX_SINGLE_UPLOAD_BYTES),
    /**
     * How the bytes are recognised: `magic` lists the MIME types that `file-type` may detect for
     * this declared type; `text` means valid UTF-8 without NUL bytes and no binary signature.
     */
    detect: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('magic'), mimes: z.array(z.string().min(3)).min(1) }).strict(),
      z.object({ kind: z.literal('text') }).strict(),
    ]),
    /** File name extensions for downloads; the first is canonical. */
    extensions: z.array(z.string().regex(/^[a-z0-9]{1,16}$/)).min(1),
    /**
     * Active-content checks this type lets through, by name (README, "Active content"); every
     * check that applies to the type's detected formats is refused unless named here.
     */
    activeContent: z
      .object({ allow: z.array(z.enum(ACTIVE_CONTENT_CHECK_NAMES)) })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((rule, context) => {
    const applicable = new Set(rule.detect.kind === 'magic' ? rule.detect.mimes.flatMap(checksFor) : []);
    for (const check of rule.activeContent?.allow ?? []) {
      if (!applicable.has(check)) {
        context.addIssue({
          code: 'custom',
          path: ['activeContent', 'allow'],
          message: `the check ${check} does not apply to this type's detected formats`,
        });
      }
    }
  });

export type TypeRule = z.infer<typeof ruleSchema>;

/** The allowed declared content types (lowercase essence, no parameters) and their rules. */
export type TypePolicy = Readonly<Record<string, TypeRule>>;

const policySchema = z
  .record(z.string().regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/), ruleSchema)
  .refine((policy) => Object.keys(policy).length > 0, 'the policy must allow at least one type');

export { DEFAULT_TYPE_POLICY, DOCX, XLSX } from './default-type-policy.js';

/** Parses a policy given as JSON (e.g. the TYPE_POLICY setting); throws ConfigurationError. */
export function parseTypePolicy(json: string): TypePolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ConfigurationError('The type policy is not valid JSON.');
  }
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigurationError(`The type policy is invalid: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * The lowercase essence of a media type (`Application/PDF; charset=x` → `application/pdf`), or
 * undefined when it is not a media type at all. Media types are case-insensitive (RFC 9110).
 */
export function normalizeContentType(raw: string): string | undefined {
  const essence = raw.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(essence) ? essence : undefined;
}

/** Checks a declared type and size against the policy at issuance; throws TypeNotAllowedError / FileTooLargeError. */
export function checkDeclaredType(policy: TypePolicy, contentType: string, size: number): TypeRule {
  const rule = Object.hasOwn(policy, contentType) ? policy[contentType] : undefined;
  if (rule === undefined) {
    throw new TypeNotAllowedError(`Content type "${contentType}" is not allowed.`, {
      allowed: Object.keys(policy).sort(),
    });
  }
  if (size > rule.maxBytes) {
    throw new FileTooLargeError(`Files of type ${contentType} may be at most ${rule.maxBytes} bytes.`, {
      maxBytes: rule.maxBytes,
    });
  }
  return rule;
}

/** True when some allowed type accepts files detected as `mime`. */
export function isDetectedTypeAllowed(policy: TypePolicy, mime: string): boolean {
  return Object.values(policy).some(
    (rule) => rule.detect.kind === 'magic' && rule.detect.mimes.includes(mime),
  );
}
