import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import canonicalize from 'canonicalize';
import {
  nextDigest,
  verifyDigestChain,
  type Digest,
  type DigestEntry,
  type UnsignedDigest,
} from '../../../functions/domain/audit-digest.js';

const KEYS = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const OTHER_KEYS = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const PUBLIC_PEM = KEYS.publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** Signed as the format says (ECDSA P-256, SHA-256, DER, base64 over the RFC 8785 JSON), not by the code under test. */
function signed(digest: UnsignedDigest, privateKey = KEYS.privateKey): Digest {
  const input = Buffer.from(canonicalize(digest) ?? '', 'utf8');
  return { ...digest, signature: sign('sha256', input, privateKey).toString('base64') };
}

const entry = (uploadId: string, seq: number): DigestEntry => ({
  uploadId,
  seq,
  hash: createHash('sha256').update(`${uploadId}/${seq}`).digest('hex'),
});

const PERIODS = ['2025-03-01T12:15:00.000Z', '2025-03-01T12:30:00.000Z', '2025-03-01T12:45:00.000Z'];
const CHANGES: DigestEntry[][] = [[entry('B', 1), entry('A', 1), entry('A', 2)], [], [entry('A', 3)]];

/** Three digests in a row; the second names no upload (a period with no change still gets one). */
function chain(): Digest[] {
  const digests: Digest[] = [];
  PERIODS.forEach((periodEnd, index) => {
    digests.push(
      signed(
        nextDigest({
          previous: digests.at(-1),
          firstPeriodStart: '2025-03-01T12:00:00.000Z',
          periodEnd,
          uploads: CHANGES[index] ?? [],
          keyId: 'local',
        }),
      ),
    );
  });
  return digests;
}

const named = (digests: Digest[]) =>
  digests.map((digest) => ({ name: `${digest.periodEnd}.json`, content: digest }));

describe('nextDigest', () => {
  it('numbers digests from 1, chains each period to the one before, and keeps each upload once at its latest seq', () => {
    // Act
    const [first, second, third] = chain();
    // Assert
    expect(first).toMatchObject({ number: 1, periodStart: '2025-03-01T12:00:00.000Z', previous: null });
    expect(first?.uploads).toEqual([entry('A', 2), entry('B', 1)]);
    expect(second).toMatchObject({ number: 2, periodStart: PERIODS[0], uploads: [] });
    expect(second?.previous).toEqual({
      hash: createHash('sha256')
        .update(canonicalize(first) ?? '')
        .digest('hex'),
      signature: first?.signature,
    });
    expect(third?.number).toBe(3);
  });
});

describe('verifyDigestChain', () => {
  it('verifies a chain as written, and anchors each upload at its latest seq', () => {
    // Act
    const report = verifyDigestChain(named(chain()), PUBLIC_PEM);
    // Assert
    expect(report.chainIntact).toBe(true);
    expect(report.digests.map((digest) => [digest.number, digest.verdict])).toEqual([
      [1, 'verified'],
      [2, 'verified'],
      [3, 'verified'],
    ]);
    expect(report.anchors.get('A')).toEqual(entry('A', 3));
    expect(report.anchors.get('B')).toEqual(entry('B', 1));
  });

  it('reports a digest whose content was changed after signing as altered, and takes no anchor from it', () => {
    // Arrange
    const digests = chain();
    const [first] = digests;
    digests[0] = { ...(first as Digest), uploads: [entry('A', 1)] };
    // Act
    const report = verifyDigestChain(named(digests), PUBLIC_PEM);
    // Assert
    expect(report.chainIntact).toBe(false);
    expect(report.digests[0]).toMatchObject({ number: 1, verdict: 'altered' });
    expect(report.anchors.get('B')).toBeUndefined();
  });

  it('reports a digest deleted from the middle as missing', () => {
    // Arrange
    const [first, , third] = chain();
    // Act
    const report = verifyDigestChain(named([first as Digest, third as Digest]), PUBLIC_PEM);
    // Assert
    expect(report.digests.map((digest) => [digest.number, digest.verdict])).toEqual([
      [1, 'verified'],
      [2, 'missing'],
      [3, 'verified'],
    ]);
  });

  it('reports a digest signed by another key as altered', () => {
    // Arrange
    const digests = chain();
    const { signature: _signature, ...unsigned } = digests[2] as Digest;
    digests[2] = signed(unsigned, OTHER_KEYS.privateKey);
    // Act
    const report = verifyDigestChain(named(digests), PUBLIC_PEM);
    // Assert
    expect(report.digests[2]).toMatchObject({ number: 3, verdict: 'altered' });
  });

  it('reports a replacement signed with the right key that does not name the digest before it as altered', () => {
    // Arrange: the key holder re-signs a rewritten second digest; the third still names the original
    const digests = chain();
    const { signature: _signature, ...unsigned } = digests[1] as Digest;
    digests[1] = signed({ ...unsigned, previous: { hash: '0'.repeat(64), signature: 'AA==' } });
    // Act
    const report = verifyDigestChain(named(digests), PUBLIC_PEM);
    // Assert
    expect(report.digests.map((digest) => digest.verdict)).toEqual(['verified', 'altered', 'verified']);
  });

  it('reports a file that is not a digest as altered instead of throwing', () => {
    // Act
    const report = verifyDigestChain([{ name: 'junk.json', content: 'junk' }], PUBLIC_PEM);
    // Assert
    expect(report.digests).toEqual([
      { number: 0, name: 'junk.json', verdict: 'altered', problem: 'not a digest' },
    ]);
  });
});
