import type { UploadRecord } from '../../../functions/domain/model.js';
import { REDRIVE_CEILING } from '../../../functions/domain/audit-trail.js';
import {
  compareSequencers,
  decideClaim,
  isOutcomeAlreadyRecorded,
  outcomeGuard,
  transitionTime,
  type ClaimDecision,
} from '../../../functions/domain/transitions.js';

const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:upload-pipeline:exec-1';
const OTHER_EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:upload-pipeline:exec-2';
const VERSION = 'v-first';
const OTHER_VERSION = 'v-second';
const SEQUENCER = '0062E99A88DC407460';

function record(overrides: Partial<UploadRecord> = {}): UploadRecord {
  return {
    uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9R',
    owner: 'user-1',
    status: 'PENDING_UPLOAD',
    fileName: 'report.pdf',
    contentType: 'application/pdf',
    size: 1234,
    method: 'POST',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    expiresAt: '2025-01-01T00:15:00.000Z',
    trailHead: { seq: 1, at: '2025-01-01T00:00:00.000Z' },
    ...overrides,
  };
}

/** A record claimed by EXECUTION for VERSION at SEQUENCER, then moved to `status`. */
const claimed = (status: UploadRecord['status'], overrides: Partial<UploadRecord> = {}): UploadRecord =>
  record({ status, versionId: VERSION, sequencer: SEQUENCER, executionId: EXECUTION, ...overrides });

function discardReason(decision: ClaimDecision): { code: string; message: string } {
  if (decision.kind !== 'DISCARD') throw new Error(`expected DISCARD, got ${decision.kind}`);
  return decision.reason;
}

