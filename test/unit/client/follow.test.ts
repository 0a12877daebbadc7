import type { AuditEvent, UploadView } from '../../../client/index.js';
import { outcomesOf } from '../../../cli/follow.js';

const UPLOAD = { uploadId: '01JBZ8Q6W0V8M2YQH3KX5T7N9R', status: 'PROCESSED' } as UploadView;
const event = (seq: number, action: string, to: string | null, reasons: string[] = []) =>
  ({
    seq,
    at: `2026-11-29T10:00:0${seq}.000Z`,
    action,
    from: null,
    to,
    actor: { type: 'system', id: 'pipeline' },
    reasons: reasons.map((code) => ({ code, message: '' })),
  }) as unknown as AuditEvent;

describe('airlock events --follow: the outcomes of a trail', () => {
  test('one per terminal transition, with the id webhooks deliver it with (the trail seq)', () => {
    // Arrange: failed, redriven, processed, then a discarded second version.
    const trail = [
      event(1, 'ISSUED', 'PENDING_UPLOAD'),
      event(2, 'CLAIMED', 'PROCESSING'),
      event(3, 'FAILED', 'FAILED', ['PROCESSING_FAILED']),
      event(4, 'REDRIVEN', 'PROCESSING'),
      event(5, 'PROCESSED', 'PROCESSED'),
      event(6, 'DISCARDED', null, ['ALREADY_PROCESSED']),
    ];

    // Act
    const outcomes = outcomesOf(UPLOAD, trail);

    // Assert
    expect(outcomes.map(({ id, type, reasons }) => ({ id, type, reasons }))).toEqual([
      { id: `evt_${UPLOAD.uploadId}_3`, type: 'airlock.upload.failed', reasons: ['PROCESSING_FAILED'] },
      { id: `evt_${UPLOAD.uploadId}_5`, type: 'airlock.upload.processed', reasons: [] },
    ]);
  });
});
