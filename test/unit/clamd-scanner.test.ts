import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CLAMD_ENV,
  ClamdScanner,
  clamdScannerOptionsFrom,
  formatClamdAddress,
  parseClamdAddress,
} from '../../functions/adapters/clamd-scanner.js';
import { clamdEnvironment } from '../../local/clamd.js';

/**
 * The INSTREAM client against a scripted clamd on a unix socket: the framing on the wire, replies
 * cut anywhere, and every way the daemon can fail. The real clamd is in test/scanner/.
 */

interface Received {
  command: string;
  frames: Buffer[];
  terminated: boolean;
  closedByClient: boolean;
}

type Behaviour = (socket: Socket, received: Received, event: 'frame' | 'end') => void;

let dir: string;
let server: Server;
let sockets: Socket[] = [];
let sessions: Received[] = [];
let behaviour: Behaviour;

const socketPath = () => join(dir, 'clamd.sock');
const scanner = (options: { replyTimeoutMs?: number; streamMaxBytes?: number } = {}) =>
  new ClamdScanner({
    address: { socketPath: socketPath() },
    database: { name: 'Fake DB', version: '7' },
    ...options,
  });

/** Parses `zINSTREAM\0` and the frames that follow as they arrive; answers VERSION itself. */
function serve(socket: Socket): void {
  sockets.push(socket);
  let buffer = Buffer.alloc(0);
  let received: Received | undefined;
  socket.on('error', () => undefined);
  const closed = () => {
    if (received && !received.terminated) received.closedByClient = true;
  };
  socket.on('end', closed);
  socket.on('close', closed);
  socket.on('data', (data: Buffer) => {
    buffer = Buffer.concat([buffer, data]);
    if (!received) {
      const nul = buffer.indexOf(0);
      if (nul < 0) return;
      const command = buffer.subarray(0, nul).toString();
      buffer = buffer.subarray(nul + 1);
      if (command === 'zVERSION') {
        socket.end('ClamAV 9.9.9\0');
        return;
      }
      received = { command, frames: [], terminated: false, closedByClient: false };
      sessions.push(received);
    }
    while (!received.terminated && buffer.length >= 4) {
      const length = buffer.readUInt32BE(0);
      if (length === 0) {
        received.terminated = true;
        buffer = buffer.subarray(4);
        behaviour(socket, received, 'end');
        return;
      }
      if (buffer.length < 4 + length) return;
      received.frames.push(Buffer.from(buffer.subarray(4, 4 + length)));
      buffer = buffer.subarray(4 + length);
      behaviour(socket, received, 'frame');
    }
  });
}

const answer =
  (reply: string): Behaviour =>
  (socket, _received, event) => {
    if (event === 'end') socket.end(reply);
  };

