import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { jest } from '@jest/globals';
import { strToU8 } from 'fflate';
import type { ClamdScanner } from '../../functions/adapters/clamd-scanner.js';
import { inspectContent } from '../../functions/domain/content-inspection.js';
import type { MalwareScanResult } from '../../functions/domain/scan-verdict.js';
import { CLAMD_LIMITS, readTestDatabaseManifest, startClamd, type RunningClamd } from '../../local/clamd.js';
import * as malware from '../fixtures/malware-samples.js';
import * as samples from '../fixtures/samples.js';

/**
 * The real clamd (Debian's clamav-daemon), with the project's own limits and its shipped test
 * database: what it finds, what it cannot scan, and that it never calls either of those clean.
 */

jest.setTimeout(60_000);

let dir: string;
let clamd: RunningClamd;
let scanner: ClamdScanner;
const startupLog: string[] = [];

const manifest = readTestDatabaseManifest();
/** clamd appends .UNOFFICIAL to the names of signatures it did not get from ClamAV. */
const detectionName = (detects: string) =>
  `${manifest.signatures.find((signature) => signature.detects === detects)!.name}.UNOFFICIAL`;
const EICAR = detectionName('EICAR');
const S3_CHUNK = 16 * 1024;

const scan = (bytes: Buffer, chunkSizes: number[] = [S3_CHUNK]) =>
  scanner.scan(Readable.from(malware.chunked(bytes, chunkSizes)));
const threats = (result: MalwareScanResult) => result.scanResultDetails.threats?.map((threat) => threat.name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-clamd-'));
  // 'auto' on a machine without a ClamAV database: the shipped one, and the log says so.
  clamd = await startClamd({
    dir,
    database: 'auto',
    machineDatabaseDir: join(dir, 'no-machine-database'),
    log: (line) => startupLog.push(line),
  });
  scanner = clamd.scanner();
});

