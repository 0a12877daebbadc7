import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * Signed, chained digests of the audit trails, after CloudTrail's log file validation (README
 * "Verifying the audit trail" gives the format). A digest names, for one period, every upload
 * whose trail changed in it, with the seq and hash of its last event then; it carries the hash
 * and signature of the digest before it, so that a digest deleted or altered breaks the chain,
 * and a period with no change still gets one, so that a gap shows.
 *   signature = ECDSA P-256 with SHA-256 (DER, base64) over the RFC 8785 JSON of the digest
 *               without `signature` (KMS ECC_NIST_P256 / ECDSA_SHA_256, or the local key)
 *   hash      = lowercase hex SHA-256 of the RFC 8785 JSON of the whole digest
 */

export const DIGEST_FORMAT = 'airlock-audit-digest/1';
export const DIGEST_SIGNING_ALGORITHM = 'ECDSA_SHA_256';

export interface DigestEntry {
  uploadId: string;
  seq: number;
  hash: string;
  /**
   * When the table's TTL may delete the record (an abandoned upload, at that head): a trail the
   * verifier no longer finds after this time ended its retention; before it, it was deleted.
   */
  retainUntil?: string;
}

export interface UnsignedDigest {
  format: typeof DIGEST_FORMAT;
  /** 1 for a deployment's first digest, then without a gap. */
  number: number;
  /** [periodStart, periodEnd): the next digest's period starts where this one's ends. */
  periodStart: string;
  periodEnd: string;
  /** Sorted by uploadId. */
  uploads: DigestEntry[];
  previous: { hash: string; signature: string } | null;
  keyId: string;
  signingAlgorithm: typeof DIGEST_SIGNING_ALGORITHM;
  /**
   * The writer's cadence: a digest every `intervalSeconds`, each period ending `settleSeconds`
   * before it is written. A verifier expects the next digest by then (a missing tail).
   */
  schedule?: { intervalSeconds: number; settleSeconds: number };
}

/** What the next digest needs of the one before it (the writer keeps it as its cursor). */
export interface DigestLink {
  number: number;
  periodEnd: string;
  hash: string;
  signature: string;
}

/** The link to `digest` that the next one carries. */
export const digestLink = (digest: Digest): DigestLink => ({
  number: digest.number,
  periodEnd: digest.periodEnd,
  hash: digestHash(digest),
  signature: digest.signature,
});

export interface Digest extends UnsignedDigest {
  signature: string;
}

/** The bytes a digest's signature covers. */
export function digestSigningInput(digest: UnsignedDigest | Digest): Buffer {
  const { signature: _signature, ...unsigned } = digest as Digest;
  return Buffer.from(canonicalize(unsigned) ?? '', 'utf8');
}

/** The hash the next digest names this one by. */
export function digestHash(digest: Digest): string {
  return createHash('sha256')
    .update(canonicalize(digest) ?? '', 'utf8')
    .digest('hex');
}

/** The next digest after `previous` (undefined: the first), for the period ending at `periodEnd`. */
export function nextDigest(params: {
  previous: Digest | DigestLink | undefined;
  firstPeriodStart: string;
  periodEnd: string;
  uploads: DigestEntry[];
  keyId: string;
  schedule?: UnsignedDigest['schedule'];
}): UnsignedDigest {
  const previous =
    params.previous === undefined || 'hash' in params.previous
      ? params.previous
      : digestLink(params.previous);
  const latest = new Map<string, DigestEntry>();
  for (const entry of params.uploads) {
    const known = latest.get(entry.uploadId);
    if (known === undefined || entry.seq > known.seq) latest.set(entry.uploadId, entry);
  }
  return {
    format: DIGEST_FORMAT,
    number: (previous?.number ?? 0) + 1,
    periodStart: previous?.periodEnd ?? params.firstPeriodStart,
    periodEnd: params.periodEnd,
    uploads: [...latest.values()]
      .map(({ uploadId, seq, hash, retainUntil }) => ({
        uploadId,
        seq,
        hash,
        ...(retainUntil === undefined ? {} : { retainUntil }),
      }))
      .sort((a, b) => (a.uploadId < b.uploadId ? -1 : a.uploadId > b.uploadId ? 1 : 0)),
    previous: previous === undefined ? null : { hash: previous.hash, signature: previous.signature },
    keyId: params.keyId,
    signingAlgorithm: DIGEST_SIGNING_ALGORITHM,
    ...(params.schedule === undefined ? {} : { schedule: params.schedule }),
  };
}

/** Where a digest object is stored: sortable by period. */
export const digestKey = (prefix: string, digest: Pick<UnsignedDigest, 'periodEnd'>): string =>
  `${prefix}${digest.periodEnd}.json`;

export const DIGEST_VERDICTS = ['verified', 'altered', 'missing'] as const;
export type DigestVerdict = (typeof DIGEST_VERDICTS)[number];

export interface DigestReport {
  /** The digest's number (or where one is missing, the number it would have). */
  number: number;
  name: string;
  verdict: DigestVerdict;
  problem?: string;
}

