import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  hasMachineDatabase,
  readTestDatabaseManifest,
  startClamd,
  TEST_DATABASE_DIR,
} from '../../local/clamd.js';
import { eicar } from '../fixtures/malware-samples.js';

/** The .ndb lines (Name:TargetType:Offset:HexSignature) of the shipped database. */
function ndbSignatures(): Array<{ name: string; target: string; offset: string; bytes: Buffer }> {
  return readdirSync(TEST_DATABASE_DIR)
    .filter((file) => file.endsWith('.ndb'))
    .flatMap((file) => readFileSync(join(TEST_DATABASE_DIR, file), 'utf8').split('\n'))
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      const [name = '', target = '', offset = '', hex = ''] = line.split(':');
      return { name, target, offset, bytes: Buffer.from(hex, 'hex') };
    });
}

describe('the shipped ClamAV test database', () => {
  it('matches the SHA-256 of each file its manifest lists (a change needs a new version)', () => {
    // Arrange
    const manifest = readTestDatabaseManifest();

    // Act
    const actual = Object.fromEntries(
      Object.keys(manifest.files).map((file) => [
        file,
        createHash('sha256')
          .update(readFileSync(join(TEST_DATABASE_DIR, file)))
          .digest('hex'),
      ]),
    );

    // Assert
    expect(actual).toEqual(manifest.files);
  });

  it('lists every signature file of the folder, so that clamd is given all of them', () => {
    // Arrange
    const manifest = readTestDatabaseManifest();

    // Act
    const signatureFiles = readdirSync(TEST_DATABASE_DIR).filter((file) =>
      /\.(ndb|hdb|ldb|hsb|cdb)$/.test(file),
    );

    // Assert
    expect(signatureFiles.sort()).toEqual(Object.keys(manifest.files).sort());
  });

  it('describes exactly the signatures it holds', () => {
    // Arrange
    const manifest = readTestDatabaseManifest();

    // Act
    const names = ndbSignatures().map((signature) => signature.name);

    // Assert
    expect(names.sort()).toEqual(manifest.signatures.map((signature) => signature.name).sort());
  });

  it('detects EICAR as the tests build it, and each marker as the manifest states it, anywhere in any file', () => {
    // Arrange
    const manifest = readTestDatabaseManifest();
    const expected = new Map(
      manifest.signatures.map((signature) => [
        signature.name,
        signature.detects === 'EICAR' ? eicar() : Buffer.from(signature.marker ?? '', 'ascii'),
      ]),
    );

    // Act
    const signatures = ndbSignatures();

    // Assert
    for (const signature of signatures) {
      expect({
        name: signature.name,
        target: signature.target,
        offset: signature.offset,
        bytes: signature.bytes,
      }).toEqual({
        name: signature.name,
        target: '0',
        offset: '*',
        bytes: expected.get(signature.name),
      });
    }
  });
});

describe("the machine's ClamAV database", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'clamav-db-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const files = (...names: string[]) => names.forEach((name) => writeFileSync(join(dir, name), ''));

  it.each([
    [['main.cvd', 'daily.cvd'], true],
    [['main.cvd', 'daily.cld', 'bytecode.cvd'], true],
    [['main.cld', 'daily.cld'], true],
    [['main.cvd'], false],
    [['daily.cld', 'bytecode.cvd'], false],
    [['freshclam.dat'], false],
    [[], false],
  ])('is there with %j: %s (main and daily, as downloaded or updated)', (names, expected) => {
    // Arrange
    files(...names);

    // Act
    const present = hasMachineDatabase(dir);

    // Assert
    expect(present).toBe(expected);
  });

  it('is required when asked for, with a clear error when missing', async () => {
    // Act
    const starting = startClamd({
      dir: join(dir, 'clamd'),
      database: 'machine',
      machineDatabaseDir: join(dir, 'none'),
    });

    // Assert
    await expect(starting).rejects.toThrow(/No ClamAV database in .*none.*freshclam/);
  });
});
