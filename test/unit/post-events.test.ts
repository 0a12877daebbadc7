import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { ObjectCreatedEvent } from '../../functions/domain/object-event.js';
import {
  loggedPostOf,
  OpsLogStream,
  postObjectEvent,
  startPostEvents,
  versionsWrittenBy,
  type StoredVersion,
} from '../../local/post-events.js';
import { toObjectCreatedEvents } from '../../local/router.js';

// Recorded on this machine from Ceph 16.2.15's RadosGW (ops log socket), for two presigned POSTs
// of 6 bytes each to the same key, then a POST refused for its size and a signed PUT.
const OPENING = '[';
const POST_1 =
  '{"bucket":"bkt-exp","time":"2026-11-29T13:39:34.662161Z","time_local":"2026-11-29T13:39:34.662161+0000","remote_addr":"127.0.0.1","user":"airlock","operation":"post_obj","uri":"POST /bkt-exp HTTP/1.1","http_status":"204","error_code":"NoContent","bytes_sent":0,"bytes_received":0,"object_size":6,"total_time":1984,"user_agent":"node","referrer":"","trans_id":"tx0000001366faab4e0c9ad-006b0c2b16-1018-default","authentication_type":"Local","access_key_id":"AK","temp_url":false},\n';
const POST_2 =
  '{"bucket":"bkt-exp","time":"2026-11-29T13:39:36.954161Z","time_local":"2026-11-29T13:39:36.954161+0000","remote_addr":"127.0.0.1","user":"airlock","operation":"post_obj","uri":"POST /bkt-exp HTTP/1.1","http_status":"204","error_code":"NoContent","bytes_sent":0,"bytes_received":0,"object_size":6,"total_time":28,"user_agent":"node","referrer":"","trans_id":"tx00000fe444533ef2973fa-006b0c2b18-1018-default","authentication_type":"Local","access_key_id":"AK","temp_url":false},\n';
const POST_REFUSED =
  '{"bucket":"bkt-exp","time":"2026-11-29T13:39:37.294161Z","time_local":"2026-11-29T13:39:37.294161+0000","remote_addr":"127.0.0.1","user":"airlock","operation":"post_obj","uri":"POST /bkt-exp HTTP/1.1","http_status":"400","error_code":"EntityTooLarge","bytes_sent":238,"bytes_received":0,"object_size":0,"total_time":4,"user_agent":"node","referrer":"","trans_id":"tx0000062ba82d5fadf015f-006b0c2b19-1018-default","authentication_type":"Local","access_key_id":"AK","temp_url":false},\n';
const PUT =
  '{"bucket":"bkt-exp","time":"2026-11-29T13:39:37.306161Z","time_local":"2026-11-29T13:39:37.306161+0000","remote_addr":"127.0.0.1","user":"airlock","operation":"put_obj","uri":"PUT /bkt-exp/quarantine/put1?x-id=PutObject?x-id=PutObject HTTP/1.1","http_status":"200","error_code":"","bytes_sent":0,"bytes_received":3,"object_size":3,"total_time":28,"user_agent":"aws-sdk-js/3.1168.0","referrer":"","trans_id":"tx00000cbad578f93ed1f63-006b0c2b19-1018-default","authentication_type":"Local","access_key_id":"AK","temp_url":false},\n';
const REQUEST_1 = 'tx0000001366faab4e0c9ad-006b0c2b16-1018-default';
const REQUEST_2 = 'tx00000fe444533ef2973fa-006b0c2b18-1018-default';

