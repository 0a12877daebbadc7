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
}

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
  previous: Digest | undefined;
  firstPeriodStart: string;
  periodEnd: string;
  uploads: DigestEntry[];
  keyId: string;
}): UnsignedDigest {
  const { previous } = params;
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
      .map(({ uploadId, seq, hash }) => ({ uploadId, seq, hash }))
      .sort((a, b) => (a.uploadId < b.uploadId ? -1 : a.uploadId > b.uploadId ? 1 : 0)),
    previous: previous === undefined ? null : { hash: digestHash(previous), signature: previous.signature },
    keyId: params.keyId,
    signingAlgorithm: DIGEST_SIGNING_ALGORITHM,
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
  read: ReadonlyArray<{ name: string; content: unknown }>,
  publicKey: KeyObject | string,
): DigestChainReport {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const reports: DigestReport[] = [];
  const anchors = new Map<string, DigestEntry>();
  const parsed = read
    .map(({ name, content }) => ({ name, digest: asDigest(content) }))
    .sort((a, b) => (a.digest?.number ?? 0) - (b.digest?.number ?? 0));
  // The last digest read (its number), and the last that verified (to check the link to it).
  let lastNumber: number | undefined;
  let previous: Digest | undefined;
  for (const { name, digest } of parsed) {
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
    reports.push({ number: digest.number, name, verdict: 'verified' });
    for (const entry of digest.uploads) {
      const known = anchors.get(entry.uploadId);
      if (known === undefined || entry.seq >= known.seq) anchors.set(entry.uploadId, entry);
    }
    previous = digest;
  }
  return { digests: reports, anchors, chainIntact: reports.every((report) => report.verdict === 'verified') };
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
