import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectVersionsCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { pollFor } from './polling.js';

/**
 * What the tests read behind the API: the bucket's versions through the S3 SDK, and the local
 * executor's durable execution records.
 */

/** Where a runtime's S3 (RadosGW) answers, and with which keys. */
export interface S3Target {
  s3Endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export function s3Client(target: S3Target, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    ...extra,
    endpoint: target.s3Endpoint,
    forcePathStyle: true,
    region: target.region,
    credentials: target.credentials,
  });
}

export interface StoredVersion {
  key: string;
  versionId: string;
  size: number;
}

/** Every version (and the count of delete markers) stored under exactly `key`. */
export async function versionsOf(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ versions: StoredVersion[]; deleteMarkers: number }> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  const versions = (out.Versions ?? [])
    .filter((version) => version.Key === key)
    .map((version) => ({ key, versionId: version.VersionId ?? '', size: version.Size ?? -1 }));
  const deleteMarkers = (out.DeleteMarkers ?? []).filter((marker) => marker.Key === key).length;
  return { versions, deleteMarkers };
}

export interface ExecutionRecordView {
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  startDate: string;
  input: { detail?: { object?: { key?: string; 'version-id'?: string } } };
}

/**
 * The local executor's records (`<dataDir>/executions/<name>.json`) of executions started for one
 * object key. A record is written atomically (temp file + rename), so a parse never sees half a
 * file.
 */
export async function executionsFor(
  runtime: { dataDir: string },
  key: string,
): Promise<ExecutionRecordView[]> {
  const dir = join(runtime.dataDir, 'executions');
  const files = (await readdir(dir).catch(() => [] as string[])).filter((file) => file.endsWith('.json'));
  const records = await Promise.all(
    files.map(async (file) => {
      try {
        return JSON.parse(await readFile(join(dir, file), 'utf8')) as ExecutionRecordView;
      } catch {
        return undefined; // removed between readdir and read
      }
    }),
  );
  return records.filter(
    (record): record is ExecutionRecordView => record?.input?.detail?.object?.key === key,
  );
}

export interface SettledOptions {
  /** How many executions must exist (default 1). */
  atLeast?: number;
  /** Executions (by name) left out, e.g. those that ran before the step under test. */
  ignore?: ReadonlySet<string>;
  timeoutMs?: number;
}

/**
 * Waits until at least `atLeast` executions exist for `key` (but those in `ignore`) and none is
 * still RUNNING: the status turns terminal one step before the quarantine version is released.
 * Returns them, or undefined at the deadline (with `onDeadline` then told what was last seen).
 */
export async function settledExecutions(
  runtime: { dataDir: string },
  key: string,
  options: SettledOptions = {},
  onDeadline?: (last: ExecutionRecordView[]) => void,
): Promise<ExecutionRecordView[] | undefined> {
  let last: ExecutionRecordView[] = [];
  const settled = await pollFor(
    async () => {
      last = (await executionsFor(runtime, key)).filter((record) => !options.ignore?.has(record.name));
      const done =
        last.length >= (options.atLeast ?? 1) && last.every((record) => record.status !== 'RUNNING');
      return done ? last : undefined;
    },
    { timeoutMs: options.timeoutMs ?? 30_000 },
  );
  if (settled === undefined) onDeadline?.(last);
  return settled;
}

/** As settledExecutions, but throws at the deadline with what it last saw. */
export async function waitForExecutionsSettled(
  runtime: { dataDir: string },
  key: string,
  options: SettledOptions = {},
): Promise<ExecutionRecordView[]> {
  let seen = '';
  const settled = await settledExecutions(runtime, key, options, (last) => {
    seen = JSON.stringify(last.map(({ name, status }) => ({ name, status })));
  });
  if (settled === undefined) {
    throw new Error(
      `Timed out after ${options.timeoutMs ?? 30_000} ms waiting for executions for ${key} to finish (last: ${seen})`,
    );
  }
  return settled;
}
