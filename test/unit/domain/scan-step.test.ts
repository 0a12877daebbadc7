import {
  nextScanAction,
  summarizeScan,
  toScanResult,
  type MalwareScanResult,
  type StoredScan,
} from '../../../functions/domain/scan-verdict.js';
import {
  GUARDDUTY_DATABASE,
  GUARDDUTY_ENGINE,
  objectScanResultEvent,
  resultOfEvent,
  scannedObject,
  scanResultEvent,
} from '../../../functions/domain/scan-result-event.js';

const CLAIMED_AT = '2026-11-29T10:00:00.000Z';
const BEFORE = '2026-11-29T09:59:59.000Z';
const AFTER = '2026-11-29T10:00:01.000Z';
const clamav = (scannedAt = AFTER) => ({
  engine: { name: 'ClamAV', version: '1.4.6' },
  database: { name: 'ClamAV', version: '27830', publishedAt: '2026-11-28T09:24:02.000Z' },
  engineReply: 'stream: OK',
  streamedBytes: 10,
  scannedAt,
});
const stored = (result: MalwareScanResult): StoredScan => ({
  kind: 'RESULT',
  result,
  storedAt: result.scannedAt,
});
const failed = (scannedAt: string): MalwareScanResult => ({
  ...toScanResult({ kind: 'CLEAN' }, clamav(scannedAt)),
  scanStatus: 'FAILED',
  scanResultDetails: { scanResultStatus: 'FAILED', threats: null },
});
const firstRun = { claimedAt: CLAIMED_AT, redrive: false, canRequest: true };

describe('nextScanAction: what the Scan step does with what is stored for its version', () => {
  it('keeps the verdict accepted only for a completed "no threats found", with the engine and database', () => {
    // Act
    const action = nextScanAction(stored(toScanResult({ kind: 'CLEAN' }, clamav())), firstRun);

    // Assert
    expect(action).toEqual({
      kind: 'VERDICT',
      accepted: true,
      scan: {
        status: 'NO_THREATS_FOUND',
        engine: { name: 'ClamAV', version: '1.4.6' },
        database: { name: 'ClamAV', version: '27830', publishedAt: '2026-11-28T09:24:02.000Z' },
        scannedAt: AFTER,
      },
    });
  });

  it('rejects a detection with MALWARE_DETECTED and the threat names', () => {
    const result = toScanResult({ kind: 'INFECTED', signatures: ['Eicar-Signature'] }, clamav());
    expect(nextScanAction(stored(result), firstRun)).toMatchObject({
      kind: 'VERDICT',
      accepted: false,
      reason: { code: 'MALWARE_DETECTED', message: 'Malware detected: Eicar-Signature.' },
      scan: { status: 'THREATS_FOUND', threats: ['Eicar-Signature'] },
    });
  });

  it.each([
    ['ENCRYPTED', 'Heuristics.Encrypted.Zip', 'it is encrypted'],
    ['LIMIT_EXCEEDED', 'Heuristics.Limits.Exceeded.MaxRecursion', 'size or nesting limits'],
  ] as const)(
    'refuses a file it could not fully scan (%s) with NOT_FULLY_SCANNED',
    (reason, signature, words) => {
      const result = toScanResult({ kind: 'UNSCANNABLE', reason, signature }, clamav());
      expect(nextScanAction(stored(result), firstRun)).toMatchObject({
        kind: 'VERDICT',
        accepted: false,
        reason: { code: 'NOT_FULLY_SCANNED', message: expect.stringContaining(words) },
        scan: { status: 'NOT_FULLY_SCANNED', detail: expect.stringContaining(signature) },
      });
    },
  );

  it('waits when nothing is stored yet (the engine has not answered)', () => {
    expect(nextScanAction(undefined, firstRun)).toEqual({ kind: 'WAIT' });
  });

  it('on a redrive that finds nothing stored, asks for a scan where the engine can be asked', () => {
    expect(nextScanAction(undefined, { ...firstRun, redrive: true })).toEqual({ kind: 'REQUEST' });
    expect(nextScanAction(undefined, { ...firstRun, redrive: true, canRequest: false })).toEqual({
      kind: 'WAIT',
    });
  });

  it('fails on an engine failure from this execution (after its claim): FAILED, for a redrive', () => {
    expect(nextScanAction(stored(failed(AFTER)), firstRun)).toEqual({
      kind: 'FAIL',
      message: 'The scan did not complete (FAILED, FAILED).',
    });
  });

  it('asks again for a failure from before the claim (an earlier attempt), replacing exactly that entry', () => {
    const entry = stored(failed(BEFORE));
    expect(nextScanAction(entry, firstRun)).toEqual({ kind: 'REQUEST', replacing: entry.storedAt });
    // An engine that cannot be asked (a custom one): the failure stands.
    expect(nextScanAction(entry, { ...firstRun, canRequest: false })).toMatchObject({ kind: 'FAIL' });
  });

  it('waits on its own request; a request left by an earlier execution is made again', () => {
    const mine: StoredScan = { kind: 'REQUESTED', requestedAt: AFTER, storedAt: AFTER };
    const old: StoredScan = { kind: 'REQUESTED', requestedAt: BEFORE, storedAt: BEFORE };
    expect(nextScanAction(mine, firstRun)).toEqual({ kind: 'WAIT' });
    expect(nextScanAction(old, firstRun)).toEqual({ kind: 'REQUEST', replacing: BEFORE });
  });

  it('never promotes ACCESS_DENIED or an unknown status', () => {
    for (const scanResultStatus of ['ACCESS_DENIED', 'FAILED'] as const) {
      const result: MalwareScanResult = {
        ...toScanResult({ kind: 'CLEAN' }, clamav()),
        scanStatus: 'SKIPPED',
        scanResultDetails: { scanResultStatus, threats: null },
      };
      expect(nextScanAction(stored(result), firstRun).kind).toBe('FAIL');
    }
  });
});

