import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';

/** A child process whose output goes to a log file, stopped with the runtime. */
export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): ManagedProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  // Own process group: a Ctrl-C in the terminal reaches the runtime, which stops daemons in order.
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // Both streams into one file: neither may end it while the other still writes (write after end).
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.once('close', () => log.end());
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  return { name, child, exited };
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(command: string, args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${output.slice(-2000)}`));
    });
  });
}

/** Stops a process: SIGTERM, then SIGKILL after a grace period. */
export async function stopProcess(process_: ManagedProcess, graceMs = 10_000): Promise<void> {
  if (process_.child.exitCode !== null || process_.child.signalCode !== null) return;
  process_.child.kill('SIGTERM');
  const timer = setTimeout(() => process_.child.kill('SIGKILL'), graceMs);
  await process_.exited;
  clearTimeout(timer);
}

/** Polls `check` until it returns true or the deadline passes. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** True while a process with this pid exists and its command line contains `marker`. */
export function isAlive(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

/** Ends leftover processes (e.g. after the runtime was SIGKILLed), waiting for them to exit. */
export async function killLeftovers(
  pids: Array<{ pid: number; marker: string }>,
  timeoutMs = 30_000,
): Promise<void> {
  const alive = pids.filter(({ pid, marker }) => isAlive(pid, marker));
  for (const { pid } of alive) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (alive.some(({ pid, marker }) => isAlive(pid, marker))) {
    if (Date.now() > deadline) {
      for (const { pid } of alive) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (Date.now() > deadline + 5000) break;
  }
}
