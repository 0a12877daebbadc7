import { z } from 'zod';
import { REASON_CODES } from './model.js';

/**
 * The data contract between the state machine (statemachines/upload-pipeline.asl.json) and its
 * task functions. Each task checks its input against these schemas.
 */

/** EventBridge "Object Created" detail, as S3 (and the local router) sends it. */
export const objectCreatedDetail = z.object({
  bucket: z.object({ name: z.string().min(1) }),
  object: z.object({
    key: z.string().min(1).max(1024),
    size: z.number().int().min(0).optional(),
    'version-id': z.string().min(1),
    sequencer: z.string().optional(),
    etag: z.string().optional(),
  }),
});
export type ObjectCreatedDetail = z.infer<typeof objectCreatedDetail>;

export const objectRef = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1),
  versionId: z.string().min(1),
});

export const declaredContent = z.object({
  contentType: z.string(),
  size: z.number().int().min(0),
  sha256: z.string().optional(),
});

const reason = z.object({ code: z.enum(REASON_CODES), message: z.string() });

export const verdictFacts = z.object({
  size: z.number().int().min(0),
  sha256: z.string().nullable(),
  detectedType: z.string().nullable(),
});

/** What a record keeps of the malware scan (model.ts ScanSummary). */
export const scanSummary = z.object({
  status: z.enum(['NO_THREATS_FOUND', 'THREATS_FOUND', 'NOT_FULLY_SCANNED', 'SKIPPED']),
  engine: z.object({ name: z.string(), version: z.string() }).optional(),
  database: z
    .object({ name: z.string(), version: z.string(), publishedAt: z.string().optional() })
    .optional(),
  scannedAt: z.string().optional(),
  threats: z.array(z.string()).optional(),
  detail: z.string().optional(),
});

export const claimInput = z.object({
  detail: objectCreatedDetail,
  eventTime: z.string().min(1),
  executionId: z.string().min(1),
});

export const validateInput = z.object({
  uploadId: z.string(),
  object: objectRef,
  declared: declaredContent,
});

/** The Scan step: the validated version, Validate's verdict, and what started the execution. */
export const scanInput = z.object({
  uploadId: z.string(),
  object: objectRef,
  verdict: z.object({ accepted: z.literal(true), reasons: z.array(reason), facts: verdictFacts }),
  /** When this execution claimed the upload: a failed scan from before it is an earlier attempt's. */
  claimedAt: z.string().optional(),
  /** The Object Created event's detail: `reason` says whether a redrive started the execution. */
  detail: z.object({ reason: z.string().optional() }),
});

export const storeCopyInput = z.object({
  uploadId: z.string(),
  object: objectRef,
  facts: verdictFacts.optional(),
});

export const recordOutcomeInput = z.object({
  outcome: z.enum(['PROCESSED', 'REJECTED', 'FAILED']),
  detail: objectCreatedDetail,
  executionId: z.string().min(1),
  /** When the claim was written: the outcome is recorded strictly after it. */
  claimedAt: z.string().optional(),
  facts: verdictFacts.optional(),
  reasons: z.array(reason).optional(),
  storedKey: z.string().optional(),
  /** The Scan step's verdict; null when validation refused the file before any scan. */
  scan: scanSummary.nullable().optional(),
  failure: z.object({ Error: z.string(), Cause: z.unknown().optional() }).optional(),
});

export const releaseInput = z.object({ uploadId: z.string(), object: objectRef });

/** The claim's result, which the Choice state routes on. */
export interface ClaimResult {
  outcome: 'CLAIMED' | 'DUPLICATE' | 'DISCARD' | 'RELEASE';
  uploadId: string;
  object: z.infer<typeof objectRef>;
  declared?: z.infer<typeof declaredContent>;
  claimedAt?: string;
  reason?: z.infer<typeof reason>;
}

/** The upload id an object key stands for: `quarantine/<id>` → `<id>`. */
export function uploadIdFromKey(key: string): string | undefined {
  return key.startsWith('quarantine/') && key.length > 'quarantine/'.length
    ? key.slice('quarantine/'.length)
    : undefined;
}

/** Publish: the object event of the execution (its key names the upload). */
export const publishOutcomeInput = z.object({ detail: objectCreatedDetail });
