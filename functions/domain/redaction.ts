/** Longest failure cause kept in a record. */
export const MAX_CAUSE_LENGTH = 2000;

/**
 * Failure causes come from SDKs and runtimes. Before one is stored or logged, anything that could
 * be a credential goes: URLs with query strings (presigned URLs), SigV4 parameters, bearer
 * tokens and JWT-looking strings.
 */
export function redactSecrets(text: string): string {
  return (
    text
      .replace(/https?:\/\/[^\s"'<>]+\?[^\s"'<>]*/gi, '[url redacted]')
      // As query parameters (`=`), headers (`: `) or JSON members (`":"`).
      .replace(
        /(X-Amz-(?:Signature|Credential|Security-Token))("?\s*[=:]\s*"?)[^&\s"',]+/gi,
        '$1$2[redacted]',
      )
      // The parameters of an `Authorization: AWS4-HMAC-SHA256 Credential=…, Signature=…` header.
      .replace(/\b(Credential|Signature)=[^,&\s"']+/g, '$1=[redacted]')
      .replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [redacted]')
      .replace(/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[token redacted]')
  );
}

export function summarizeCause(cause: unknown): string {
  const text = typeof cause === 'string' ? cause : JSON.stringify(cause ?? '');
  const redacted = redactSecrets(text);
  if (redacted.length <= MAX_CAUSE_LENGTH) return redacted;
  // Never cut a surrogate pair in half: a lone surrogate has no UTF-8 form.
  return `${redacted.slice(0, MAX_CAUSE_LENGTH).replace(/[\ud800-\udbff]$/, '')}…`;
}

/** Longest error name or cause shown to auditors. */
const MAX_DISCLOSED_LENGTH = 500;

/**
 * A failure's error name or cause as auditors may see it: a Lambda error's JSON reduced to its
 * type and message (its stack trace dropped), stack frames and code paths removed, ARNs and
 * 12-digit account ids replaced, and cut to 500 characters. Secrets were redacted before it was
 * stored (redactSecrets).
 */
export function scrubForAuditors(text: string): string {
  let scrubbed = text;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'errorMessage' in parsed) {
      const { errorType, errorMessage } = parsed as { errorType?: unknown; errorMessage?: unknown };
      scrubbed = `${typeof errorType === 'string' ? errorType : 'Error'}: ${String(errorMessage)}`;
    }
  } catch {
    // not JSON: scrubbed as text
  }
  scrubbed = scrubbed
    .split(/\r?\n/)
    .filter((line) => !/^\s*at\s/.test(line))
    .join(' ')
    .replace(/\barn:aws[a-z-]*:[^\s"',;()]*/gi, '[arn]')
    .replace(/(?<!\d)\d{12}(?!\d)/g, '[account]')
    .replace(/(?:file:\/\/|\/var\/(?:task|runtime)|\/opt\/)[^\s"'()]*/g, '[path]')
    .trim();
  if (scrubbed.length <= MAX_DISCLOSED_LENGTH) return scrubbed;
  return `${scrubbed.slice(0, MAX_DISCLOSED_LENGTH).replace(/[\ud800-\udbff]$/, '')}…`;
}

/**
 * An execution as clients may name it: the execution's own name (an ARN's last part), without
 * the partition, region, account and state machine an ARN holds.
 */
export function executionReference(executionId: string): string {
  const arn = /^arn:[^:]+:states:[^:]*:[^:]*:(?:execution|express):[^:]+:(.+)$/.exec(executionId);
  return scrubForAuditors(arn?.[1] ?? executionId);
}
