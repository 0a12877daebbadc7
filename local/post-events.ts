import { createHash, randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { objectCreatedEvent, type ObjectCreatedEvent } from '../functions/domain/object-event.js';
import { matchesPipelineRule, PIPELINE_RULE_KEY_PREFIX } from './pipeline-rule.js';

/**
 * "Object Created" events for POST uploads, from RadosGW's own ops log.
 *
 * Ceph 16's RadosGW sends no bucket notification for browser-style POST uploads (Ceph 17 does).
 * Its ops log records them, one JSON entry per request on a unix socket, but Ceph 16's entry
 * names neither the object nor its version: only the bucket, when the request started, how long
 * it took, the stored size and the request id. So each logged POST is resolved against the
 * versions stored under the rule's prefix: those of that size, last modified while that request
 * ran. Every event is built from its own version's listing entry (key, version id, size, ETag),
 * so an event never names another version than the one it announces; versions that match
 * nothing are left to the reconciler, the safety net for any lost event.
 */

/** What Ceph 16 logs for a POST upload (rgw_format_ops_log_entry), reduced to what is used. */
export interface LoggedPost {
  bucket: string;
  /** RGW's transaction id: the x-amz-request-id of the POST's response. */
  requestId: string;
  /** When the request started (ms since the epoch, rounded down). */
  startedAtMs: number;
  /** Its start plus its logged duration: the object was written before this (ms, rounded up). */
  endedAtMs: number;
  size: number;
}

/** One stored object version under the rule's prefix, as ListObjectVersions returns it. */
export interface StoredVersion {
  key: string;
  versionId: string;
  size: number;
  etag?: string;
  lastModifiedMs: number;
}

/**
 * The POST upload an ops log entry records, or undefined for anything else: other operations,
 * and POSTs RGW refused (a policy violation is logged with its 4xx status and stores nothing).
 */
export function loggedPostOf(entry: unknown): LoggedPost | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const { operation, http_status, bucket, time, total_time, object_size, trans_id } = entry as Record<
    string,
    unknown
  >;
  if (operation !== 'post_obj' || typeof http_status !== 'string' || !/^2\d\d$/.test(http_status)) {
    return undefined;
  }
  const started = typeof time === 'string' ? Date.parse(time) : Number.NaN;
  if (
    typeof bucket !== 'string' ||
    Number.isNaN(started) ||
    typeof total_time !== 'number' ||
    typeof object_size !== 'number'
  ) {
    return undefined;
  }
  return {
    bucket,
    requestId: typeof trans_id === 'string' ? trans_id : '',
    startedAtMs: started,
    // The start is logged to the microsecond and the duration in whole milliseconds, both cut down.
    endedAtMs: started + total_time + 2,
    size: object_size,
  };
}

/**
 * Splits the socket's stream into entries. RGW opens each connection with "[" and ends every
 * entry with ",\n"; a JSON string never holds a raw line break, so each line is one entry.
 */
export class OpsLogStream {
  private rest = '';

