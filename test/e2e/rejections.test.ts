import { OOXML_WITH, PDF_WITH } from '../fixtures/active-content.js';
import * as samples from '../fixtures/samples.js';
import {
  auditTrail,
  createUpload,
  s3For,
  sharedRuntime,
  tokenFor,
  uniqueUser,
  upload,
  versionsOf,
  waitForExecutionsSettled,
  waitForOutcome,
} from './support.js';

/**
 * The bytes decide: uploads that S3 accepted (they match the grant) but whose content is not what
 * was declared are REJECTED with reason codes, never served, and kept only under rejected/.
 */
const runtime = sharedRuntime();
const s3 = s3For(runtime);

interface Case {
  label: string;
  bytes: Buffer;
  contentType: string;
  method: 'POST' | 'PUT';
  /** The sha256 to declare; the bytes' own digest when left out. */
  sha256?: string | null;
  reasons: string[];
}

async function uploadAndSettle(testCase: Case) {
  const token = await tokenFor(runtime, uniqueUser('reject'));
  const sha256 = testCase.sha256 === undefined ? samples.sha256Hex(testCase.bytes) : testCase.sha256;
  const created = await createUpload(runtime, token, {
    fileName: 'document',
    contentType: testCase.contentType,
    size: testCase.bytes.length,
    ...(sha256 !== null ? { sha256 } : {}),
    method: testCase.method,
  });
  const key = `quarantine/${created.uploadId}`;
  const sent = await upload(created.upload, testCase.bytes);
  const outcome = await waitForOutcome(runtime, token, created.uploadId);
  // The status turns terminal before the last step (releasing the quarantine version) has run.
  const executions = await waitForExecutionsSettled(runtime, key);
  return {
    sent,
    outcome,
    executions,
    trail: await auditTrail(runtime, token, created.uploadId),
    quarantine: await versionsOf(s3, key),
    rejected: await versionsOf(s3, `rejected/${created.uploadId}`),
    clean: await versionsOf(s3, `clean/${created.uploadId}`),
  };
}

function expectRejected(result: Awaited<ReturnType<typeof uploadAndSettle>>, reasons: string[]): void {
  expect(result.sent.status).toBeLessThan(300);
  expect(result.outcome.status).toBe('REJECTED');
  expect(result.outcome.reasons?.map((reason) => reason.code)).toEqual(reasons);
  expect(result.outcome).not.toHaveProperty('download');
  expect(result.executions.map((execution) => execution.status)).not.toContain('FAILED');
  expect(result.quarantine).toEqual({ versions: [], deleteMarkers: 0 });
  expect(result.clean).toEqual({ versions: [], deleteMarkers: 0 });
  expect(result.rejected.versions).toHaveLength(1); // kept for forensics
  expect(result.trail.map((event) => event.action)).toEqual(['ISSUED', 'CLAIMED', 'REJECTED']);
  expect(result.trail[2]?.reasons.map((reason) => reason.code)).toEqual(reasons);
}

const cases: Case[] = [
  {
    label: 'an HTML page declared as application/pdf',
    bytes: samples.html(),
    contentType: samples.MIME.pdf,
    method: 'POST',
    reasons: ['TYPE_MISMATCH'],
  },
  {
    label: 'a Windows executable declared as application/pdf',
    bytes: samples.exe(),
    contentType: samples.MIME.pdf,
    method: 'PUT',
    reasons: ['TYPE_MISMATCH', 'TYPE_NOT_ALLOWED'],
  },
  {
    label: 'a PNG declared as image/jpeg',
    bytes: samples.png(),
    contentType: samples.MIME.jpeg,
    method: 'POST',
    reasons: ['TYPE_MISMATCH'],
  },
  {
    // RadosGW does not verify x-amz-checksum-sha256 (S3 would refuse this upload with
    // BadDigest), so locally it is the pipeline's own SHA-256 that catches it.
    label: 'a file whose declared sha256 is not its own',
    bytes: samples.pdf(),
    contentType: samples.MIME.pdf,
    method: 'PUT',
    sha256: samples.sha256Hex(samples.pdf('other content')),
    reasons: ['CHECKSUM_MISMATCH'],
  },
  {
    label: 'a PDF whose JavaScript sits in a compressed object stream',
    bytes: PDF_WITH['javascript-in-object-stream'](),
    contentType: samples.MIME.pdf,
    method: 'POST',
    reasons: ['ACTIVE_CONTENT'],
  },
  {
    label: 'a DOCX with an external template relationship (remote template injection)',
    bytes: OOXML_WITH['docx-remote-template'](),
    contentType: samples.MIME.docx,
    method: 'PUT',
    reasons: ['ACTIVE_CONTENT'],
  },
  {
    label: 'an empty file sent by POST',
    bytes: Buffer.alloc(0),
    contentType: samples.MIME.text,
    method: 'POST',
    sha256: null,
    reasons: ['EMPTY_FILE'],
  },
  {
    label: 'an empty file sent by PUT',
    bytes: Buffer.alloc(0),
    contentType: samples.MIME.text,
    method: 'PUT',
    sha256: null,
    reasons: ['EMPTY_FILE'],
  },
];

describe('rejections: the content, not the label, decides', () => {
  it.each(cases)(
    '$label via $method is REJECTED with $reasons, never served',
    async ({ reasons, ...testCase }) => {
      // Arrange + Act
      const result = await uploadAndSettle({ ...testCase, reasons });
      // Assert
      expectRejected(result, reasons);
    },
  );
});
