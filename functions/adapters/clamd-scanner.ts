import { connect, type Socket } from 'node:net';
import { TransientError } from '../commons/errors.js';
import { ConfigurationError } from '../domain/errors.js';
import {
  parseClamdReply,
  parseClamdVersion,
  toScanResult,
  type MalwareScanResult,
} from '../domain/scan-verdict.js';

/** Where clamd listens: its LocalSocket, or TCPSocket on loopback. */
export type ClamdAddress = { socketPath: string } | { host: string; port: number };

/**
 * An address as one string, for an environment variable: `unix:/path/to/clamd.sock` or
 * `tcp://127.0.0.1:3310`.
 */
export function formatClamdAddress(address: ClamdAddress): string {
  return 'socketPath' in address ? `unix:${address.socketPath}` : `tcp://${address.host}:${address.port}`;
}

export function parseClamdAddress(value: string): ClamdAddress {
  if (value.startsWith('unix:/')) return { socketPath: value.slice('unix:'.length) };
  const tcp = /^tcp:\/\/([^:/]+):(\d{1,5})$/.exec(value);
  const port = Number(tcp?.[2]);
  if (tcp && port >= 1 && port <= 65535) return { host: tcp[1] as string, port };
  throw new Error(`Not a clamd address (unix:/path or tcp://host:port): ${JSON.stringify(value)}.`);
}

/**
 * The environment that points a function at clamd. The local runtime sets it (local/clamd.ts,
 * `clamdEnvironment`); AWS never does, where GuardDuty scans instead.
 */
export const CLAMD_ENV = {
  /** `unix:/path/clamd.sock` or `tcp://127.0.0.1:port`: scanning is on when this is set. */
  address: 'CLAMD_ADDRESS',
  /** clamd's StreamMaxLength in bytes. */
  streamMaxBytes: 'CLAMD_STREAM_MAX_BYTES',
  /** JSON `{name, version, publishedAt?}`: the database to name when clamd's VERSION names none. */
  database: 'CLAMD_DATABASE',
} as const;

/**
 * Scanner options from those variables' values (read by the functions' checked env reader);
 * undefined when no address is set. A malformed value is a ConfigurationError.
 */
export function clamdScannerOptionsFrom(values: {
  address?: string | undefined;
  streamMaxBytes?: string | undefined;
  database?: string | undefined;
}): ClamdScannerOptions | undefined {
  if (values.address === undefined) return undefined;
  try {
    const streamMaxBytes = values.streamMaxBytes === undefined ? undefined : Number(values.streamMaxBytes);
    if (streamMaxBytes !== undefined && !(Number.isSafeInteger(streamMaxBytes) && streamMaxBytes > 0)) {
      throw new Error(`${CLAMD_ENV.streamMaxBytes} must be a positive integer.`);
    }
    const database = values.database === undefined ? undefined : (JSON.parse(values.database) as unknown);
    if (database !== undefined && !isDatabaseLabel(database)) {
      throw new Error(`${CLAMD_ENV.database} must be JSON {name, version, publishedAt?}.`);
    }
    return {
      address: parseClamdAddress(values.address),
      ...(streamMaxBytes !== undefined ? { streamMaxBytes } : {}),
      ...(database !== undefined ? { database } : {}),
    };
  } catch (error) {
    throw new ConfigurationError(`clamd settings: ${(error as Error).message}`);
  }
}

function isDatabaseLabel(value: unknown): value is DatabaseLabel {
  if (typeof value !== 'object' || value === null) return false;
  const { name, version, publishedAt } = value as Record<string, unknown>;
  return (
    typeof name === 'string' &&
    typeof version === 'string' &&
    (publishedAt === undefined || typeof publishedAt === 'string')
  );
}

/** The database to name in results when clamd's VERSION names none (a database without a daily). */
export interface DatabaseLabel {
  name: string;
  version: string;
  publishedAt?: string;
}

export interface ClamdScannerOptions {
  address: ClamdAddress;
  /** Connecting (clamd down → refused at once; overloaded → this). Default 2 s. */
  connectTimeoutMs?: number;
  /** No progress while sending (clamd stopped reading) or no verdict after the last byte. Default 90 s. */
  replyTimeoutMs?: number;
  /** Named in results when VERSION names no database. */
  database?: DatabaseLabel;
  /**
   * clamd's StreamMaxLength, when known. The stream then stops one byte past it and waits for
   * clamd's refusal: sending on after clamd has answered and closed can lose its answer.
   */
  streamMaxBytes?: number;
  now?: () => Date;
}

