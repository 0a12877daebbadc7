import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CLAMD_LIMITS } from '../../local/clamd.js';
import { rescanLocal } from '../../local/rescan.js';
import { readLocalSettings } from '../../local/settings.js';
import * as malware from '../fixtures/malware-samples.js';
import * as samples from '../fixtures/samples.js';
import {
  api,
  auditTrail,
  BUCKET,
  createUpload,
  s3For,
  sharedRuntime,
  tokenFor,
  uniqueUser,
  upload,
  versionsOf,
  waitForExecutionsSettled,
  waitForOutcome,
  type UploadView,
} from './support.js';

/**
 * The Scan step on the local runtime, through real clamd: Validate's one read feeds ClamAV, the
 * result goes to the intake as the engine's Object Scan Result event, and the Scan step decides
 * on it. Only "no threat found" for the exact version promotes; a detection or a file the engine
 * could not fully scan is refused and never readable.
 */
const runtime = sharedRuntime();
const s3 = s3For(runtime);

async function uploadAndSettle(bytes: Buffer, contentType: string, fileName: string) {
  const owner = uniqueUser('scan');
  const token = await tokenFor(runtime, owner);
  const auditor = await tokenFor(runtime, uniqueUser('auditor'), ['auditors']);
  const created = await createUpload(runtime, token, {
    fileName,
    contentType,
    size: bytes.length,
    sha256: samples.sha256Hex(bytes),
    method: 'PUT',
  });
  const sent = await upload(created.upload, bytes);
  expect(sent.status).toBeLessThan(300);
  const outcome = await waitForOutcome(runtime, token, created.uploadId);
  const executions = await waitForExecutionsSettled(runtime, `quarantine/${created.uploadId}`);
  const asAuditor = await api<UploadView>(runtime, `/uploads/${created.uploadId}`, { token: auditor });
  return {
    uploadId: created.uploadId,
    token,
    auditor,
    outcome,
    asAuditor: asAuditor.body,
    executions,
    trail: await auditTrail(runtime, auditor, created.uploadId),
    ownersTrail: await auditTrail(runtime, token, created.uploadId),
    clean: await versionsOf(s3, `clean/${created.uploadId}`),
    rejected: await versionsOf(s3, `rejected/${created.uploadId}`),
  };
}

type Settled = Awaited<ReturnType<typeof uploadAndSettle>>;

/** Refused, never promoted, never readable: no clean/ copy, no download, kept under rejected/. */
function expectRefused(result: Settled, code: 'MALWARE_DETECTED' | 'NOT_FULLY_SCANNED'): void {
  expect(result.outcome.status).toBe('REJECTED');
  expect(result.outcome.reasons?.map((reason) => reason.code)).toEqual([code]);
  expect(result.outcome).not.toHaveProperty('download');
  expect(result.clean).toEqual({ versions: [], deleteMarkers: 0 });
  expect(result.rejected.versions).toHaveLength(1);
  // A second execution of the same version (the reconciler's, when the first was slow to claim)
  // ends as a duplicate: every execution succeeded, none failed.
  expect(result.executions.length).toBeGreaterThan(0);
  expect(new Set(result.executions.map((execution) => execution.status))).toEqual(new Set(['SUCCEEDED']));
  expect(result.trail.map((event) => event.action)).toEqual(['ISSUED', 'CLAIMED', 'REJECTED']);
}

/** A detection names the threat in the audit trail and to auditors, and only to them. */
function expectThreatNamed(result: Settled): void {
  const threats = result.asAuditor.scan?.threats ?? [];
  expect(result.asAuditor.scan).toMatchObject({ status: 'THREATS_FOUND', engine: { name: 'ClamAV' } });
  expect(threats.length).toBeGreaterThan(0);
  const rejected = result.trail.find((event) => event.action === 'REJECTED');
  for (const threat of threats) expect(rejected?.reasons[0]?.message).toContain(threat);
  expect(rejected?.scan?.threats).toEqual(threats);
  const shownToOwner = JSON.stringify([result.outcome, result.ownersTrail]);
  for (const threat of threats) expect(shownToOwner).not.toContain(threat);
}

