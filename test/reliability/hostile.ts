import { createHash } from 'node:crypto';
import { normalizeContentType } from '../../functions/domain/type-policy.js';
import { UPLOAD_ID_PATTERN } from '../../functions/domain/upload-id.js';
import type { UploadView } from '../../client/index.js';
import { buildContent } from '../corpus/content-builders.js';
import {
  TOKEN_ROUTES,
  bodyBytes,
  loadContentCases,
  loadRequestCases,
  loadTokenCases,
  type HostileContentCase,
  type HostileRequestCase,
  type HostileTokenCase,
  type TokenRoute,
} from '../corpus/corpus.js';
import { credentialsFor, tokenWithClaims, validToken } from '../corpus/tokens.js';
import { runPart, type PartResult, type RuntimeTarget, type SuiteOptions } from './part.js';
import {
  Probe,
  apiFailuresLoggedSince,
  errorShapeProblem,
  executionsSettled,
  logMark,
  grantRequest,
  mapLimit,
  objectUrl,
  TERMINAL_STATUSES,
  pollFor,
  s3For,
  uniqueSub,
  versionsOf,
  type Reply,
} from './probes.js';

/**
 * The hostile input corpus over real HTTP against a running runtime: every request case of
 * test/corpus/hostile-requests.json sent to POST /uploads, every token case of
 * hostile-tokens.json sent to every route, and the files of hostile-content.json uploaded
 * through real grants (multipart POSTs and signed PUTs to RadosGW) and taken through the real
 * pipeline. Each must get its expected 4xx (with its code) or its expected outcome; none may get
 * a 5xx, drop the connection or leave a readable object. The cases are data: this module only
 * interprets them.
 */

const MIN_CASES = 60;
const CONTENT_TIMEOUT_MS = 90_000;

interface Tally {
  /** Hostile requests and token probes refused with exactly their expected 4xx and code. */
  refused4xx: number;
  /** Anonymous reads of an upload's objects that RadosGW refused. */
  anonymousRefused: number;
  deliberate201: number;
  rejected: number;
  processedSafely: number;
  readableObjects: number;
  tokenProbes: number;
  controls: number;
}

interface Context {
  target: RuntimeTarget;
  probe: Probe;
  failures: string[];
  tally: Tally;
  log: (message: string) => void;
}

export async function runHostileCorpus(target: RuntimeTarget, options: SuiteOptions): Promise<PartResult> {
  return runPart('hostile', 'Hostile input corpus: requests, tokens and content', async (failures) => {
    const requests = loadRequestCases();
    const tokens = loadTokenCases();
    const allContent = loadContentCases();
    const content = options.quick ? allContent.filter((c) => c.quick === true) : allContent;
    const total = requests.length + tokens.length + content.length;
    if (total < MIN_CASES) failures.push(`corpus: expected at least ${MIN_CASES} cases, got ${total}`);

    const ctx: Context = {
      target,
      probe: new Probe(failures),
      failures,
      tally: {
        refused4xx: 0,
        anonymousRefused: 0,
        deliberate201: 0,
        rejected: 0,
        processedSafely: 0,
        readableObjects: 0,
        tokenProbes: 0,
        controls: 0,
      },
      log: options.log,
    };
    const mark = logMark(target);

    options.log(`hostile: ${requests.length} request cases`);
    await runRequestCases(ctx, requests);
    options.log(`hostile: ${tokens.length} token cases × routes`);
    await runTokenCases(ctx, tokens);
    options.log(`hostile: ${content.length} of ${allContent.length} content cases`);
    await runContentCases(ctx, content);

    const health = await ctx.probe.call('health after the corpus', `${target.apiUrl}/health`);
    if (health !== undefined && health.status !== 200) {
      failures.push(`health after the corpus: expected 200, got ${health.status} ${health.text}`);
    }
    const logged = apiFailuresLoggedSince(target, mark);
    for (const line of logged ?? [])
      failures.push(`runtime log: expected no failed request, got ${line.slice(0, 300)}`);

    return {
      cases: total,
      requestCases: requests.length,
      tokenCases: tokens.length,
      contentCases: content.length,
      byCategory: [
        `requests ${countBy(requests)}`,
        `tokens ${countBy(tokens)}`,
        `content ${countBy(content)}`,
      ].join('; '),
      httpRequests: ctx.probe.requests,
      tokenProbes: ctx.tally.tokenProbes,
      refused4xx: ctx.tally.refused4xx,
      deliberate201: ctx.tally.deliberate201,
      rejected: ctx.tally.rejected,
      processedSafely: ctx.tally.processedSafely,
      responses5xx: ctx.probe.responses5xx,
      crashes: ctx.probe.crashes,
      readableObjects: ctx.tally.readableObjects,
      anonymousReadsRefused: ctx.tally.anonymousRefused,
      controls: ctx.tally.controls,
      serverErrorsLogged: logged === undefined ? 'n/a' : logged.length,
    };
  });
}