/** The chunk header is a 4-byte unsigned big-endian length; a zero length ends the stream. */
const END_OF_STREAM = Buffer.alloc(4);
/** A frame carries at most this much, so that a huge chunk is not one huge write. */
const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * A clamd client speaking INSTREAM over its socket, streaming: each chunk goes to clamd as it is
 * read, with backpressure, so memory stays constant whatever the file's size, and the same read
 * of the object can feed validation (`tee`). Answers are results; a failure of the engine or of
 * the connection (refused, reset, timed out, an ERROR reply) is a TransientError, which the state
 * machine retries and a redrive repeats.
 */
export class ClamdScanner {
  private readonly connectTimeoutMs: number;
  private readonly replyTimeoutMs: number;
  private readonly now: () => Date;

  constructor(private readonly options: ClamdScannerOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
    this.replyTimeoutMs = options.replyTimeoutMs ?? 90_000;
    this.now = options.now ?? (() => new Date());
  }

  /** Resolves when clamd answers PING with PONG. */
  async ping(): Promise<void> {
    const reply = await this.command('zPING\0');
    if (reply !== 'PONG') throw new TransientError(`clamd answered PING with ${JSON.stringify(reply)}.`);
  }

  /** clamd's engine version and, when it has a daily database, that database's version and date. */
  async version(): Promise<ReturnType<typeof parseClamdVersion>> {
    return parseClamdVersion(await this.command('zVERSION\0'));
  }

  /** Scans a whole stream. */
  async scan(chunks: AsyncIterable<Uint8Array>): Promise<MalwareScanResult> {
    const session = await this.open();
    try {
      for await (const chunk of chunks) await session.write(chunk);
    } catch (error) {
      session.abort();
      throw error;
    }
    return session.end();
  }

  /**
   * Opens an INSTREAM session; the connection is made now, so an engine that is down fails
   * before the object is read. Feed it with `write`, or pass the object's stream through `tee`.
   */
  async open(): Promise<ScanSession> {
    const socket = await this.connect();
    // Asked on its own connection alongside the scan: the engine and database that judged.
    const version = this.version();
    version.catch(() => undefined);
    const limits = { replyTimeoutMs: this.replyTimeoutMs, streamMaxBytes: this.options.streamMaxBytes };
    return new ScanSession(socket, limits, async (reply, bytes) => {
      const verdict = parseClamdReply(reply);
      if (verdict.kind === 'ERROR') throw new TransientError(verdict.message);
      const { engine, database } = await version;
      const fallback = this.options.database ?? { name: 'unknown', version: 'unknown' };
      return toScanResult(verdict, {
        engine: { name: 'ClamAV', version: engine },
        database: database
          ? {
              name: 'ClamAV',
              version: database.version,
              ...(database.publishedAt ? { publishedAt: database.publishedAt } : {}),
            }
          : fallback,
        engineReply: reply.replace(/\0+$/, ''),
        streamedBytes: bytes,
        scannedAt: this.now().toISOString(),
      });
    });
  }

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const address = this.options.address;
      const socket =
        'socketPath' in address ? connect(address.socketPath) : connect(address.port, address.host);
      const timer = setTimeout(
        () =>
          socket.destroy(
            new TransientError(`clamd did not accept a connection within ${this.connectTimeoutMs} ms.`),
          ),
        this.connectTimeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(asTransient(error, 'connecting to clamd'));
      });
    });
  }

  /** A one-line command (z-prefixed, NUL-terminated) and its reply. */
  private async command(command: string): Promise<string> {
    const socket = await this.connect();
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      socket.setTimeout(this.replyTimeoutMs, () =>
        socket.destroy(new TransientError(`clamd did not answer ${command.slice(1, -1)} in time.`)),
      );
      socket.on('data', (data: Buffer) => parts.push(data));
      socket.once('error', (error) => reject(asTransient(error, `clamd ${command.slice(1, -1)}`)));
      socket.once('close', () => resolve(Buffer.concat(parts).toString('utf8').replace(/\0+$/, '')));
      socket.end(command);
    });
  }
}

