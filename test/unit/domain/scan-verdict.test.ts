import {
  decideScan,
  parseClamdReply,
  parseClamdVersion,
  toScanResult,
  type MalwareScanResult,
} from '../../../functions/domain/scan-verdict.js';

const context = {
  engine: { name: 'ClamAV', version: '1.4.6' },
  database: { name: 'ClamAV', version: '27830' },
  engineReply: 'stream: OK',
  streamedBytes: 10,
  scannedAt: '2026-11-29T10:00:00.000Z',
};

describe('parseClamdReply', () => {
  it.each([
    ['stream: OK\0', { kind: 'CLEAN' }],
    ['stream: OK\n', { kind: 'CLEAN' }],
    ['stream: Win.Test.EICAR_HDB-1 FOUND\0', { kind: 'INFECTED', signatures: ['Win.Test.EICAR_HDB-1'] }],
    [
      'stream: Airlock.Test.EICAR-1.UNOFFICIAL FOUND\0',
      { kind: 'INFECTED', signatures: ['Airlock.Test.EICAR-1.UNOFFICIAL'] },
    ],
    // A heuristic detection is still a detection: only the "could not scan" families are not.
    [
      'stream: Heuristics.Broken.Executable FOUND\0',
      { kind: 'INFECTED', signatures: ['Heuristics.Broken.Executable'] },
    ],
    [
      'stream: Heuristics.Phishing.Email.SpoofedDomain FOUND\0',
      { kind: 'INFECTED', signatures: ['Heuristics.Phishing.Email.SpoofedDomain'] },
    ],
  ])('reads %j', (reply, expected) => {
    // Act
    const verdict = parseClamdReply(reply);

    // Assert
    expect(verdict).toEqual(expected);
  });

  it.each([
    ['stream: Heuristics.Encrypted.Zip FOUND\0', 'ENCRYPTED', 'Heuristics.Encrypted.Zip'],
    ['stream: Heuristics.Encrypted.PDF FOUND\0', 'ENCRYPTED', 'Heuristics.Encrypted.PDF'],
    [
      'stream: Heuristics.Limits.Exceeded.MaxScanSize FOUND\0',
      'LIMIT_EXCEEDED',
      'Heuristics.Limits.Exceeded.MaxScanSize',
    ],
    [
      'stream: Heuristics.Limits.Exceeded.MaxRecursion FOUND\0',
      'LIMIT_EXCEEDED',
      'Heuristics.Limits.Exceeded.MaxRecursion',
    ],
    [
      'stream: Heuristics.Limits.Exceeded.MaxScanTime FOUND\0',
      'LIMIT_EXCEEDED',
      'Heuristics.Limits.Exceeded.MaxScanTime',
    ],
    ['INSTREAM size limit exceeded. ERROR\0', 'LIMIT_EXCEEDED', 'INSTREAM size limit exceeded'],
    [
      'stream: Heuristics.Broken.Media.PNG.EOFReadingChunk FOUND\0',
      'UNSUPPORTED',
      'Heuristics.Broken.Media.PNG.EOFReadingChunk',
    ],
  ])('reads %j as a file the engine could not fully scan', (reply, reason, signature) => {
    // Act
    const verdict = parseClamdReply(reply);

    // Assert
    expect(verdict).toEqual({ kind: 'UNSCANNABLE', reason, signature });
  });

  it('lets a detection outrank a limit alert reported with it (AllMatchScan)', () => {
    // Arrange
    const reply = 'stream: Heuristics.Limits.Exceeded.MaxFiles FOUND\0stream: Eicar-Signature FOUND\0';

    // Act
    const verdict = parseClamdReply(reply);

    // Assert
    expect(verdict).toEqual({ kind: 'INFECTED', signatures: ['Eicar-Signature'] });
  });

  it.each([
    ["stream: Can't allocate memory ERROR\0"],
    ['COMMAND READ TIMED OUT\0'],
    ['UNKNOWN COMMAND\0'],
    [''],
    ['\0'],
    ['stream: OKAY\0'],
    ['stream:OK\0'],
    ['PONG\0'],
    // Two answers for one stream cannot both be true: not one to promote on.
    ['stream: OK\0stream: OK\0'],
    ['stream: OK\0stream: Eicar-Signature FOUND\0'],
  ])('treats %j as an engine error, never as clean', (reply) => {
    // Act
    const verdict = parseClamdReply(reply);

    // Assert
    expect(verdict.kind).toBe('ERROR');
  });
});

