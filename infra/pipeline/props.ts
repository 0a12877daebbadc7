import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { OutcomeStatus } from '../../functions/domain/outcome-event.js';
import type { TypePolicy } from '../../functions/domain/type-policy.js';
import type { AuditDigestLockMode } from '../../functions/commons/setting-bounds.js';
import type { PipelineFunction } from './function-names.js';

/** An existing OIDC/JWT issuer that the HTTP API trusts instead of a new Cognito user pool. */
export interface JwtIssuerProps {
  /** The issuer URL (`iss` claim), https only. */
  readonly issuerUrl: string;
  /** Accepted audiences (`aud` or `client_id` claim); at least one. */
  readonly audience: string[];
}

/** Per-owner limits on issuance. */
export interface QuotaProps {
  /** Uploads an owner may have waiting for their bytes at once (1–5000). @default 1000 */
  readonly openGrants?: number;
  /** Declared bytes granted per owner per UTC day. @default 10 GiB */
  readonly bytesPerDay?: number;
}

/** Throttling of the HTTP API's default stage. */
export interface ApiThrottleProps {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Burst capacity in requests. */
  readonly burstLimit: number;
}

/**
 * A malware engine of your own: it reads new objects under `quarantine/` (and, for rescans, under
 * `clean/`) and publishes, for each object version it scans, the "GuardDuty Malware Protection
 * Object Scan Result" event shape on the account's default event bus with `source` set to
 * `eventSource` (see functions/domain/scan-result-event.ts; `detail.engineDetails` may name its
 * engine and signature database). Airlock's rule sends those events to its result intake.
 */
export interface CustomScannerProps {
  readonly kind: 'custom';
  /** The `source` of its events; not `aws.*` (reserved for AWS services). */
  readonly eventSource: string;
  /**
   * Roles the engine reads objects with: the bucket policy lets them read `quarantine/`, which it
   * denies everyone else.
   * @default []
   */
  readonly readerRoleArns?: string[];
}

/**
 * Which malware engine scans uploads before promotion: `'guardduty'` (GuardDuty Malware
 * Protection for S3 on `quarantine/`), a custom engine, or `'none'`, which turns scanning off and
 * shows `scan: SKIPPED` in every record.
 */
export type ScannerProps = 'guardduty' | 'none' | CustomScannerProps;

/** The web console's hosting on CloudFront. */
export interface ConsoleProps {
  /**
   * Deploy the console (private bucket, CloudFront with Origin Access Control, hosted UI sign-in).
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * ARN of an AWS WAF web ACL (scope CLOUDFRONT, in us-east-1) to put in front of the console.
   * @default no web ACL
   */
  readonly webAclArn?: string;
}

/** A webhook endpoint that receives outcome events (Standard Webhooks). */
export interface WebhookEndpointProps {
  /** A name for the endpoint: lowercase letters, digits and dashes (rules and logs use it). */
  readonly id: string;
  /** https only, to a host that resolves to public addresses (the SSRF guard). */
  readonly url: string;
  /**
   * The Secrets Manager secret whose SecretString is the signing secret (`whsec_…`): its full ARN.
   * Only the delivery function may read it. A secret encrypted with a customer-managed key also
   * needs kms:Decrypt for that function's role, which is not granted here.
   */
  readonly secretArn: string;
  /** @default every terminal status */
  readonly statuses?: OutcomeStatus[];
  /** @default every owner */
  readonly owners?: string[];
}

/** How failed webhook deliveries are retried (exponential backoff with jitter). */
export interface WebhookRetryProps {
  /** Attempts in all, then the delivery is dead-lettered. @default 10 */
  readonly maxAttempts?: number;
  /** The pause after the first failure, seconds. @default 10 */
  readonly initialDelaySeconds?: number;
  /** The longest pause, seconds (at most 12 hours). @default 3600 */
  readonly maxDelaySeconds?: number;
}