/**
 * One INSTREAM: chunks in, one verdict out. `write` resolves once clamd's socket has taken the
 * chunk (awaiting 'drain' when its buffer is full), so the reader never runs ahead of clamd.
 * clamd may answer before the end (its stream size limit): later writes are then dropped, and the
 * caller still reads its object to the end for validation.
 */
export class ScanSession {
  private bytes = 0;
  private replyParts: Buffer[] = [];
  private replied = false;
  /** The stream went one byte past clamd's limit: nothing more is sent, its refusal is awaited. */
  private overLimit = false;
  private ended = false;
  private failure: Error | undefined;
  private readonly closed: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly limits: { replyTimeoutMs: number; streamMaxBytes?: number | undefined },
    private readonly judge: (reply: string, bytes: number) => Promise<MalwareScanResult>,
  ) {
    const { replyTimeoutMs } = limits;
    socket.on('data', (data: Buffer) => {
      this.replyParts.push(data);
      if (data.includes(0)) this.replied = true;
    });
    socket.setTimeout(replyTimeoutMs, () =>
      socket.destroy(new TransientError(`clamd made no progress for ${replyTimeoutMs} ms.`)),
    );
    this.closed = new Promise((resolve) => {
      socket.once('error', (error) => (this.failure ??= error));
      socket.once('close', () => resolve());
    });
    socket.write('zINSTREAM\0');
  }

  /** Sends one chunk (framed), resolving when the socket can take more. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.ended) throw new Error('This scan session has ended.');
    for (let offset = 0; offset < chunk.length;) {
      // Answered early, gone, or past the limit: end() says which.
      if (this.replied || this.socket.destroyed || this.overLimit) return;
      const room = (this.limits.streamMaxBytes ?? Infinity) - this.bytes;
      // One byte past the limit, in a frame of its own: clamd refuses it on reading its length.
      if (room <= 0) this.overLimit = true;
      const frame = chunk.subarray(offset, offset + (this.overLimit ? 1 : Math.min(MAX_FRAME_BYTES, room)));
      offset += frame.length;
      const header = Buffer.allocUnsafe(4);
      header.writeUInt32BE(frame.length);
      this.socket.cork();
      this.socket.write(header);
      const more = this.socket.write(frame);
      this.socket.uncork();
      this.bytes += frame.length;
      if (!more) await this.drained();
    }
  }

  /** Ends the stream and waits for clamd's verdict. */
  async end(): Promise<MalwareScanResult> {
    if (this.ended) throw new Error('This scan session has ended.');
    this.ended = true;
    if (this.overLimit) {
      // Never the end of stream here: a clamd with a larger limit would scan a truncated file.
      this.socket.setTimeout(Math.min(this.limits.replyTimeoutMs, 10_000));
    } else if (!this.replied && !this.socket.destroyed) {
      this.socket.end(END_OF_STREAM);
    }
    await this.closed;
    const reply = Buffer.concat(this.replyParts).toString('utf8');
    if (reply.includes('\0')) return this.judge(reply, this.bytes);
    const cause = this.failure;
    throw cause instanceof TransientError
      ? cause
      : new TransientError(
          `clamd closed the connection without a verdict${cause ? ` (${(cause as NodeJS.ErrnoException).code ?? cause.message})` : ''}.`,
          { cause },
        );
  }

  /** Drops the scan (the reader stopped early, or failed). */
  abort(): void {
    this.ended = true;
    this.socket.destroy();
  }

  /**
   * Passes a stream through unchanged while sending each chunk to clamd: the one read of an
   * object feeds both its consumer and the scan. clamd takes each chunk while the consumer works
   * on it. Call `end()` once the consumer has read everything; if it stops early, the scan is aborted.
   */
  async *tee(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
    let finished = false;
    try {
      for await (const chunk of chunks) {
        const sent = this.write(chunk);
        sent.catch(() => undefined); // awaited below; a failure surfaces in end()
        yield chunk;
        await sent;
      }
      finished = true;
    } finally {
      if (!finished) this.abort();
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }
}

function asTransient(error: unknown, doing: string): Error {
  if (error instanceof TransientError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  return new TransientError(`${doing} failed${code ? ` (${code})` : ''}.`, { cause: error });
}
