import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  ABANDONED_RECORD_RETENTION_DAYS_BOUNDS,
  ALLOWED_ORIGIN,
  AUDIT_DIGEST_INTERVAL_MINUTES_BOUNDS,
  AUDIT_DIGEST_LOCK_MODES,
  AUDIT_DIGEST_RETENTION_DAYS_BOUNDS,
  API_THROTTLE_DEFAULTS,
  DOWNLOAD_URL_TTL_BOUNDS,
  LOG_RETENTION_DAYS,
  LOG_RETENTION_DAYS_DEFAULT,
  NONCURRENT_VERSION_RETENTION_DAYS_BOUNDS,
  PROCESSING_TIMEOUT_BOUNDS,
  QUARANTINE_RETENTION_DAYS_BOUNDS,
  quarantineOutlivesProcessing,
  REJECTED_RETENTION_DAYS_BOUNDS,
  QUOTA_BYTES_PER_DAY_BOUNDS,
  QUOTA_OPEN_GRANTS_BOUNDS,
  SWEEP_BATCH_SIZE_BOUNDS,
  SWEEP_INTERVAL_MINUTES_BOUNDS,
  UPLOAD_URL_TTL_BOUNDS,
  type IntBounds,
} from '../functions/commons/setting-bounds.js';
import { DEFAULT_TYPE_POLICY, parseTypePolicy, type TypePolicy } from '../functions/domain/type-policy.js';
import { PIPELINE_FUNCTIONS } from '../infra/pipeline/function-names.js';
import { EVENTS_CONFIG_FIELDS } from './events-config.js';

/**
 * The one configuration of both runtimes: `airlock.config.json` at the repository root, read by
 * `infra/app.ts` (the deployment) and by `npm start` (local/settings.ts). Ports and the data dir
 * are local facts and stay AIRLOCK_* environment variables. Plain Node and zod: no CDK here.
 */
export const CONFIG_FILE_NAME = 'airlock.config.json';
export const DEFAULT_CONFIG_PATH = resolve(fileURLToPath(new URL('..', import.meta.url)), CONFIG_FILE_NAME);
/** The environment variable naming another configuration file (tests, other environments). */
export const CONFIG_PATH_ENV = 'AIRLOCK_CONFIG';

const wholeNumber = (bounds: IntBounds, unit: string, description: string) => {
  const range = bounds.max === undefined ? `at least ${bounds.min}` : `from ${bounds.min} to ${bounds.max}`;
  const error = `must be a whole number of ${unit} ${range}`;
  const base = z.number({ error }).int({ error }).min(bounds.min, { error });
  return (bounds.max === undefined ? base : base.max(bounds.max, { error }))
    .default(bounds.default)
    .describe(`${description} (${unit}, ${range}; default ${bounds.default}).`);
};

const typePolicySchema = z
  .record(z.string(), z.unknown())
  .superRefine((policy, context) => {
    try {
      parseTypePolicy(JSON.stringify(policy));
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
    }
  })
  .describe(
    'The allowed content types, replacing the built-in policy: {"<type>": {"maxBytes": n, "detect": {"kind": "magic", "mimes": [...]} or {"kind": "text"}, "extensions": [...], "activeContent": {"allow": ["pdf.javascript", ...]}}}; every active-content check that applies to a type refuses unless allowed there. Default: the built-in policy (README).',
  );

