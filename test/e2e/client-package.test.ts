import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as samples from '../fixtures/samples.js';
import { sharedRuntime, tokenFor, uniqueUser } from './support.js';

/**
 * The client as a package: `npm pack` in client/ gives a tarball that installs offline into a
 * project of its own (it has no dependencies) and works there, with its types, against the
 * shared local runtime. Nothing of the repository is on that project's module path.
 */

const run = promisify(execFile);
const runtime = sharedRuntime();
const CLIENT_DIR = fileURLToPath(new URL('../../client/', import.meta.url));
const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

/** What the consumer script prints: one line of JSON per upload. */
interface ScriptResult {
  method: string;
  status: string;
  downloadSha256: string;
  actions: string[];
}

const CONSUMER_SCRIPT = `
import { createHash } from 'node:crypto';
import { AirlockClient } from '@airlock/client';
import { openFile } from '@airlock/client/node';

const client = new AirlockClient({ baseUrl: process.env.API_URL, token: process.env.TOKEN });
const file = await openFile(process.env.FILE);
for (const method of ['POST', 'PUT']) {
  const created = await client.upload(file.blob, {
    fileName: file.name, contentType: file.contentType, sha256: file.sha256, method,
  });
  const outcome = await client.waitForOutcome(created.uploadId, { timeoutMs: 60_000 });
  const download = await fetch((await client.getDownload(created.uploadId)).url);
  const downloadSha256 = createHash('sha256').update(Buffer.from(await download.arrayBuffer())).digest('hex');
  const actions = (await client.getEvents(created.uploadId)).map((event) => event.action);
  console.log(JSON.stringify({ method, status: outcome.status, downloadSha256, actions }));
}
`;

/** Uses the package's types as a TypeScript project would; must compile with no error. */
const CONSUMER_TYPES = `
import { AirlockClient, isTerminal, type UploadStatus, type UploadView } from '@airlock/client';
import { openFile, type LocalFile } from '@airlock/client/node';

export async function outcomeOf(client: AirlockClient, path: string): Promise<UploadStatus> {
  const file: LocalFile = await openFile(path);
  const created = await client.upload(file.blob, { fileName: file.name, contentType: 'application/pdf' });
  const view: UploadView = await client.waitForOutcome(created.uploadId);
  return isTerminal(view.status) ? view.status : 'PROCESSING';
}
// @ts-expect-error: not a status of the document
export const unknownStatus: UploadStatus = 'DONE';
`;

describe('the client package', () => {
  let workDir: string;
  let projectDir: string;
  let packedFiles: string[];

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'airlock-client-package-'));
    const packed = await run('npm', ['pack', '--json', '--pack-destination', workDir], { cwd: CLIENT_DIR });
    const [manifest] = JSON.parse(packed.stdout) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    packedFiles = manifest!.files.map((file) => file.path).sort();
    projectDir = join(workDir, 'consumer');
    await run('mkdir', [projectDir]);
    writeFileSync(
      join(projectDir, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    // --offline: the package needs nothing from any registry.
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(workDir, manifest!.filename)], {
      cwd: projectDir,
    });
  }, 120_000);

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('holds the built modules and their types, and no sources, server code or dependencies', () => {
    // Arrange
    const installed = JSON.parse(
      readFileSync(join(projectDir, 'node_modules/@airlock/client/package.json'), 'utf8'),
    ) as Record<string, unknown>;
    // Assert
    for (const entry of ['index', 'node', 'types', 'airlock-client', 'generated/airlock-api']) {
      expect(packedFiles).toEqual(expect.arrayContaining([`dist/${entry}.js`, `dist/${entry}.d.ts`]));
    }
    expect(packedFiles.filter((path) => /\.ts$/.test(path) && !path.endsWith('.d.ts'))).toEqual([]);
    expect(packedFiles.filter((path) => /functions|local|openapi\.json/.test(path))).toEqual([]);
    expect(installed.dependencies).toBeUndefined();
  });

  it('type-checks in a TypeScript project of its own (NodeNext, DOM types only)', async () => {
    // Arrange
    writeFileSync(join(projectDir, 'consumer.ts'), CONSUMER_TYPES);
    writeFileSync(
      join(projectDir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2023',
          lib: ['ES2023', 'DOM'],
          types: [],
          strict: true,
          noEmit: true,
        },
        files: ['consumer.ts'],
      }),
    );
    // Act
    const checked = await run(process.execPath, [TSC, '-p', projectDir]).then(
      () => ({ code: 0, output: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, output: error.stdout }),
    );
    // Assert
    expect(checked).toEqual({ code: 0, output: '' });
  });

  it('uploads by POST and by PUT, waits for PROCESSED and reads the download, from that project', async () => {
    // Arrange
    const bytes = samples.pdf('Airlock packaged client');
    const file = join(workDir, 'report.pdf');
    writeFileSync(file, bytes);
    writeFileSync(join(projectDir, 'use.mjs'), CONSUMER_SCRIPT);
    const token = await tokenFor(runtime, uniqueUser('package'));
    // Act
    const { stdout } = await run(process.execPath, ['use.mjs'], {
      cwd: projectDir,
      env: { ...process.env, API_URL: runtime.apiUrl, TOKEN: token, FILE: file },
    });
    const results = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ScriptResult);
    // Assert
    const expected = (method: string): ScriptResult => ({
      method,
      status: 'PROCESSED',
      downloadSha256: samples.sha256Hex(bytes),
      actions: ['ISSUED', 'CLAIMED', 'PROCESSED'],
    });
    expect(results).toEqual([expected('POST'), expected('PUT')]);
  });
});