/** Configuration of an Airlock upload pipeline. Every prop is optional and secure by default. */
export interface UploadPipelineProps {
  /**
   * Browser origins allowed by CORS on the bucket (uploads) and the API. `https://` origins only,
   * except `http://localhost[:port]` for development. No wildcards.
   * @default [] (no browser origin; server-side and CLI clients need none)
   */
  readonly allowedOrigins?: string[];
  /**
   * The allowed content types: max size and magic-byte family of each.
   * @default DEFAULT_TYPE_POLICY (PDF, PNG, JPEG, text/plain, text/csv, DOCX, XLSX)
   */
  readonly typePolicy?: TypePolicy;
  /**
   * Lifetime of upload grants (presigned POST policy or PUT URL). At most 15 minutes.
   * @default Duration.minutes(15)
   */
  readonly uploadUrlTtl?: Duration;
  /**
   * Lifetime of download URLs handed out by the status API. At most 5 minutes.
   * @default Duration.minutes(5)
   */
  readonly downloadUrlTtl?: Duration;
  /**
   * Days after which lifecycle removes anything left in `quarantine/`. Must exceed the upload
   * grant's lifetime plus the processing bound.
   * @default Duration.days(7)
   */
  readonly quarantineRetention?: Duration;
  /**
   * Days after which noncurrent (overwritten or deleted) object versions are removed.
   * @default Duration.days(30)
   */
  readonly noncurrentVersionRetention?: Duration;
  /**
   * How long rejected files are kept under `rejected/` for forensics.
   * @default Duration.days(90)
   */
  readonly rejectedRetention?: Duration;
  /**
   * How long an abandoned upload (its grant never used, or expired) keeps its record and audit
   * trail after its grant expired, before DynamoDB's TTL may delete them. Whole days, at least
   * 30 (what the README promises) and at most 3650.
   * @default Duration.days(90)
   */
  readonly abandonedRecordRetention?: Duration;
  /**
   * How often a signed digest of the audit trails is written: one per period of this length,
   * whole minutes from 1 to 1440 (docs/audit.md).
   * @default Duration.minutes(15)
   */
  readonly auditDigestInterval?: Duration;
  /**
   * S3 Object Lock's default retention of each audit digest, whole days from 1 to 36500: no one
   * can delete or overwrite a digest before then (in COMPLIANCE mode not even the root user).
   * @default Duration.days(365)
   */
  readonly auditDigestRetention?: Duration;
  /**
   * The Object Lock mode of the digest bucket's default retention.
   * @default 'COMPLIANCE'
   */
  readonly auditDigestLockMode?: AuditDigestLockMode;
  /**
   * The asymmetric KMS key that signs the audit digests (KeySpec ECC_NIST_P256, KeyUsage
   * SIGN_VERIFY); its use is granted to the digest writer (kms:Sign) and the auditors' route
   * (kms:GetPublicKey).
   * @default a new ECC_NIST_P256 SIGN_VERIFY key, retained when the stack is deleted
   */
  readonly auditDigestKey?: kms.IKey;
  /**
   * Retention of the functions', the state machine's and the API's log groups.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * An existing JWT issuer for the HTTP API's authorizer.
   * @default a new Cognito user pool with an app client and an `auditors` group
   */
  readonly jwtIssuer?: JwtIssuerProps;
  /**
   * An existing bucket to use instead of creating one. Refused unless
   * `acceptExistingBucketRisks` is true: Airlock cannot enforce versioning, encryption, public
   * access blocks, lifecycle or EventBridge notifications on a bucket it does not own.
   * @default a new bucket configured by this construct
   */
  readonly existingBucket?: s3.IBucket;
  /**
   * Acknowledges that an `existingBucket` must be configured by its owner as this construct
   * would (versioning, EventBridge notifications, Block Public Access, TLS-only policy).
   * @default false
   */
  readonly acceptExistingBucketRisks?: boolean;
  /**
   * A customer-managed KMS key for the bucket, the table and the log groups (functions, state
   * machine, API access logs). When the key is a `kms.Key` of this app, a statement letting
   * CloudWatch Logs use it for log groups of this account and region is added to its key policy;
   * the policy of an imported key must already allow that (synth warns).
   * @default S3-managed encryption for the bucket, AWS-owned encryption for the table, and
   * CloudWatch Logs' own service-managed encryption for the log groups
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the bucket, the table and the user pool when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * A PROCESSING upload whose execution has ended without an outcome is marked FAILED after this.
   * Between 20 minutes (the Validate step alone may run 15) and 24 hours.
   * @default Duration.hours(1)
   */
  readonly processingTimeout?: Duration;
  /**
   * How often the sweeper runs, in whole minutes.
   * @default Duration.minutes(5)
   */
  readonly sweepInterval?: Duration;
  /**
   * Uploads the sweeper handles per status per run (1–1000); the rest wait for the next run.
   * @default 100
   */
  readonly sweepBatchSize?: number;
  /**
   * Per-owner quotas on POST /uploads: uploads waiting for their bytes at once, and declared bytes
   * per UTC day. Over either, 429 QUOTA_EXCEEDED with Retry-After.
   * @default { openGrants: 1000, bytesPerDay: 10 GiB }
   */
  readonly quotas?: QuotaProps;
  /**
   * Throttling of the HTTP API.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly apiThrottle?: ApiThrottleProps;
  /**
   * Principals (role ARNs) that may read `quarantine/` and `rejected/` besides the pipeline's own
   * functions, e.g. a forensics role. Everyone else is denied by the bucket policy.
   * @default []
   */
  readonly forensicReaderArns?: string[];
  /**
   * Where alarms (dead-letter queue depth, failed or timed-out executions) send notifications.
   * @default no action (the alarms still exist)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * The web console on CloudFront (private bucket behind Origin Access Control). Set `enabled:
   * false` to deploy the API only; `webAclArn` puts a WAF web ACL in front of it.
   * @default { enabled: true }
   */
  readonly console?: ConsoleProps;
  /**
   * Reserved concurrency per function: the most concurrent executions it may have, reserved
   * from the account's pool (whole numbers, at least 1). A throttled pipeline step is retried by
   * the state machine; a throttled sweep is retried by Lambda; a throttled redrive fails back to
   * the operator, who runs it again. Lambda refuses the deployment if the reservations would
   * leave the account less unreserved concurrency than its minimum.
   * @default none: every function shares the account's unreserved concurrency
   */
  readonly reservedConcurrency?: Partial<Record<PipelineFunction, number>>;
  /**
   * The malware engine. Fail closed: the Scan step promotes only what the engine explicitly
   * found clean. `'none'` must be chosen explicitly; every record then says `scan: SKIPPED`.
   * @default 'guardduty'
   */
  readonly scanner?: ScannerProps;
  /**
   * An existing EventBridge bus for outcome events (or `eventBusArn`).
   * @default a new bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * The ARN of an existing EventBridge bus for outcome events, when `eventBus` is not given.
   * @default a new bus
   */
  readonly eventBusArn?: string;
  /**
   * Webhook endpoints that receive outcome events, each with its filters and its secret's ARN.
   * @default [] (no delivery function, queue or alarm is made)
   */
  readonly webhooks?: WebhookEndpointProps[];
  /**
   * How failed webhook deliveries are retried.
   * @default { maxAttempts: 10, initialDelaySeconds: 10, maxDelaySeconds: 3600 }
   */
  readonly webhookRetry?: WebhookRetryProps;
}
