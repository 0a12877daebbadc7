/* eslint-disable no-console -- a command-line demo */
import { issueToken } from './auth.js';
import { readLocalSettings } from './settings.js';
import * as samples from '../test/fixtures/samples.js';

/**
 * `npm run demo`: uploads a handful of sample files to a running local Airlock (npm start) and
 * prints what became of each: valid ones, a spoofed one, a checksum mismatch, an oversize attempt.
 */
interface DemoFile {
  label: string;
  fileName: string;
  contentType: string;
  bytes: Buffer;
  method: 'POST' | 'PUT';
  sha256?: string;
  /** Bytes actually sent, when they differ from the declaration. */
  send?: Buffer;
}

const settings = readLocalSettings();
const apiUrl = process.env.AIRLOCK_API_URL ?? `http://localhost:${settings.apiPort}`;
const exe = samples.exe();
const pdf = samples.pdf();

const files: DemoFile[] = [
  {
    label: 'valid PDF',
    fileName: 'report.pdf',
    contentType: samples.MIME.pdf,
    bytes: pdf,
    method: 'POST',
    sha256: samples.sha256Hex(pdf),
  },
  {
    label: 'valid PNG',
    fileName: 'chart.png',
    contentType: samples.MIME.png,
    bytes: samples.png(),
    method: 'PUT',
  },
  {
    label: 'valid CSV',
    fileName: 'ledger.csv',
    contentType: samples.MIME.csv,
    bytes: samples.csv(),
    method: 'POST',
  },
  {
    label: 'valid DOCX',
    fileName: 'letter.docx',
    contentType: samples.MIME.docx,
    bytes: samples.docx(),
    method: 'PUT',
  },
  {
    label: 'spoofed (EXE as PDF)',
    fileName: 'invoice.pdf',
    contentType: samples.MIME.pdf,
    bytes: exe,
    method: 'PUT',
  },
  {
    label: 'checksum mismatch',
    fileName: 'notes.txt',
    contentType: samples.MIME.text,
    bytes: samples.text(),
    method: 'POST',
    sha256: samples.sha256Hex(Buffer.from('something else')),
  },
  {
    label: 'oversize attempt (+1 byte)',
    fileName: 'big.pdf',
    contentType: samples.MIME.pdf,
    bytes: pdf,
    method: 'POST',
    send: Buffer.concat([pdf, Buffer.from('!')]),
  },
];

async function main(): Promise<void> {
  const health = await fetch(`${apiUrl}/health`).catch(() => undefined);
  if (health?.status !== 200) {
    console.error(`No healthy Airlock at ${apiUrl}. Start it first with "npm start" (in another terminal).`);
    process.exit(1);
  }
  const token = await issueToken(settings.dataDir, { sub: 'demo-user', ttlSeconds: 900 });
  const auth = { authorization: `Bearer ${token}` };
  const rows: string[][] = [];
  for (const file of files) {
    const created = await fetch(`${apiUrl}/uploads`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        fileName: file.fileName,
        contentType: file.contentType,
        size: file.bytes.length,
        method: file.method,
        ...(file.sha256 ? { sha256: file.sha256 } : {}),
      }),
    });
    const body = (await created.json()) as {
      uploadId: string;
      upload: { url: string; fields?: Record<string, string>; headers?: Record<string, string> };
    };
    const bytes = file.send ?? file.bytes;
    let sent: Response;
    if (file.method === 'PUT') {
      const headers = { ...body.upload.headers };
      delete headers['content-length'];
      sent = await fetch(body.upload.url, { method: 'PUT', headers, body: bytes });
    } else {
      const form = new FormData();
      for (const [name, value] of Object.entries(body.upload.fields ?? {})) form.append(name, value);
      form.append('file', new Blob([bytes]), file.fileName);
      sent = await fetch(body.upload.url, { method: 'POST', body: form });
    }
    const s3Answer = `${sent.status}${sent.ok ? '' : ` ${/<Code>(\w+)<\/Code>/.exec(await sent.text())?.[1] ?? ''}`}`;
    let status = sent.ok ? 'PENDING_UPLOAD' : 'PENDING_UPLOAD (nothing stored)';
    let reasons = '';
    if (sent.ok) {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const view = (await (
          await fetch(`${apiUrl}/uploads/${body.uploadId}`, { headers: auth })
        ).json()) as {
          status: string;
          reasons?: Array<{ code: string }>;
        };
        status = view.status;
        reasons = (view.reasons ?? []).map((reason) => reason.code).join(', ');
        if (!['PENDING_UPLOAD', 'PROCESSING'].includes(status)) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    rows.push([file.label, file.method, s3Answer, status, reasons, body.uploadId]);
  }
  const header = ['file', 'method', 'S3 answer', 'status', 'reasons', 'uploadId'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(line(row));
}

await main();