describe('decideClaim', () => {
  it('discards an object with no upload record as UNSOLICITED', () => {
    // Act
    const decision = decideClaim(undefined, { versionId: VERSION, sequencer: SEQUENCER }, EXECUTION);

    // Assert
    expect(decision).toEqual({
      kind: 'DISCARD',
      reason: { code: 'UNSOLICITED', message: 'No upload was issued for this object.' },
    });
  });

  it('claims a PENDING_UPLOAD record from PENDING_UPLOAD', () => {
    // Act
    const decision = decideClaim(record(), { versionId: VERSION, sequencer: SEQUENCER }, EXECUTION);

    // Assert
    expect(decision).toEqual({ kind: 'CLAIM', from: 'PENDING_UPLOAD', action: 'CLAIMED' });
  });

  it('goes on as ALREADY_CLAIMED when the same execution retries the claim of the same version', () => {
    // Act
    const decision = decideClaim(
      claimed('PROCESSING'),
      { versionId: VERSION, sequencer: SEQUENCER },
      EXECUTION,
    );

    // Assert
    expect(decision).toEqual({ kind: 'ALREADY_CLAIMED' });
  });

  it.each(['PROCESSED', 'REJECTED'] as const)(
    'routes the same execution resumed after recording %s to RELEASE (quarantine only)',
    (status) => {
      // Act
      const decision = decideClaim(claimed(status), { versionId: VERSION, sequencer: SEQUENCER }, EXECUTION);

      // Assert
      expect(decision).toEqual({ kind: 'RELEASE' });
    },
  );

  it('ends a duplicate event (same version, another execution) quietly as DUPLICATE while PROCESSING', () => {
    // Act
    const decision = decideClaim(
      claimed('PROCESSING'),
      { versionId: VERSION, sequencer: SEQUENCER },
      OTHER_EXECUTION,
    );

    // Assert
    expect(decision).toEqual({ kind: 'DUPLICATE' });
  });

  it('discards a second upload to the key while PROCESSING as ALREADY_PROCESSED, calling it later', () => {
    // Act
    const decision = decideClaim(
      claimed('PROCESSING'),
      { versionId: OTHER_VERSION, sequencer: '0062E99A88DC407461' },
      OTHER_EXECUTION,
    );

    // Assert: the message is about this event's object, not the one already taken.
    const reason = discardReason(decision);
    expect(reason).toEqual({
      code: 'ALREADY_PROCESSED',
      message:
        'This object is a later upload to the same key; an earlier version was already taken for processing; only one version of an upload is processed.',
    });
    expect(reason.message).not.toMatch(/older/);
  });

  it('discards a stale event for an older version while PROCESSING as ALREADY_PROCESSED, calling it older', () => {
    // Act
    const decision = decideClaim(
      claimed('PROCESSING'),
      { versionId: OTHER_VERSION, sequencer: '0062E99A88DC40745F' },
      OTHER_EXECUTION,
    );

    // Assert: the stale object is the older one; the version taken is newer.
    const reason = discardReason(decision);
    expect(reason).toEqual({
      code: 'ALREADY_PROCESSED',
      message:
        'This object is older than the version already taken for processing; only one version of an upload is processed.',
    });
    expect(reason.message).not.toMatch(/later/);
  });

  it('discards another version without comparable sequencers as ALREADY_PROCESSED, without guessing an order', () => {
    // Act
    const noSequencer = decideClaim(claimed('PROCESSING'), { versionId: OTHER_VERSION }, OTHER_EXECUTION);
    const malformed = decideClaim(
      claimed('PROCESSING'),
      { versionId: OTHER_VERSION, sequencer: 'not-hex' },
      OTHER_EXECUTION,
    );

    // Assert
    for (const decision of [noSequencer, malformed]) {
      const reason = discardReason(decision);
      expect(reason.code).toBe('ALREADY_PROCESSED');
      expect(reason.message).toBe(
        'Another version of this upload was already taken for processing; only one version of an upload is processed.',
      );
      expect(reason.message).not.toMatch(/older|later/);
    }
  });

  it('never lets the same execution take over another version (ALREADY_PROCESSED, not ALREADY_CLAIMED)', () => {
    // Act
    const decision = decideClaim(claimed('PROCESSING'), { versionId: OTHER_VERSION }, EXECUTION);

    // Assert
    expect(discardReason(decision).code).toBe('ALREADY_PROCESSED');
  });

  it.each(['PROCESSED', 'REJECTED'] as const)(
    'ends a duplicate event (another execution) for the version of a %s upload quietly as DUPLICATE',
    (status) => {
      // Act
      const otherExecution = decideClaim(
        claimed(status),
        { versionId: VERSION, sequencer: SEQUENCER },
        OTHER_EXECUTION,
      );

      // Assert
      expect(otherExecution).toEqual({ kind: 'DUPLICATE' });
    },
  );

  it.each(['PROCESSED', 'REJECTED'] as const)(
    'discards a second upload to the key of a %s upload as ALREADY_PROCESSED (never overwrites it)',
    (status) => {
      // Act
      const later = decideClaim(
        claimed(status),
        { versionId: OTHER_VERSION, sequencer: `${SEQUENCER}00` },
        OTHER_EXECUTION,
      );
      const older = decideClaim(
        claimed(status),
        { versionId: OTHER_VERSION, sequencer: '00' },
        OTHER_EXECUTION,
      );

      // Assert
      expect(discardReason(later).code).toBe('ALREADY_PROCESSED');
      expect(discardReason(later).message).toMatch(/later/);
      expect(discardReason(older).code).toBe('ALREADY_PROCESSED');
      expect(discardReason(older).message).toMatch(/older/);
    },
  );

  it('redrives a FAILED upload for the same version: CLAIM from FAILED', () => {
    // Act
    const decision = decideClaim(
      claimed('FAILED'),
      { versionId: VERSION, sequencer: SEQUENCER },
      OTHER_EXECUTION,
    );

    // Assert
    expect(decision).toEqual({ kind: 'CLAIM', from: 'FAILED', action: 'REDRIVEN' });
  });

  it('redrives a FAILED upload that never held a version (failed before its claim): CLAIM from FAILED', () => {
    // Act
    const decision = decideClaim(
      record({ status: 'FAILED' }),
      { versionId: OTHER_VERSION, sequencer: SEQUENCER },
      OTHER_EXECUTION,
    );

    // Assert
    expect(decision).toEqual({ kind: 'CLAIM', from: 'FAILED', action: 'REDRIVEN' });
  });

  it('discards another version of a FAILED upload as ALREADY_PROCESSED', () => {
    // Act
    const decision = decideClaim(
      claimed('FAILED'),
      { versionId: OTHER_VERSION, sequencer: 'FFFFFFFFFFFFFFFFFFFF' },
      OTHER_EXECUTION,
    );

    // Assert
    const reason = discardReason(decision);
    expect(reason.code).toBe('ALREADY_PROCESSED');
    expect(reason.message).toMatch(/later/);
  });

  it.each([VERSION, OTHER_VERSION])(
    'claims the first version (%s) of an EXPIRED upload as LATE_UPLOAD: S3 accepted it before the grant expired',
    (versionId) => {
      // Act
      const decision = decideClaim(record({ status: 'EXPIRED' }), { versionId }, EXECUTION);

      // Assert
      expect(decision).toEqual({ kind: 'CLAIM', from: 'EXPIRED', action: 'LATE_UPLOAD' });
    },
  );

  it('discards a second version of a late upload once the first one was claimed', () => {
    // Arrange: the late upload's first version moved the record on, as any claim does.
    const late = record({
      status: 'PROCESSING',
      previousStatus: 'EXPIRED',
      versionId: VERSION,
      executionId: EXECUTION,
    });

    // Act
    const decision = decideClaim(late, { versionId: OTHER_VERSION }, OTHER_EXECUTION);

    // Assert
    expect(discardReason(decision).code).toBe('ALREADY_PROCESSED');
  });

  it.each([
    [REDRIVE_CEILING, { kind: 'CLAIM', from: 'FAILED', action: 'REDRIVEN' }],
    [REDRIVE_CEILING + 1, { kind: 'REDRIVE_LIMIT' }],
  ])('redrives a FAILED upload whose trail holds %i events: %j', (seq, expected) => {
    // Arrange
    const failed = record({
      status: 'FAILED',
      versionId: VERSION,
      executionId: EXECUTION,
      trailHead: { seq, at: '2025-01-01T00:05:00.000Z' },
    });

    // Act
    const decision = decideClaim(failed, { versionId: VERSION }, OTHER_EXECUTION);

    // Assert
    expect(decision).toEqual(expected);
  });
});