function countBy(cases: ReadonlyArray<{ category: string }>): string {
  const counts = new Map<string, number>();
  for (const c of cases) counts.set(c.category, (counts.get(c.category) ?? 0) + 1);
  return [...counts].map(([category, count]) => `${category} ${count}`).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Requests: POST /uploads with hostile bodies, claims and headers

async function runRequestCases(ctx: Context, cases: HostileRequestCase[]): Promise<void> {
  const sub = uniqueSub('hostile-requests');
  const token = await validToken(ctx.target.dataDir, sub);
  const createdBySub: string[] = [];
  await mapLimit(cases, 4, async (hostile) => {
    const created = await runRequestCase(ctx, hostile, token);
    if (created !== undefined && hostile.request.claims === undefined) createdBySub.push(created);
  });
  // Refused requests wrote nothing: the caller owns exactly the uploads the accepted ones made.
  const listed = await listAll(ctx, token, 'requests: GET /uploads');
  if (listed !== undefined) {
    const unexpected = listed.filter((id) => !createdBySub.includes(id));
    if (unexpected.length > 0 || listed.length !== createdBySub.length) {
      ctx.failures.push(
        `requests: expected the caller to own exactly the ${createdBySub.length} accepted uploads, got ${listed.length} (${unexpected.length} unexpected)`,
      );
    }
  }
}

/** Sends one case; returns the upload id when it was (rightly) accepted. */
async function runRequestCase(
  ctx: Context,
  hostile: HostileRequestCase,
  token: string,
): Promise<string | undefined> {
  const label = `request ${hostile.id}`;
  const { request, expect } = hostile;
  const authorization =
    request.claims === undefined
      ? `Bearer ${token}`
      : request.claims === null
        ? undefined
        : `Bearer ${await tokenWithClaims(ctx.target.dataDir, request.claims)}`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(authorization !== undefined ? { authorization } : {}),
    ...(request.headers ?? {}),
  };
  const body = bodyBytes(request);
  const reply = await ctx.probe.call(label, `${ctx.target.apiUrl}/uploads`, {
    method: 'POST',
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  if (reply === undefined) return undefined;

  if (expect.status !== 201) {
    const problem = errorShapeProblem(reply, expect.status, expect.code ?? '');
    if (problem !== undefined) ctx.failures.push(`${label}: ${problem}`);
    else ctx.tally.refused4xx++;
    return undefined;
  }
  if (reply.status !== 201) {
    ctx.failures.push(`${label}: expected 201, got ${reply.status} ${reply.text.slice(0, 200)}`);
    return undefined;
  }
  ctx.tally.deliberate201++;
  const declared = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8')) as Record<string, unknown>;
  const problems = createdProblems(ctx.target, reply, declared, headers);
  const uploadId = (reply.json as { uploadId?: string } | undefined)?.uploadId;
  if (uploadId !== undefined && problems.length === 0) {
    problems.push(...(await storedProblems(ctx, label, uploadId, declared, authorization ?? '')));
  }
  for (const problem of problems) ctx.failures.push(`${label}: ${problem}`);
  return uploadId;
}

/**
 * A 201 is well-formed and reflects nothing dangerous: exactly its documented fields, a ULID,
 * a status URL that is the API's own (never the forwarded protocol or host a client injected),
 * a grant pinned to quarantine/<id> with the normalized type, and the file name nowhere.
 */
function createdProblems(
  target: RuntimeTarget,
  reply: Reply,
  declared: Record<string, unknown>,
  requestHeaders: Record<string, string>,
): string[] {
  const problems: string[] = [];
  const body = reply.json as
    | {
        uploadId?: string;
        status?: string;
        statusUrl?: string;
        upload?: {
          method?: string;
          url?: string;
          fields?: Record<string, string>;
          headers?: Record<string, string>;
        };
      }
    | undefined;
  if (body === undefined) return [`expected a JSON body, got ${reply.text.slice(0, 200)}`];
  const keys = Object.keys(body).sort().join();
  if (keys !== 'status,statusUrl,upload,uploadId') problems.push(`expected the 201 fields, got ${keys}`);
  const uploadId = body.uploadId ?? '';
  if (!UPLOAD_ID_PATTERN.test(uploadId)) problems.push(`expected a ULID, got ${uploadId}`);
  if (body.status !== 'PENDING_UPLOAD') problems.push(`expected PENDING_UPLOAD, got ${body.status}`);
  const statusUrl = `${target.apiUrl}/uploads/${uploadId}`;
  if (body.statusUrl !== statusUrl) problems.push(`expected statusUrl ${statusUrl}, got ${body.statusUrl}`);
  if (reply.headers.get('location') !== body.statusUrl) {
    problems.push(`expected Location = statusUrl, got ${reply.headers.get('location')}`);
  }
  const method = typeof declared.method === 'string' ? declared.method : 'POST';
  const grant = body.upload ?? {};
  const contentType = normalizeContentType(String(declared.contentType));
  if (grant.method !== method) problems.push(`expected a ${method} grant, got ${grant.method}`);
  const key = `quarantine/${uploadId}`;
  if (method === 'POST') {
    if (
      grant.url !== `${target.s3Endpoint}/${target.bucket}` &&
      grant.url !== `${target.s3Endpoint}/${target.bucket}/`
    ) {
      problems.push(`expected the bucket URL, got ${grant.url}`);
    }
    if (grant.fields?.key !== key) problems.push(`expected key ${key}, got ${grant.fields?.key}`);
    if (grant.fields?.['Content-Type'] !== contentType) {
      problems.push(`expected the pinned type ${contentType}, got ${grant.fields?.['Content-Type']}`);
    }
  } else {
    const url = new URL(grant.url ?? 'about:blank');
    if (url.pathname !== `/${target.bucket}/${key}`)
      problems.push(`expected a PUT of ${key}, got ${url.pathname}`);
    if (grant.headers?.['content-type'] !== contentType) {
      problems.push(`expected the signed type ${contentType}, got ${grant.headers?.['content-type']}`);
    }
  }
  const fileName = typeof declared.fileName === 'string' ? declared.fileName : '';
  const reflected = [fileName, ...Object.values(requestHeaders).filter((v) => !v.startsWith('Bearer '))]
    .filter((value) => value.length >= 6 && !/^application\/json$/i.test(value))
    .filter((value) =>
      [value, JSON.stringify(value).slice(1, -1)].some(
        (form) => reply.text.includes(form) || [...reply.headers.values()].some((h) => h.includes(form)),
      ),
    );
  if (reflected.length > 0) problems.push(`expected no input reflected, found ${JSON.stringify(reflected)}`);
  return problems;
}

/** The upload reads back exactly as declared (the name byte for byte), still pending, no URL. */
async function storedProblems(
  ctx: Context,
  label: string,
  uploadId: string,
  declared: Record<string, unknown>,
  authorization: string,
): Promise<string[]> {
  const reply = await ctx.probe.call(`${label} (GET)`, `${ctx.target.apiUrl}/uploads/${uploadId}`, {
    headers: { authorization },
  });
  if (reply === undefined) return [];
  if (reply.status !== 200) return [`expected GET 200, got ${reply.status} ${reply.text.slice(0, 200)}`];
  const view = reply.json as Record<string, unknown>;
  const problems: string[] = [];
  if (view.fileName !== declared.fileName) {
    problems.push(
      `expected fileName ${JSON.stringify(declared.fileName)}, got ${JSON.stringify(view.fileName)}`,
    );
  }
  const contentType = normalizeContentType(String(declared.contentType));
  if (view.contentType !== contentType)
    problems.push(`expected ${contentType}, got ${String(view.contentType)}`);
  if (view.size !== declared.size)
    problems.push(`expected size ${String(declared.size)}, got ${String(view.size)}`);
  if (view.status !== 'PENDING_UPLOAD') problems.push(`expected PENDING_UPLOAD, got ${String(view.status)}`);
  if ('download' in view) problems.push('expected no download URL for a pending upload');
  return problems;
}

/** Every upload id of the caller, following the cursor through all pages. */
async function listAll(ctx: Context, token: string, label: string): Promise<string[] | undefined> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const query = new URLSearchParams({ limit: '100', ...(cursor ? { cursor } : {}) });
    const reply = await ctx.probe.call(label, `${ctx.target.apiUrl}/uploads?${query.toString()}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (reply === undefined) return undefined;
    if (reply.status !== 200) {
      ctx.failures.push(`${label}: expected 200, got ${reply.status} ${reply.text.slice(0, 200)}`);
      return undefined;
    }
    const body = reply.json as { items: Array<{ uploadId: string }>; cursor?: string };
    ids.push(...body.items.map((item) => item.uploadId));
    cursor = body.cursor;
    if (cursor === undefined) return ids;
  }
  ctx.failures.push(`${label}: expected the list to end within 100 pages`);
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Tokens: every route refuses a token the local issuer did not validly issue

const PROBE_BODY = JSON.stringify({ fileName: 'token-probe.txt', contentType: 'text/plain', size: 5 });

function routeRequest(
  target: RuntimeTarget,
  route: TokenRoute,
  uploadId: string,
  query: string,
): { url: string; init: RequestInit } {
  const [method = 'GET', template = '/'] = route.split(' ');
  const path = template.replace('{id}', uploadId);
  const url = `${target.apiUrl}${path}${query === '' ? '' : `?${query}`}`;
  return {
    url,
    init: {
      method,
      ...(method === 'POST' ? { body: PROBE_BODY, headers: { 'content-type': 'application/json' } } : {}),
    },
  };
}

async function runTokenCases(ctx: Context, cases: HostileTokenCase[]): Promise<void> {
  const sub = uniqueSub('hostile-tokens');
  const token = await validToken(ctx.target.dataDir, sub);
  const created = await ctx.probe.call('tokens: control upload', `${ctx.target.apiUrl}/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: PROBE_BODY,
  });
  const uploadId = (created?.json as { uploadId?: string } | undefined)?.uploadId;
  if (created?.status !== 201 || uploadId === undefined) {
    ctx.failures.push(
      `tokens: expected the control upload to be created, got ${created?.status} ${created?.text}`,
    );
    return;
  }

  await mapLimit(cases, 4, async (hostile) => {
    const credentials = await credentialsFor(hostile, { dataDir: ctx.target.dataDir, sub });
    for (const route of hostile.routes ?? TOKEN_ROUTES) {
      const label = `token ${hostile.id} on ${route}`;
      const { url, init } = routeRequest(ctx.target, route, uploadId, credentials.query);
      const headers = {
        ...(init.headers as Record<string, string> | undefined),
        ...(credentials.authorization !== undefined ? { authorization: credentials.authorization } : {}),
      };
      ctx.tally.tokenProbes++;
      const reply = await ctx.probe.call(label, url, { ...init, headers });
      if (reply === undefined) continue;
      const problem = errorShapeProblem(reply, hostile.expect.status, hostile.expect.code);
      if (problem !== undefined) ctx.failures.push(`${label}: ${problem}`);
      else ctx.tally.refused4xx++;
    }
  });

  // Controls: the same routes with a valid token answer 2xx, so the 401s came from the tokens.
  for (const route of TOKEN_ROUTES) {
    const { url, init } = routeRequest(ctx.target, route, uploadId, '');
    const headers = {
      ...(init.headers as Record<string, string> | undefined),
      authorization: `Bearer ${token}`,
    };
    const reply = await ctx.probe.call(`tokens: control ${route}`, url, { ...init, headers });
    ctx.tally.controls++;
    const expected = route.startsWith('POST') ? 201 : 200;
    if (reply !== undefined && reply.status !== expected) {
      ctx.failures.push(
        `tokens: control ${route}: expected ${expected}, got ${reply.status} ${reply.text.slice(0, 200)}`,
      );
    }
  }
  // No refused POST created anything: the user has the control upload and the control POST only.
  const listed = await listAll(ctx, token, 'tokens: GET /uploads');
  if (listed !== undefined && listed.length !== 2) {
    ctx.failures.push(`tokens: expected 2 uploads (the controls) for the token user, got ${listed.length}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Content: hostile bytes through real grants and the real pipeline

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function runContentCases(ctx: Context, cases: HostileContentCase[]): Promise<void> {
  const sub = uniqueSub('hostile-content');
  const token = await validToken(ctx.target.dataDir, sub);
  const s3 = s3For(ctx.target);
  try {
    await mapLimit(cases, 4, async (hostile) => {
      const problems = await runContentCase(ctx, hostile, token, s3).catch((error: unknown) => [
        `crashed: ${(error as Error).stack ?? String(error)}`,
      ]);
      for (const problem of problems) ctx.failures.push(`content ${hostile.id}: ${problem}`);
    });
  } finally {
    s3.destroy();
  }
}

async function runContentCase(
  ctx: Context,
  hostile: HostileContentCase,
  token: string,
  s3: ReturnType<typeof s3For>,
): Promise<string[]> {
  const label = `content ${hostile.id}`;
  const { target, probe } = ctx;
  const bytes = buildContent(hostile.builder);
  const sha256 =
    hostile.declared.sha256 === 'own'
      ? sha256Hex(bytes)
      : hostile.declared.sha256 === 'other'
        ? sha256Hex(Buffer.from(`not the bytes of ${hostile.id}`))
        : undefined;
  const auth = { authorization: `Bearer ${token}` };

  // Ask for the upload.
  const created = await probe.call(`${label} (create)`, `${target.apiUrl}/uploads`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      fileName: hostile.declared.fileName,
      contentType: hostile.declared.contentType,
      size: bytes.length,
      ...(sha256 !== undefined ? { sha256 } : {}),
      method: hostile.method,
    }),
  });
  if (created === undefined) return [];
  const grant = created.json as {
    uploadId: string;
    upload: {
      method: string;
      url: string;
      fields?: Record<string, string>;
      headers?: Record<string, string>;
    };
  };
  if (created.status !== 201)
    return [`expected the upload to be created, got ${created.status} ${created.text}`];
  const { uploadId } = grant;

  // Send the bytes exactly as the grant says: a multipart POST, or a PUT with the signed headers.
  const sent = await probe.call(`${label} (send)`, grant.upload.url, grantRequest(grant.upload, bytes));
  if (sent === undefined) return [];
  if (sent.status < 200 || sent.status >= 300)
    return [`expected S3 to take the bytes, got ${sent.status} ${sent.text}`];

  // Wait for the outcome, then for the executions to end (the quarantine is released last).
  let last: Reply | undefined;
  const outcome = await pollFor(
    async () => {
      last = await probe.call(`${label} (status)`, `${target.apiUrl}/uploads/${uploadId}`, { headers: auth });
      const view = last?.json as UploadView | undefined;
      return last?.status === 200 && view !== undefined && TERMINAL_STATUSES.has(view.status)
        ? view
        : undefined;
    },
    { timeoutMs: CONTENT_TIMEOUT_MS, intervalMs: 200 },
  );
  if (outcome === undefined) {
    return [
      `expected ${hostile.expect.status} within ${CONTENT_TIMEOUT_MS} ms, got ${last?.status} ${last?.text}`,
    ];
  }
  const executions = await executionsSettled(target, `quarantine/${uploadId}`, CONTENT_TIMEOUT_MS);
  const problems: string[] = [];
  if (executions === undefined)
    problems.push('expected its executions to finish, some still run at the deadline');
  else if (executions.includes('FAILED'))
    problems.push(`expected no failed execution, got ${executions.join(', ')}`);

  // The outcome and its reasons, and a download URL only when PROCESSED.
  const expect = hostile.expect;
  if (outcome.status !== expect.status) {
    problems.push(`expected ${describeExpect(hostile)}, got ${outcome.status} ${codesOf(outcome).join(',')}`);
  } else if (expect.status === 'REJECTED') {
    const got = codesOf(outcome);
    if (got.join() !== [...expect.reasons].sort().join()) {
      problems.push(
        `expected REJECTED ${[...expect.reasons].sort().join(',')}, got REJECTED ${got.join(',')}`,
      );
    }
  } else if (outcome.detectedType !== expect.detectedType) {
    problems.push(`expected detectedType ${expect.detectedType}, got ${outcome.detectedType}`);
  }
  if (outcome.status !== 'PROCESSED' && outcome.download !== undefined) {
    problems.push(`expected no download URL for ${outcome.status}, got ${outcome.download.url}`);
  }
  if (outcome.status === 'REJECTED') ctx.tally.rejected++;

  // The audit trail ends with the same outcome and reasons.
  const trail = await probe.call(`${label} (events)`, `${target.apiUrl}/uploads/${uploadId}/events`, {
    headers: auth,
  });
  const events = (
    trail?.json as { events?: Array<{ action: string; reasons: Array<{ code: string }> }> } | undefined
  )?.events;
  const lastEvent = events?.[events.length - 1];
  if (trail !== undefined && (trail.status !== 200 || lastEvent === undefined)) {
    problems.push(`expected its audit trail, got ${trail.status} ${trail.text.slice(0, 200)}`);
  } else if (lastEvent !== undefined) {
    const trailCodes = lastEvent.reasons.map((reason) => reason.code).sort();
    if (lastEvent.action !== outcome.status || trailCodes.join() !== codesOf(outcome).join()) {
      problems.push(
        `expected the trail to end ${outcome.status} ${codesOf(outcome).join(',')}, got ${lastEvent.action} ${trailCodes.join(',')}`,
      );
    }
  }

  // Storage: nothing left in quarantine, clean/ only for PROCESSED, the rejected copy kept.
  const processed = outcome.status === 'PROCESSED';
  const stored = {
    quarantine: await versionsOf(s3, target.bucket, `quarantine/${uploadId}`),
    clean: await versionsOf(s3, target.bucket, `clean/${uploadId}`),
    rejected: await versionsOf(s3, target.bucket, `rejected/${uploadId}`),
  };
  if (stored.quarantine.versions.length !== 0)
    problems.push(`expected no version left in quarantine/, got ${stored.quarantine.versions.length}`);
  // A hostile file that can be downloaded (a URL is offered, or a copy sits in clean/) is readable.
  if (expect.status !== 'PROCESSED' && (outcome.download !== undefined || stored.clean.versions.length > 0)) {
    ctx.tally.readableObjects++;
    problems.push(`expected nothing readable, got ${outcome.download ? 'a download URL' : 'a clean/ copy'}`);
  }
  if (stored.clean.versions.length !== (processed ? 1 : 0)) {
    problems.push(`expected ${processed ? 1 : 0} version under clean/, got ${stored.clean.versions.length}`);
  }
  if (stored.rejected.versions.length !== (processed ? 0 : 1)) {
    problems.push(
      `expected ${processed ? 0 : 1} version under rejected/, got ${stored.rejected.versions.length}`,
    );
  }

  // Nothing is readable without a signature, in any prefix.
  for (const prefix of ['quarantine', 'rejected', 'clean']) {
    for (const method of ['GET', 'HEAD']) {
      const anonymous = await probe.call(
        `${label} (anonymous ${method} ${prefix}/)`,
        objectUrl(target, `${prefix}/${uploadId}`),
        {
          method,
        },
      );
      if (anonymous !== undefined && anonymous.status !== 403 && anonymous.status !== 404) {
        ctx.tally.readableObjects++;
        problems.push(
          `expected an anonymous ${method} of ${prefix}/${uploadId} to be refused, got ${anonymous.status}`,
        );
      } else if (anonymous !== undefined) {
        ctx.tally.anonymousRefused++;
      }
    }
  }

  // A PROCESSED file is served only from clean/, as an attachment under a safe name and type.
  if (processed && expect.status === 'PROCESSED') {
    const served = await downloadProblems(ctx, label, uploadId, outcome, bytes, expect.download, token);
    problems.push(...served);
    if (served.length === 0) ctx.tally.processedSafely++;
  }
  return problems;
}

async function downloadProblems(
  ctx: Context,
  label: string,
  uploadId: string,
  outcome: UploadView,
  bytes: Buffer,
  expected: { fileName: string; contentType: string },
  token: string,
): Promise<string[]> {
  const problems: string[] = [];
  if (outcome.download === undefined) return ['expected a download link for PROCESSED'];
  // The status links to GET /uploads/{id}/download, which signs a fresh URL on request.
  const signed = await ctx.probe.call(`${label} (sign download)`, outcome.download.url, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
  });
  const url = (signed?.json as { url?: string } | undefined)?.url;
  if (signed?.status !== 200 || url === undefined)
    return [`expected a signed download, got ${signed?.status}`];
  const path = new URL(url).pathname;
  if (path !== `/${ctx.target.bucket}/clean/${uploadId}`)
    problems.push(`expected a URL of clean/${uploadId}, got ${path}`);
  const reply = await ctx.probe.call(`${label} (download)`, url);
  if (reply === undefined) return problems;
  if (reply.status !== 200) return [...problems, `expected the download to work, got ${reply.status}`];
  if (!reply.bytes.equals(bytes)) problems.push('expected the downloaded bytes to be the uploaded ones');
  const disposition = reply.headers.get('content-disposition') ?? '';
  if (!disposition.startsWith('attachment;') || !disposition.includes(`filename="${expected.fileName}"`)) {
    problems.push(`expected attachment; filename="${expected.fileName}", got ${JSON.stringify(disposition)}`);
  }
  const type = normalizeContentType(reply.headers.get('content-type') ?? '');
  if (type !== expected.contentType)
    problems.push(`expected content-type ${expected.contentType}, got ${type}`);
  return problems;
}

const codesOf = (view: UploadView): string[] => (view.reasons ?? []).map((reason) => reason.code).sort();

function describeExpect(hostile: HostileContentCase): string {
  const { expect } = hostile;
  return expect.status === 'REJECTED' ? `REJECTED ${[...expect.reasons].sort().join(',')}` : 'PROCESSED';
}
