import type { ReasonCode, ScanSummary } from './model.js';

/**
 * Malware scan verdicts, pure: what an engine's answer means for an upload. One result shape
 * serves both engines; it follows the detail of GuardDuty Malware Protection for S3's "Object
 * Scan Result" event (`scanStatus`, `scanResultDetails.scanResultStatus`, `threats[].name`) so that
 * the Scan step reads ClamAV (local) and GuardDuty (AWS) alike. Fail closed: only an explicit
 * "no threat found" promotes; anything unknown is not clean.
 */

/**
 * Which engine a deployment scans with (the `scanner` setting): GuardDuty Malware Protection for
 * S3 (the default), a custom engine that publishes the same result events, or none at all, which
 * must be chosen explicitly and shows in every record. Locally, any engine but `none` is ClamAV.
 */
export const SCANNER_KINDS = ['guardduty', 'custom', 'none'] as const;
export type ScannerKind = (typeof SCANNER_KINDS)[number];

/** The kind of a `scanner` setting (a custom engine is an object), as the functions are told it. */
export const scannerKindOf = (scanner: 'guardduty' | 'none' | { kind: 'custom' }): ScannerKind =>
  typeof scanner === 'object' ? 'custom' : scanner;

/** Why the engine could not fully scan a file. */
export type UnscannableReason = 'ENCRYPTED' | 'LIMIT_EXCEEDED' | 'UNSUPPORTED';

/** What one clamd reply says, before it becomes a result. */
export type EngineVerdict =
  | { kind: 'CLEAN' }
  | { kind: 'INFECTED'; signatures: string[] }
  | { kind: 'UNSCANNABLE'; reason: UnscannableReason; signature: string }
  /** The engine failed (out of memory, timed out reading, unknown reply): retry, never promote. */
  | { kind: 'ERROR'; message: string };

/** GuardDuty's scan status: COMPLETED, SKIPPED (not scanned: unsupported, access denied), FAILED. */
export type ScanStatus = 'COMPLETED' | 'SKIPPED' | 'FAILED';
export type ScanResultStatus =
  'NO_THREATS_FOUND' | 'THREATS_FOUND' | 'UNSUPPORTED' | 'ACCESS_DENIED' | 'FAILED';

/** The outcome of scanning one exact object version. */
export interface MalwareScanResult {
  scanStatus: ScanStatus;
  scanResultDetails: {
    scanResultStatus: ScanResultStatus;
    /** Threat names as the engine reports them; null unless THREATS_FOUND (as in GuardDuty's event). */
    threats: Array<{ name: string }> | null;
  };
  /** Set when the status is UNSUPPORTED: why, and the engine's own name for it. */
  unscannable?: { reason: UnscannableReason; engineName: string };
  engine: { name: string; version: string };
  /** The signature database that judged: its version and, when the engine says, when it was published. */
  database: { name: string; version: string; publishedAt?: string };
  /** The engine's answer, verbatim (clamd's reply without its NUL terminator). */
  engineReply: string;
  /**
   * Bytes sent to the engine (less than the file when it answered early, at its stream limit).
   * Unknown for an engine that reads the object itself (GuardDuty).
   */
  streamedBytes?: number;
  scannedAt: string;
}

/** clamd's answer to an INSTREAM larger than its StreamMaxLength (it then closes the connection). */
export const STREAM_LIMIT_REPLY = 'INSTREAM size limit exceeded. ERROR';

/**
 * Names ClamAV gives to files it could not fully scan, when told to alert on them
 * (AlertEncrypted*, AlertExceedsMax): they are not malware, but a clean result would be a lie.
 */
const UNSCANNABLE_PREFIXES: ReadonlyArray<[string, UnscannableReason]> = [
  ['Heuristics.Encrypted.', 'ENCRYPTED'],
  ['Heuristics.Limits.Exceeded.', 'LIMIT_EXCEEDED'],
  // AlertBrokenMedia: an image the engine could not parse, so it could not look inside it.
  ['Heuristics.Broken.Media.', 'UNSUPPORTED'],
];

export function unscannableReasonOf(signature: string): UnscannableReason | undefined {
  return UNSCANNABLE_PREFIXES.find(([prefix]) => signature.startsWith(prefix))?.[1];
}

/**
 * Reads clamd's reply to one INSTREAM (`stream: OK`, `stream: <name> FOUND`, `... ERROR`), one
 * reply per line or NUL. A detection outranks an "unscannable" alert found with it; anything that
 * is not exactly one of the known forms is an ERROR.
 */
