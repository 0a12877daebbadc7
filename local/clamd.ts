import { createServer } from 'node:net';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CLAMD_ENV,
  ClamdScanner,
  formatClamdAddress,
  type ClamdAddress,
  type ClamdScannerOptions,
} from '../functions/adapters/clamd-scanner.js';
import { killLeftovers, startProcess, stopProcess, type ManagedProcess } from './processes.js';

/**
 * ClamAV's daemon for the local runtime's malware scan: Debian's clamd (installed by
 * local/setup-clamav.sh), configured and supervised here, on a socket under the data dir.
 */

/** What clamd scans at most. Exported so that the pipeline can refuse larger files up front. */
export interface ClamdLimits {
  /** StreamMaxLength: the largest INSTREAM clamd takes; it answers "size limit exceeded" beyond. */
  streamMaxBytes: number;
  /**
   * MaxFileSize and MaxScanSize, one value. clamd cuts an archive member that inflates past
   * MaxFileSize down to exactly MaxFileSize and scans the rest as if it were whole, without an
   * alert. With both equal, such a member always overruns MaxScanSize, which the outer file has
   * already started to fill: that raises Heuristics.Limits.Exceeded.MaxScanSize (AlertExceedsMax),
   * never a clean answer. A multiple of 8 KiB, the unit in which clamd writes inflated data.
   * clamd reads each part of a DOCX or XLSX twice (its OOXML parser, then its ZIP scan), so such
   * a file may unpack to about half of this before it is refused as over the limit.
   */
  maxScanBytes: number;
  /** MaxRecursion: archives within archives (a DOCX inside a ZIP is two levels). */
  maxRecursion: number;
  /** MaxFiles: members scanned per file. */
  maxFiles: number;
  /** MaxScanTime: beyond it the scan stops with Heuristics.Limits.Exceeded.MaxScanTime. */
  maxScanTimeMs: number;
}

export const CLAMD_LIMITS: Readonly<ClamdLimits> = {
  streamMaxBytes: 64 * 1024 * 1024, // above the type policy's largest size (50 MiB)
  maxScanBytes: 512 * 1024 * 1024,
  maxRecursion: 16,
  maxFiles: 10_000,
  maxScanTimeMs: 120_000,
};

export type DatabaseChoice = 'auto' | 'machine' | 'test';

export interface ClamdOptions {
  /** clamd's own directory under the data dir: config, socket, database copy, temp files, logs. */
  dir: string;
  /** 'auto' (default): the machine's database when there is one, else the shipped test database. */
  database?: DatabaseChoice;
  /** Where freshclam keeps the machine's database. */
  machineDatabaseDir?: string;
  limits?: Partial<ClamdLimits>;
  log?: (message: string) => void;
  /** Loading the full database takes tens of seconds. Default 5 minutes. */
  startTimeoutMs?: number;
}

export interface ClamdDatabase {
  kind: 'machine' | 'test';
  dir: string;
  /** For results: the database's name, version and publication time. */
  label: { name: string; version: string; publishedAt?: string };
  /** One line for the start-up log. */
  description: string;
}