async function pollUntil(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clamd-fake-'));
  sockets = [];
  sessions = [];
  behaviour = answer('stream: OK\0');
  // clamd reads on after the client's half-close (its end of stream), as here.
  server = createServer({ allowHalfOpen: true }, serve);
  await new Promise<void>((resolve) => server.listen(socketPath(), resolve));
});

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('ClamdScanner (INSTREAM protocol)', () => {
  it('sends zINSTREAM, each chunk behind its 4-byte big-endian length, then a zero length', async () => {
    // Arrange
    const chunks = [Buffer.from('first'), Buffer.from([0, 1, 2, 255]), Buffer.alloc(70_000, 9)];

    // Act
    const result = await scanner().scan(Readable.from(chunks));

    // Assert
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ command: 'zINSTREAM', terminated: true });
    expect(sessions[0]!.frames).toEqual(chunks);
    expect(result.streamedBytes).toBe(5 + 4 + 70_000);
  });

  it('cuts a huge chunk into frames of at most 1 MiB, losing nothing', async () => {
    // Arrange
    const huge = Buffer.alloc(2.5 * 1024 * 1024);
    for (let i = 0; i < huge.length; i += 4096) huge[i] = i % 251;

    // Act
    await scanner().scan(Readable.from([huge]));

    // Assert
    const frames = sessions[0]!.frames;
    expect(frames.map((frame) => frame.length)).toEqual([1024 * 1024, 1024 * 1024, 0.5 * 1024 * 1024]);
    expect(Buffer.concat(frames).equals(huge)).toBe(true);
  });

  it('names the engine from VERSION and, when VERSION names no database, the configured one', async () => {
    // Act
    const result = await scanner().scan(Readable.from([Buffer.from('x')]));

    // Assert
    expect(result).toMatchObject({
      scanStatus: 'COMPLETED',
      scanResultDetails: { scanResultStatus: 'NO_THREATS_FOUND', threats: null },
      engine: { name: 'ClamAV', version: '9.9.9' },
      database: { name: 'Fake DB', version: '7' },
      engineReply: 'stream: OK',
    });
  });

  it('reads a reply that arrives in pieces', async () => {
    // Arrange
    behaviour = (socket, _received, event) => {
      if (event !== 'end') return;
      socket.write('stream: Eicar-');
      setImmediate(() => socket.end('Signature FOUND\0'));
    };

    // Act
    const result = await scanner().scan(Readable.from([Buffer.from('x')]));

    // Assert
    expect(result.scanResultDetails.threats).toEqual([{ name: 'Eicar-Signature' }]);
  });

  it('keeps an early answer (the stream limit) and drops what the reader still sends', async () => {
    // Arrange: clamd refuses after the first frame and closes, as it does past StreamMaxLength.
    behaviour = (socket, received, event) => {
      if (event === 'frame' && received.frames.length === 1)
        socket.end('INSTREAM size limit exceeded. ERROR\0');
    };
    const session = await scanner().open();

    // Act
    await session.write(Buffer.alloc(1000));
    await pollUntil(() => sockets.some((socket) => socket.writableEnded), 'the early answer');
    await session.write(Buffer.alloc(1000));
    const result = await session.end();

    // Assert
    expect(result.unscannable).toEqual({
      reason: 'LIMIT_EXCEEDED',
      engineName: 'INSTREAM size limit exceeded',
    });
    expect(result.scanResultDetails.scanResultStatus).toBe('UNSUPPORTED');
  });

  it("stops one byte past clamd's StreamMaxLength, in a frame of its own, and reads clamd's refusal", async () => {
    // Arrange: clamd refuses on reading the length that takes the stream past 100 bytes.
    behaviour = (socket, received, event) => {
      const total = received.frames.reduce((sum, frame) => sum + frame.length, 0);
      if (event === 'frame' && total > 100) socket.end('INSTREAM size limit exceeded. ERROR\0');
    };
    const chunks = [Buffer.alloc(60, 1), Buffer.alloc(60, 2), Buffer.alloc(60, 3)];

    // Act
    const result = await scanner({ streamMaxBytes: 100 }).scan(Readable.from(chunks));

    // Assert
    expect(sessions[0]!.frames.map((frame) => frame.length)).toEqual([60, 40, 1]);
    expect(Buffer.concat(sessions[0]!.frames).equals(Buffer.concat(chunks).subarray(0, 101))).toBe(true);
    expect(sessions[0]!.terminated).toBe(false);
    expect(result.unscannable).toEqual({
      reason: 'LIMIT_EXCEEDED',
      engineName: 'INSTREAM size limit exceeded',
    });
  });

  it('never ends a stream it cut at the limit: a clamd that does not refuse it gives no verdict', async () => {
    // Arrange: a clamd whose real limit is larger than the scanner was told.
    behaviour = answer('stream: OK\0');

    // Act
    const scanning = scanner({ streamMaxBytes: 100, replyTimeoutMs: 300 }).scan(
      Readable.from([Buffer.alloc(500)]),
    );

    // Assert
    await expect(scanning).rejects.toMatchObject({ name: 'TransientError' });
    expect(sessions[0]!.terminated).toBe(false);
  });

  it('fails transiently when clamd is not there', async () => {
    // Arrange
    await new Promise((resolve) => server.close(resolve));

    // Act
    const opening = scanner().open();

    // Assert
    await expect(opening).rejects.toMatchObject({ name: 'TransientError' });
  });

  it('fails transiently when clamd closes the stream without a verdict (killed mid-scan)', async () => {
    // Arrange
    behaviour = (socket, received, event) => {
      if (event === 'frame' && received.frames.length === 2) socket.destroy();
    };

    // Act
    const scanning = scanner().scan(Readable.from([Buffer.alloc(10), Buffer.alloc(10), Buffer.alloc(10)]));

    // Assert
    await expect(scanning).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringMatching(/without a verdict/),
    });
  });

  it('fails transiently when no verdict comes in time', async () => {
    // Arrange
    behaviour = () => undefined; // reads everything, answers nothing

    // Act
    const scanning = scanner({ replyTimeoutMs: 200 }).scan(Readable.from([Buffer.from('x')]));

    // Assert
    await expect(scanning).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringMatching(/200 ms/),
    });
  });

  it('fails transiently on an ERROR reply, and never returns it as a result', async () => {
    // Arrange
    behaviour = answer("stream: Can't allocate memory ERROR\0");

    // Act
    const scanning = scanner().scan(Readable.from([Buffer.from('x')]));

    // Assert
    await expect(scanning).rejects.toMatchObject({
      name: 'TransientError',
      message: "clamd: stream: Can't allocate memory ERROR",
    });
  });

  it('passes the stream through unchanged to its reader while scanning it', async () => {
    // Arrange
    const chunks = ['one', 'two', 'three'].map((word) => Buffer.from(word));
    const session = await scanner().open();

    // Act
    const seen: Buffer[] = [];
    for await (const chunk of session.tee(Readable.from(chunks))) seen.push(Buffer.from(chunk));
    const result = await session.end();

    // Assert
    expect(seen).toEqual(chunks);
    expect(sessions[0]!.frames).toEqual(chunks);
    expect(result.scanResultDetails.scanResultStatus).toBe('NO_THREATS_FOUND');
  });

  it('aborts the scan when the reader stops early, without ending the stream', async () => {
    // Arrange
    const session = await scanner().open();

    // Act
    for await (const chunk of session.tee(
      Readable.from([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]),
    )) {
      if (chunk.length > 0) break;
    }

    // Assert
    await pollUntil(() => sessions[0]?.closedByClient === true, 'the aborted connection');
    expect(sessions[0]!.terminated).toBe(false);
    await expect(session.end()).rejects.toThrow(/ended/);
  });

  it('reads no further ahead than clamd takes (backpressure): memory stays constant', async () => {
    // Arrange: a clamd that stops reading after the command, and a 64 MiB object.
    behaviour = () => undefined;
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.once('data', (data: Buffer) => {
        if (data.subarray(0, 9).toString() === 'zVERSION\0') socket.end('ClamAV 9.9.9\0');
        else socket.pause();
      });
    });
    let pulled = 0;
    const chunk = Buffer.alloc(64 * 1024);
    const object = Readable.from(
      (function* () {
        for (let i = 0; i < 1024; i++) {
          pulled += chunk.length;
          yield chunk;
        }
      })(),
    );
    const session = await scanner().open();
    const reading = (async () => {
      for await (const _ of session.tee(object)) {
        // the validator would hash it here
      }
    })();

    // Act: wait until reading stalls (the count stops moving).
    let last = -1;
    await pollUntil(() => {
      const stalled = pulled === last;
      last = pulled;
      return stalled && pulled > 0;
    }, 'reading to stall');

    // Assert: what was read is bounded by the socket's buffers, not by the object's 64 MiB.
    expect(pulled).toBeLessThan(8 * 1024 * 1024);
    session.abort();
    await reading.catch(() => undefined);
  });
});

