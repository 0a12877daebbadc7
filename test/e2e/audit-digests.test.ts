import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectLockConfigurationCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DIGEST_PREFIX } from '../../functions/adapters/digest-bucket.js';
import type { Digest } from '../../functions/domain/audit-digest.js';
import { readLocalSettings } from '../../local/settings.js';
import { defaultDigestBucket } from '../../local/iam/roles.js';
import * as samples from '../fixtures/samples.js';
import { allocateRuntime, launchRuntime, stopRuntime, type RuntimeSpec } from './runtime-process.js';
import { api, pollUntil, runAirlock, s3For, tokenFor, uniqueUser, type CliRun } from './support.js';

/**
 * Signed, chained digests on a runtime of their own, written every 3 seconds (2 seconds after
 * each period ends): real uploads are digested and verify clean; then, as an attacker with the
 * bucket's keys and the table would, a digest is overwritten, deleted, and an upload's record
 * removed, and `airlock audit verify` must report each.
 */
let spec: RuntimeSpec;
let pid = 0;
const runtime = () => ({ apiUrl: `http://localhost:${spec.ports.api}`, dataDir: spec.dataDir });
const settings = readLocalSettings({});
const DIGEST_BUCKET = defaultDigestBucket(settings.bucket);

beforeAll(async () => {
  spec = await allocateRuntime({
    dataDir: mkdtempSync(join(tmpdir(), 'airlock-e2e-digests-')),
    env: { AIRLOCK_AUDIT_DIGEST_INTERVAL_SECONDS: '3', AIRLOCK_AUDIT_DIGEST_SETTLE_SECONDS: '2' },
  });
  pid = (await launchRuntime(spec)).pid;
}, 120_000);

afterAll(async () => {
  if (pid) await stopRuntime(pid, spec.dataDir);
  if (!process.env.AIRLOCK_E2E_KEEP) rmSync(spec.dataDir, { recursive: true, force: true });
});

const airlock = (args: string[], token: string): Promise<CliRun> =>
  runAirlock(runtime().apiUrl, args, { AIRLOCK_TOKEN: token });

interface DigestItem {
  name: string;
  versions: number;
  deleted: boolean;
  digest?: Digest;
}

interface Summary {
  problems: Array<{ uploadId: string; verdict: string }>;
  digests?: {
    chainIntact: boolean;
    verdicts: Record<string, number>;
    problems: Array<{ number: number; name: string; verdict: string; problem?: string }>;
  };
  result: string;
}

