import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killLeftovers, run, startProcess, stopProcess, waitFor, type ManagedProcess } from './processes.js';

/**
 * A one-node Ceph cluster (one monitor, one OSD, one RadosGW) on loopback, kept in `dir`. It is
 * the local runtime's S3: a real S3 implementation that enforces POST policies, presigned URL
 * expiry and signed headers, keeps versions and pushes bucket notifications.
 */
export interface CephOptions {
  dir: string;
  monPort: number;
  rgwPort: number;
  accessKeyId: string;
  secretAccessKey: string;
  /** Size of the sparse BlueStore block file. */
  blockSizeBytes?: number;
}

export interface RunningCeph {
  endpoint: string;
  /**
   * RadosGW's ops log: a unix socket that streams one JSON entry per request (Ceph 16 sends no
   * bucket notification for POST uploads; local/post-events.ts reads them from here). Undefined
   * when the data dir's path is too long for a socket path.
   */
  opsLogSocket?: string;
  /** Stops RadosGW and starts it again (the monitor and OSD keep running); waits until it answers. */
  restartGateway(): Promise<void>;
  stop(): Promise<void>;
}

const CLUSTER_TOOLS = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph'];

export function missingCephTools(): string[] {
  const path = (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin', '/bin']);
  return CLUSTER_TOOLS.filter((tool) => !path.some((dir) => existsSync(join(dir, tool))));
}

export async function startCeph(options: CephOptions): Promise<RunningCeph> {
  const missing = missingCephTools();
  if (missing.length > 0) {
    throw new Error(
      `Ceph RadosGW is not installed (missing: ${missing.join(', ')}). Run "npm run setup:s3" as root on ` +
        'Debian/Ubuntu, or point Airlock at another S3-compatible server with AIRLOCK_S3_ENDPOINT, ' +
        'AIRLOCK_S3_ACCESS_KEY_ID and AIRLOCK_S3_SECRET_ACCESS_KEY.',
    );
  }
  const dirs = {
    run: join(options.dir, 'run'),
    log: join(options.dir, 'log'),
    mon: join(options.dir, 'mon', 'ceph-a'),
    osd: join(options.dir, 'osd', 'ceph-0'),
    rgw: join(options.dir, 'rgw'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  // Daemons of a runtime that was killed outright still hold their ports and the OSD's lock.
  const pidFile = join(options.dir, 'daemons.json');
  if (existsSync(pidFile)) {
    await killLeftovers(JSON.parse(readFileSync(pidFile, 'utf8')) as Array<{ pid: number; marker: string }>);
  }
  const recordPids = () =>
    writeFileSync(pidFile, JSON.stringify(processes.map((p) => ({ pid: p.child.pid, marker: p.name }))));
  const conf = join(options.dir, 'ceph.conf');
  const fsidFile = join(options.dir, 'fsid');
  const fresh = !existsSync(fsidFile);
  const fsid = fresh ? randomUUID() : readFileSync(fsidFile, 'utf8').trim();
  const opsLogSocket = join(dirs.run, 'ops-log.sock');
  const opsLog = Buffer.byteLength(opsLogSocket) <= MAX_SOCKET_PATH_BYTES ? opsLogSocket : undefined;
  writeFileSync(conf, cephConf(options, dirs, fsid, opsLog));
  const c = ['-c', conf];
  const processes: ManagedProcess[] = [];
  const log = (name: string) => join(dirs.log, `${name}.stdout.log`);

  try {
    if (fresh) {
      await run('ceph-mon', [...c, '--mkfs', '-i', 'a', '--fsid', fsid], { timeoutMs: 60_000 });
    }
    processes.push(startProcess('ceph-mon', 'ceph-mon', [...c, '-f', '-i', 'a'], log('mon')));
    recordPids();
    await waitFor(
      'the Ceph monitor',
      async () => (await run('ceph', [...c, '--connect-timeout', '5', 'mon', 'stat'])).includes('a'),
      60_000,
      500,
    );

    if (fresh) {
      const osdUuid = randomUUID();
      // A monitor that has just formed a quorum may still refuse commands (EPERM: "problem
      // getting command descriptions"): retried, as `ceph` itself retries nothing.
      const id = (await runRetrying('ceph', [...c, 'osd', 'create', osdUuid])).trim();
      if (id !== '0') throw new Error(`Expected OSD id 0, got ${id}.`);
      await run('ceph-osd', [...c, '-i', '0', '--mkfs', '--osd-uuid', osdUuid], { timeoutMs: 120_000 });
      await runRetrying('ceph', [...c, 'osd', 'crush', 'add', 'osd.0', '1.0', 'host=localhost']);
      await runRetrying('ceph', [...c, 'osd', 'crush', 'move', 'localhost', 'root=default']);
    }
    processes.push(startProcess('ceph-osd', 'ceph-osd', [...c, '-f', '-i', '0'], log('osd')));
    recordPids();
    await waitFor(
      'the Ceph OSD',
      async () => /1 up/.test(await run('ceph', [...c, 'osd', 'stat'])),
      120_000,
      500,
    );

    const endpoint = `http://127.0.0.1:${options.rgwPort}`;
    const startGateway = async () => {
      processes.push(
        startProcess('radosgw', 'radosgw', [...c, '-f', '-n', 'client.rgw.airlock'], log('rgw')),
      );
      recordPids();
      await waitFor('RadosGW', async () => (await fetch(endpoint)).status < 500, 120_000, 250);
    };
    await startGateway();

    if (fresh) {
      await run('radosgw-admin', [
        ...c,
        '-n',
        'client.rgw.airlock',
        'user',
        'create',
        '--uid',
        'airlock',
        '--display-name',
        'Airlock local runtime',
        '--access-key',
        options.accessKeyId,
        '--secret',
        options.secretAccessKey,
      ]);
      writeFileSync(fsidFile, fsid);
    }
    return {
      endpoint,
      ...(opsLog ? { opsLogSocket: opsLog } : {}),
      restartGateway: async () => {
        const gateway = processes.findIndex((process_) => process_.name === 'radosgw');
        const [running] = gateway >= 0 ? processes.splice(gateway, 1) : [];
        if (running) await stopProcess(running);
        await startGateway();
      },
      stop: async () => {
        for (const process_ of processes.reverse()) await stopProcess(process_);
      },
    };
  } catch (error) {
    for (const process_ of processes.reverse()) await stopProcess(process_, 2000);
    throw error;
  }
}

/** Runs an idempotent cluster command, again after a short pause while it fails (20 s at most). */
async function runRetrying(command: string, args: string[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(command, args);
    } catch (error) {
      if (attempt >= 40) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** sun_path holds 108 bytes on Linux, its terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 107;

function cephConf(
  options: CephOptions,
  dirs: Record<string, string>,
  fsid: string,
  opsLogSocket: string | undefined,
): string {
  const block = options.blockSizeBytes ?? 20 * 1024 ** 3;
  return `[global]
fsid = ${fsid}
mon initial members = a
mon host = [v1:127.0.0.1:${options.monPort}]
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
run dir = ${dirs.run}
admin socket = ${dirs.run}/$name.asok
log file = ${dirs.log}/$name.log
mon data = ${join(options.dir, 'mon')}/$cluster-$id
osd data = ${join(options.dir, 'osd')}/$cluster-$id
osd objectstore = bluestore
bluestore block create = true
bluestore block size = ${block}
osd memory target = 939524096
bluestore cache autotune = false
bluestore cache size = 134217728
mon data avail warn = 2
mon data avail crit = 1

[mon.a]
public addrv = [v1:127.0.0.1:${options.monPort}]

[osd.0]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
# startCeph places osd.0 in CRUSH itself. At init the OSD would otherwise send its own
# set-device-class and create-or-move commands, and one refused ('wrong fsid' when the monitor
# is still settling) aborts OSD init, so the OSD never comes up.
osd class update on start = false
osd crush update on start = false

[client.rgw.airlock]
rgw data = ${dirs.rgw}
rgw frontends = beast endpoint=127.0.0.1:${options.rgwPort}
rgw enable usage log = false
rgw s3 auth use sts = false
${opsLogSocket === undefined ? '' : opsLogConf(opsLogSocket)}`;
}

/**
 * The ops log goes to the socket only: not to RADOS (its default, one write per request). RGW
 * keeps up to rgw_ops_log_data_backlog (5 MiB) of entries while no reader is connected and sends
 * them on connect, so a reader that reconnects after a gateway restart misses nothing logged since.
 */
function opsLogConf(socketPath: string): string {
  return `rgw enable ops log = true
rgw ops log rados = false
rgw ops log socket path = ${socketPath}
`;
}