describe('clamd addresses as one string (for the environment)', () => {
  it.each([
    [{ socketPath: '/var/airlock/clamav/run/clamd.sock' }, 'unix:/var/airlock/clamav/run/clamd.sock'],
    [{ host: '127.0.0.1', port: 3310 }, 'tcp://127.0.0.1:3310'],
  ])('writes %j as %s and reads it back', (address, text) => {
    // Act
    const written = formatClamdAddress(address);

    // Assert
    expect(written).toBe(text);
    expect(parseClamdAddress(written)).toEqual(address);
  });

  it.each([
    '',
    'unix:relative.sock',
    '/var/run/clamd.sock',
    'tcp://127.0.0.1',
    'tcp://127.0.0.1:0',
    'tcp://127.0.0.1:70000',
    'http://127.0.0.1:3310',
  ])('refuses %j', (text) => {
    // Act
    const parse = () => parseClamdAddress(text);

    // Assert
    expect(parse).toThrow(/Not a clamd address/);
  });
});

describe('clamd settings through the environment (local runtime → functions)', () => {
  const running = {
    address: { socketPath: '/data/clamav/run/clamd.sock' },
    limits: {
      streamMaxBytes: 64 * 1024 * 1024,
      maxScanBytes: 512 * 1024 * 1024,
      maxRecursion: 16,
      maxFiles: 10_000,
      maxScanTimeMs: 120_000,
    },
    database: {
      kind: 'test' as const,
      dir: '/data/clamav/database',
      label: { name: 'Airlock test database', version: '1', publishedAt: '2026-11-29T00:00:00Z' },
      description: 'test',
    },
  };

  it('carries the address, the stream limit and the database label to the scanner', () => {
    // Arrange
    const env = clamdEnvironment(running);

    // Act
    const options = clamdScannerOptionsFrom({
      address: env[CLAMD_ENV.address],
      streamMaxBytes: env[CLAMD_ENV.streamMaxBytes],
      database: env[CLAMD_ENV.database],
    });

    // Assert
    expect(options).toEqual({
      address: running.address,
      streamMaxBytes: running.limits.streamMaxBytes,
      database: running.database.label,
    });
  });

  it('means no scanner when no address is set (AWS)', () => {
    // Act
    const options = clamdScannerOptionsFrom({ streamMaxBytes: '100' });

    // Assert
    expect(options).toBeUndefined();
  });

  it.each([
    [{ address: 'clamd.sock' }],
    [{ address: 'unix:/x.sock', streamMaxBytes: '-1' }],
    [{ address: 'unix:/x.sock', streamMaxBytes: '1.5' }],
    [{ address: 'unix:/x.sock', database: '{"name":"x"}' }],
    [{ address: 'unix:/x.sock', database: 'not json' }],
  ])('refuses %j at cold start', (values) => {
    // Act
    let thrown: unknown;
    try {
      clamdScannerOptionsFrom(values);
    } catch (error) {
      thrown = error;
    }

    // Assert
    expect(thrown).toMatchObject({
      name: 'ConfigurationError',
      message: expect.stringMatching(/^clamd settings: /),
    });
  });
});
