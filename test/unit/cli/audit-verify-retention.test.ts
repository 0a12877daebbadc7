import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../cli/main.js';
import { digestSigningInput, nextDigest, type Digest } from '../../../functions/domain/audit-digest.js';
import { appendEvent } from '../../../functions/domain/audit-trail.js';
import { toAuditEventView } from '../../../functions/domain/status-view.js';
import { issuedEvent } from '../../../functions/domain/transition-events.js';

/**
 * An abandoned upload's record may be deleted by the table's TTL once its retention ends
 * (abandonedRecordRetentionDays). The digest names when: `airlock audit verify` must not report
 * such a trail as deleted after that time, and must before it.
 */

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const KEPT = '01JNB8Y6Z4Q2W7E5R3T9K1M0PA';
const ABANDONED = '01JNB8Y6Z4Q2W7E5R3T9K1M0PB';
const ISSUED_AT = '2025-03-01T12:01:00.000Z';
const PERIOD_END = '2025-03-01T12:15:00.000Z';
const RETAIN_UNTIL = '2025-04-01T12:16:00.000Z';

/** One signed digest naming both trails, the abandoned one with its retention; an export of `kept` only. */
function files(): { exportFile: string; digestDir: string; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-retention-'));
  const kept = appendEvent(undefined, issuedEvent(KEPT, 'alice', ISSUED_AT)).event;
  const abandoned = appendEvent(undefined, issuedEvent(ABANDONED, 'alice', ISSUED_AT)).event;
  const unsigned = nextDigest({
    previous: undefined,
    firstPeriodStart: new Date(0).toISOString(),
    periodEnd: PERIOD_END,
    uploads: [
      { uploadId: KEPT, seq: kept.seq, hash: kept.hash },
      { uploadId: ABANDONED, seq: abandoned.seq, hash: abandoned.hash, retainUntil: RETAIN_UNTIL },
    ],
    keyId: 'test-key',
  });
  const digest: Digest = {
    ...unsigned,
    signature: sign('sha256', digestSigningInput(unsigned), privateKey).toString('base64'),
  };
  const digestDir = join(dir, 'digests');
  const exportFile = join(dir, 'export.ndjson');
  const keyFile = join(dir, 'public.pem');
  mkdirSync(digestDir);
  writeFileSync(join(digestDir, `${PERIOD_END}.json`), JSON.stringify(digest));
  writeFileSync(
    exportFile,
    `${JSON.stringify({ uploadId: KEPT, events: [toAuditEventView(kept, 'auditor')] })}\n`,
  );
  writeFileSync(keyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { exportFile, digestDir, keyFile };
}

async function verifyAt(at: string): Promise<{ code: number; summary: Record<string, unknown> }> {
  const { exportFile, digestDir, keyFile } = files();
  let out = '';
  const code = await main({
    argv: [
      'audit',
      'verify',
      '--export',
      exportFile,
      '--digests',
      digestDir,
      '--public-key',
      keyFile,
      '--at',
      at,
      '--json',
    ],
    env: {},
    stdout: { write: (chunk: string) => ((out += chunk), true) } as unknown as NodeJS.WritableStream,
    stderr: { write: () => true } as unknown as NodeJS.WritableStream,
  });
  return { code, summary: JSON.parse(out) as Record<string, unknown> };
}

describe('audit verify and the retention of abandoned uploads', () => {
  it('reports an abandoned trail gone before its retention ends as deleted', async () => {
    // Act
    const { code, summary } = await verifyAt('2025-03-02T00:00:00.000Z');
    // Assert
    expect(code).toBe(1);
    expect(summary).toMatchObject({ result: 'FAILED', retentionEnded: 0 });
    expect(summary.problems).toEqual([expect.objectContaining({ uploadId: ABANDONED, verdict: 'deleted' })]);
  });

  it('counts an abandoned trail gone after its retention ended, as the TTL allows, and verifies', async () => {
    // Act
    const { code, summary } = await verifyAt('2025-04-02T00:00:00.000Z');
    // Assert
    expect(summary).toMatchObject({ result: 'VERIFIED', retentionEnded: 1, problems: [] });
    expect(code).toBe(0);
  });
});