// ListObjectVersions of that key right after (recorded): the newer version first.
const LISTED = [
  {
    Key: 'quarantine/01ABC',
    VersionId: 'w8v1zHi3pLdvYWTfM3x5iywp6YGHwW7',
    ETag: '"203ad5ffa1d7c650ad681fdff3965cd2"',
    Size: 6,
    LastModified: new Date('2026-11-29T13:39:36.961Z'),
  },
  {
    Key: 'quarantine/01ABC',
    VersionId: 'rv0Xo7s7tXmabRJFsp4NgBFA.Uqsw8G',
    ETag: '"4f6d054536d6613a91472139cc60f072"',
    Size: 6,
    LastModified: new Date('2026-11-29T13:39:36.633Z'),
  },
];
const stored = (listed: (typeof LISTED)[number]): StoredVersion => ({
  key: listed.Key,
  versionId: listed.VersionId,
  size: listed.Size,
  etag: listed.ETag,
  lastModifiedMs: listed.LastModified.getTime(),
});
const [SECOND, FIRST] = LISTED.map(stored) as [StoredVersion, StoredVersion];

const parse = (line: string): unknown => JSON.parse(line.trim().replace(/,$/, ''));

describe('ops log entries → POST uploads', () => {
  it('reads a logged POST: bucket, request id, the span it ran in, the stored size', () => {
    // Act
    const post = loggedPostOf(parse(POST_1));
    // Assert: 13:39:34.662161 plus 1984 ms (both cut down by RGW, so the end may be 2 ms later)
    expect(post).toEqual({
      bucket: 'bkt-exp',
      requestId: REQUEST_1,
      startedAtMs: Date.UTC(2026, 10, 29, 13, 39, 34, 662),
      endedAtMs: Date.UTC(2026, 10, 29, 13, 39, 34, 662) + 1984 + 2,
      size: 6,
    });
  });

  it('ignores a refused POST, other operations and entries of another shape', () => {
    expect(loggedPostOf(parse(POST_REFUSED))).toBeUndefined();
    expect(loggedPostOf(parse(PUT))).toBeUndefined();
    expect(loggedPostOf({ operation: 'post_obj', http_status: '204' })).toBeUndefined();
    expect(loggedPostOf('post_obj')).toBeUndefined();
  });

  it('splits the socket stream into entries wherever its chunks break', () => {
    // Arrange: the stream as RGW sends it, cut into chunks of every size from 1 to 97 bytes
    const text = OPENING + POST_1 + POST_2 + PUT;
    for (const size of [1, 7, 97, text.length]) {
      const stream = new OpsLogStream();
      const entries: unknown[] = [];
      // Act
      for (let at = 0; at < text.length; at += size) entries.push(...stream.push(text.slice(at, at + size)));
      // Assert
      expect(entries).toEqual([parse(POST_1), parse(POST_2), parse(PUT)]);
    }
  });

  it('resolves each POST to the version it wrote: same size, written while it ran', () => {
    // Arrange
    const versions = [SECOND, FIRST];
    const first = loggedPostOf(parse(POST_1))!;
    const second = loggedPostOf(parse(POST_2))!;
    // Act / Assert: the first POST was slow (1984 ms); its version was written near its end
    expect(versionsWrittenBy(first, versions)).toEqual([FIRST]);
    expect(versionsWrittenBy(second, versions)).toEqual([SECOND]);
    expect(versionsWrittenBy({ ...second, size: 7 }, versions)).toEqual([]);
  });

  it('builds the event the router builds from an RGW record of the same version, with reason POST Object', () => {
    // Arrange: what RGW pushes for a PUT of that version (S3 record format), through the router
    const [fromRouter] = toObjectCreatedEvents({
      Records: [
        {
          eventName: 'ObjectCreated:Put',
          eventTime: '2026-11-29T13:39:36.961Z',
          s3: {
            bucket: { name: 'bkt-exp' },
            object: {
              key: FIRST.key,
              size: FIRST.size,
              eTag: '4f6d054536d6613a91472139cc60f072',
              versionId: FIRST.versionId,
              sequencer: '0000019ACFB0E9B9',
            },
          },
        },
      ],
    });
    // Act
    const event = postObjectEvent('bkt-exp', FIRST, REQUEST_1);
    // Assert
    const { id: _a, time: _b, detail: routed, ...envelope } = fromRouter!;
    const { id, time, detail, ...ownEnvelope } = event;
    expect(ownEnvelope).toEqual(envelope);
    expect(detail).toEqual({
      ...routed,
      object: { ...routed.object, sequencer: expect.stringMatching(/^[0-9A-F]{16}$/) },
      'request-id': REQUEST_1,
      reason: 'POST Object',
    });
    expect({ id, time }).toEqual({ id: REQUEST_1, time: '2026-11-29T13:39:36Z' });
  });

  it('orders the sequencers of two versions of one key as their writes', () => {
    const earlier = postObjectEvent('b', FIRST).detail.object.sequencer!;
    const later = postObjectEvent('b', SECOND).detail.object.sequencer!;
    expect(earlier < later).toBe(true);
  });
});