  push(chunk: string): unknown[] {
    const lines = (this.rest + chunk).split('\n');
    this.rest = lines.pop() ?? '';
    const entries: unknown[] = [];
    for (const line of lines) {
      const json = line.trim().replace(/^\[/, '').replace(/,$/, '');
      if (json === '') continue;
      try {
        entries.push(JSON.parse(json));
      } catch {
        // Not one whole entry (a reader that joined mid-entry): skipped, the reconciler covers it.
      }
    }
    return entries;
  }
}

/** LastModified is listed to the millisecond; allow that rounding on both sides of the request. */
const LISTING_PRECISION_MS = 1;

/** The stored versions this POST may have written: its size, last modified while it ran. */
export function versionsWrittenBy(post: LoggedPost, versions: StoredVersion[]): StoredVersion[] {
  return versions.filter(
    (version) =>
      version.size === post.size &&
      version.lastModifiedMs >= post.startedAtMs - LISTING_PRECISION_MS &&
      version.lastModifiedMs <= post.endedAtMs + LISTING_PRECISION_MS,
  );
}

/**
 * The EventBridge "Object Created" event S3 sends for a POST upload, for one stored version.
 * `requestId` is given only when this version alone matched the logged request. The sequencer
 * orders versions of one key by their write time, as S3's does.
 */
export function postObjectEvent(
  bucket: string,
  version: StoredVersion,
  requestId?: string,
): ObjectCreatedEvent {
  return objectCreatedEvent({
    id: requestId || randomUUID(),
    bucket,
    key: version.key,
    size: version.size,
    versionId: version.versionId,
    time: new Date(version.lastModifiedMs),
    ...(version.etag ? { etag: version.etag.replace(/"/g, '') } : {}),
    sequencer: version.lastModifiedMs.toString(16).toUpperCase().padStart(16, '0'),
    reason: 'POST Object',
  });
}

/**
 * The execution's name: one execution per version, however many entries lead to it (Step
 * Functions names: at most 80 of [A-Za-z0-9_-]).
 */
export const postEventExecutionName = (version: StoredVersion): string =>
  `post-object-${createHash('sha256').update(`${version.key}@${version.versionId}`).digest('hex').slice(0, 48)}`;

export interface PostEventsOptions {
  /** RadosGW's ops log socket (RunningCeph.opsLogSocket). */
  socketPath: string;
  bucket: string;
  s3: S3Client;
  /** Durably starts an execution under this name, or nothing when one has it (as StartExecution). */
  startExecution: (event: ObjectCreatedEvent, name: string) => Promise<unknown>;
  onError?: (message: string, error: unknown) => void;
  /** Pause before connecting again after the socket closed (RGW restarted). */
  reconnectDelayMs?: number;
}

export interface PostEvents {
  /** True while connected to the ops log. */
  connected(): boolean;
  /** Resolves once every entry received so far has been handled. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Versions already announced; bounded, since only recent ones can match a new entry. */
const REMEMBERED_VERSIONS = 10_000;

/**
 * Reads the ops log and starts one execution per version a logged POST wrote. Connects again
 * whenever the socket closes (RGW restarts), until stopped.
 */
export function startPostEvents(options: PostEventsOptions): PostEvents {
  const onError = options.onError ?? (() => undefined);
  const announced = new Set<string>();
  const pending: LoggedPost[] = [];
  let draining: Promise<void> | undefined;
  let socket: Socket | undefined;
  let isConnected = false;
  let reconnect: NodeJS.Timeout | undefined;
  let stopped = false;

  const announce = async (post: LoggedPost, versions: StoredVersion[]) => {
    const fresh = versionsWrittenBy(post, versions).filter(
      (version) => !announced.has(postEventExecutionName(version)),
    );
    for (const version of fresh) {
      const event = postObjectEvent(options.bucket, version, fresh.length === 1 ? post.requestId : undefined);
      if (!matchesPipelineRule(event, options.bucket)) continue;
      try {
        await options.startExecution(event, postEventExecutionName(version));
        announced.add(postEventExecutionName(version));
        if (announced.size > REMEMBERED_VERSIONS) {
          announced.delete(announced.values().next().value as string);
        }
      } catch (error) {
        onError('POST upload event: no execution started; the reconciler will find the upload', error);
      }
    }
  };

  const drain = async () => {
    while (pending.length > 0) {
      const posts = pending.splice(0); // one listing for every entry that came meanwhile
      try {
        const versions = await listVersions(options.s3, options.bucket);
        for (const post of posts) await announce(post, versions);
      } catch (error) {
        onError('POST upload events: listing failed; the reconciler will find these uploads', error);
      }
    }
  };

  const receive = (entry: unknown) => {
    const post = loggedPostOf(entry);
    if (post === undefined || post.bucket !== options.bucket) return;
    pending.push(post);
    draining ??= drain().finally(() => (draining = undefined));
  };

  const open = () => {
    reconnect = undefined;
    if (stopped) return;
    const stream = new OpsLogStream();
    const current = connect(options.socketPath);
    socket = current;
    current.setEncoding('utf8');
    current.on('connect', () => (isConnected = true));
    current.on('data', (chunk: string) => stream.push(chunk).forEach(receive));
    current.on('error', () => undefined); // 'close' follows; RGW may be restarting
    current.on('close', () => {
      if (isConnected && !stopped) onError('RadosGW ops log', new Error('closed; connecting again'));
      isConnected = false;
      if (!stopped) reconnect = setTimeout(open, options.reconnectDelayMs ?? 250);
    });
  };
  open();

  return {
    connected: () => isConnected,
    idle: async () => {
      while (draining) await draining;
    },
    stop: async () => {
      stopped = true;
      clearTimeout(reconnect);
      socket?.destroy();
      while (draining) await draining;
    },
  };
}

/** Every version stored under the rule's prefix (quarantine/ holds only uploads in flight). */
async function listVersions(s3: S3Client, bucket: string): Promise<StoredVersion[]> {
  const versions: StoredVersion[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: PIPELINE_RULE_KEY_PREFIX,
        ...(keyMarker ? { KeyMarker: keyMarker } : {}),
        ...(versionIdMarker ? { VersionIdMarker: versionIdMarker } : {}),
      }),
    );
    for (const version of page.Versions ?? []) {
      if (!version.Key || !version.VersionId || !version.LastModified) continue;
      versions.push({
        key: version.Key,
        versionId: version.VersionId,
        size: version.Size ?? 0,
        ...(version.ETag ? { etag: version.ETag } : {}),
        lastModifiedMs: version.LastModified.getTime(),
      });
    }
    if (!page.IsTruncated) return versions;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}
