import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../local/settings.js';
import { api, sharedRuntime } from './support.js';

/** The quickstart's commands, run as a person runs them, against the shared local runtime. */
const runtime = sharedRuntime();
const run = promisify(execFile);
const script = (path: string, args: string[] = []) =>
  run(process.execPath, ['--import', 'tsx', path, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, AIRLOCK_DATA_DIR: runtime.dataDir, AIRLOCK_API_URL: runtime.apiUrl },
    timeout: 150_000,
  });

describe('npm run -s token', () => {
  it('prints a token the running API accepts, with the auditors group when asked', async () => {
    // Act
    const { stdout } = await script('local/token.ts', ['script-user', '--group', 'auditors', '--ttl', '600']);
    const token = stdout.trim();
    // Assert
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect((await api(runtime, '/uploads', { token })).status).toBe(200);
    expect((await api(runtime, '/audit/uploads', { token })).status).toBe(200);
  });

  it('refuses a bad ttl with a usage message and exit code 2', async () => {
    await expect(script('local/token.ts', ['someone', '--ttl', '0'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('usage: npm run -s token'),
    });
  });
});

describe('npm run demo', () => {
  it('uploads the sample files and prints each outcome', async () => {
    // Act
    const { stdout } = await script('local/demo.ts');
    // Assert
    const rows = new Map(
      stdout
        .trim()
        .split('\n')
        .slice(2)
        .map((line) => [line.split(/\s{2,}/)[0], line] as const),
    );
    expect([...rows.keys()]).toEqual([
      'valid PDF',
      'valid PNG',
      'valid CSV',
      'valid DOCX',
      'spoofed (EXE as PDF)',
      'checksum mismatch',
      'oversize attempt (+1 byte)',
    ]);
    for (const label of ['valid PDF', 'valid PNG', 'valid CSV', 'valid DOCX']) {
      expect(rows.get(label)).toMatch(/\sPROCESSED\s/);
    }
    expect(rows.get('spoofed (EXE as PDF)')).toMatch(/REJECTED\s+TYPE_MISMATCH/);
    expect(rows.get('checksum mismatch')).toMatch(/REJECTED\s+CHECKSUM_MISMATCH/);
    expect(rows.get('oversize attempt (+1 byte)')).toMatch(
      /400 EntityTooLarge\s+PENDING_UPLOAD \(nothing stored\)/,
    );
  });
});
