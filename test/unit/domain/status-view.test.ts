import { FAKE_HEAD_HASH } from '../../support/trail-fixtures.js';
import type { RecordedEvent, UploadRecord, UploadStatus } from '../../../functions/domain/model.js';
import { UPLOAD_STATUSES } from '../../../functions/domain/model.js';
import {
  canRead,
  entityTag,
  matchesIfNoneMatch,
  retryAfterSeconds,
  toAuditEventView,
  toUploadView,
  type Caller,
} from '../../../functions/domain/status-view.js';

const MEASURED_SHA = 'a'.repeat(64);
const DECLARED_SHA = 'b'.repeat(64);
const OWNER = 'owner-sub-4f1d';
const VERSION_ID = 'version-3HL4kqtJlcpXroDTDmJ';
const EXECUTION_ID = 'arn:aws:states:us-east-1:123456789012:execution:upload-pipeline:exec-77';
const INTERNAL_CAUSE =
  'AccessDenied: arn:aws:iam::123456789012:role/internal-validate-role is not authorized';
const STORED_KEY = 'clean/01JBZ8Q6W0V8M2YQH3KX5T7N9R';

/** A record with every internal field set, so that a leak would show. */
function fullRecord(status: UploadStatus, overrides: Partial<UploadRecord> = {}): UploadRecord {
  return {
    uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9R',
    owner: OWNER,
    status,
    previousStatus: 'PROCESSING',
    fileName: 'report.pdf',
    contentType: 'application/pdf',
    size: 1234,
    declaredSha256: DECLARED_SHA,
    method: 'PUT',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:05.000Z',
    expiresAt: '2025-01-01T00:15:00.000Z',
    trailHead: { seq: 2, at: '2025-01-01T00:00:05.000Z', hash: FAKE_HEAD_HASH },
    versionId: VERSION_ID,
    sequencer: '0062E99A88DC407460',
    executionId: EXECUTION_ID,
    sha256: MEASURED_SHA,
    detectedType: 'application/pdf',
    storedKey: STORED_KEY,
    reasons: [
      { code: 'CHECKSUM_MISMATCH', message: 'The SHA-256 of the content differs from the one declared.' },
    ],
    failure: { error: 'DependencyError', cause: INTERNAL_CAUSE },
    ...overrides,
  };
}

const INTERNAL_FIELDS = [
  'owner',
  'versionId',
  'executionId',
  'failure',
  'storedKey',
  'previousStatus',
  'sequencer',
  'declaredSha256',
  'method',
] as const;

describe('toUploadView', () => {
  it.each(UPLOAD_STATUSES)('never exposes internal fields of a %s upload', (status) => {
    // Act
    const view = toUploadView(fullRecord(status));
    const json = JSON.stringify(view);

    // Assert
    for (const field of INTERNAL_FIELDS) expect(view).not.toHaveProperty(field);
    expect(json).not.toContain(OWNER);
    expect(json).not.toContain(VERSION_ID);
    expect(json).not.toContain(EXECUTION_ID);
    expect(json).not.toContain(INTERNAL_CAUSE);
    expect(json).not.toContain('DependencyError');
    expect(json).not.toContain(STORED_KEY);
    expect(view).not.toHaveProperty('download');
  });

  it('shows a PROCESSED upload with its measured facts and no reasons', () => {
    // Act
    const view = toUploadView(fullRecord('PROCESSED', { reasons: [] }));

    // Assert
    expect(view).toStrictEqual({
      uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9R',
      status: 'PROCESSED',
      fileName: 'report.pdf',
      contentType: 'application/pdf',
      size: 1234,
      sha256: MEASURED_SHA,
      detectedType: 'application/pdf',
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:05.000Z',
    });
  });

  it('shows a PENDING_UPLOAD upload with the declared sha256 and its expiry', () => {
    // Arrange
    const pending: UploadRecord = {
      uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9R',
      owner: OWNER,
      status: 'PENDING_UPLOAD',
      fileName: 'notes.txt',
      contentType: 'text/plain',
      size: 10,
      declaredSha256: DECLARED_SHA,
      method: 'POST',
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z',
      trailHead: { seq: 1, at: '2025-01-01T00:00:00.000Z', hash: FAKE_HEAD_HASH },
      expiresAt: '2025-01-01T00:15:00.000Z',
    };

    // Act
    const view = toUploadView(pending);

    // Assert
    expect(view).toStrictEqual({
      uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9R',
      status: 'PENDING_UPLOAD',
      fileName: 'notes.txt',
      contentType: 'text/plain',
      size: 10,
      sha256: DECLARED_SHA,
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z',
      expiresAt: '2025-01-01T00:15:00.000Z',
    });
  });

  it('omits sha256 and detectedType when neither was declared nor measured', () => {
    // Act
    const view = toUploadView(
      fullRecord('PROCESSING', { declaredSha256: undefined, sha256: undefined, detectedType: undefined }),
    );

    // Assert
    expect(view).not.toHaveProperty('sha256');
    expect(view).not.toHaveProperty('detectedType');
  });

  it('shows the reason codes of a REJECTED upload', () => {
    // Arrange
    const reasons = [
      {
        code: 'TYPE_MISMATCH' as const,
        message: 'The content is application/x-msdownload, but application/pdf was declared.',
      },
      {
        code: 'TYPE_NOT_ALLOWED' as const,
        message: 'Files of type application/x-msdownload are not allowed.',
      },
    ];

    // Act
    const view = toUploadView(fullRecord('REJECTED', { reasons }));

    // Assert
    expect(view.reasons).toEqual(reasons);
  });

  it('shows a FAILED upload with only the generic PROCESSING_FAILED reason, never the internal cause', () => {
    // Act
    const view = toUploadView(fullRecord('FAILED'));

    // Assert
    expect(view.reasons).toEqual([
      { code: 'PROCESSING_FAILED', message: 'Processing failed. The upload is kept for a retry.' },
    ]);
    expect(JSON.stringify(view)).not.toContain('CHECKSUM_MISMATCH');
  });

  it('shows an EXPIRED upload with the UPLOAD_EXPIRED reason and no expiry time', () => {
    // Act
    const view = toUploadView(fullRecord('EXPIRED', { reasons: undefined }));

    // Assert
    expect(view.reasons?.map((reason) => reason.code)).toEqual(['UPLOAD_EXPIRED']);
    expect(view).not.toHaveProperty('expiresAt');
  });

  it.each(['PROCESSING', 'PROCESSED'] as const)(
    'shows no reasons for a %s upload, even stale ones',
    (status) => {
      expect(toUploadView(fullRecord(status))).not.toHaveProperty('reasons');
    },
  );
});