describe('summarizeScan', () => {
  it('refuses a result that is not a verdict', () => {
    expect(() => summarizeScan(failed(AFTER))).toThrow(/Not a verdict/);
  });
});

describe('the Object Scan Result event', () => {
  /** GuardDuty's event as its documentation shows it (values synthetic). */
  const guardDuty = {
    version: '0',
    id: '72c7d362-737a-6dce-fc78-9e27a0171419',
    'detail-type': 'GuardDuty Malware Protection Object Scan Result',
    source: 'aws.guardduty',
    account: '111122223333',
    time: '2024-02-28T01:01:01Z',
    region: 'us-east-1',
    resources: ['arn:aws:guardduty:us-east-1:111122223333:malware-protection-plan/b4c7f464ab3a4EXAMPLE'],
    detail: {
      schemaVersion: '1.0',
      scanStatus: 'COMPLETED',
      resourceType: 'S3_OBJECT',
      s3ObjectDetails: {
        bucketName: 'uploads',
        objectKey: 'quarantine/01JDEXAMPLE0000000000000000',
        eTag: 'ASIAI44QH8DHBEXAMPLE',
        versionId: 'd41d8cd98f00b204e9800998ecEXAMPLE',
        s3Throttled: false,
      },
      scanResultDetails: {
        scanResultStatus: 'THREATS_FOUND',
        threats: [{ name: 'EICAR-Test-File (not a virus)' }],
      },
    },
  };

  it("reads GuardDuty's event: the exact version, the verdict, GuardDuty as engine, its time as scan time", () => {
    // Act
    const event = objectScanResultEvent.parse(guardDuty);

    // Assert
    expect(scannedObject(event)).toEqual({
      bucket: 'uploads',
      key: 'quarantine/01JDEXAMPLE0000000000000000',
      versionId: 'd41d8cd98f00b204e9800998ecEXAMPLE',
    });
    expect(resultOfEvent(event)).toEqual({
      scanStatus: 'COMPLETED',
      scanResultDetails: {
        scanResultStatus: 'THREATS_FOUND',
        threats: [{ name: 'EICAR-Test-File (not a virus)' }],
      },
      engine: GUARDDUTY_ENGINE,
      database: GUARDDUTY_DATABASE,
      engineReply: JSON.stringify(guardDuty.detail.scanResultDetails),
      scannedAt: '2024-02-28T01:01:01Z',
    });
  });

  it('refuses an event without the version it is about', () => {
    const { versionId: _versionId, ...withoutVersion } = guardDuty.detail.s3ObjectDetails;
    const event = { ...guardDuty, detail: { ...guardDuty.detail, s3ObjectDetails: withoutVersion } };
    expect(objectScanResultEvent.safeParse(event).success).toBe(false);
  });

  it('keeps a status it does not know as FAILED: never clean', () => {
    const event = objectScanResultEvent.parse({
      ...guardDuty,
      detail: {
        ...guardDuty.detail,
        scanStatus: 'PARTIAL',
        scanResultDetails: { scanResultStatus: 'MAYBE_CLEAN' },
      },
    });
    expect(resultOfEvent(event)).toMatchObject({
      scanStatus: 'FAILED',
      scanResultDetails: { scanResultStatus: 'FAILED', threats: null },
    });
  });

  it('carries a ClamAV result through the same shape unchanged (the pipeline cannot tell the engines apart)', () => {
    // Arrange
    const result = toScanResult(
      { kind: 'UNSCANNABLE', reason: 'ENCRYPTED', signature: 'Heuristics.Encrypted.Zip' },
      clamav(),
    );
    const object = { bucket: 'uploads', key: 'quarantine/01JDEXAMPLE0000000000000000', versionId: 'v1' };

    // Act
    const event = objectScanResultEvent.parse(
      JSON.parse(JSON.stringify(scanResultEvent({ id: 'e1', object, result }))),
    );

    // Assert
    expect(event['detail-type']).toBe(guardDuty['detail-type']);
    expect(Object.keys(event.detail.s3ObjectDetails).sort()).toEqual([
      'bucketName',
      'objectKey',
      'versionId',
    ]);
    expect(scannedObject(event)).toEqual(object);
    expect(resultOfEvent(event)).toEqual(result);
  });
});
