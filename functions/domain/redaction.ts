/** Longest failure cause kept in a record. */
export const MAX_CAUSE_LENGTH = 2000;

/**
 * Failure causes come from SDKs and runtimes. Before one is stored or logged, anything that could
 * be a credential goes: URLs with query strings (presigned URLs), SigV4 parameters, bearer
 * tokens and JWT-looking strings.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/https?:\/\/[^\s"'<>]+\?[^\s"'<>]*/gi, '[url redacted]')
    .replace(/X-Amz-(Signature|Credential|Security-Token)=[^&\s"']+/gi, 'X-Amz-$1=[redacted]')
    .replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [redacted]')
    .replace(/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[token redacted]');
}

export function summarizeCause(cause: unknown): string {
  const text = typeof cause === 'string' ? cause : JSON.stringify(cause ?? '');
  const redacted = redactSecrets(text);
  return redacted.length > MAX_CAUSE_LENGTH ? `${redacted.slice(0, MAX_CAUSE_LENGTH)}…` : redacted;
}
