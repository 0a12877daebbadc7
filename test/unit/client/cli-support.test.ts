import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseInstant } from '../../../cli/audit.js';
import { UsageError, limiter, mapConcurrent } from '../../../cli/context.js';
import { table } from '../../../cli/format.js';
import { ProgressBoard } from '../../../cli/progress.js';
import { LocalFileError, openFile } from '../../../client/node.js';

describe('table', () => {
  it('aligns columns by the widest cell and does not pad the last one', () => {
    // Arrange
    const rows = [
      ['a.pdf', 'PROCESSED', 'x'],
      ['longer-name.pdf', 'REJECTED', 'y'],
    ];
    // Act
    const text = table(['file', 'status', 'url'], rows);
    // Assert
    expect(text).toBe(
      'file             status     url\n' +
        'a.pdf            PROCESSED  x\n' +
        'longer-name.pdf  REJECTED   y\n',
    );
  });
});

describe('parseInstant', () => {
  it('accepts ISO dates, date-times and "now", and refuses anything else', () => {
    // Arrange
    const now = new Date('2025-06-01T12:00:00Z');
    // Act
    const parsed = [
      parseInstant('2025-01-02', 'from', now),
      parseInstant('2025-01-02T03:04:05+01:00', 'from', now),
      parseInstant('now', 'to', now),
    ];
    // Assert
    expect(parsed).toEqual([
      '2025-01-02T00:00:00.000Z',
      '2025-01-02T02:04:05.000Z',
      '2025-06-01T12:00:00.000Z',
    ]);
    expect(() => parseInstant('yesterday', 'from', now)).toThrow(UsageError);
    expect(() => parseInstant('2025-13-45', 'to', now)).toThrow(/--to must be an ISO 8601/);
  });
});

describe('concurrency helpers', () => {
  it('mapConcurrent never runs more than the limit at once and keeps the input order', async () => {
    // Arrange
    let running = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const work = async (n: number) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
      return n * 10;
    };
    // Act
    const done = mapConcurrent([1, 2, 3, 4, 5], 2, work);
    while (gates.length > 0 || running > 0) {
      await Promise.resolve();
      gates.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Assert
    expect(await done).toEqual([10, 20, 30, 40, 50]);
    expect(peak).toBe(2);
  });

  it('limiter hands a finished slot to the next waiter without exceeding the limit', async () => {
    // Arrange
    const slot = limiter(1);
    const order: string[] = [];
    let active = 0;
    const task = (name: string) => async () => {
      active++;
      order.push(`${name}:${active}`);
      await new Promise((resolve) => setImmediate(resolve));
      active--;
    };
    // Act
    await Promise.all([slot(task('a')), slot(task('b')), slot(task('c'))]);
    // Assert
    expect(order).toEqual(['a:1', 'b:1', 'c:1']);
  });
});

describe('progress', () => {
  it('plain mode prints stage changes and at most one percentage line per 10 % step and second', () => {
    // Arrange
    let now = 0;
    const lines: string[] = [];
    const board = new ProgressBoard(
      'plain',
      { write: (text: string) => lines.push(text) },
      ['a.pdf'],
      () => now,
    );
    const file = board.add('a.pdf');
    // Act
    file.stage('hashing');
    file.bytes(0, 1000);
    now = 500;
    file.bytes(500, 1000); // under a second since the last line
    now = 1600;
    file.bytes(600, 1000);
    now = 1700;
    file.bytes(1000, 1000); // completion always prints
    file.stage('PROCESSED');
    board.stop();
    // Assert
    expect(lines).toEqual([
      'a.pdf: hashing\n',
      'a.pdf: uploading 0% (0 B of 1000 B)\n',
      'a.pdf: uploading 60% (600 B of 1000 B)\n',
      'a.pdf: uploading 100% (1000 B of 1000 B)\n',
      'a.pdf: PROCESSED\n',
    ]);
  });

  it('none mode prints nothing', () => {
    // Arrange
    const lines: string[] = [];
    const board = new ProgressBoard('none', { write: (text: string) => lines.push(text) }, ['a.pdf']);
    // Act
    const file = board.add('a.pdf');
    file.bytes(1, 2);
    file.stage('PROCESSED');
    board.stop();
    // Assert
    expect(lines).toEqual([]);
  });

  it('tty mode redraws every file line in place', () => {
    // Arrange
    const writes: string[] = [];
    const out = { write: (text: string) => writes.push(text), columns: 120 };
    const board = new ProgressBoard('tty', out, ['a.pdf', 'b.pdf'], () => 1000);
    const a = board.add('a.pdf'); // drawn at once: one line
    board.add('b.pdf');
    // Act
    a.bytes(512, 1024);
    board.stop();
    a.stage('PROCESSED');
    board.stop();
    // Assert
    const [first, second, third] = writes;
    expect(writes).toHaveLength(3);
    expect(first).toBe('\r\x1b[2Ka.pdf  queued\n');
    expect(second).toBe(
      '\x1b[1A\r\x1b[2Ka.pdf  [############............]  50%  512 B/1.0 KiB\n\r\x1b[2Kb.pdf  queued\n',
    );
    expect(third).toBe('\x1b[2A\r\x1b[2Ka.pdf  PROCESSED\n\r\x1b[2Kb.pdf  queued\n');
  });
});

describe('client/node openFile', () => {
  it('gives the size, name, type and the SHA-256 of the file as streamed', async () => {
    // Arrange
    const dir = mkdtempSync(join(tmpdir(), 'airlock-client-'));
    const bytes = Buffer.alloc(300_000, 7);
    const path = join(dir, 'big.pdf');
    writeFileSync(path, bytes);
    // Act
    const file = await openFile(path);
    // Assert
    expect(file).toMatchObject({
      path,
      name: 'big.pdf',
      size: 300_000,
      contentType: 'application/pdf',
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    expect(Buffer.from(await file.blob.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('refuses a missing file and a directory with LocalFileError', async () => {
    // Arrange
    const dir = mkdtempSync(join(tmpdir(), 'airlock-client-'));
    // Act
    const missing = await openFile(join(dir, 'nope.pdf')).catch((e: unknown) => e);
    const directory = await openFile(dir).catch((e: unknown) => e);
    // Assert
    expect(missing).toBeInstanceOf(LocalFileError);
    expect((missing as Error).message).toMatch(/nope\.pdf: no such file$/);
    expect((directory as Error).message).toMatch(/not a regular file$/);
  });
});
