import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Webhook } from 'standardwebhooks';

/**
 * The published schema of outcome events (schemas/outcome-event.v1.json) as a consumer would use
 * it, and the checks every test that receives an event applies: valid against the schema, and
 * nothing in it that looks like a URL, a token or a secret.
 */
export const OUTCOME_EVENT_SCHEMA_PATH = new URL('../../schemas/outcome-event.v1.json', import.meta.url);

let validator: ValidateFunction | undefined;
function validate(): ValidateFunction {
  if (validator) return validator;
  const schema = JSON.parse(readFileSync(OUTCOME_EVENT_SCHEMA_PATH, 'utf8')) as object;
  const ajv = new Ajv2020({ allErrors: true }); // a consumer's defaults;
  addFormats.default(ajv);
  validator = ajv.compile(schema);
  return validator;
}

/** The schema's errors for `event` ([] when valid), plus the cross-field rules it cannot say. */
export function outcomeEventProblems(event: unknown): string[] {
  const check = validate();
  const problems = check(event)
    ? []
    : (check.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`);
  const value = event as { id?: string; type?: string; data?: Record<string, unknown> };
  if (problems.length === 0 && value.data) {
    const { uploadId, sequence, status } = value.data;
    if (value.id !== `evt_${String(uploadId)}_${String(sequence)}`)
      problems.push('/id does not name the upload and sequence');
    if (value.type !== `airlock.upload.${String(status).toLowerCase()}`)
      problems.push('/type does not name the status');
  }
  return [...problems, ...secretLikeValues(event)];
}

/**
 * A deny-list over every key and string value: URLs, presigned-URL parameters, JWTs, bearer
 * tokens, Standard Webhooks secrets and signatures, AWS access keys, and keys that name such
 * things. Returns what it found (the path, never the value).
 */
export function secretLikeValues(value: unknown, path = ''): string[] {
  if (typeof value === 'string') return SECRET_LIKE.some((pattern) => pattern.test(value)) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, index) => secretLikeValues(item, `${path}/${index}`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, inner]) => [
      ...(SECRET_KEYS.test(key) ? [`${path}/${key} (key)`] : []),
      ...secretLikeValues(inner, `${path}/${key}`),
    ]);
  }
  return [];
}

const SECRET_LIKE = [
  /[a-z][a-z0-9+.-]*:\/\//i, // any URL
  /X-Amz-(Signature|Credential|Security-Token)/i,
  /\bSignature=/,
  /\bBearer\s/i,
  /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\./, // a JWT
  /whsec_/, // a Standard Webhooks secret
  /\bv1,[A-Za-z0-9+/]{20,}/, // a Standard Webhooks signature
  /\b(AKIA|ASIA)[A-Z0-9]{16}\b/, // an AWS access key id
];
const SECRET_KEYS = /url|token|secret|signature|password|credential|authorization/i;

/** A consumer's check of a delivery: the unchanged standardwebhooks library, as the README shows. */
export function verifyWithStandardWebhooks(
  secret: string,
  body: string,
  headers: Record<string, string>,
): unknown {
  return new Webhook(secret).verify(body, headers);
}