afterAll(async () => {
  await clamd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('clamd start-up', () => {
  it('says which database it runs with: the shipped one when the machine has none', () => {
    // Arrange
    const expected =
      `database: ${manifest.name} v${manifest.version} (${manifest.signatures.length} signatures: ` +
      `${manifest.signatures.map((signature) => signature.detects).join(', ')}; no machine database in ${join(dir, 'no-machine-database')})`;

    // Act
    const lines = startupLog.filter((line) => line.includes('database:'));

    // Assert
    expect(lines).toEqual([expect.stringContaining(expected)]);
    expect(clamd.database.kind).toBe('test');
  });
});

describe('clamd finds', () => {
  it('EICAR as a .txt file, naming its signature, the engine and the database', async () => {
    // Arrange
    const engine = /^ClamAV (\S+)/.exec(
      execFileSync('/usr/sbin/clamd', ['--version'], { encoding: 'utf8' }),
    )![1];

    // Act
    const result = await scan(malware.eicar());

    // Assert
    expect(result).toMatchObject({
      scanStatus: 'COMPLETED',
      scanResultDetails: { scanResultStatus: 'THREATS_FOUND', threats: [{ name: EICAR }] },
      engine: { name: 'ClamAV', version: engine },
      database: { name: manifest.name, version: manifest.version, publishedAt: manifest.publishedAt },
      engineReply: `stream: ${EICAR} FOUND`,
      streamedBytes: 68,
    });
  });

  it('EICAR inside a ZIP inside a DOCX, from the same single read that validation makes', async () => {
    // Arrange: a valid DOCX that carries an embedded archive, as documents with attachments do.
    const docx = malware.docxWith({
      'word/embeddings/attachment.zip': malware.zip({ 'readme.txt': malware.eicar() }),
    });
    const session = await scanner.open();

    // Act
    const facts = await inspectContent(session.tee(Readable.from(malware.chunked(docx, [S3_CHUNK]))), {
      checkText: false,
    });
    const result = await session.end();

    // Assert
    expect(facts).toMatchObject({
      size: docx.length,
      sha256: samples.sha256Hex(docx),
      detectedMime: samples.MIME.docx,
    });
    expect(threats(result)).toEqual([EICAR]);
  });

  it.each([
    ['1-byte chunks', [1]],
    ['7-byte chunks', [7]],
    ['chunks of mixed odd sizes', [3, 11, 1, 29, 5, 2]],
  ])('EICAR split across %s', async (_name, sizes) => {
    // Act
    const result = await scan(malware.eicar(), sizes);

    // Assert
    expect(threats(result)).toEqual([EICAR]);
  });

  it('EICAR straddling S3-sized chunks at random boundaries in a larger text', async () => {
    // Arrange: EICAR across the boundary of the 4th 16 KiB chunk, then random chunk sizes after it.
    const text = Buffer.alloc(200 * 1024, 'lorem ipsum dolor sit amet\n');
    const at = 4 * S3_CHUNK - 30;
    malware.eicar().copy(text, at);
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 40_000;
    const sizes = [S3_CHUNK, S3_CHUNK, S3_CHUNK, S3_CHUNK, ...Array.from({ length: 50 }, () => 1 + random())];

    // Act
    const result = await scan(text, sizes);

    // Assert
    expect(threats(result)).toEqual([EICAR]);
  });

  it("the project's own test sample marker inside a valid PDF, under its own signature name", async () => {
    // Arrange
    const marker = manifest.signatures.find((signature) => signature.marker)!.marker!;

    // Act
    const result = await scan(samples.pdf(`Quarterly report ${marker}`));

    // Assert
    expect(threats(result)).toEqual([detectionName('the Airlock test sample marker')]);
  });

  it('EICAR at the bottom of archives nested within the recursion limit', async () => {
    // Act
    const result = await scan(malware.nestedZip(5, malware.eicar()));

    // Assert
    expect(threats(result)).toEqual([EICAR]);
  });
});

describe('clamd passes', () => {
  it.each(samples.VALID_SAMPLES)('a clean $name ($contentType)', async ({ bytes }) => {
    // Act
    const result = await scan(bytes);

    // Assert
    expect(result).toMatchObject({
      scanStatus: 'COMPLETED',
      scanResultDetails: { scanResultStatus: 'NO_THREATS_FOUND', threats: null },
      engineReply: 'stream: OK',
    });
  });

  it('a stream of exactly its StreamMaxLength (the exported limit), scanned whole', async () => {
    // Act
    const result = await scanner.scan(zeros(CLAMD_LIMITS.streamMaxBytes));

    // Assert
    expect(result.scanResultDetails.scanResultStatus).toBe('NO_THREATS_FOUND');
    expect(result.streamedBytes).toBe(CLAMD_LIMITS.streamMaxBytes);
  });
});

describe('clamd refuses to call clean', () => {
  it.each([
    [
      'an encrypted ZIP',
      () => malware.encryptedZip({ 'notes.txt': strToU8('secret notes') }, 'pw'),
      'Heuristics.Encrypted.Zip',
    ],
    ['an encrypted DOCX', () => malware.encryptedDocx('pw'), 'Heuristics.Encrypted.Zip'],
    ['an encrypted PDF', () => malware.encryptedPdf(), 'Heuristics.Encrypted.PDF'],
  ])('%s: UNSUPPORTED, because it is encrypted', async (_name, build, engineName) => {
    // Act
    const result = await scan(build());

    // Assert
    expect(result).toMatchObject({
      scanStatus: 'SKIPPED',
      scanResultDetails: { scanResultStatus: 'UNSUPPORTED', threats: null },
      unscannable: { reason: 'ENCRYPTED', engineName },
    });
  });

  it('archives nested deeper than its recursion limit: UNSUPPORTED, over the limit', async () => {
    // Act
    const result = await scan(malware.nestedZip(CLAMD_LIMITS.maxRecursion + 2));

    // Assert
    expect(result.unscannable).toEqual({
      reason: 'LIMIT_EXCEEDED',
      engineName: 'Heuristics.Limits.Exceeded.MaxRecursion',
    });
  });

  it('a stream one byte over its StreamMaxLength: UNSUPPORTED, over the limit', async () => {
    // Act
    const result = await scanner.scan(zeros(CLAMD_LIMITS.streamMaxBytes + 1));

    // Assert
    expect(result).toMatchObject({
      scanStatus: 'SKIPPED',
      scanResultDetails: { scanResultStatus: 'UNSUPPORTED' },
      unscannable: { reason: 'LIMIT_EXCEEDED', engineName: 'INSTREAM size limit exceeded' },
      engineReply: 'INSTREAM size limit exceeded. ERROR',
    });
  });
});

/** `total` zero bytes in 64 KiB chunks, made as they are read (nothing held whole). */
function zeros(total: number): Readable {
  const chunk = Buffer.alloc(64 * 1024);
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < total; sent += chunk.length) {
        yield chunk.subarray(0, Math.min(chunk.length, total - sent));
      }
    })(),
  );
}