export function parseClamdReply(reply: string): EngineVerdict {
  const lines = reply
    .split(/[\0\n]/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (lines.length === 0) return { kind: 'ERROR', message: 'clamd sent an empty reply.' };
  if (lines.length === 1 && lines[0] === STREAM_LIMIT_REPLY) {
    return { kind: 'UNSCANNABLE', reason: 'LIMIT_EXCEEDED', signature: 'INSTREAM size limit exceeded' };
  }
  const found: string[] = [];
  let ok = false;
  for (const line of lines) {
    const match = /^stream: (.+?) (FOUND|ERROR)$/.exec(line);
    if (line === 'stream: OK') ok = true;
    else if (match?.[2] === 'FOUND') found.push(match[1] as string);
    else return { kind: 'ERROR', message: `clamd: ${line}` };
  }
  if (found.length === 0) return ok && lines.length === 1 ? { kind: 'CLEAN' } : unexpected(reply);
  if (ok) return unexpected(reply); // OK and FOUND for one stream: not an answer to trust
  const threats = found.filter((name) => unscannableReasonOf(name) === undefined);
  if (threats.length > 0) return { kind: 'INFECTED', signatures: threats };
  const first = found[0] as string;
  return { kind: 'UNSCANNABLE', reason: unscannableReasonOf(first) as UnscannableReason, signature: first };
}

const unexpected = (reply: string): EngineVerdict => ({
  kind: 'ERROR',
  message: `clamd sent an unexpected reply: ${JSON.stringify(reply.slice(0, 200))}`,
});

/** The scan result for a verdict that is an answer (CLEAN, INFECTED, UNSCANNABLE); ERROR is not. */
export function toScanResult(
  verdict: Exclude<EngineVerdict, { kind: 'ERROR' }>,
  context: Pick<MalwareScanResult, 'engine' | 'database' | 'engineReply' | 'streamedBytes' | 'scannedAt'>,
): MalwareScanResult {
  switch (verdict.kind) {
    case 'CLEAN':
      return {
        scanStatus: 'COMPLETED',
        scanResultDetails: { scanResultStatus: 'NO_THREATS_FOUND', threats: null },
        ...context,
      };
    case 'INFECTED':
      return {
        scanStatus: 'COMPLETED',
        scanResultDetails: {
          scanResultStatus: 'THREATS_FOUND',
          threats: verdict.signatures.map((name) => ({ name })),
        },
        ...context,
      };
    case 'UNSCANNABLE':
      return {
        scanStatus: 'SKIPPED',
        scanResultDetails: { scanResultStatus: 'UNSUPPORTED', threats: null },
        unscannable: { reason: verdict.reason, engineName: verdict.signature },
        ...context,
      };
  }
}

/** Reason codes the Scan step records (in the model's REASON_CODES). */
export type ScanReasonCode = Extract<ReasonCode, 'MALWARE_DETECTED' | 'NOT_FULLY_SCANNED'>;

export type ScanDecision =
  | { kind: 'PROMOTE' }
  | { kind: 'REJECT'; reason: { code: ScanReasonCode; message: string } }
  /** Not an answer about the file (engine failure, access denied, unknown status): fail, so a redrive scans again. */
  | { kind: 'FAIL'; message: string };

const UNSCANNABLE_WORDS: Record<UnscannableReason, string> = {
  ENCRYPTED: 'it is encrypted',
  LIMIT_EXCEEDED: "it exceeds the scanner's size or nesting limits",
  UNSUPPORTED: 'the scanner does not support its format',
};

/** What the Scan step does with a result. Only COMPLETED + NO_THREATS_FOUND + no threats promotes. */
export function decideScan(result: MalwareScanResult): ScanDecision {
  const { scanStatus } = result;
  const { scanResultStatus, threats } = result.scanResultDetails;
  if (scanStatus === 'COMPLETED' && scanResultStatus === 'NO_THREATS_FOUND' && (threats ?? []).length === 0) {
    return { kind: 'PROMOTE' };
  }
  if (scanResultStatus === 'THREATS_FOUND') {
    const names = (threats ?? []).map((threat) => threat.name);
    return {
      kind: 'REJECT',
      reason: {
        code: 'MALWARE_DETECTED',
        message: `Malware detected: ${names.length > 0 ? names.join(', ') : 'unnamed threat'}.`,
      },
    };
  }
  if (scanResultStatus === 'UNSUPPORTED') {
    const reason = result.unscannable?.reason ?? 'UNSUPPORTED';
    const name = result.unscannable ? ` (${result.unscannable.engineName})` : '';
    return {
      kind: 'REJECT',
      reason: {
        code: 'NOT_FULLY_SCANNED',
        message: `The file could not be fully scanned: ${UNSCANNABLE_WORDS[reason]}${name}.`,
      },
    };
  }
  return { kind: 'FAIL', message: `The scan did not complete (${scanStatus}, ${scanResultStatus}).` };
}

/** What is stored for one object version: the engine's result, or a request for a new scan. */
export type StoredScan =
  | { kind: 'RESULT'; result: MalwareScanResult; storedAt: string }
  /** A new scan was asked for (after a failed one, or on a redrive) and has not answered yet. */
  | { kind: 'REQUESTED'; requestedAt: string; storedAt: string };

/** What the Scan step does next, given what is stored for its version. */
export type ScanStepAction =
  /** A verdict: promote (accepted) or reject with `reason`. */
  | {
      kind: 'VERDICT';
      accepted: boolean;
      reason?: { code: ScanReasonCode; message: string };
      scan: ScanSummary;
    }
  /** Nothing to decide on yet: wait (ScanPending, retried by the Task). */
  | { kind: 'WAIT' }
  /** Ask the engine for a new scan, note it in place of the entry stored at `replacing`, then wait. */
  | { kind: 'REQUEST'; replacing?: string }
  /** The engine failed on this version in this execution: FAILED, for a redrive to scan again. */
  | { kind: 'FAIL'; message: string };

/**
 * The Scan step's decision. A failed scan, or a request, made before this execution's claim
 * belongs to an earlier attempt: where the engine can be asked (`canRequest`), a new scan is
 * asked for once per execution; so is one on a redrive that finds nothing stored (its result may
 * have been lost). Otherwise it waits for the engine, or fails.
 */
export function nextScanAction(
  stored: StoredScan | undefined,
  context: { claimedAt?: string; redrive: boolean; canRequest: boolean },
): ScanStepAction {
  const claimed = context.claimedAt === undefined ? Number.NaN : Date.parse(context.claimedAt);
  const beforeClaim = (at: string) => Date.parse(at) < claimed;
  if (stored === undefined)
    return context.canRequest && context.redrive ? { kind: 'REQUEST' } : { kind: 'WAIT' };
  if (stored.kind === 'REQUESTED') {
    return context.canRequest && beforeClaim(stored.requestedAt)
      ? { kind: 'REQUEST', replacing: stored.storedAt }
      : { kind: 'WAIT' };
  }
  const decision = decideScan(stored.result);
  if (decision.kind === 'PROMOTE')
    return { kind: 'VERDICT', accepted: true, scan: summarizeScan(stored.result) };
  if (decision.kind === 'REJECT') {
    return { kind: 'VERDICT', accepted: false, reason: decision.reason, scan: summarizeScan(stored.result) };
  }
  return context.canRequest && beforeClaim(stored.result.scannedAt)
    ? { kind: 'REQUEST', replacing: stored.storedAt }
    : { kind: 'FAIL', message: decision.message };
}

/** What a record says of a scan the deployment turned off (`scanner: none`). */
export const SKIPPED_SCAN: ScanSummary = {
  status: 'SKIPPED',
  detail: 'Malware scanning is turned off in this deployment (scanner: none).',
};

/**
 * What is recorded of a result that decided (promote or reject): the verdict, the engine and its
 * database, when, and the threat names (or, in words, why it could not scan all of the file).
 */
export function summarizeScan(result: MalwareScanResult): ScanSummary {
  const decision = decideScan(result);
  if (decision.kind === 'FAIL') throw new Error(`Not a verdict: ${decision.message}`);
  const judged = { engine: result.engine, database: result.database, scannedAt: result.scannedAt };
  if (decision.kind === 'PROMOTE') return { status: 'NO_THREATS_FOUND', ...judged };
  if (decision.reason.code === 'MALWARE_DETECTED') {
    const names = (result.scanResultDetails.threats ?? []).map((threat) => threat.name);
    return { status: 'THREATS_FOUND', ...judged, threats: names.length > 0 ? names : ['unnamed threat'] };
  }
  return { status: 'NOT_FULLY_SCANNED', ...judged, detail: decision.reason.message };
}

/**
 * clamd's VERSION reply: `ClamAV 1.4.6/27830/Sat Nov 28 09:24:02 2026` with a daily database,
 * plain `ClamAV 1.4.6` with none (the shipped test database has no version clamd knows).
 */
export function parseClamdVersion(reply: string): {
  engine: string;
  database?: { version: string; publishedAt?: string; published: string };
} {
  const text = reply.replace(/\0/g, '').trim();
  const match = /^ClamAV ([^/\s]+)(?:\/(\d+)\/(.+))?$/.exec(text);
  if (!match)
    throw new Error(`clamd sent an unexpected VERSION reply: ${JSON.stringify(text.slice(0, 200))}`);
  const [, engine, version, published] = match as unknown as [string, string, string?, string?];
  if (version === undefined || published === undefined) return { engine };
  // A ctime date in clamd's time zone, which is this machine's: Date reads it as local time.
  const date = new Date(published);
  return {
    engine,
    database: {
      version,
      published,
      ...(Number.isNaN(date.getTime()) ? {} : { publishedAt: date.toISOString() }),
    },
  };
}