describe('refused by the malware scan, never readable', () => {
  it('EICAR as a .txt file: REJECTED with MALWARE_DETECTED, the signature in the audit trail', async () => {
    const result = await uploadAndSettle(malware.eicar(), samples.MIME.text, 'eicar.txt');
    expectRefused(result, 'MALWARE_DETECTED');
    expectThreatNamed(result);
  });

  it('EICAR inside a ZIP inside a DOCX (a valid document with an attachment)', async () => {
    const docx = malware.docxWith({
      'word/embeddings/attachment.zip': malware.zip({ 'readme.txt': malware.eicar() }),
    });
    const result = await uploadAndSettle(docx, samples.MIME.docx, 'letter.docx');
    expectRefused(result, 'MALWARE_DETECTED');
    expectThreatNamed(result);
  });

  it('EICAR straddling stream chunk boundaries (16 KiB and 64 KiB) in a larger text', async () => {
    const text = Buffer.alloc(256 * 1024, 'lorem ipsum dolor sit amet\n');
    for (const boundary of [16 * 1024, 64 * 1024, 192 * 1024]) malware.eicar().copy(text, boundary - 30);
    const result = await uploadAndSettle(text, samples.MIME.text, 'notes.txt');
    expectRefused(result, 'MALWARE_DETECTED');
  });

  it("archives nested past the engine's recursion limit: NOT_FULLY_SCANNED, refused rather than passed", async () => {
    const docx = malware.docxWith({
      'word/embeddings/nested.zip': malware.nestedZip(CLAMD_LIMITS.maxRecursion + 2),
    });
    const result = await uploadAndSettle(docx, samples.MIME.docx, 'deep.docx');
    expectRefused(result, 'NOT_FULLY_SCANNED');
    expect(result.asAuditor.scan).toMatchObject({
      status: 'NOT_FULLY_SCANNED',
      detail: expect.stringContaining('Heuristics.Limits.Exceeded.MaxRecursion'),
    });
  });
});

describe('promoted when the engine found nothing', () => {
  it.each(samples.VALID_SAMPLES)(
    'a clean $name ($contentType) is PROCESSED, with the engine, database and time of its scan',
    async ({ bytes, contentType, name }) => {
      const result = await uploadAndSettle(bytes, contentType, name);
      expect(result.outcome.status).toBe('PROCESSED');
      expect(result.outcome.download?.url).toEqual(expect.any(String));
      expect(result.outcome.scan).toEqual({
        status: 'NO_THREATS_FOUND',
        engine: { name: 'ClamAV', version: expect.stringMatching(/^\d+\.\d+/) },
        database: expect.objectContaining({ name: expect.any(String), version: expect.any(String) }),
        scannedAt: expect.any(String),
      });
      expect(result.trail.map((event) => event.action)).toEqual(['ISSUED', 'CLAIMED', 'PROCESSED']);
    },
  );
});

describe('a rescan finds a promoted file infected: QUARANTINED', () => {
  it('stops its download at once, keeps it under rejected/, removes it from clean/, audits it', async () => {
    // Arrange: a promoted file, and a download URL handed out before the rescan.
    const result = await uploadAndSettle(samples.text(), samples.MIME.text, 'notes.txt');
    expect(result.outcome.status).toBe('PROCESSED');
    const signed = await api<{ url: string }>(runtime, `/uploads/${result.uploadId}/download`, {
      token: result.token,
      headers: { accept: 'application/json' },
    });
    expect(signed.status).toBe(200);
    const url = signed.body.url;
    expect((await fetch(url)).status).toBe(200);
    // What a signature update does to a file already promoted, played by replacing its bytes:
    // the promoted copy becomes EICAR (the original version removed), as the engine will judge it.
    const key = `clean/${result.uploadId}`;
    const before = (await versionsOf(s3, key)).versions;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: malware.eicar() }));
    for (const version of before) {
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key, VersionId: version.versionId }));
    }

    // Act: the operator's rescan, as `npm run rescan` makes it (the runtime invokes the function).
    const report = await rescanLocal(readLocalSettings({ AIRLOCK_DATA_DIR: runtime.dataDir }));

    // Assert
    expect(report.requested).toContain(result.uploadId);
    const owner = await api<UploadView>(runtime, `/uploads/${result.uploadId}`, { token: result.token });
    expect(owner.body).toMatchObject({ status: 'QUARANTINED', reasons: [{ code: 'MALWARE_DETECTED' }] });
    expect(owner.body).not.toHaveProperty('download');
    const signedAgain = await api(runtime, `/uploads/${result.uploadId}/download`, {
      token: result.token,
      headers: { accept: 'application/json' },
    });
    expect(signedAgain.status).toBe(404); // a QUARANTINED file is never signed
    expect((await fetch(url)).status).toBeGreaterThanOrEqual(400); // the URL handed out before
    expect(await versionsOf(s3, key)).toEqual({ versions: [], deleteMarkers: 0 });
    expect((await versionsOf(s3, `rejected/${result.uploadId}`)).versions).toHaveLength(1);
    const trail = await auditTrail(runtime, result.auditor, result.uploadId);
    expect(trail.map((event) => [event.action, event.from, event.to])).toEqual([
      ['ISSUED', null, 'PENDING_UPLOAD'],
      ['CLAIMED', 'PENDING_UPLOAD', 'PROCESSING'],
      ['PROCESSED', 'PROCESSING', 'PROCESSED'],
      ['QUARANTINED', 'PROCESSED', 'QUARANTINED'],
    ]);
    expect(trail.at(-1)?.scan).toMatchObject({ status: 'THREATS_FOUND', threats: [expect.any(String)] });
  });
});