/** The schema of airlock.config.json. Every field is optional; omitted ones take the default. */
export const AIRLOCK_CONFIG_SCHEMA = z
  .object({
    $schema: z.string().optional().describe('The JSON Schema of this file, for editors.'),
    allowedOrigins: z
      .array(
        z.string().regex(ALLOWED_ORIGIN, {
          error: 'must be an https origin (or http://localhost) without path or wildcard',
        }),
      )
      .default([])
      .describe(
        'Browser origins allowed by CORS on the bucket and the API, besides the console (default none).',
      ),
    typePolicy: typePolicySchema.optional(),
    uploadUrlTtlSeconds: wholeNumber(UPLOAD_URL_TTL_BOUNDS, 'seconds', 'Lifetime of upload grants'),
    downloadUrlTtlSeconds: wholeNumber(DOWNLOAD_URL_TTL_BOUNDS, 'seconds', 'Lifetime of download URLs'),
    processingTimeoutSeconds: wholeNumber(
      PROCESSING_TIMEOUT_BOUNDS,
      'seconds',
      'A PROCESSING upload whose execution ended without an outcome is marked FAILED after this; Validate alone may run 15 minutes',
    ),
    sweepIntervalMinutes: wholeNumber(
      SWEEP_INTERVAL_MINUTES_BOUNDS,
      'minutes',
      'How often the sweeper runs on AWS',
    ),
    sweepBatchSize: wholeNumber(
      SWEEP_BATCH_SIZE_BOUNDS,
      'uploads',
      'Uploads the sweeper handles per status per run',
    ),
    quotaOpenGrants: wholeNumber(
      QUOTA_OPEN_GRANTS_BOUNDS,
      'uploads',
      'Per owner: uploads that may wait for their bytes at once; over it, POST /uploads answers 429 QUOTA_EXCEEDED',
    ),
    quotaBytesPerDay: wholeNumber(
      QUOTA_BYTES_PER_DAY_BOUNDS,
      'bytes',
      'Per owner: declared bytes granted per UTC day; over it, POST /uploads answers 429 QUOTA_EXCEEDED',
    ),
    quarantineRetentionDays: wholeNumber(
      QUARANTINE_RETENTION_DAYS_BOUNDS,
      'days',
      'Lifecycle removes anything left in quarantine/ after this; it must outlive uploadUrlTtlSeconds plus processingTimeoutSeconds',
    ),
    noncurrentVersionRetentionDays: wholeNumber(
      NONCURRENT_VERSION_RETENTION_DAYS_BOUNDS,
      'days',
      'Noncurrent (overwritten or deleted) object versions are removed after this',
    ),
    abandonedRecordRetentionDays: wholeNumber(
      ABANDONED_RECORD_RETENTION_DAYS_BOUNDS,
      'days',
      "An abandoned upload (its grant never used, or expired) keeps its record and audit trail this long after its grant expired; then DynamoDB's TTL may delete them. At least the promised 30 days",
    ),
    rejectedRetentionDays: wholeNumber(
      REJECTED_RETENTION_DAYS_BOUNDS,
      'days',
      'Rejected files are kept under rejected/ for forensics this long',
    ),
    auditDigestIntervalMinutes: wholeNumber(
      AUDIT_DIGEST_INTERVAL_MINUTES_BOUNDS,
      'minutes',
      'A signed digest of every audit trail that changed is written for each period of this length (docs/audit.md)',
    ),
    auditDigestRetentionDays: wholeNumber(
      AUDIT_DIGEST_RETENTION_DAYS_BOUNDS,
      'days',
      "S3 Object Lock's default retention of each digest: no one can delete or overwrite it before then",
    ),
    auditDigestLockMode: z
      .enum(AUDIT_DIGEST_LOCK_MODES, { error: `must be one of ${AUDIT_DIGEST_LOCK_MODES.join(', ')}` })
      .default('COMPLIANCE')
      .describe(
        'The Object Lock mode of the digests: COMPLIANCE (no one, root included, can delete one before its retention ends) or GOVERNANCE (a principal allowed s3:BypassGovernanceRetention can); default COMPLIANCE.',
      ),
    logRetentionDays: z
      .literal(LOG_RETENTION_DAYS, {
        error: `must be one of CloudWatch Logs' retentions: ${LOG_RETENTION_DAYS.join(', ')}`,
      })
      .default(LOG_RETENTION_DAYS_DEFAULT)
      .describe(
        `Retention of the functions', the state machine's and the API's log groups (days; 9999 keeps them; default ${LOG_RETENTION_DAYS_DEFAULT}).`,
      ),
    apiThrottle: z
      .object({
        rateLimit: z.number().positive({ error: 'must be a positive number of requests per second' }),
        burstLimit: z.number().int().positive({ error: 'must be a positive whole number of requests' }),
      })
      .strict()
      .default({ ...API_THROTTLE_DEFAULTS })
      .describe(
        `Throttling of the HTTP API (default ${API_THROTTLE_DEFAULTS.rateLimit} requests per second, bursts of ${API_THROTTLE_DEFAULTS.burstLimit}).`,
      ),
    reservedConcurrency: z
      .partialRecord(
        z.enum(PIPELINE_FUNCTIONS),
        z.number().int().min(1, { error: 'must be a whole number, at least 1' }),
      )
      .default({})
      .describe("Reserved concurrency per function, taken from the account's pool (default none)."),
    jwtIssuer: z
      .object({
        issuerUrl: z.string().regex(/^https:\/\//, { error: 'must be an https URL' }),
        audience: z.array(z.string().min(1)).min(1, { error: 'must name at least one audience' }),
      })
      .strict()
      .optional()
      .describe('An existing OIDC/JWT issuer for the API instead of a new Cognito user pool.'),
    console: z
      .object({
        enabled: z.boolean().optional(),
        webAclArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:wafv2:/, { error: 'must be a WAF web ACL ARN' })
          .optional(),
      })
      .strict()
      .optional()
      .describe('The web console on CloudFront (default enabled, no web ACL).'),
    forensicReaderArns: z
      .array(z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, { error: 'must be an IAM role ARN' }))
      .default([])
      .describe('Roles that may read quarantine/ and rejected/ besides the pipeline (default none).'),
    scanner: z
      .union([
        z.enum(['guardduty', 'none']),
        z
          .object({
            kind: z.literal('custom'),
            eventSource: z.string().regex(/^(?!aws\.)[A-Za-z0-9][A-Za-z0-9._\-/]{0,255}$/, {
              error: 'must be an event source of your own (not aws.*)',
            }),
            readerRoleArns: z
              .array(
                z
                  .string()
                  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, { error: 'must be an IAM role ARN' }),
              )
              .default([]),
          })
          .strict(),
      ])
      .default('guardduty')
      .describe(
        'The malware engine that scans every upload before promotion: "guardduty" (GuardDuty Malware Protection for S3), "none" (no scanning; every record says scan SKIPPED), or {"kind": "custom", "eventSource": "<source of its Object Scan Result events>", "readerRoleArns": [...]}. Locally any engine but "none" is ClamAV (default "guardduty").',
      ),
    // Outcome events, webhook endpoints and their retries (config/events-config.ts).
    ...EVENTS_CONFIG_FIELDS,
    removalPolicy: z
      .enum(['retain', 'destroy'])
      .default('retain')
      .describe(
        'What happens to the bucket, the table, the user pool and the log groups when the stack is deleted.',
      ),
  })
  .strict()
  .superRefine((config, context) => {
    const { quarantineRetentionDays, uploadUrlTtlSeconds, processingTimeoutSeconds } = config;
    if (
      !quarantineOutlivesProcessing(
        quarantineRetentionDays * 86_400,
        uploadUrlTtlSeconds,
        processingTimeoutSeconds,
      )
    ) {
      context.addIssue({
        code: 'custom',
        path: ['quarantineRetentionDays'],
        message:
          'must exceed uploadUrlTtlSeconds plus processingTimeoutSeconds, or bytes could expire before a redrive',
      });
    }
  });