describe('signed audit digests on their schedule', () => {
  let auditor: string;
  let ids: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'airlock-digests-'));
  const digests = async (): Promise<DigestItem[]> => {
    const response = await api<{ items: DigestItem[] }>(runtime(), '/audit/digests?limit=100', {
      token: auditor,
    });
    expect(response.status).toBe(200);
    return response.body.items;
  };
  const verifyOnline = async (): Promise<{ code: number | null; summary: Summary }> => {
    const run = await airlock(['audit', 'verify', '--json'], auditor);
    return { code: run.code, summary: JSON.parse(run.stdout) as Summary };
  };

  beforeAll(async () => {
    auditor = await tokenFor(runtime(), uniqueUser('auditor'), ['auditors']);
    const owner = await tokenFor(runtime(), uniqueUser('owner'));
    const files = [0, 1, 2].map((index) => {
      const path = join(dir, `doc-${index}.pdf`);
      writeFileSync(path, samples.pdf(`digest ${index} ${Math.random()}`));
      return path;
    });
    const uploaded = await airlock(['upload', '--json', '--timeout', '90', ...files], owner);
    expect(uploaded.code).toBe(0);
    ids = (JSON.parse(uploaded.stdout) as Array<{ uploadId: string }>).map((upload) => upload.uploadId);
    // Until a digest anchors every upload at its last event (PROCESSED: seq 3), then one more.
    await pollUntil(
      'digests anchoring every upload at its outcome',
      async () => {
        const items = await digests();
        const anchored = new Map<string, number>();
        for (const item of items)
          for (const entry of item.digest?.uploads ?? []) anchored.set(entry.uploadId, entry.seq);
        return ids.every((id) => anchored.get(id) === 3) && items.length >= 4 ? items : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  }, 150_000);

  it('writes one digest per period, chained, and verifies them clean online and offline', async () => {
    // Act
    const items = await digests();
    const online = await verifyOnline();
    const downloaded = await airlock(['audit', 'digests', '--output', join(dir, 'digests')], auditor);
    const key = await airlock(['audit', 'public-key', '--output', join(dir, 'public.pem')], auditor);
    const exported = await airlock(
      ['audit', 'export', '--from', '1970-01-01', '--to', 'now', '--format', 'ndjson'],
      auditor,
    );
    writeFileSync(join(dir, 'export.ndjson'), exported.stdout);
    const offline = await airlock(
      [
        'audit',
        'verify',
        '--export',
        join(dir, 'export.ndjson'),
        '--digests',
        join(dir, 'digests'),
        '--public-key',
        join(dir, 'public.pem'),
        '--json',
      ],
      auditor,
    );

    // Assert: numbered without a gap, each period starting where the one before ended
    const chain = items.map((item) => item.digest!);
    expect(chain.map((digest) => digest.number)).toEqual(chain.map((_, index) => index + 1));
    for (const [index, digest] of chain.entries()) {
      if (index > 0) expect(digest.periodStart).toBe(chain[index - 1]!.periodEnd);
      expect(Date.parse(digest.periodEnd) % 3000).toBe(0);
    }
    expect(items.every((item) => item.versions === 1 && !item.deleted)).toBe(true);
    expect(online.code).toBe(0);
    expect(online.summary.digests).toMatchObject({ chainIntact: true });
    expect([downloaded.code, key.code, exported.code]).toEqual([0, 0, 0]);
    expect(
      readdirSync(join(dir, 'digests')).filter((name) => name.endsWith('.json')).length,
    ).toBeGreaterThanOrEqual(items.length);
    expect(offline.code).toBe(0);
    expect((JSON.parse(offline.stdout) as Summary).result).toBe('VERIFIED');
  });

  it('an attacker with bucket access: an overwrite is kept apart by Object Lock, a delete with a version is refused, a delete marker shows as missing', async () => {
    // Arrange
    const s3 = s3For(spec);
    const lock = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: DIGEST_BUCKET }));
    const [, second, third] = await digests();
    const overwritten = `${DIGEST_PREFIX}${second!.name}`;
    const hidden = `${DIGEST_PREFIX}${third!.name}`;

    // Act: overwrite one digest with its uploads removed, delete another's version, then hide it
    const forged = Buffer.from(JSON.stringify({ ...second!.digest, uploads: [] }));
    await s3.send(
      new PutObjectCommand({
        Bucket: DIGEST_BUCKET,
        Key: overwritten,
        Body: forged,
        ContentMD5: createHash('md5').update(forged).digest('base64'),
      }),
    );
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: DIGEST_BUCKET, Prefix: hidden }));
    const versionId = versions.Versions?.[0]?.VersionId;
    const deleteVersion = await s3
      .send(new DeleteObjectCommand({ Bucket: DIGEST_BUCKET, Key: hidden, VersionId: versionId }))
      .then(
        () => 'deleted',
        (error: { name?: string }) => error.name,
      );
    await s3.send(new DeleteObjectCommand({ Bucket: DIGEST_BUCKET, Key: hidden }));
    const online = await verifyOnline();
    const downloaded = await airlock(['audit', 'digests', '--output', join(dir, 'attacked')], auditor);

    // Assert: what RadosGW did (Object Lock COMPLIANCE, 365 days by default)
    expect(lock.ObjectLockConfiguration?.Rule?.DefaultRetention).toMatchObject({
      Mode: 'COMPLIANCE',
      Days: 365,
    });
    expect(deleteVersion).toBe('AccessDenied');
    const after = await digests();
    expect(after.find((item) => item.name === second!.name)).toMatchObject({ versions: 2, deleted: false });
    expect(after.find((item) => item.name === third!.name)).toMatchObject({ versions: 1, deleted: true });
    // The first version is what the API gives: Object Lock kept the original.
    expect(after.find((item) => item.name === second!.name)?.digest).toEqual(second!.digest);
    expect(online.code).toBe(1);
    expect(online.summary.digests?.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          number: second!.digest!.number,
          verdict: 'altered',
          problem: expect.stringMatching(/overwritten/),
        }),
        expect.objectContaining({ number: third!.digest!.number, verdict: 'missing' }),
      ]),
    );
    expect(downloaded.code).toBe(1);
    expect(downloaded.stderr).toContain('overwritten');
  });

  it("a whole upload's record deleted from the table is reported against the digests", async () => {
    // Arrange
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: `http://127.0.0.1:${spec.ports.dynamodb}`,
        region: settings.region,
        credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      }),
    );
    const gone = ids[0]!;
    await doc.send(
      new DeleteCommand({ TableName: settings.table, Key: { pk: `UPLOAD#${gone}`, sk: 'RECORD' } }),
    );
    doc.destroy();
    // Act
    const online = await verifyOnline();
    // Assert
    expect(online.code).toBe(1);
    expect(online.summary.problems).toEqual([
      expect.objectContaining({ uploadId: gone, verdict: 'deleted' }),
    ]);
  });
});