export interface RunningClamd {
  address: ClamdAddress;
  database: ClamdDatabase;
  engineVersion: string;
  limits: ClamdLimits;
  /** The running daemon's pid (changes when it is restarted). */
  pid(): number | undefined;
  /** A scanner for this daemon, naming its database in results. */
  scanner(options?: Omit<ClamdScannerOptions, 'address' | 'database' | 'streamMaxBytes'>): ClamdScanner;
  /** Stops clamd and starts it again; resolves once it answers PING. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const CLAMD = existsSync('/usr/sbin/clamd') ? '/usr/sbin/clamd' : 'clamd';
export const TEST_DATABASE_DIR = fileURLToPath(new URL('./clamav-db/', import.meta.url));
/** sun_path holds 108 bytes on Linux, its terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 107;
const RESTART_DELAYS_MS = [250, 1_000, 5_000, 15_000];

export function missingClamd(): boolean {
  const path = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin']);
  return !path.some((dir) => existsSync(join(dir, 'clamd')));
}

export async function startClamd(options: ClamdOptions): Promise<RunningClamd> {
  const machineDatabaseDir = options.machineDatabaseDir ?? '/var/lib/clamav';
  if (options.database === 'machine' && !hasMachineDatabase(machineDatabaseDir)) {
    throw new Error(
      `No ClamAV database in ${machineDatabaseDir} (main and daily): run freshclam on a connected machine.`,
    );
  }
  if (missingClamd()) {
    throw new Error(
      'ClamAV is not installed (no clamd). Run "bash local/setup-clamav.sh" as root on Debian/Ubuntu, ' +
        'or install the clamav-daemon package.',
    );
  }
  const log = options.log ?? (() => undefined);
  const limits = { ...CLAMD_LIMITS, ...options.limits };
  checkLimits(limits);
  const dirs = {
    run: join(options.dir, 'run'),
    tmp: join(options.dir, 'tmp'),
    db: join(options.dir, 'database'),
  };
  mkdirSync(options.dir, { recursive: true });
  const conf = join(options.dir, 'clamd.conf');
  const pidFile = join(options.dir, 'daemons.json');
  // A clamd left by a runtime that was killed outright still holds the socket.
  if (existsSync(pidFile)) {
    await killLeftovers(JSON.parse(readFileSync(pidFile, 'utf8')) as Array<{ pid: number; marker: string }>);
  }
  rmSync(dirs.tmp, { recursive: true, force: true }); // scan files a killed clamd left behind
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });

  const database = chooseDatabase(options.database ?? 'auto', machineDatabaseDir, dirs.db);
  const socketPath = join(dirs.run, 'clamd.sock');
  const address: ClamdAddress =
    Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH_BYTES
      ? { socketPath }
      : { host: '127.0.0.1', port: await freePort() };
  writeFileSync(conf, clamdConf({ address, limits, databaseDir: database.dir, dirs, dir: options.dir }));

  const probe = new ClamdScanner({ address, connectTimeoutMs: 1_000, replyTimeoutMs: 5_000 });
  let current: ManagedProcess | undefined;
  let stopping = false;
  let crashes = 0;
  let relaunch: NodeJS.Timeout | undefined;

  const launch = async (): Promise<void> => {
    const started = Date.now();
    const process_ = startProcess('clamd', CLAMD, ['-c', conf], join(options.dir, 'clamd.stdout.log'));
    current = process_;
    writeFileSync(pidFile, JSON.stringify([{ pid: process_.child.pid, marker: conf }]));
    let exited = false;
    void process_.exited.then(() => (exited = true));
    const deadline = started + (options.startTimeoutMs ?? 300_000);
    while (
      !(await probe.ping().then(
        () => true,
        () => false,
      ))
    ) {
      if (exited || Date.now() > deadline) {
        await stopProcess(process_, 2_000);
        if (current === process_) current = undefined;
        throw new Error(exited ? startFailure(options.dir) : 'clamd did not answer PING in time.');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const readyAt = Date.now();
    log(`clamd ready in ${readyAt - started} ms (pid ${process_.child.pid})`);
    // Once up, a clamd that dies is started again, as a supervisor would (backing off if it keeps dying).
    void process_.exited.then((code) => {
      if (stopping || current !== process_) return; // stopped or restarted on purpose
      current = undefined;
      if (Date.now() - readyAt > 60_000) crashes = 0;
      relaunchLater(`clamd exited unexpectedly (${code ?? process_.child.signalCode})`);
    });
  };
  const relaunchLater = (why: string) => {
    if (stopping) return;
    const delay = RESTART_DELAYS_MS[Math.min(crashes++, RESTART_DELAYS_MS.length - 1)] ?? 15_000;
    log(`${why}; starting it again in ${delay} ms`);
    relaunch = setTimeout(() => {
      relaunch = undefined;
      if (!stopping)
        launch().catch((error: unknown) =>
          relaunchLater(`clamd did not come back: ${(error as Error).message}`),
        );
    }, delay);
  };

  await launch();
  const version = await probe.version();
  if (database.kind === 'machine' && version.database) {
    database.label = {
      name: 'ClamAV',
      version: version.database.version,
      ...(version.database.publishedAt ? { publishedAt: version.database.publishedAt } : {}),
    };
    database.description = `machine (${database.dir}: daily ${version.database.version}, ${version.database.published})`;
  }
  log(`ClamAV ${version.engine}, database: ${database.description}`);
  log(`clamd listens on ${'socketPath' in address ? address.socketPath : `${address.host}:${address.port}`}`);

  const halt = async () => {
    if (relaunch) clearTimeout(relaunch);
    relaunch = undefined;
    const running = current;
    current = undefined;
    if (running) await stopProcess(running, 5_000);
  };
  return {
    address,
    database,
    engineVersion: version.engine,
    limits,
    pid: () => current?.child.pid,
    scanner: (scannerOptions = {}) =>
      new ClamdScanner({
        ...scannerOptions,
        address,
        database: database.label,
        streamMaxBytes: limits.streamMaxBytes,
      }),
    restart: async () => {
      await halt();
      await launch();
    },
    stop: async () => {
      stopping = true;
      await halt();
    },
  };
}

/**
 * The environment variables that point the pipeline's functions at this clamd (the local runtime
 * sets them with the others; `clamdScannerOptionsFrom` reads them back).
 */
export function clamdEnvironment(
  clamd: Pick<RunningClamd, 'address' | 'limits' | 'database'>,
): Record<string, string> {
  return {
    [CLAMD_ENV.address]: formatClamdAddress(clamd.address),
    [CLAMD_ENV.streamMaxBytes]: String(clamd.limits.streamMaxBytes),
    [CLAMD_ENV.database]: JSON.stringify(clamd.database.label),
  };
}

function checkLimits(limits: ClamdLimits): void {
  if (limits.maxScanBytes % 8192 !== 0 || limits.streamMaxBytes > limits.maxScanBytes) {
    throw new Error(
      'clamd limits: maxScanBytes must be a multiple of 8 KiB and at least streamMaxBytes ' +
        '(see ClamdLimits.maxScanBytes for why).',
    );
  }
}

/** The machine's database needs main and daily (.cvd as downloaded, or .cld once updated by diffs). */
export function hasMachineDatabase(dir: string): boolean {
  const files = existsSync(dir) ? readdirSync(dir) : [];
  return ['main', 'daily'].every((name) => files.includes(`${name}.cvd`) || files.includes(`${name}.cld`));
}

export interface TestDatabaseManifest {
  name: string;
  version: string;
  publishedAt: string;
  files: Record<string, string>;
  /** `marker`: the text a signature matches, for tests to put into files (EICAR's is built by the tests). */
  signatures: Array<{ name: string; detects: string; marker?: string }>;
}

/** The shipped test database: its files (with their SHA-256), version and signatures. */
export function readTestDatabaseManifest(): TestDatabaseManifest {
  return JSON.parse(readFileSync(join(TEST_DATABASE_DIR, 'manifest.json'), 'utf8')) as TestDatabaseManifest;
}

function chooseDatabase(choice: DatabaseChoice, machineDir: string, copyDir: string): ClamdDatabase {
  if (choice !== 'test' && hasMachineDatabase(machineDir)) {
    return {
      kind: 'machine',
      dir: machineDir,
      label: { name: 'ClamAV', version: 'unknown' },
      description: 'machine',
    };
  }
  // A copy under the data dir: clamd reads only what it is given, and nothing else lands beside it.
  const manifest = readTestDatabaseManifest();
  rmSync(copyDir, { recursive: true, force: true });
  mkdirSync(copyDir, { recursive: true });
  for (const file of Object.keys(manifest.files))
    copyFileSync(join(TEST_DATABASE_DIR, file), join(copyDir, file));
  const why = choice === 'test' ? 'as asked' : `no machine database in ${machineDir}`;
  return {
    kind: 'test',
    dir: copyDir,
    label: { name: manifest.name, version: manifest.version, publishedAt: manifest.publishedAt },
    description:
      `${manifest.name} v${manifest.version} (${manifest.signatures.length} signatures: ` +
      `${manifest.signatures.map((signature) => signature.detects).join(', ')}; ${why})`,
  };
}

function clamdConf(params: {
  address: ClamdAddress;
  limits: ClamdLimits;
  databaseDir: string;
  dirs: { run: string; tmp: string };
  dir: string;
}): string {
  const { address, limits } = params;
  const listen =
    'socketPath' in address
      ? `LocalSocket ${address.socketPath}\nLocalSocketMode 600\nFixStaleSocket yes`
      : `TCPSocket ${address.port}\nTCPAddr ${address.host}`;
  return `# Written by Airlock's local runtime (local/clamd.ts) at each start: edits are lost.
${listen}
Foreground yes
PidFile ${join(params.dirs.run, 'clamd.pid')}
TemporaryDirectory ${params.dirs.tmp}
DatabaseDirectory ${params.databaseDir}
LogFile ${join(params.dir, 'clamd.log')}
LogTime yes
LogFileMaxSize 20M
LogRotate yes
LogSyslog no
# freshclam may update the machine's database: pick it up.
SelfCheck 600
ConcurrentDatabaseReload yes
ReadTimeout 60
StreamMaxLength ${limits.streamMaxBytes}
MaxFileSize ${limits.maxScanBytes}
MaxScanSize ${limits.maxScanBytes}
PCREMaxFileSize ${limits.maxScanBytes}
MaxRecursion ${limits.maxRecursion}
MaxFiles ${limits.maxFiles}
MaxScanTime ${limits.maxScanTimeMs}
ScanArchive yes
ScanOLE2 yes
ScanPDF yes
ScanHTML yes
ScanPE yes
ScanELF yes
ScanMail yes
ScanSWF yes
ScanXMLDOCS yes
ScanHWP3 yes
ScanOneNote yes
Bytecode yes
HeuristicAlerts yes
# Fail closed: a file clamd cannot fully scan is reported by name, never as OK.
AlertExceedsMax yes
AlertEncrypted yes
AlertEncryptedArchive yes
AlertEncryptedDoc yes
AlertBrokenExecutables yes
# A broken image is still scanned as bytes; strict alerts here would refuse real photos.
AlertBrokenMedia no
# Macros, OLE objects and the like are the active-content policy's to judge, not malware.
AlertOLE2Macros no
DetectPUA no
`;
}

function startFailure(dir: string): string {
  const tail = (file: string) =>
    existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-15).join('\n') : '';
  let hint = '';
  try {
    if (
      readFileSync('/sys/kernel/security/apparmor/profiles', 'utf8').includes('/usr/sbin/clamd (enforce)')
    ) {
      hint =
        "\nAppArmor confines /usr/sbin/clamd to Debian's paths: allow the data dir in " +
        '/etc/apparmor.d/local/usr.sbin.clamd (e.g. "<dataDir>/** rwk,") and reload the profile.';
    }
  } catch {
    // no AppArmor
  }
  return `clamd exited during start-up:\n${tail(join(dir, 'clamd.stdout.log'))}\n${tail(join(dir, 'clamd.log'))}${hint}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