/** airlock.config.json after validation, every default applied. */
export type AirlockSettings = Omit<z.output<typeof AIRLOCK_CONFIG_SCHEMA>, '$schema' | 'typePolicy'> & {
  readonly typePolicy: TypePolicy;
};

/** A configuration file that cannot be used; the message names the file and every bad field. */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

/** Validates a parsed configuration (`source` names it in errors) and applies the defaults. */
export function parseAirlockConfig(raw: unknown, source: string = CONFIG_FILE_NAME): AirlockSettings {
  const parsed = AIRLOCK_CONFIG_SCHEMA.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      const got =
        issue.input === undefined || typeof issue.input === 'object'
          ? ''
          : `, got ${JSON.stringify(issue.input)}`;
      return `  ${field}: ${issue.message}${got}`;
    });
    throw new ConfigFileError(`${source} is invalid:\n${problems.join('\n')}`);
  }
  const { $schema: _schema, typePolicy, ...settings } = parsed.data;
  return {
    ...settings,
    typePolicy: typePolicy === undefined ? DEFAULT_TYPE_POLICY : parseTypePolicy(JSON.stringify(typePolicy)),
  };
}

/** Reads and validates a configuration file. */
export function loadAirlockConfig(path: string = DEFAULT_CONFIG_PATH): AirlockSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigFileError(`Cannot read the configuration file ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigFileError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseAirlockConfig(raw, path);
}

/** The configuration file to use: AIRLOCK_CONFIG if set, else airlock.config.json at the root. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const named = env[CONFIG_PATH_ENV]?.trim();
  return named ? resolve(named) : DEFAULT_CONFIG_PATH;
}