export interface DigestChainReport {
  digests: DigestReport[];
  /** The latest seq and hash each upload had in a verified digest. */
  anchors: Map<string, DigestEntry>;
  /** Whether the chain holds from the first digest given to the last, without a gap. */
  chainIntact: boolean;
}

/**
 * Verifies digests (read back as they are stored, named) with the public key: each must be
 * signed by it, follow the one before by hash and signature, and start its period where that
 * one ended. Anchors come from verified digests only.
 */
export function verifyDigestChain(
  read: ReadonlyArray<{ name: string; content: unknown; problem?: string }>,
  publicKey: KeyObject | string,
  options: { at?: Date } = {},
): DigestChainReport {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const reports: DigestReport[] = [];
  const anchors = new Map<string, DigestEntry>();
  const parsed = read
    .map(({ name, content, problem }) => ({ name, digest: asDigest(content), problem }))
    .sort((a, b) => (a.digest?.number ?? 0) - (b.digest?.number ?? 0));
  // The last digest read (its number), and the last that verified (to check the link to it).
  let lastNumber: number | undefined;
  let previous: Digest | undefined;
  let lastSigned: Digest | undefined;
  for (const { name, digest, problem } of parsed) {
    if (digest === undefined) {
      reports.push({ number: 0, name, verdict: 'altered', problem: 'not a digest' });
      continue;
    }
    if (lastNumber !== undefined) {
      for (let number = lastNumber + 1; number < digest.number; number++) {
        reports.push({ number, name: '', verdict: 'missing', problem: `digest ${number} is not there` });
      }
    }
    const follows =
      previous === undefined || digest.number !== previous.number + 1 || followsFrom(digest, previous);
    lastNumber = digest.number;
    if (!signatureHolds(digest, key)) {
      reports.push({
        number: digest.number,
        name,
        verdict: 'altered',
        problem: 'the signature does not verify',
      });
      previous = undefined;
      continue;
    }
    if (!follows) {
      reports.push({
        number: digest.number,
        name,
        verdict: 'altered',
        problem: 'it does not name the digest before it (hash, signature, period)',
      });
      previous = undefined;
      continue;
    }
    lastSigned = digest;
    // Flagged where it is stored (overwritten: the first version is what was read), yet signed
    // and chained: it still anchors the trails it names.
    reports.push(
      problem === undefined
        ? { number: digest.number, name, verdict: 'verified' }
        : { number: digest.number, name, verdict: 'altered', problem },
    );
    for (const entry of digest.uploads) {
      const known = anchors.get(entry.uploadId);
      if (known === undefined || entry.seq >= known.seq) anchors.set(entry.uploadId, entry);
    }
    previous = digest;
  }
  const tail =
    options.at === undefined || lastSigned === undefined ? undefined : missingTail(lastSigned, options.at);
  if (tail !== undefined) reports.push(tail);
  return { digests: reports, anchors, chainIntact: reports.every((report) => report.verdict === 'verified') };
}

/**
 * The digests after the last one that should exist at `at`: the next is written a settle time
 * after its period ends, one interval after the last one's; a verifier allows two intervals.
 */
export function missingTail(last: Digest, at: Date): DigestReport | undefined {
  const schedule = last.schedule;
  if (schedule === undefined) return undefined;
  const intervalMs = schedule.intervalSeconds * 1000;
  const dueBy = Date.parse(last.periodEnd) + 2 * intervalMs + schedule.settleSeconds * 1000;
  if (!(at.getTime() > dueBy)) return undefined;
  const missing = Math.floor(
    (at.getTime() - schedule.settleSeconds * 1000 - Date.parse(last.periodEnd)) / intervalMs,
  );
  return {
    number: last.number + 1,
    name: '',
    verdict: 'missing',
    problem: `no digest after ${last.periodEnd} (number ${last.number}): ${missing} period(s) of ${schedule.intervalSeconds} s have ended since, each due ${schedule.settleSeconds} s after its end`,
  };
}

function followsFrom(digest: Digest, previous: Digest): boolean {
  return (
    digest.previous?.hash === digestHash(previous) &&
    digest.previous.signature === previous.signature &&
    digest.periodStart === previous.periodEnd
  );
}

function signatureHolds(digest: Digest, key: KeyObject): boolean {
  try {
    return verify('sha256', digestSigningInput(digest), key, Buffer.from(digest.signature, 'base64'));
  } catch {
    return false;
  }
}

function asDigest(content: unknown): Digest | undefined {
  if (typeof content !== 'object' || content === null) return undefined;
  const digest = content as Partial<Digest>;
  const valid =
    digest.format === DIGEST_FORMAT &&
    Number.isInteger(digest.number) &&
    typeof digest.periodStart === 'string' &&
    typeof digest.periodEnd === 'string' &&
    Array.isArray(digest.uploads) &&
    typeof digest.signature === 'string';
  return valid ? (digest as Digest) : undefined;
}
