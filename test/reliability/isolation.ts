import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { issueToken } from '../../local/auth.js';
import { REPO_ROOT } from '../../local/settings.js';
import { newUploadId } from '../../functions/domain/upload-id.js';
import * as samples from '../fixtures/samples.js';
import { runPart, type PartResult, type RuntimeTarget, type SuiteOptions } from './part.js';
import {
  Probe,
  errorShapeProblem,
  executionsSettled,
  grantRequest,
  mapLimit,
  objectUrl,
  pollFor,
  uniqueSub,
  type Reply,
} from './probes.js';

/**
 * Isolation, by every route of the API (openapi/airlock.openapi.json), the CLI and S3 itself:
 * user A never reads, lists, sees the events of or downloads user B's uploads (and B never
 * A's); A's download URL is for clean/<A's id> only; nothing is readable from S3 without a
 * signature; only auditors read across owners and export. Everything goes over real HTTP
 * against a running runtime.
 */

const OUTCOME_TIMEOUT_MS = 90_000;
const RANDOM_ID_PROBES = 20;
const STATUSES = ['PENDING_UPLOAD', 'PROCESSING', 'PROCESSED', 'REJECTED', 'FAILED', 'EXPIRED'];

interface User {
  label: string;
  sub: string;
  token: string;
  uploads: OwnUpload[];
}

interface OwnUpload {
  uploadId: string;
  fileName: string;
  bytes: Buffer;
  expected: 'PROCESSED' | 'REJECTED' | 'PENDING_UPLOAD';
  createdAt?: string;
  downloadUrl?: string;
}

interface Tally {
  crossUserProbes: number;
  leaks: number;
  idProbes: number;
  anonymousS3Probes: number;
  signedUrlTampers: number;
  auditorReads: number;
  cliRuns: number;
}

interface Context {
  target: RuntimeTarget;
  probe: Probe;
  failures: string[];
  tally: Tally;
}

export async function runIsolation(target: RuntimeTarget, options: SuiteOptions): Promise<PartResult> {
  return runPart('isolation', 'Isolation: owners, auditors and everyone else', async (failures) => {
    const ctx: Context = {
      target,
      probe: new Probe(failures),
      failures,
      tally: {
        crossUserProbes: 0,
        leaks: 0,
        idProbes: 0,
        anonymousS3Probes: 0,
        signedUrlTampers: 0,
        auditorReads: 0,
        cliRuns: 0,
      },
    };
    const windowFrom = new Date(Date.now() - 60_000).toISOString();
    const a = await newUser(target, 'iso-a');
    const b = await newUser(target, 'iso-b');
    const auditor = await newUser(target, 'iso-auditor', ['auditors']);

    options.log('isolation: uploading as A and B');
    await Promise.all([seed(ctx, a), seed(ctx, b)]);
    if (failures.length > 0) return figures(ctx); // nothing to probe without the uploads

    options.log('isolation: A against B, B against A');
    for (const [intruder, owner] of [
      [a, b],
      [b, a],
    ] as const) {
      await crossUserProbes(ctx, intruder, owner);
      await listProbes(ctx, intruder, owner);
      await auditRouteProbes(ctx, intruder, owner);
    }
    options.log('isolation: near-auditors, look-alike subs, id probing');
    await impostorProbes(ctx, b);
    await idProbes(ctx, a, b);
    options.log('isolation: downloads and S3');
    await downloadProbes(ctx, a, b);
    options.log('isolation: the CLI (A refused, the auditor exports)');
    await cliProbes(ctx, a, b, auditor, windowFrom);
    options.log('isolation: the auditor reads B');
    await auditorReads(ctx, auditor, b, windowFrom);

    return figures(ctx);
  });
}

function figures(ctx: Context): Record<string, number> {
  return {
    crossUserProbes: ctx.tally.crossUserProbes,
    leaks: ctx.tally.leaks,
    auditorReadsAllowed: ctx.tally.auditorReads,
    idProbes: ctx.tally.idProbes,
    anonymousS3Probes: ctx.tally.anonymousS3Probes,
    signedUrlTampers: ctx.tally.signedUrlTampers,
    cliRuns: ctx.tally.cliRuns,
    httpRequests: ctx.probe.requests,
    responses5xx: ctx.probe.responses5xx,
    crashes: ctx.probe.crashes,
  };
}