describe('toScanResult', () => {
  it('shapes a clean answer as GuardDuty does: COMPLETED, NO_THREATS_FOUND, threats null', () => {
    // Act
    const result = toScanResult({ kind: 'CLEAN' }, context);

    // Assert
    expect(result).toEqual({
      scanStatus: 'COMPLETED',
      scanResultDetails: { scanResultStatus: 'NO_THREATS_FOUND', threats: null },
      ...context,
    });
  });

  it('lists every threat by the name the engine gave', () => {
    // Act
    const result = toScanResult({ kind: 'INFECTED', signatures: ['A.One', 'B.Two'] }, context);

    // Assert
    expect(result.scanStatus).toBe('COMPLETED');
    expect(result.scanResultDetails).toEqual({
      scanResultStatus: 'THREATS_FOUND',
      threats: [{ name: 'A.One' }, { name: 'B.Two' }],
    });
  });

  it('reports a file it could not fully scan as SKIPPED / UNSUPPORTED, with why', () => {
    // Act
    const result = toScanResult(
      { kind: 'UNSCANNABLE', reason: 'ENCRYPTED', signature: 'Heuristics.Encrypted.Zip' },
      context,
    );

    // Assert
    expect(result.scanStatus).toBe('SKIPPED');
    expect(result.scanResultDetails).toEqual({ scanResultStatus: 'UNSUPPORTED', threats: null });
    expect(result.unscannable).toEqual({ reason: 'ENCRYPTED', engineName: 'Heuristics.Encrypted.Zip' });
  });
});

describe('decideScan', () => {
  const result = (overrides: Partial<MalwareScanResult>): MalwareScanResult => ({
    ...toScanResult({ kind: 'CLEAN' }, context),
    ...overrides,
  });

  it('promotes only an explicit, completed "no threats found"', () => {
    // Act
    const decision = decideScan(result({}));

    // Assert
    expect(decision).toEqual({ kind: 'PROMOTE' });
  });

  it('rejects a detection as MALWARE_DETECTED, naming the signatures', () => {
    // Arrange
    const infected = toScanResult(
      { kind: 'INFECTED', signatures: ['Eicar-Signature', 'Other.Name'] },
      context,
    );

    // Act
    const decision = decideScan(infected);

    // Assert
    expect(decision).toEqual({
      kind: 'REJECT',
      reason: { code: 'MALWARE_DETECTED', message: 'Malware detected: Eicar-Signature, Other.Name.' },
    });
  });

  it.each([
    ['ENCRYPTED', 'it is encrypted'],
    ['LIMIT_EXCEEDED', "it exceeds the scanner's size or nesting limits"],
    ['UNSUPPORTED', 'the scanner does not support its format'],
  ] as const)('rejects a file it could not scan (%s) as NOT_FULLY_SCANNED', (reason, words) => {
    // Arrange
    const unscannable = toScanResult({ kind: 'UNSCANNABLE', reason, signature: 'Engine.Name' }, context);

    // Act
    const decision = decideScan(unscannable);

    // Assert
    expect(decision).toEqual({
      kind: 'REJECT',
      reason: {
        code: 'NOT_FULLY_SCANNED',
        message: `The file could not be fully scanned: ${words} (Engine.Name).`,
      },
    });
  });

  it.each([
    [
      'a FAILED scan',
      { scanStatus: 'FAILED', scanResultDetails: { scanResultStatus: 'FAILED', threats: null } },
    ],
    [
      'ACCESS_DENIED',
      { scanStatus: 'SKIPPED', scanResultDetails: { scanResultStatus: 'ACCESS_DENIED', threats: null } },
    ],
    [
      '"no threats" on a scan that did not complete',
      { scanStatus: 'SKIPPED', scanResultDetails: { scanResultStatus: 'NO_THREATS_FOUND', threats: null } },
    ],
    [
      'an unknown status',
      { scanStatus: 'COMPLETED', scanResultDetails: { scanResultStatus: 'MAYBE', threats: null } },
    ],
  ])('fails (retry, then FAILED) on %s, never promotes', (_name, overrides) => {
    // Act
    const decision = decideScan(result(overrides as Partial<MalwareScanResult>));

    // Assert
    expect(decision.kind).toBe('FAIL');
  });

  it('does not promote "no threats found" that lists threats', () => {
    // Arrange
    const contradictory = result({
      scanResultDetails: { scanResultStatus: 'NO_THREATS_FOUND', threats: [{ name: 'Something' }] },
    });

    // Act
    const decision = decideScan(contradictory);

    // Assert
    expect(decision.kind).not.toBe('PROMOTE');
  });
});

describe('parseClamdVersion', () => {
  it('reads the engine, the daily database version and its date', () => {
    // Act
    const version = parseClamdVersion('ClamAV 1.4.6/27830/Sat Nov 28 09:24:02 2026\0');

    // Assert
    expect(version).toEqual({
      engine: '1.4.6',
      database: {
        version: '27830',
        published: 'Sat Nov 28 09:24:02 2026',
        publishedAt: new Date(2026, 10, 28, 9, 24, 2).toISOString(),
      },
    });
  });

  it('reads an engine that has no daily database (the shipped test database)', () => {
    // Act
    const version = parseClamdVersion('ClamAV 1.4.6\0');

    // Assert
    expect(version).toEqual({ engine: '1.4.6' });
  });

  it('refuses a reply that is not a version', () => {
    // Act
    const parse = () => parseClamdVersion('UNKNOWN COMMAND');

    // Assert
    expect(parse).toThrow(/unexpected VERSION reply/);
  });
});
