import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as samples from '../fixtures/samples.js';
import {
  api,
  auditTrail,
  runAirlock,
  runCommand,
  sharedRuntime,
  tokenFor,
  uniqueUser,
  type AuditEventView,
  type CliRun,
} from './support.js';

/**
 * The `airlock` CLI run as a subprocess (exactly as `npx airlock` runs it) against the shared
 * local runtime: real uploads to RadosGW, real outcomes, real audit trails.
 */

const runtime = sharedRuntime();

const run = (command: string, args: string[], env: Record<string, string | undefined>): Promise<CliRun> =>
  runCommand(command, args, runtime.apiUrl, env);

const airlock = (args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> =>
  runAirlock(runtime.apiUrl, args, env);

/** A temp dir with a valid PDF and a spoofed one: an executable named invoice.pdf. */
function sampleFiles() {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-cli-'));
  const pdf = samples.pdf(`CLI sample ${Math.random()}`);
  const exe = samples.exe();
  const valid = join(dir, 'report.pdf');
  const spoofed = join(dir, 'invoice.pdf');
  writeFileSync(valid, pdf);
  writeFileSync(spoofed, exe);
  return { dir, valid, spoofed, pdf, exe };
}

/** Rows of the upload table, as objects keyed by the header (columns are split on 2+ spaces). */
function parseTable(text: string): Array<Record<string, string>> {
  const [header, ...lines] = text.trimEnd().split('\n');
  const names = header!.split(/\s{2,}/);
  return lines.map((line) =>
    Object.fromEntries(line.split(/\s{2,}/).map((value, i): [string, string] => [names[i] ?? `${i}`, value])),
  );
}

/** RFC 4180: quoted fields with doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += char;
  }
  if (field !== '' || row.length > 0)
    throw new Error(`CSV does not end with CRLF: ${JSON.stringify(text.slice(-40))}`);
  return rows;
}

interface FileResult {
  file: string;
  uploadId: string;
  status: string;
  reasons: Array<{ code: string; message: string }>;
  sha256: string;
  download?: { url: string };
}

const STACK_LINE = /^\s+at /m;

/** A loopback port that nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('airlock CLI (subprocess) against the local runtime', () => {
  it('upload: the valid file is PROCESSED and the spoofed one REJECTED (TYPE_MISMATCH); exit code 1', async () => {
    // Arrange
    const files = sampleFiles();
    const token = await tokenFor(runtime, uniqueUser('cli'));
    // Act
    const result = await airlock(['upload', '--timeout', '120', files.valid, files.spoofed], {
      AIRLOCK_TOKEN: token,
    });
    // Assert
    expect(result.code).toBe(1);
    const rows = parseTable(result.stdout);
    expect(Object.keys(rows[0]!)).toEqual(['file', 'uploadId', 'status', 'reasons', 'sha256', 'download']);
    expect(rows).toEqual([
      {
        file: files.valid,
        uploadId: expect.stringMatching(/^[0-9A-Z]{26}$/),
        status: 'PROCESSED',
        reasons: '-',
        sha256: samples.sha256Hex(files.pdf),
        download: expect.stringMatching(/^http:\/\/localhost:\d+\/uploads\/[0-9A-Z]{26}\/download$/),
      },
      {
        file: files.spoofed,
        uploadId: expect.stringMatching(/^[0-9A-Z]{26}$/),
        status: 'REJECTED',
        reasons: expect.stringMatching(/(^|,)TYPE_MISMATCH(,|$)/),
        sha256: samples.sha256Hex(files.exe),
        download: '-',
      },
    ]);
    // Progress went to stderr (plain lines: stderr is not a terminal), never a stack trace.
    expect(result.stderr).toContain(
      `${files.valid}: uploading 100% (${files.pdf.length} B of ${files.pdf.length} B)`,
    );
    expect(result.stderr).toContain(`${files.spoofed}: REJECTED (`);
    expect(result.stderr).not.toMatch(STACK_LINE);
  });

  it('upload --json (via PUT): machine output only; airlock download saves the same bytes', async () => {
    // Arrange
    const files = sampleFiles();
    const token = await tokenFor(runtime, uniqueUser('cli'));
    // Act
    const result = await airlock(
      ['upload', '--json', '--method', 'PUT', '--timeout', '120', files.valid, files.spoofed],
      { AIRLOCK_TOKEN: token },
    );
    // Assert
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(''); // no progress in --json mode
    const [processed, rejected] = JSON.parse(result.stdout) as FileResult[];
    expect(processed).toMatchObject({
      file: files.valid,
      status: 'PROCESSED',
      reasons: [],
      sha256: samples.sha256Hex(files.pdf),
    });
    expect(rejected).toMatchObject({
      file: files.spoofed,
      status: 'REJECTED',
      sha256: samples.sha256Hex(files.exe),
    });
    expect(rejected!.reasons.map((reason) => reason.code)).toContain('TYPE_MISMATCH');
    expect(rejected!.download).toBeUndefined();
    expect(processed!.download!.url).toBe(`${runtime.apiUrl}/uploads/${processed!.uploadId}/download`);
    const output = join(mkdtempSync(join(tmpdir(), 'airlock-cli-dl-')), 'saved.pdf');
    const saved = await airlock(['download', processed!.uploadId, '--output', output], {
      AIRLOCK_TOKEN: token,
    });
    expect(saved).toMatchObject({ code: 0, stdout: `${output}\n` });
    expect(readFileSync(output).equals(files.pdf)).toBe(true);
    const again = await airlock(['download', processed!.uploadId, '--output', output], {
      AIRLOCK_TOKEN: token,
    });
    expect(again.code).toBe(2); // an existing file is never replaced
    const refused = await airlock(['download', rejected!.uploadId], { AIRLOCK_TOKEN: token });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/404 NOT_FOUND/);
  });

  it('upload --no-wait: exit code 0 once the bytes are sent, the upload not yet processed', async () => {
    // Arrange
    const files = sampleFiles();
    const token = await tokenFor(runtime, uniqueUser('cli'));
    // Act
    const result = await airlock(['upload', '--no-wait', '--json', files.valid], { AIRLOCK_TOKEN: token });
    // Assert
    expect(result.code).toBe(0);
    const [uploaded] = JSON.parse(result.stdout) as FileResult[];
    expect(['PENDING_UPLOAD', 'PROCESSING']).toContain(uploaded!.status);
    expect(uploaded!.uploadId).toMatch(/^[0-9A-Z]{26}$/);
    expect(uploaded!.download).toBeUndefined();
  });

  it('status, list and events show what the API holds', async () => {
    // Arrange
    const files = sampleFiles();
    const token = await tokenFor(runtime, uniqueUser('cli'));
    const uploaded = await airlock(['upload', '--json', '--timeout', '120', files.spoofed], {
      AIRLOCK_TOKEN: token,
    });
    const [rejected] = JSON.parse(uploaded.stdout) as FileResult[];
    // Act
    const status = await airlock(['status', rejected!.uploadId], { AIRLOCK_TOKEN: token });
    const list = await airlock(['list', '--status', 'REJECTED', '--json'], { AIRLOCK_TOKEN: token });
    const events = await airlock(['events', rejected!.uploadId, '--json'], { AIRLOCK_TOKEN: token });
    // Assert
    expect(status.code).toBe(1); // REJECTED
    expect(status.stdout).toMatch(/^status\s+REJECTED$/m);
    expect(status.stdout).toMatch(/^reason\s+TYPE_MISMATCH: /m);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as FileResult[]).map((item) => item.uploadId)).toEqual([
      rejected!.uploadId,
    ]);
    expect(events.code).toBe(0);
    const trail = await auditTrail(runtime, token, rejected!.uploadId);
    expect(JSON.parse(events.stdout)).toEqual({ uploadId: rejected!.uploadId, events: trail });
  });

  describe('audit export', () => {
    let owner: string;
    let uploads: FileResult[];
    let window: { from: string; to: string };
    let auditorToken: string;
    let trails: Map<string, AuditEventView[]>;

    beforeAll(async () => {
      const files = sampleFiles();
      owner = uniqueUser('cli-audited');
      const ownerToken = await tokenFor(runtime, owner);
      const from = new Date(Date.now() - 2000).toISOString();
      const uploaded = await airlock(['upload', '--json', '--timeout', '120', files.valid, files.spoofed], {
        AIRLOCK_TOKEN: ownerToken,
      });
      uploads = JSON.parse(uploaded.stdout) as FileResult[];
      window = { from, to: new Date(Date.now() + 2000).toISOString() };
      auditorToken = await tokenFor(runtime, uniqueUser('auditor'), ['auditors']);
      trails = new Map();
      for (const upload of uploads)
        trails.set(upload.uploadId, await auditTrail(runtime, ownerToken, upload.uploadId));
    });

    it('csv: a header, then one row per audit event of each upload, the full trail in order', async () => {
      // Arrange
      const args = ['audit', 'export', '--from', window.from, '--to', window.to, '--owner', owner];
      // Act
      const result = await airlock([...args, '--format', 'csv'], { AIRLOCK_TOKEN: auditorToken });
      // Assert
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      const [header, ...rows] = parseCsv(result.stdout);
      expect(header).toEqual([
        'uploadId',
        'owner',
        'fileName',
        'status',
        'at',
        'action',
        'from',
        'to',
        'reasons',
        'versionId',
        'actor',
        'executionId',
      ]);
      expect(new Set(rows.map((row) => row[0]))).toEqual(new Set(uploads.map((upload) => upload.uploadId)));
      for (const upload of uploads) {
        const trail = trails.get(upload.uploadId)!;
        const mine = rows.filter((row) => row[0] === upload.uploadId);
        expect(mine.map((row) => row.slice(1, 10))).toEqual(
          trail.map((event) => [
            owner,
            upload.file.endsWith('report.pdf') ? 'report.pdf' : 'invoice.pdf',
            upload.status,
            event.at,
            event.action,
            event.from ?? '',
            event.to ?? '',
            event.reasons.map((reason) => reason.code).join(';'),
            event.versionId ?? '',
          ]),
        );
      }
      const rejectedRows = rows.filter((row) => row[0] === uploads[1]!.uploadId);
      expect(rejectedRows.map((row) => row[5])).toEqual(['ISSUED', 'CLAIMED', 'REJECTED']);
      expect(rejectedRows[2]![8]!.split(';')).toContain('TYPE_MISMATCH');
    });

    it('ndjson: one line per upload, its view with owner plus every event', async () => {
      // Arrange
      const args = ['audit', 'export', '--from', window.from, '--to', window.to, '--owner', owner];
      // Act
      const result = await airlock([...args, '--format', 'ndjson'], { AIRLOCK_TOKEN: auditorToken });
      // Assert
      expect(result.code).toBe(0);
      expect(result.stdout.endsWith('\n')).toBe(true);
      const lines = result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as FileResult & { owner: string; events: AuditEventView[] });
      expect(lines.map((line) => line.uploadId).sort()).toEqual(
        uploads.map((upload) => upload.uploadId).sort(),
      );
      for (const line of lines) {
        const upload = uploads.find((candidate) => candidate.uploadId === line.uploadId)!;
        expect(line).toMatchObject({ owner, status: upload.status, sha256: upload.sha256 });
        expect(line.events).toEqual(trails.get(line.uploadId));
      }
      const statuses = lines.map((line) => line.status).sort();
      expect(statuses).toEqual(['PROCESSED', 'REJECTED']);
    });

    it('refuses a non-auditor with one clear line, exit code 3 and nothing on stdout', async () => {
      // Arrange
      const token = await tokenFor(runtime, owner);
      // Act
      const result = await airlock(
        ['audit', 'export', '--from', window.from, '--to', window.to, '--format', 'csv'],
        { AIRLOCK_TOKEN: token },
      );
      // Assert
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^airlock: .*\(403 FORBIDDEN\)\n$/);
    });
  });

  describe("local tokens: asked of the runtime's `npm run -s token`, not of its internals", () => {
    it('airlock token prints a token the runtime accepts; without one, a command mints it for $USER', async () => {
      // Arrange
      const user = uniqueUser('cli-token');
      const env = { AIRLOCK_DATA_DIR: runtime.dataDir, USER: user };
      // Act
      const printed = await airlock(['token', user, '--group', 'auditors', '--ttl', '120'], env);
      const listed = await airlock(['list', '--json'], env);
      // Assert: the token names the user and group, and the auditors-only route accepts it
      expect([printed.code, printed.stderr]).toEqual([0, '']);
      const token = printed.stdout.trim();
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as {
        sub: string;
        'cognito:groups': string[];
      };
      expect([claims.sub, claims['cognito:groups']]).toEqual([user, ['auditors']]);
      expect((await api(runtime, '/audit/uploads', { token })).status).toBe(200);
      expect([listed.code, listed.stderr, JSON.parse(listed.stdout)]).toEqual([0, '', []]);
    });
  });

  describe('errors and help', () => {
    it('an unreachable API: one line, exit code 3; --debug adds the stack', async () => {
      // Arrange
      const port = await closedPort();
      const unreachable = { AIRLOCK_API_URL: `http://127.0.0.1:${port}`, AIRLOCK_TOKEN: 'x' };
      // Act
      const plain = await airlock(['status', '01ARZ3NDEKTSV4RRFFQ69G5FAV'], unreachable);
      const debug = await airlock(['status', '01ARZ3NDEKTSV4RRFFQ69G5FAV', '--debug'], unreachable);
      // Assert
      expect(plain.code).toBe(3);
      expect(plain.stderr).toBe(`airlock: Cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n`);
      expect(debug.code).toBe(3);
      expect(debug.stderr).toMatch(STACK_LINE);
    });

    it('usage errors exit with code 2 before anything is sent', async () => {
      // Arrange
      const env = { AIRLOCK_TOKEN: 'x' };
      // Act
      const missing = await airlock(['upload', '/nonexistent/report.pdf'], env);
      const unknownOption = await airlock(['list', '--colour'], env);
      const wrongOption = await airlock(['events', 'X', '--status', 'PROCESSED'], env);
      // Assert
      expect([missing.code, unknownOption.code, wrongOption.code]).toEqual([2, 2, 2]);
      expect(missing.stderr).toBe('airlock: /nonexistent/report.pdf: no such file\n');
      expect(unknownOption.stderr).toMatch(/^airlock: unknown option '--colour' \(see airlock --help\)\n$/);
      expect(wrongOption.stderr).toMatch(/^airlock: --status is not an option of "airlock events"/);
    });

    it('npx airlock --help works from the repo', async () => {
      // Arrange
      const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
      // Act
      // --no: never install anything; the bin must resolve from this repo's package.json.
      const result = await run(npx, ['--no', '--', 'airlock', '--help'], {});
      // Assert
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Usage: airlock <command> [options]');
      expect(result.stdout).toContain('audit export');
    });
  });
});