async function newUser(target: RuntimeTarget, label: string, groups: string[] = []): Promise<User> {
  const sub = uniqueSub(label);
  return {
    label,
    sub,
    token: await issueToken(target.dataDir, { sub, groups, ttlSeconds: 3600 }),
    uploads: [],
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

// ---------------------------------------------------------------------------------------------
// Seeding: each user gets processed, rejected and pending uploads (names carry a secret marker)

async function seed(ctx: Context, user: User): Promise<void> {
  const marker = randomBytes(6).toString('hex');
  const plan: Array<{
    name: string;
    type: string;
    bytes: Buffer;
    method: 'POST' | 'PUT';
    expected: OwnUpload['expected'];
  }> = [
    {
      name: 'report.pdf',
      type: samples.MIME.pdf,
      bytes: samples.pdf(`${user.label} ${marker}`),
      method: 'PUT',
      expected: 'PROCESSED',
    },
    {
      name: 'notes.txt',
      type: samples.MIME.text,
      bytes: samples.text(`${user.label} ${marker}\n`),
      method: 'POST',
      expected: 'PROCESSED',
    },
    {
      name: 'invoice.pdf',
      type: samples.MIME.pdf,
      bytes: samples.exe(),
      method: 'PUT',
      expected: 'REJECTED',
    },
    {
      name: 'later.png',
      type: samples.MIME.png,
      bytes: samples.png(),
      method: 'POST',
      expected: 'PENDING_UPLOAD',
    },
  ];
  await mapLimit(plan, 4, async (item) => {
    const fileName = `${user.label}-${marker}-${item.name}`;
    const label = `seed ${user.label} ${item.name}`;
    const created = await ctx.probe.call(label, `${ctx.target.apiUrl}/uploads`, {
      method: 'POST',
      headers: { ...bearer(user.token), 'content-type': 'application/json' },
      body: JSON.stringify({
        fileName,
        contentType: item.type,
        size: item.bytes.length,
        method: item.method,
      }),
    });
    if (created?.status !== 201) {
      ctx.failures.push(`${label}: expected 201, got ${created?.status} ${created?.text}`);
      return;
    }
    const body = created.json as {
      uploadId: string;
      upload: {
        method: string;
        url: string;
        fields?: Record<string, string>;
        headers?: Record<string, string>;
      };
    };
    const upload: OwnUpload = {
      uploadId: body.uploadId,
      fileName,
      bytes: item.bytes,
      expected: item.expected,
    };
    user.uploads.push(upload);
    if (item.expected === 'PENDING_UPLOAD') return;
    const sent = await ctx.probe.call(
      `${label} (send)`,
      body.upload.url,
      grantRequest(body.upload, item.bytes),
    );
    if (sent === undefined || sent.status >= 300) {
      ctx.failures.push(`${label}: expected S3 to take the bytes, got ${sent?.status} ${sent?.text}`);
      return;
    }
    let last: Reply | undefined;
    const view = await pollFor(
      async () => {
        last = await ctx.probe.call(`${label} (status)`, `${ctx.target.apiUrl}/uploads/${upload.uploadId}`, {
          headers: bearer(user.token),
        });
        const status = (last?.json as { status?: string } | undefined)?.status;
        return status === 'PROCESSED' || status === 'REJECTED' || status === 'FAILED'
          ? (last?.json as { status: string; createdAt: string; download?: { url: string } })
          : undefined;
      },
      { timeoutMs: OUTCOME_TIMEOUT_MS, intervalMs: 200 },
    );
    if (view?.status !== item.expected) {
      ctx.failures.push(`${label}: expected ${item.expected}, got ${view?.status ?? last?.text}`);
      return;
    }
    upload.createdAt = view.createdAt;
    if (view.download !== undefined) {
      // The status links to GET /uploads/{id}/download, which signs a fresh URL on request.
      const signed = await ctx.probe.call(`${label} (sign download)`, view.download.url, {
        headers: { ...bearer(user.token), accept: 'application/json' },
      });
      upload.downloadUrl = (signed?.json as { url?: string } | undefined)?.url;
    }
    if (
      (await executionsSettled(ctx.target, `quarantine/${upload.uploadId}`, OUTCOME_TIMEOUT_MS)) === undefined
    ) {
      ctx.failures.push(`${label}: expected its executions to finish`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Leak detection

/** Everything of `owner`'s that must never show in an intruder's answer. */
function secretsOf(owner: User): string[] {
  return owner.uploads.flatMap((upload) => [upload.uploadId, upload.fileName]);
}

/**
 * One cross-user probe: the answer must be `status` (+ `code`) and carry nothing of the owner's.
 * A 2xx where a refusal was expected, or any of the owner's ids or names in the answer, is a leak.
 */
async function crossProbe(
  ctx: Context,
  label: string,
  owner: User,
  url: string,
  init: RequestInit,
  expected: { status: number | number[]; code?: string },
): Promise<Reply | undefined> {
  ctx.tally.crossUserProbes++;
  const reply = await ctx.probe.call(label, url, init);
  if (reply === undefined) return undefined;
  const statuses = Array.isArray(expected.status) ? expected.status : [expected.status];
  const leaked = secretsOf(owner).filter(
    (secret) =>
      reply.text.includes(secret) || [...reply.headers.values()].some((value) => value.includes(secret)),
  );
  const refusedExpected = statuses.every((status) => status >= 400);
  if (leaked.length > 0 || (refusedExpected && reply.status < 400)) {
    ctx.tally.leaks++;
    ctx.failures.push(
      `${label}: LEAK: expected ${statuses.join('|')}${expected.code ? ` ${expected.code}` : ''} and nothing of ${owner.label}'s, got ${reply.status}${leaked.length > 0 ? ` with ${leaked.join(', ')}` : ''}`,
    );
    return reply;
  }
  if (!statuses.includes(reply.status)) {
    ctx.failures.push(
      `${label}: expected ${statuses.join('|')}, got ${reply.status} ${reply.text.slice(0, 200)}`,
    );
  } else if (expected.code !== undefined) {
    const problem = errorShapeProblem(reply, reply.status, expected.code);
    if (problem !== undefined) ctx.failures.push(`${label}: ${problem}`);
  }
  return reply;
}

/** Header names that may tell an existing upload from a missing one. */
const revealing = (reply: Reply): string =>
  [...reply.headers.keys()]
    .filter((name) => !['date', 'connection', 'keep-alive'].includes(name))
    .sort()
    .join();

// ---------------------------------------------------------------------------------------------
// Reads of another owner's uploads: 404, exactly as for an id that does not exist

async function crossUserProbes(ctx: Context, intruder: User, owner: User): Promise<void> {
  const api = ctx.target.apiUrl;
  const headers = bearer(intruder.token);
  const missing = newUploadId();
  const missingStatus = await ctx.probe.call('missing id', `${api}/uploads/${missing}`, { headers });
  const missingEvents = await ctx.probe.call('missing id events', `${api}/uploads/${missing}/events`, {
    headers,
  });
  const pair = `${intruder.label} → ${owner.label}`;

  for (const upload of owner.uploads) {
    const id = upload.uploadId;
    const name = `${pair} ${upload.expected} ${id}`;
    const status = await crossProbe(
      ctx,
      `${name}: GET /uploads/{id}`,
      owner,
      `${api}/uploads/${id}`,
      { headers },
      {
        status: 404,
        code: 'NOT_FOUND',
      },
    );
    if (status !== undefined && missingStatus !== undefined) {
      if (status.text !== missingStatus.text || revealing(status) !== revealing(missingStatus)) {
        ctx.failures.push(
          `${name}: expected the same 404 as a missing id, got ${status.text} [${revealing(status)}] vs ${missingStatus.text} [${revealing(missingStatus)}]`,
        );
      }
    }
    await crossProbe(
      ctx,
      `${name}: GET /uploads/{id} If-None-Match *`,
      owner,
      `${api}/uploads/${id}`,
      { headers: { ...headers, 'if-none-match': '*' } },
      { status: 404, code: 'NOT_FOUND' },
    );
    const events = await crossProbe(
      ctx,
      `${name}: GET /uploads/{id}/events`,
      owner,
      `${api}/uploads/${id}/events`,
      { headers },
      { status: 404, code: 'NOT_FOUND' },
    );
    if (events !== undefined && missingEvents !== undefined && events.text !== missingEvents.text) {
      ctx.failures.push(`${name}: expected the same 404 events answer as a missing id, got ${events.text}`);
    }
    await crossProbe(
      ctx,
      `${name}: GET /uploads/{id}?owner=`,
      owner,
      `${api}/uploads/${id}?owner=${encodeURIComponent(owner.sub)}`,
      { headers },
      { status: [404, 400] },
    );
    await crossProbe(
      ctx,
      `${name}: GET /uploads/{id}/events?owner=`,
      owner,
      `${api}/uploads/${id}/events?owner=${encodeURIComponent(owner.sub)}`,
      { headers },
      { status: [404, 400] },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Lists: the intruder's own uploads, all pages, every status filter; never the owner's

async function listProbes(ctx: Context, intruder: User, owner: User): Promise<void> {
  const api = ctx.target.apiUrl;
  const headers = bearer(intruder.token);
  const own = new Set(intruder.uploads.map((upload) => upload.uploadId));
  const pair = `${intruder.label} → ${owner.label}`;

  for (const status of [undefined, ...STATUSES]) {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const query = new URLSearchParams({
        limit: '1',
        ...(status ? { status } : {}),
        ...(cursor ? { cursor } : {}),
      });
      const reply = await crossProbe(
        ctx,
        `${pair}: GET /uploads?${query.toString()}`,
        owner,
        `${api}/uploads?${query.toString()}`,
        { headers },
        { status: 200 },
      );
      if (reply?.status !== 200) break;
      const body = reply.json as { items: Array<{ uploadId: string; download?: unknown }>; cursor?: string };
      seen.push(...body.items.map((item) => item.uploadId));
      if (body.items.some((item) => item.download !== undefined))
        ctx.failures.push(`${pair}: expected no download URL in a list`);
      cursor = body.cursor;
      if (cursor === undefined) break;
    }
    const expected = intruder.uploads
      .filter((upload) => status === undefined || upload.expected === status)
      .map((u) => u.uploadId);
    if (seen.sort().join() !== expected.sort().join() || seen.some((id) => !own.has(id))) {
      ctx.failures.push(
        `${pair}: expected GET /uploads${status ? `?status=${status}` : ''} to list exactly ${expected.length} own uploads, got ${seen.length}`,
      );
    }
  }

  // Naming the owner is refused (400, not the owner's list), alone or with other parameters.
  for (const query of [
    `owner=${encodeURIComponent(owner.sub)}`,
    `owner=${encodeURIComponent(owner.sub)}&status=PROCESSED&limit=100`,
    `owner=${encodeURIComponent(owner.sub)}&owner=${encodeURIComponent(intruder.sub)}`,
    `owner=${encodeURIComponent(owner.sub.toUpperCase())}`,
  ]) {
    await crossProbe(
      ctx,
      `${pair}: GET /uploads?${query}`,
      owner,
      `${api}/uploads?${query}`,
      { headers },
      { status: 400, code: 'INVALID_QUERY' },
    );
  }

  // The owner's own cursor, and cursors forged to point into the owner's list.
  const ownerPage = await ctx.probe.call(`${owner.label} list`, `${api}/uploads?limit=1`, {
    headers: bearer(owner.token),
  });
  const ownerCursor = (ownerPage?.json as { cursor?: string } | undefined)?.cursor;
  if (ownerCursor === undefined)
    ctx.failures.push(`${owner.label}: expected a cursor on a page of 1 of 4 uploads`);
  const victim = owner.uploads[0]!;
  const forge = (ownerKey: string) =>
    Buffer.from(
      JSON.stringify({
        pk: `UPLOAD#${victim.uploadId}`,
        sk: 'RECORD',
        ownerKey,
        createdKey: `${victim.createdAt ?? new Date().toISOString()}#${victim.uploadId}`,
      }),
    ).toString('base64url');
  const cursors: Array<[string, string, { status: number | number[]; code?: string }]> = [
    ["the owner's cursor", ownerCursor ?? 'none', { status: 400, code: 'INVALID_CURSOR' }],
    ["a cursor forged with the owner's key", forge(owner.sub), { status: 400, code: 'INVALID_CURSOR' }],
    [
      "a cursor forged with the owner's upload under the intruder's key",
      forge(intruder.sub),
      { status: [200, 400] },
    ],
  ];
  for (const [what, cursor, expected] of cursors) {
    const query = new URLSearchParams({ cursor });
    const reply = await crossProbe(
      ctx,
      `${pair}: GET /uploads with ${what}`,
      owner,
      `${api}/uploads?${query.toString()}`,
      { headers },
      expected,
    );
    const items = (reply?.json as { items?: Array<{ uploadId: string }> } | undefined)?.items ?? [];
    if (items.some((item) => !own.has(item.uploadId)))
      ctx.failures.push(`${pair}: ${what}: expected only own uploads`);
  }
}

// ---------------------------------------------------------------------------------------------
// The auditors' route: 403 for everyone else, whatever the query (export included)

async function auditRouteProbes(ctx: Context, intruder: User, owner: User): Promise<void> {
  const api = ctx.target.apiUrl;
  const pair = `${intruder.label} → ${owner.label}`;
  for (const query of [
    '',
    `?owner=${encodeURIComponent(owner.sub)}`,
    '?status=PROCESSED&limit=100',
    `?from=2000-01-01T00:00:00Z&to=${encodeURIComponent(new Date().toISOString())}`,
    '?cursor=eyJzdGF0dXMiOjB9',
    '?unknown=1',
  ]) {
    await crossProbe(
      ctx,
      `${pair}: GET /audit/uploads${query}`,
      owner,
      `${api}/audit/uploads${query}`,
      { headers: bearer(intruder.token) },
      {
        status: 403,
        code: 'FORBIDDEN',
      },
    );
  }
}

/** Tokens that look privileged or look like the owner but are not: 403 on audit, 404 on reads. */
async function impostorProbes(ctx: Context, owner: User): Promise<void> {
  const api = ctx.target.apiUrl;
  const impostors: Array<[string, string, Record<string, unknown>]> = [
    ['group Auditors (capitalized)', uniqueSub('iso-cap'), { groups: ['Auditors'] }],
    ['group auditor (singular)', uniqueSub('iso-sing'), { groups: ['auditor', 'users'] }],
    ["the owner's sub in capitals", owner.sub.toUpperCase(), {}],
    ["the owner's sub with a trailing space", `${owner.sub} `, {}],
    ["the owner's sub as a prefix", owner.sub.slice(0, -1), {}],
  ];
  for (const [what, sub, extra] of impostors) {
    const token = await issueToken(ctx.target.dataDir, {
      sub,
      groups: (extra.groups as string[]) ?? [],
      ttlSeconds: 600,
    });
    const headers = bearer(token);
    const label = `impostor (${what})`;
    await crossProbe(
      ctx,
      `${label}: GET /audit/uploads`,
      owner,
      `${api}/audit/uploads?owner=${encodeURIComponent(owner.sub)}`,
      { headers },
      {
        status: 403,
        code: 'FORBIDDEN',
      },
    );
    await crossProbe(ctx, `${label}: GET /uploads`, owner, `${api}/uploads`, { headers }, { status: 200 });
    for (const upload of owner.uploads) {
      await crossProbe(
        ctx,
        `${label}: GET /uploads/${upload.uploadId}`,
        owner,
        `${api}/uploads/${upload.uploadId}`,
        { headers },
        {
          status: 404,
          code: 'NOT_FOUND',
        },
      );
      await crossProbe(
        ctx,
        `${label}: GET /uploads/${upload.uploadId}/events`,
        owner,
        `${api}/uploads/${upload.uploadId}/events`,
        { headers },
        {
          status: 404,
          code: 'NOT_FOUND',
        },
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Id probing: random ULIDs, and the owner's ids in other spellings

async function idProbes(ctx: Context, intruder: User, owner: User): Promise<void> {
  const api = ctx.target.apiUrl;
  const headers = bearer(intruder.token);
  const paths: string[] = [];
  for (let i = 0; i < RANDOM_ID_PROBES; i++) {
    const id = newUploadId(Date.now() - Math.floor(Math.random() * 86_400_000));
    paths.push(`/uploads/${id}`, `/uploads/${id}/events`);
  }
  for (const { uploadId: id } of owner.uploads) {
    const encoded = [...id].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('');
    paths.push(
      `/uploads/${id.toLowerCase()}`,
      `/uploads/${id.toLowerCase()}/events`,
      `/uploads/${id}/`,
      `/uploads/${id}/events/`,
      `/uploads/${encoded}`,
      `/uploads/${encoded}/events`,
      `/uploads/${id}%2Fevents`,
      `/uploads/${id}%00`,
      `/uploads/%20${id}`,
      `/uploads/${id}%20`,
      `/uploads/${id}.json`,
      `/uploads/x/../${id}`,
      `/uploads/%2e%2e%2f${id}`,
      `/uploads//${id}`,
      `/UPLOADS/${id}`,
      `/uploads/${id}/download`,
      `/uploads/${id}/events/../../${id}`,
      `/uploads/${id.slice(0, 25)}`,
      `/uploads/${id}0`,
    );
  }
  await mapLimit(paths, 4, async (path) => {
    ctx.tally.idProbes++;
    await crossProbe(
      ctx,
      `${intruder.label} probes ${path}`,
      owner,
      `${api}${path}`,
      { headers },
      { status: [404, 400] },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Downloads: A's URL is for clean/<A's id> only; no signature, no object

async function downloadProbes(ctx: Context, a: User, b: User): Promise<void> {
  const { target } = ctx;
  for (const user of [a, b]) {
    for (const upload of user.uploads.filter((u) => u.expected === 'PROCESSED')) {
      const url = upload.downloadUrl;
      if (url === undefined) {
        ctx.failures.push(`${user.label} ${upload.uploadId}: expected a download URL once PROCESSED`);
        continue;
      }
      const parsed = new URL(url);
      if (parsed.pathname !== `/${target.bucket}/clean/${upload.uploadId}`) {
        ctx.failures.push(
          `${user.label} ${upload.uploadId}: expected a URL of clean/<id>, got ${parsed.pathname}`,
        );
      }
      const own = await ctx.probe.call(`${user.label} downloads its own file`, url);
      if (own !== undefined && (own.status !== 200 || !own.bytes.equals(upload.bytes))) {
        ctx.failures.push(
          `${user.label} ${upload.uploadId}: expected its own download to work, got ${own.status}`,
        );
      }
    }
  }

  // A's signature does not open anything else: another key in the same signed URL is refused.
  const aProcessed = a.uploads.find((u) => u.expected === 'PROCESSED' && u.downloadUrl !== undefined);
  if (aProcessed?.downloadUrl !== undefined) {
    const signed = new URL(aProcessed.downloadUrl);
    const keys = [
      ...b.uploads.map((u) => `clean/${u.uploadId}`),
      ...a.uploads.filter((u) => u !== aProcessed).map((u) => `clean/${u.uploadId}`),
      ...[...a.uploads, ...b.uploads].flatMap((u) => [`rejected/${u.uploadId}`, `quarantine/${u.uploadId}`]),
      'clean/',
      '',
    ];
    for (const key of keys) {
      const tampered = new URL(signed);
      tampered.pathname = `/${target.bucket}/${key}`;
      ctx.tally.signedUrlTampers++;
      await crossProbe(
        ctx,
        `A's signed URL rewritten to ${key || 'the bucket'}`,
        b,
        tampered.toString(),
        {},
        { status: [403, 404, 400] },
      );
    }
    const widened = new URL(signed);
    widened.searchParams.set('X-Amz-Expires', '604800');
    ctx.tally.signedUrlTampers++;
    await crossProbe(ctx, "A's signed URL with a longer expiry", b, widened.toString(), {}, { status: 403 });
  }

  // Nothing without a signature: objects, HEADs and listings of every prefix.
  const anonymous: Array<[string, string]> = [];
  for (const upload of [...a.uploads, ...b.uploads]) {
    for (const prefix of ['clean', 'rejected', 'quarantine']) {
      anonymous.push(
        ['GET', objectUrl(target, `${prefix}/${upload.uploadId}`)],
        ['HEAD', objectUrl(target, `${prefix}/${upload.uploadId}`)],
      );
    }
  }
  for (const prefix of ['', 'clean/', 'rejected/', 'quarantine/']) {
    anonymous.push(['GET', `${target.s3Endpoint}/${target.bucket}?prefix=${encodeURIComponent(prefix)}`]);
    anonymous.push([
      'GET',
      `${target.s3Endpoint}/${target.bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`,
    ]);
    anonymous.push([
      'GET',
      `${target.s3Endpoint}/${target.bucket}?versions&prefix=${encodeURIComponent(prefix)}`,
    ]);
  }
  await mapLimit(anonymous, 4, async ([method, url]) => {
    ctx.tally.anonymousS3Probes++;
    await crossProbe(
      ctx,
      `anonymous ${method} ${url.replace(target.s3Endpoint, '')}`,
      b,
      url,
      { method },
      { status: [403, 404] },
    );
  });
  // RadosGW answers an anonymous ListBuckets with an empty list: it must not name the bucket.
  ctx.tally.anonymousS3Probes++;
  const buckets = await crossProbe(
    ctx,
    'anonymous ListBuckets',
    b,
    `${target.s3Endpoint}/`,
    {},
    { status: [200, 403] },
  );
  if (buckets?.text.includes(`<Name>${target.bucket}</Name>`)) {
    ctx.tally.leaks++;
    ctx.failures.push(
      `anonymous ListBuckets: LEAK: expected no bucket named, got ${buckets.text.slice(0, 300)}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The CLI, as people use it: A cannot read, list or export B's; the auditor can

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function airlock(ctx: Context, token: string, args: string[]): Promise<CliRun> {
  ctx.tally.cliRuns++;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/airlock.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, AIRLOCK_API_URL: ctx.target.apiUrl, AIRLOCK_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function cliProbes(ctx: Context, a: User, b: User, auditor: User, from: string): Promise<void> {
  const bId = b.uploads.find((u) => u.expected === 'PROCESSED')!.uploadId;
  const window = ['--from', from, '--to', 'now'];
  const refused: Array<[string, string[]]> = [
    ['status', ['status', bId, '--json']],
    ['events', ['events', bId, '--json']],
    ['list --owner', ['list', '--owner', b.sub, '--all', '--json']],
    ['audit export --owner', ['audit', 'export', ...window, '--owner', b.sub, '--format', 'csv']],
    ['audit export', ['audit', 'export', ...window, '--format', 'ndjson']],
  ];
  const runs = await Promise.all(refused.map(([, args]) => airlock(ctx, a.token, args)));
  refused.forEach(([what, args], index) => {
    const run = runs[index]!;
    ctx.tally.crossUserProbes++;
    const leaked = secretsOf(b).filter(
      (secret) => run.stdout.includes(secret) || run.stderr.includes(secret),
    );
    if (leaked.length > 0 || run.code === 0) {
      ctx.tally.leaks++;
      ctx.failures.push(
        `CLI as A: airlock ${args.join(' ')}: LEAK: expected a refusal, got exit ${run.code}${leaked.length ? ` with ${leaked.join(', ')}` : ''}`,
      );
    } else if (run.code !== 3 || (what.startsWith('audit') && run.stdout !== '')) {
      ctx.failures.push(
        `CLI as A: airlock ${what}: expected exit 3 and nothing on stdout, got ${run.code} ${run.stdout.slice(0, 200)} ${run.stderr.slice(0, 200)}`,
      );
    }
  });

  // The auditor exports B's uploads with their trails.
  const exported = await airlock(ctx, auditor.token, [
    'audit',
    'export',
    ...window,
    '--owner',
    b.sub,
    '--format',
    'ndjson',
  ]);
  const lines = exported.stdout.split('\n').filter((line) => line !== '');
  const ids = lines.map((line) => (JSON.parse(line) as { uploadId: string }).uploadId).sort();
  const expected = b.uploads.map((u) => u.uploadId).sort();
  if (exported.code !== 0 || ids.join() !== expected.join()) {
    ctx.failures.push(
      `CLI as the auditor: audit export --owner B: expected exit 0 and B's ${expected.length} uploads, got ${exported.code} with ${ids.length} (${exported.stderr.slice(0, 200)})`,
    );
  } else {
    ctx.tally.auditorReads++;
  }
}

// ---------------------------------------------------------------------------------------------
// The auditor reads B's uploads, their trails, and lists them (audit route and ?owner=)

async function auditorReads(ctx: Context, auditor: User, owner: User, from: string): Promise<void> {
  const api = ctx.target.apiUrl;
  const headers = bearer(auditor.token);
  const allowed = (label: string, reply: Reply | undefined, check: () => string | undefined) => {
    if (reply === undefined) return;
    const problem =
      reply.status !== 200 ? `expected 200, got ${reply.status} ${reply.text.slice(0, 200)}` : check();
    if (problem !== undefined) ctx.failures.push(`auditor: ${label}: ${problem}`);
    else ctx.tally.auditorReads++;
  };
  for (const upload of owner.uploads) {
    const status = await ctx.probe.call('auditor status', `${api}/uploads/${upload.uploadId}`, { headers });
    allowed(`GET /uploads/${upload.uploadId}`, status, () => {
      const view = status?.json as { uploadId?: string; status?: string; download?: { url: string } };
      if (view.uploadId !== upload.uploadId || view.status !== upload.expected) {
        return `expected ${upload.uploadId} ${upload.expected}, got ${view.uploadId} ${view.status}`;
      }
      if ((view.download !== undefined) !== (upload.expected === 'PROCESSED'))
        return 'expected a download link exactly when PROCESSED';
      if (view.download && !view.download.url.endsWith(`/uploads/${upload.uploadId}/download`)) {
        return `expected the link to /uploads/${upload.uploadId}/download`;
      }
      return undefined;
    });
    const events = await ctx.probe.call('auditor events', `${api}/uploads/${upload.uploadId}/events`, {
      headers,
    });
    allowed(`GET /uploads/${upload.uploadId}/events`, events, () => {
      const trail = (events?.json as { events?: Array<{ action: string }> }).events ?? [];
      return trail[0]?.action === 'ISSUED'
        ? undefined
        : `expected a trail starting with ISSUED, got ${JSON.stringify(trail)}`;
    });
  }
  const expected = owner.uploads
    .map((u) => u.uploadId)
    .sort()
    .join();
  const audit = await ctx.probe.call(
    'auditor audit list',
    `${api}/audit/uploads?from=${encodeURIComponent(from)}&owner=${encodeURIComponent(owner.sub)}&limit=100`,
    { headers },
  );
  allowed('GET /audit/uploads?owner=', audit, () => {
    const body = audit?.json as { items: Array<{ uploadId: string; owner: string }> };
    const ids = body.items
      .map((item) => item.uploadId)
      .sort()
      .join();
    if (ids !== expected) return `expected ${owner.label}'s uploads, got ${ids}`;
    return body.items.every((item) => item.owner === owner.sub)
      ? undefined
      : 'expected every item to name its owner';
  });
  const listed = await ctx.probe.call(
    'auditor owner list',
    `${api}/uploads?owner=${encodeURIComponent(owner.sub)}&limit=100`,
    { headers },
  );
  allowed('GET /uploads?owner=', listed, () => {
    const ids = (listed?.json as { items: Array<{ uploadId: string }> }).items
      .map((item) => item.uploadId)
      .sort()
      .join();
    return ids === expected ? undefined : `expected ${owner.label}'s uploads, got ${ids}`;
  });
}