// --- The source, against a unix socket standing in for RGW's ------------------------------------

interface FakeGateway {
  path: string;
  /** Waits for the source to connect, then returns that connection. */
  connection(): Promise<Socket>;
  close(): Promise<void>;
}

async function fakeGateway(dir: string): Promise<FakeGateway> {
  const path = join(dir, 'ops-log.sock');
  const waiting: Array<(socket: Socket) => void> = [];
  const connections: Socket[] = [];
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((socket) => {
        socket.write(OPENING);
        connections.push(socket);
        waiting.shift()?.(socket);
      });
      server.listen(path, resolve);
    });
  await listen();
  let taken = 0;
  return {
    path,
    connection: () =>
      taken < connections.length
        ? Promise.resolve(connections[taken++]!)
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('the source did not connect')), 3_000);
            waiting.push((socket) => {
              clearTimeout(timer);
              taken++;
              resolve(socket);
            });
          }),
    close: () =>
      new Promise((resolve) => {
        connections.forEach((socket) => socket.destroy());
        server?.close(() => resolve());
      }),
  };
}

async function until<T>(probe: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('POST upload events from the ops log socket', () => {
  const s3Mock = mockClient(S3Client);
  let dir: string;
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(ListObjectVersionsCommand).resolves({ IsTruncated: false, Versions: LISTED });
    dir = mkdtempSync(join(tmpdir(), 'airlock-post-events-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function withSource(
    run: (
      gateway: FakeGateway,
      started: Array<{ event: ObjectCreatedEvent; name: string }>,
      source: ReturnType<typeof startPostEvents>,
    ) => Promise<void>,
    bucket = 'bkt-exp',
  ) {
    const gateway = await fakeGateway(dir);
    const started: Array<{ event: ObjectCreatedEvent; name: string }> = [];
    const names = new Set<string>();
    const source = startPostEvents({
      socketPath: gateway.path,
      bucket,
      s3: new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
      // Idempotent by name, as the local executor's start is
      startExecution: (event, name) => {
        if (!names.has(name)) started.push({ event, name });
        names.add(name);
        return Promise.resolve();
      },
      reconnectDelayMs: 20,
    });
    try {
      await run(gateway, started, source);
    } finally {
      await source.stop();
      await gateway.close();
    }
  }

  it('starts one execution per POSTed version, each naming its own version and request', async () => {
    await withSource(async (gateway, started, source) => {
      // Act: both POSTs, the refused one and a PUT, the first one logged twice
      const socket = await gateway.connection();
      socket.write(POST_1 + POST_2 + POST_REFUSED + PUT + POST_1);
      await until(() => (started.length >= 2 ? true : undefined), 'two executions');
      await source.idle();
      // Assert
      expect(
        started.map(({ event }) => [event.detail.object['version-id'], event.detail['request-id']]),
      ).toEqual([
        [FIRST.versionId, REQUEST_1],
        [SECOND.versionId, REQUEST_2],
      ]);
      expect(new Set(started.map(({ name }) => name)).size).toBe(2);
      expect(started.every(({ name }) => /^[A-Za-z0-9_-]{1,80}$/.test(name))).toBe(true);
    });
  });

  it('reads only POSTs to its own bucket', async () => {
    await withSource(async (gateway, started, source) => {
      // Act: a POST to another bucket, then one to this bucket (entries are handled in order)
      const own = POST_2.replace(/"bucket":"bkt-exp"/, '"bucket":"airlock-local"');
      (await gateway.connection()).write(POST_1 + own);
      await until(() => started[0], 'an execution');
      await source.idle();
      // Assert: only the second POST's version
      expect(started.map(({ event }) => event.detail.object['version-id'])).toEqual([SECOND.versionId]);
      expect(s3Mock.commandCalls(ListObjectVersionsCommand)).toHaveLength(1);
    }, 'airlock-local');
  });

  it('announces every version a POST may have written when several match, naming no request', async () => {
    await withSource(async (gateway, started, source) => {
      // Arrange: one POST whose span covers both versions' writes (two same-size POSTs at once)
      const spanning = POST_2.replace('13:39:36.954161Z', '13:39:36.600000Z').replace(
        '"total_time":28',
        '"total_time":400',
      );
      // Act
      (await gateway.connection()).write(spanning);
      await until(() => started[1], 'two executions');
      await source.idle();
      // Assert: each event names its own version; the request id is not claimed by either
      expect(started.map(({ event }) => event.detail.object['version-id']).sort()).toEqual(
        [FIRST.versionId, SECOND.versionId].sort(),
      );
      expect(started.map(({ event }) => event.detail['request-id'])).not.toContain(REQUEST_2);
    });
  });

  it('lists only under the rule prefix, every page of it', async () => {
    // Arrange: the versions come on two pages
    s3Mock
      .on(ListObjectVersionsCommand)
      .resolvesOnce({
        IsTruncated: true,
        Versions: [LISTED[0]!],
        NextKeyMarker: 'k',
        NextVersionIdMarker: 'v',
      })
      .resolvesOnce({ IsTruncated: false, Versions: [LISTED[1]!] });
    await withSource(async (gateway, started) => {
      // Act
      (await gateway.connection()).write(POST_1);
      await until(() => started[0], 'an execution');
      // Assert
      expect(started.map(({ event }) => event.detail.object['version-id'])).toEqual([FIRST.versionId]);
      expect(s3Mock.commandCalls(ListObjectVersionsCommand).map((call) => call.args[0].input)).toEqual([
        { Bucket: 'bkt-exp', Prefix: 'quarantine/' },
        { Bucket: 'bkt-exp', Prefix: 'quarantine/', KeyMarker: 'k', VersionIdMarker: 'v' },
      ]);
    });
  });

  it('passes every event through the CDK rule: a listed version outside quarantine/ starts nothing', async () => {
    // Arrange: a listing that (unlike S3's, given the prefix) also holds a clean/ copy of the version
    s3Mock.on(ListObjectVersionsCommand).resolves({
      IsTruncated: false,
      Versions: [{ ...LISTED[1]!, Key: 'clean/01ABC', VersionId: 'copy' }, LISTED[1]!],
    });
    await withSource(async (gateway, started, source) => {
      // Act
      (await gateway.connection()).write(POST_1);
      await until(() => started[0], 'an execution');
      await source.idle();
      // Assert
      expect(started.map(({ event }) => event.detail.object.key)).toEqual([FIRST.key]);
    });
  });

  it('connects again when the gateway closes the socket (RGW restarted), and reads on', async () => {
    await withSource(async (gateway, started) => {
      // Arrange
      const first = await gateway.connection();
      first.write(POST_1);
      await until(() => started[0], 'the first execution');
      // Act
      first.destroy();
      const second = await gateway.connection();
      second.write(POST_2);
      // Assert
      await until(() => started[1], 'the second execution');
      expect(started.map(({ event }) => event.detail.object['version-id'])).toEqual([
        FIRST.versionId,
        SECOND.versionId,
      ]);
    });
  });
});
