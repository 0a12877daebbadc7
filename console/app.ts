/**
 * The Airlock web console: upload many files with real per-file progress, follow each one's
 * status and audit trail until its outcome, download processed files (signed on click); auditors search, read
 * trails and export CSV. Plain DOM; no secrets in the bundle (the token is entered at sign-in
 * and kept in sessionStorage only).
 */
import { verifyChain, type ChainReport } from '../client/audit-chain.js';
import { auditCsvHeader, auditCsvRows } from '../client/audit-csv.js';
import { contentTypeFor } from '../client/index.js';
import { ConsoleApi, type AuditEvent, type AuditUploadView, type UploadView } from './api.js';
import { markVerdict, scanText, trailItems } from './trail-view.js';
import { authorizeUrl, createVerifier, exchangeCode, type OAuthConfig } from './oauth.js';

const TOKEN_KEY = 'airlock.token';
const TERMINAL = new Set(['PROCESSED', 'REJECTED', 'FAILED', 'EXPIRED', 'QUARANTINED']);

/** Reason codes in plain words. */
export const REASON_TEXT: Record<string, string> = {
  SIZE_MISMATCH: 'The file is not the size that was declared.',
  TYPE_MISMATCH: 'The content of the file does not match its type.',
  TYPE_NOT_ALLOWED: 'This kind of file is not accepted.',
  CHECKSUM_MISMATCH: 'The file changed on the way: its checksum does not match.',
  EMPTY_FILE: 'The file is empty.',
  UNSOLICITED: 'Nobody asked for this file.',
  ALREADY_PROCESSED: 'A file was already uploaded for this upload.',
  UPLOAD_EXPIRED: 'No file arrived before the upload expired.',
  PROCESSING_FAILED: 'Processing failed; it will be retried.',
  ACTIVE_CONTENT: 'The file holds active content (macros, scripts, embedded objects) that is not accepted.',
  MALWARE_DETECTED: 'The malware scanner found a threat in this file.',
  NOT_FULLY_SCANNED:
    'The malware scanner could not look at all of this file (encrypted, too large or unsupported).',
};

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing`);
  return element as T;
};

let api: ConsoleApi | undefined;

/**
 * Where the API is. The local runtime serves the console and the API on one origin; on AWS the
 * console comes from CloudFront and config.json (written at deploy time) names the API.
 */
interface ConsoleConfig {
  apiUrl: string;
  /** On AWS: the Cognito hosted UI. Locally absent: sign in with a pasted token. */
  auth?: OAuthConfig;
}
let config: ConsoleConfig = { apiUrl: location.origin };

async function loadConfig(): Promise<void> {
  const response = await fetch('/config.json').catch(() => undefined);
  if (response?.ok) {
    const loaded = (await response.json()) as Partial<ConsoleConfig>;
    if (typeof loaded.apiUrl === 'string' && loaded.apiUrl !== '')
      config = { apiUrl: loaded.apiUrl.replace(/\/$/, '') };
    if (loaded.auth?.type === 'oauth') config.auth = loaded.auth;
  }
}

function signedIn(token: string): void {
  api = new ConsoleApi(config.apiUrl, token);
  sessionStorage.setItem(TOKEN_KEY, token);
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  $('nav-audit').hidden = !api.isAuditor;
  show('uploads');
}

function show(view: 'uploads' | 'audit'): void {
  $('uploads-view').hidden = view !== 'uploads';
  $('audit-view').hidden = view !== 'audit';
  $('nav-uploads').setAttribute('aria-pressed', String(view === 'uploads'));
  $('nav-audit').setAttribute('aria-pressed', String(view === 'audit'));
}

function contentTypeOf(file: File): string {
  return contentTypeFor(file.name) ?? (file.type || 'application/octet-stream');
}

/** One card per file: progress while sending, then status, timeline, reasons, download. */
async function uploadOne(file: File): Promise<void> {
  const card = document.createElement('li');
  card.className = 'upload';
  card.innerHTML = `<h3></h3><p><span class="status">PREPARING</span></p>
    <label class="visually-hidden">Upload progress</label><progress max="100" value="0"></progress>
    <ul class="reasons"></ul><ol class="timeline"></ol>`;
  card.querySelector('h3')!.textContent = file.name;
  const status = card.querySelector<HTMLElement>('.status')!;
  const progress = card.querySelector('progress')!;
  const progressLabel = card.querySelector('label')!;
  progressLabel.htmlFor = `progress-${Math.random().toString(36).slice(2)}`;
  progress.id = progressLabel.htmlFor;
  $('upload-list').prepend(card);
  const setStatus = (value: string) => {
    status.textContent = value;
    status.className = `status ${value}`;
    card.dataset.status = value;
  };
  try {
    const created = await api!.createUpload({
      fileName: file.name,
      contentType: contentTypeOf(file),
      size: file.size,
    });
    card.dataset.uploadId = created.uploadId;
    setStatus('UPLOADING');
    await api!.sendBytes(created.upload, file, (sent, total) => {
      progress.value = total === 0 ? 100 : Math.round((sent / total) * 100);
      progress.textContent = `${progress.value}%`;
    });
    progress.value = 100;
    const outcome = await follow(created.uploadId, (view, events) => {
      setStatus(view.status);
      renderTimeline(card, events);
    });
    renderOutcome(card, outcome);
  } catch (error) {
    setStatus('ERROR');
    const reasons = card.querySelector('.reasons')!;
    const item = document.createElement('li');
    item.textContent = (error as Error).message;
    reasons.append(item);
  }
}

/** Polls the status (ETag-aware, honouring Retry-After) until terminal, reporting each change. */
async function follow(
  uploadId: string,
  onChange: (view: UploadView, events: AuditEvent[]) => void,
): Promise<UploadView> {
  let last = '';
  for (;;) {
    const { view, retryAfterSeconds } = await api!.getUpload(uploadId);
    if (view.updatedAt !== last) {
      last = view.updatedAt;
      onChange(view, await api!.getEvents(uploadId));
    }
    if (TERMINAL.has(view.status)) return view;
    await new Promise((resolve) => setTimeout(resolve, Math.min(5, retryAfterSeconds ?? 1) * 1000));
  }
}

function renderTimeline(card: HTMLElement, events: AuditEvent[]): void {
  const timeline = card.querySelector('.timeline')!;
  timeline.replaceChildren(
    ...events.map((event) => {
      const item = document.createElement('li');
      item.textContent = `${new Date(event.at).toLocaleTimeString()} ${event.action}: ${event.from ?? 'new'} → ${event.to ?? '—'}`;
      return item;
    }),
  );
}

function renderOutcome(card: HTMLElement, view: UploadView): void {
  const reasons = card.querySelector('.reasons')!;
  reasons.replaceChildren(
    ...(view.reasons ?? []).map((reason) => {
      const item = document.createElement('li');
      item.dataset.code = reason.code;
      item.textContent = REASON_TEXT[reason.code] ?? reason.message;
      return item;
    }),
  );
  const scan = scanText(view.scan);
  if (scan !== undefined) {
    const line = document.createElement('p');
    line.className = 'scan';
    line.dataset.scan = view.scan?.status ?? '';
    line.textContent = scan;
    card.append(line);
  }
  if (view.status === 'PROCESSED' && view.download) {
    // Signed on click: the page never holds a URL that may have expired by the time it is used.
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'download';
    button.textContent = `Download ${view.fileName}`;
    button.addEventListener('click', () => void startDownload(card, view.uploadId));
    card.append(button);
  }
}

/** Asks the API for a fresh download URL and follows it at once (S3 serves it as an attachment). */
async function startDownload(card: HTMLElement, uploadId: string): Promise<void> {
  try {
    const { url } = await api!.downloadUrl(uploadId);
    const link = document.createElement('a');
    link.href = url;
    link.rel = 'noopener';
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    const item = document.createElement('li');
    item.textContent = (error as Error).message;
    card.querySelector('.reasons')!.append(item);
  }
}

// ---- audit view ---------------------------------------------------------------------------
let lastResults: AuditUploadView[] = [];

function auditFilters(): { status?: string; from?: string; to?: string; owner?: string } {
  const form = new FormData($<HTMLFormElement>('audit-form'));
  const value = (name: string) => {
    const raw = form.get(name);
    return typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : undefined;
  };
  const time = (name: string) => {
    const raw = value(name);
    return raw ? new Date(raw).toISOString() : undefined;
  };
  const filters: { status?: string; from?: string; to?: string; owner?: string } = {};
  const status = value('status');
  const from = time('from');
  const to = time('to');
  const owner = value('owner');
  if (status) filters.status = status;
  if (from) filters.from = from;
  if (to) filters.to = to;
  if (owner) filters.owner = owner;
  return filters;
}

async function search(): Promise<void> {
  $('audit-error').textContent = '';
  try {
    lastResults = await api!.auditUploads(auditFilters());
  } catch (error) {
    $('audit-error').textContent = (error as Error).message;
    return;
  }
  const body = $<HTMLTableElement>('audit-table').tBodies[0]!;
  body.replaceChildren(
    ...lastResults.map((upload) => {
      const row = document.createElement('tr');
      row.dataset.uploadId = upload.uploadId;
      for (const text of [upload.uploadId, upload.owner, upload.fileName, upload.status, upload.updatedAt]) {
        const cell = document.createElement('td');
        cell.textContent = text;
        row.append(cell);
      }
      const open = document.createElement('button');
      open.type = 'button';
      open.textContent = 'Open trail';
      open.addEventListener('click', () => void openTrail(upload.uploadId));
      const cell = document.createElement('td');
      cell.append(open);
      row.append(cell);
      return row;
    }),
  );
}

let openedTrail = 0;

/**
 * Shows a trail to an auditor, marked with its verdict: the chain is checked in the browser
 * (client/audit-chain.ts, from docs/audit.md) and, when it does not hold, the first broken link is
 * highlighted with the problem in words. Only auditors read trails here: an owner's view of a
 * trail is redacted and would not verify.
 */
async function openTrail(uploadId: string): Promise<void> {
  const opened = ++openedTrail;
  $('audit-error').textContent = '';
  let events: AuditEvent[];
  let report: ChainReport;
  try {
    events = await api!.getEvents(uploadId);
    report = await verifyChain(uploadId, events);
  } catch (error) {
    $('audit-error').textContent = (error as Error).message;
    return;
  }
  if (opened !== openedTrail) return; // another trail was opened meanwhile
  $('trail-title').textContent = `Audit trail of ${uploadId}`;
  $('trail-title').dataset.uploadId = uploadId;
  $('trail-list').replaceChildren(...trailItems(events, report));
  markVerdict($('trail-verdict'), report);
  $('trail').dataset.verdict = report.verdict;
  $('trail').hidden = false;
}

/**
 * CSV of every matching upload's full trail, one row per audit event: the same writer and columns
 * as `airlock audit export --format csv`, so names and owners that look like formulas are defused.
 */
async function exportCsv(): Promise<void> {
  let text = auditCsvHeader();
  for (const upload of lastResults) text += auditCsvRows(upload, await api!.getEvents(upload.uploadId));
  const blob = new Blob([text], { type: 'text/csv' });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `airlock-audit-${new Date().toISOString().slice(0, 19)}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
}

