import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { jest } from '@jest/globals';
import type { MalwareScanResult } from '../../functions/domain/scan-verdict.js';
import { startClamd, type ClamdLimits, type RunningClamd } from '../../local/clamd.js';
import { isAlive } from '../../local/processes.js';
import * as malware from '../fixtures/malware-samples.js';

/**
 * The real clamd at its limits and through failures: small limits keep the over-limit files small;
 * clamd is killed mid-scan, restarted, stopped, and left behind by a runtime killed outright.
 */

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
const LIMITS: Partial<ClamdLimits> = { streamMaxBytes: 1 * MiB, maxScanBytes: 4 * MiB };
let dir: string;
let clamd: RunningClamd;

const scan = (bytes: Buffer) => clamd.scanner().scan(Readable.from(malware.chunked(bytes, [16 * 1024])));
const status = (result: MalwareScanResult) => result.scanResultDetails.scanResultStatus;

/** Polls with a deadline until `attempt` succeeds; every failure on the way must be transient. */
async function retryUntilAnswered<T>(
  attempt: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<{ value: T; failures: number }> {
  const deadline = Date.now() + timeoutMs;
  for (let failures = 0; ; failures++) {
    try {
      return { value: await attempt(), failures };
    } catch (error) {
      expect(error).toMatchObject({ name: 'TransientError' });
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-clamd-'));
  clamd = await startClamd({ dir, database: 'test', limits: LIMITS });
});

afterEach(async () => {
  await clamd.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('clamd at its size limits', () => {
  it('refuses a DOCX whose part inflates past its scan size, where clamd alone would cut the part and pass it', async () => {
    // Arrange: 6 MiB of zeros deflate to a few KiB; clamd cuts the part at MaxFileSize.
    const docx = malware.inflatingDocx(6 * MiB);

    // Act
    const result = await scan(docx);

    // Assert
    expect(docx.length).toBeLessThan(LIMITS.streamMaxBytes!);
    expect(result.unscannable).toEqual({
      reason: 'LIMIT_EXCEEDED',
      engineName: 'Heuristics.Limits.Exceeded.MaxScanSize',
    });
  });

  it('never calls clean a DOCX with EICAR beyond the point where clamd cuts an inflated part', async () => {
    // Arrange
    const part = Buffer.concat([Buffer.alloc(5 * MiB), malware.eicar()]);
    const docx = malware.docxWith({ 'word/media/blank.bin': part });

    // Act
    const result = await scan(docx);

    // Assert
    expect(status(result)).not.toBe('NO_THREATS_FOUND');
    expect(result.scanStatus).not.toBe('COMPLETED');
  });

  it('scans whole a DOCX whose part inflates to just under half its scan size (an OOXML part is read twice)', async () => {
    // Act: clamd's OOXML parser and its ZIP scan both read each part, and both count.
    const result = await scan(malware.inflatingDocx(LIMITS.maxScanBytes! / 2 - 128 * 1024));

    // Assert
    expect(status(result)).toBe('NO_THREATS_FOUND');
  });
});

describe('clamd through failures', () => {
  it('killed mid-scan: the scan fails transiently, a retry gets an answer once clamd is back', async () => {
    // Arrange
    const killed = clamd.pid()!;
    const session = await clamd.scanner().open();
    await session.write(Buffer.alloc(256 * 1024, 'a'));

    // Act
    process.kill(killed, 'SIGKILL');
    await session.write(Buffer.alloc(256 * 1024, 'b')).catch(() => undefined);
    const first = session.end();

    // Assert
    await expect(first).rejects.toMatchObject({ name: 'TransientError' });
    const retried = await retryUntilAnswered(() => scan(malware.eicar()));
    expect(status(retried.value)).toBe('THREATS_FOUND');
    expect(clamd.pid()).toBeDefined();
    expect(clamd.pid()).not.toBe(killed);
  });

  it('restart(): a new clamd that answers at once', async () => {
    // Arrange
    const before = clamd.pid()!;

    // Act
    await clamd.restart();
    const result = await scan(malware.eicar());

    // Assert
    expect(clamd.pid()).not.toBe(before);
    expect(isAlive(before, 'clamd')).toBe(false);
    expect(status(result)).toBe('THREATS_FOUND');
  });

  it('stop(): clamd is gone and scans fail transiently (not restarted behind the caller)', async () => {
    // Arrange
    const pid = clamd.pid()!;

    // Act
    await clamd.stop();
    const scanning = scan(malware.eicar());

    // Assert
    await expect(scanning).rejects.toMatchObject({ name: 'TransientError' });
    expect(isAlive(pid, 'clamd')).toBe(false);
    expect(clamd.pid()).toBeUndefined();
  });

  it('left behind by a runtime killed outright: the next start ends it and takes over the socket', async () => {
    // Arrange: another process starts clamd in a dir of its own, then dies with SIGKILL.
    const otherDir = mkdtempSync(join(tmpdir(), 'airlock-clamd-'));
    const holder = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'support/hold-clamd.ts'), otherDir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const leftover = await new Promise<number>((resolve, reject) => {
      holder.stdout.on('data', (data: Buffer) => {
        const match = /ready (\d+)/.exec(data.toString());
        if (match) resolve(Number(match[1]));
      });
      holder.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
    });
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(isAlive(leftover, 'clamd')).toBe(true);

    // Act
    let next: RunningClamd | undefined;
    try {
      next = await startClamd({ dir: otherDir, database: 'test' });

      // Assert
      expect(isAlive(leftover, 'clamd')).toBe(false);
      expect(next.pid()).not.toBe(leftover);
      const result = await next.scanner().scan(Readable.from([malware.eicar()]));
      expect(status(result)).toBe('THREATS_FOUND');
    } finally {
      await next?.stop();
      if (isAlive(leftover, 'clamd')) process.kill(leftover, 'SIGKILL'); // the check failed: leave nothing behind
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
