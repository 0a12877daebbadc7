/**
 * Malware scan verdicts, pure: what an engine's answer means for an upload. One result shape
 * serves both engines; it follows the detail of GuardDuty Malware Protection for S3's "Object
 * Scan Result" event (`scanStatus`, `scanResultDetails.scanResultStatus`, `threats[].name`) so that
 * the Scan step reads ClamAV (local) and GuardDuty (AWS) alike. Fail closed: only an explicit
 * "no threat found" promotes; anything unknown is not clean.
 */

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
  /** Bytes sent to the engine (less than the file when it answered early, at its stream limit). */
  streamedBytes: number;
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

/** Reason codes the Scan step records (to be added to the model's REASON_CODES). */
export type ScanReasonCode = 'MALWARE_DETECTED' | 'NOT_FULLY_SCANNED';

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