describe('entityTag', () => {
  const base = {
    uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9R',
    status: 'PROCESSING' as const,
    updatedAt: '2025-01-01T00:00:05.000Z',
  };

  it('is a quoted strong tag, the same for the same state', () => {
    // Act
    const first = entityTag(base);
    const second = entityTag({ ...base });

    // Assert
    expect(first).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(second).toBe(first);
  });

  it('ignores fields outside the state, such as a newly signed download', () => {
    expect(entityTag(fullRecord('PROCESSED', { fileName: 'other.pdf', size: 1 }))).toBe(
      entityTag(fullRecord('PROCESSED')),
    );
  });

  it('changes with the status', () => {
    expect(entityTag({ ...base, status: 'PROCESSED' })).not.toBe(entityTag(base));
  });

  it('changes with updatedAt', () => {
    expect(entityTag({ ...base, updatedAt: '2025-01-01T00:00:05.001Z' })).not.toBe(entityTag(base));
  });

  it('differs between uploads in the same state', () => {
    expect(entityTag({ ...base, uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9S' })).not.toBe(entityTag(base));
  });
});

describe('matchesIfNoneMatch', () => {
  const etag = entityTag({
    uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9R',
    status: 'PROCESSED',
    updatedAt: '2025-01-01T00:00:05.000Z',
  });

  it.each<[string, string | undefined, boolean]>([
    ['no header', undefined, false],
    ['an empty header', '', false],
    ['*', '*', true],
    ['* with spaces', '  * ', true],
    ['the exact tag', etag, true],
    ['the weak form of the tag', `W/${etag}`, true],
    ['a list containing the tag', `"abc", ${etag}, "def"`, true],
    ['a list containing the weak tag without spaces', `"abc",W/${etag}`, true],
    ['another tag', '"abc"', false],
    ['another weak tag', 'W/"abc"', false],
    ['a list of other tags', '"abc", W/"def"', false],
    ['the tag without its quotes', etag.slice(1, -1), false],
  ])('for %s: %p', (_label, header, expected) => {
    expect(matchesIfNoneMatch(header, etag)).toBe(expected);
  });
});

describe('retryAfterSeconds', () => {
  it.each<[UploadStatus, number | undefined]>([
    ['PENDING_UPLOAD', 2],
    ['PROCESSING', 1],
    ['PROCESSED', undefined],
    ['REJECTED', undefined],
    ['FAILED', undefined],
    ['EXPIRED', undefined],
  ])('for %s is %p', (status, expected) => {
    expect(retryAfterSeconds(status)).toBe(expected);
  });
});

describe('canRead', () => {
  const record = { owner: OWNER };

  it('lets the owner read their upload', () => {
    expect(canRead({ sub: OWNER, groups: [] }, record)).toBe(true);
  });

  it('lets an auditor read any upload', () => {
    expect(canRead({ sub: 'auditor-1', groups: ['staff', 'auditors'] }, record)).toBe(true);
  });

  it.each<[string, Caller]>([
    ['another user', { sub: 'someone-else', groups: [] }],
    [
      'a member of other groups',
      { sub: 'someone-else', groups: ['admins', 'auditors-readonly', 'Auditors'] },
    ],
    ['a caller whose sub only differs in case', { sub: OWNER.toUpperCase(), groups: [] }],
  ])('does not let %s read it', (_label, caller) => {
    expect(canRead(caller, record)).toBe(false);
  });
});

describe('toAuditEventView', () => {
  it('drops the upload id and shows the rest as stored (the store keeps only the execution name)', () => {
    // Arrange
    const event: RecordedEvent = {
      seq: 2,
      prevHash: 'a'.repeat(64),
      hash: 'b'.repeat(64),
      uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9R',
      at: '2025-01-01T00:00:05.000Z',
      actor: { type: 'system', id: 'claim' },
      action: 'CLAIMED',
      from: 'PENDING_UPLOAD',
      to: 'PROCESSING',
      reasons: [],
      versionId: VERSION_ID,
      executionId: 'exec-77',
    };

    // Act
    const view = toAuditEventView(event);

    // Assert
    expect(view).toStrictEqual({
      seq: 2,
      prevHash: 'a'.repeat(64),
      hash: 'b'.repeat(64),
      at: '2025-01-01T00:00:05.000Z',
      actor: { type: 'system', id: 'claim' },
      action: 'CLAIMED',
      from: 'PENDING_UPLOAD',
      to: 'PROCESSING',
      reasons: [],
      versionId: VERSION_ID,
      executionId: 'exec-77',
    });
  });
});

describe('the scan verdict in the views', () => {
  const THREAT = 'Win.Test.EICAR_HDB-1';
  const scan = {
    status: 'THREATS_FOUND' as const,
    engine: { name: 'ClamAV', version: '1.4.6' },
    database: { name: 'ClamAV', version: '27830', publishedAt: '2026-11-28T09:24:02.000Z' },
    scannedAt: '2025-01-01T00:00:04.000Z',
    threats: [THREAT],
  };
  const detected = { code: 'MALWARE_DETECTED' as const, message: `Malware detected: ${THREAT}.` };

  it('shows auditors the engine, the database version and time, and the threat name', () => {
    const view = toUploadView(fullRecord('REJECTED', { reasons: [detected], scan }), 'auditor');
    expect(view.scan).toEqual(scan);
    expect(view.reasons).toEqual([detected]);
  });

  it('shows the uploader the verdict, the engine and the database, but not which signature caught it', () => {
    const view = toUploadView(fullRecord('REJECTED', { reasons: [detected], scan }));
    expect(view.scan).toStrictEqual({
      status: 'THREATS_FOUND',
      engine: scan.engine,
      database: scan.database,
      scannedAt: scan.scannedAt,
    });
    expect(view.reasons).toEqual([
      { code: 'MALWARE_DETECTED', message: 'Malware was detected in the file.' },
    ]);
    expect(JSON.stringify(view)).not.toContain(THREAT);
  });

  it('says when scanning was turned off (scanner: none)', () => {
    const view = toUploadView(fullRecord('PROCESSED', { scan: { status: 'SKIPPED', detail: 'off' } }));
    expect(view.scan).toEqual({ status: 'SKIPPED', detail: 'off' });
  });

  it('QUARANTINED: terminal, its reasons shown, no Retry-After', () => {
    const view = toUploadView(fullRecord('QUARANTINED', { reasons: [detected], scan }));
    expect(view.reasons).toEqual([
      { code: 'MALWARE_DETECTED', message: 'Malware was detected in the file.' },
    ]);
    expect(view.sha256).toBe(MEASURED_SHA);
    expect(retryAfterSeconds('QUARANTINED')).toBeUndefined();
  });

  it("keeps the threat name of the audit trail to auditors; the owner's trail says only that malware was found", () => {
    const event: RecordedEvent = {
      seq: 4,
      uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9R',
      at: '2025-01-01T00:00:05.000Z',
      actor: { type: 'system', id: 'rescan' },
      action: 'QUARANTINED',
      from: 'PROCESSED',
      to: 'QUARANTINED',
      reasons: [detected],
      scan,
      prevHash: 'a'.repeat(64),
      hash: 'b'.repeat(64),
    };
    expect(toAuditEventView(event, 'auditor')).toMatchObject({ reasons: [detected], scan });
    const owners = toAuditEventView(event);
    expect(JSON.stringify(owners)).not.toContain(THREAT);
    expect(owners).toMatchObject({ action: 'QUARANTINED', scan: { status: 'THREATS_FOUND' } });
  });
});
