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
