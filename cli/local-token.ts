import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository the CLI runs from; its `npm run token` is the local runtime's token command. */
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

export interface LocalTokenRequest {
  sub: string;
  groups: readonly string[];
  ttlSeconds: number;
}

/**
 * A bearer token from the local runtime's issuer, asked of `npm run -s token` (the command the
 * README documents) in a child process, so that the CLI imports nothing of the runtime: not its
 * key file, not its settings. `env` carries AIRLOCK_DATA_DIR to it, as to the runtime.
 */
export function mintLocalToken(
  { sub, groups, ttlSeconds }: LocalTokenRequest,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const args = ['run', '-s', 'token', '--', sub, ...groups.flatMap((group) => ['--group', group])];
  args.push('--ttl', String(ttlSeconds));
  return new Promise((resolve, reject) => {
    execFile(
      NPM,
      args,
      { cwd: REPO_ROOT, env, timeout: 60_000, windowsHide: true, shell: process.platform === 'win32' },
      (error, stdout, stderr) => {
        const token = stdout.trim();
        if (error === null && JWT.test(token)) return resolve(token);
        const said = stderr.trim().split('\n')[0] || error?.message || 'no token printed';
        reject(new Error(`could not mint a local token with npm run -s token: ${said}`, { cause: error }));
      },
    );
  });
}