describe('compareSequencers', () => {
  it.each<[string, string, number]>([
    ['0062E99A88DC407460', '0062E99A88DC407460', 0],
    ['0062E99A88DC407460', '0062E99A88DC407461', -1],
    ['0062E99A88DC407461', '0062E99A88DC407460', 1],
    // Different lengths compare as numbers: left-padded, not lexicographically.
    ['FF', '100', -1],
    ['100', 'FF', 1],
    ['A', '000A', 0],
    ['9', '0000000010', -1],
    ['0062E99A88DC407460', '62E99A88DC40746', 1],
    // Hex is case-insensitive.
    ['00ab', '00AB', 0],
    ['00ab', '00AC', -1],
  ])('orders %p against %p as %p', (a, b, expected) => {
    expect(compareSequencers(a, b)).toBe(expected);
  });

  it.each<[string | undefined, string | undefined]>([
    [undefined, '00AB'],
    ['00AB', undefined],
    [undefined, undefined],
    ['', '00AB'],
    ['00AB', 'xyz'],
    ['-1', '00'],
    ['0x1F', '1F'],
  ])('cannot order %p against %p', (a, b) => {
    expect(compareSequencers(a, b)).toBeUndefined();
  });
});

describe('outcomeGuard', () => {
  it.each(['PROCESSED', 'REJECTED'] as const)(
    'lets %s be written only from PROCESSING by the claiming execution',
    (outcome) => {
      expect(outcomeGuard(outcome, EXECUTION)).toEqual({ from: ['PROCESSING'], executionId: EXECUTION });
    },
  );

  it('lets FAILED be written from PENDING_UPLOAD or PROCESSING, never over a final status', () => {
    // Act
    const guard = outcomeGuard('FAILED', EXECUTION);

    // Assert
    expect(guard).toEqual({ from: ['PENDING_UPLOAD', 'PROCESSING'], executionId: EXECUTION });
    expect(guard.from).not.toContain('PROCESSED');
    expect(guard.from).not.toContain('REJECTED');
    expect(guard.from).not.toContain('EXPIRED');
  });
});

describe('isOutcomeAlreadyRecorded', () => {
  it('is true when this execution already wrote this outcome (a retried Record task)', () => {
    expect(isOutcomeAlreadyRecorded(claimed('PROCESSED'), 'PROCESSED', EXECUTION)).toBe(true);
    expect(isOutcomeAlreadyRecorded(claimed('REJECTED'), 'REJECTED', EXECUTION)).toBe(true);
  });

  it('is false when another execution wrote it', () => {
    expect(isOutcomeAlreadyRecorded(claimed('PROCESSED'), 'PROCESSED', OTHER_EXECUTION)).toBe(false);
  });

  it('is false when another outcome was written', () => {
    expect(isOutcomeAlreadyRecorded(claimed('REJECTED'), 'PROCESSED', EXECUTION)).toBe(false);
    expect(isOutcomeAlreadyRecorded(claimed('PROCESSED'), 'FAILED', EXECUTION)).toBe(false);
  });

  it('is false while the upload is still PROCESSING', () => {
    expect(isOutcomeAlreadyRecorded(claimed('PROCESSING'), 'PROCESSED', EXECUTION)).toBe(false);
  });
});

describe('transitionTime', () => {
  const now = new Date('2025-01-01T00:00:10.000Z');

  it('is now when there is no previous transition', () => {
    expect(transitionTime(now, undefined)).toBe('2025-01-01T00:00:10.000Z');
  });

  it('is now when the previous transition is earlier', () => {
    expect(transitionTime(now, '2025-01-01T00:00:09.999Z')).toBe('2025-01-01T00:00:10.000Z');
  });

  it('is one millisecond after the previous transition when the clock is not ahead of it', () => {
    expect(transitionTime(now, '2025-01-01T00:00:10.000Z')).toBe('2025-01-01T00:00:10.001Z');
    expect(transitionTime(now, '2025-01-01T00:00:12.500Z')).toBe('2025-01-01T00:00:12.501Z');
  });

  it('ignores a previous time that does not parse', () => {
    expect(transitionTime(now, 'yesterday-ish')).toBe('2025-01-01T00:00:10.000Z');
  });
});