// ---- wiring --------------------------------------------------------------------------------
function wire(): void {
  $<HTMLFormElement>('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $<HTMLTextAreaElement>('token').value.trim();
    void ConsoleApi.check(config.apiUrl, token).then(
      () => signedIn(token),
      (error: Error) => ($('sign-in-error').textContent = error.message),
    );
  });
  $('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  });
  $('nav-uploads').addEventListener('click', () => show('uploads'));
  $('nav-audit').addEventListener('click', () => show('audit'));

  const zone = $('drop-zone');
  const input = $<HTMLInputElement>('file-input');
  const start = (files: FileList | null) => {
    for (const file of Array.from(files ?? [])) void uploadOne(file);
  };
  zone.addEventListener('click', () => input.click());
  zone.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      input.click();
    }
  });
  input.addEventListener('change', () => {
    start(input.files);
    input.value = '';
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    start(event.dataTransfer?.files ?? null);
  });

  $<HTMLFormElement>('audit-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void search();
  });
  $('export-csv').addEventListener('click', () => void exportCsv());

  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signedIn(saved);
  else if (config.auth) void hostedSignIn(config.auth);
}

/**
 * The hosted UI: a "Sign in" button sends the user there (PKCE verifier and state kept in
 * sessionStorage); coming back with ?code=&state=, the code is exchanged for an access token.
 */
async function hostedSignIn(auth: OAuthConfig): Promise<void> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const verifier = sessionStorage.getItem('airlock.pkce');
  if (code && verifier && params.get('state') === sessionStorage.getItem('airlock.state')) {
    history.replaceState(null, '', location.pathname);
    try {
      signedIn(await exchangeCode(auth, code, verifier));
    } catch (error) {
      $('sign-in-error').textContent = (error as Error).message;
    } finally {
      sessionStorage.removeItem('airlock.pkce');
      sessionStorage.removeItem('airlock.state');
    }
    return;
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Sign in with your account';
  button.addEventListener('click', () => {
    const newVerifier = createVerifier();
    const state = createVerifier();
    sessionStorage.setItem('airlock.pkce', newVerifier);
    sessionStorage.setItem('airlock.state', state);
    void authorizeUrl(auth, newVerifier, state).then((url) => location.assign(url));
  });
  $('sign-in').insertBefore(button, $('sign-in-form'));
}

void loadConfig().then(wire);
