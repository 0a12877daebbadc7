/**
 * The console's view of the API. JSON calls go through the typed client library; the file bytes
 * go straight to S3 with XMLHttpRequest, because only XHR reports upload progress in browsers
 * (fetch cannot stream a request body over HTTP/1.1).
 */
import {
  AirlockClient,
  newIdempotencyKey,
  type AuditEvent,
  type AuditUploadView,
  type CreatedUpload,
  type SignedDownload,
  type UploadGrant,
  type UploadStatus,
  type UploadView,
} from '../client/index.js';

export type { AuditEvent, AuditUploadView, UploadGrant, UploadView } from '../client/index.js';

/**
 * The console's API access: every JSON call goes through the typed client library
 * (client/index.ts); only the byte transfer to S3 is done here, with XMLHttpRequest.
 */
export class ConsoleApi {
  private readonly client: AirlockClient;
  private readonly etags = new Map<string, { etag: string; view: UploadView }>();
  readonly isAuditor: boolean;

  constructor(baseUrl: string, token: string) {
    this.client = new AirlockClient({ baseUrl, token, fetch: (input, init) => fetch(input, init) });
    this.isAuditor = groupsOf(token).includes('auditors');
  }

  /** Signs in only with a token the API accepts. */
  static async check(baseUrl: string, token: string): Promise<void> {
    await new ConsoleApi(baseUrl, token).client.listUploads({ limit: 1 }).next();
  }

  async createUpload(request: {
    fileName: string;
    contentType: string;
    size: number;
  }): Promise<Pick<CreatedUpload, 'uploadId' | 'upload'>> {
    const created = await this.client.createUpload(
      { ...request, method: 'PUT' },
      { idempotencyKey: newIdempotencyKey() }, // a retried request gets this same upload
    );
    return { uploadId: created.uploadId, upload: created.upload };
  }

  /** Sends the file with the grant's method, reporting bytes sent. */
  sendBytes(
    grant: UploadGrant,
    file: Blob,
    onProgress: (sent: number, total: number) => void,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(grant.method, grant.url);
      xhr.upload.addEventListener('progress', (event) => onProgress(event.loaded, event.total || file.size));
      xhr.addEventListener('load', () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(file.size, file.size);
          resolve();
        } else {
          const code = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText)?.[1] ?? 'S3_ERROR';
          reject(new Error(`Storage refused the upload (${xhr.status} ${code}).`));
        }
      });
      xhr.addEventListener('error', () => reject(new Error('The upload could not reach storage.')));
      if (grant.method === 'PUT') {
        for (const [name, value] of Object.entries(grant.headers)) {
          if (name.toLowerCase() !== 'content-length') xhr.setRequestHeader(name, value);
        }
        xhr.send(file);
      } else {
        const form = new FormData();
        for (const [name, value] of Object.entries(grant.fields)) form.append(name, value);
        form.append('file', file);
        xhr.send(form);
      }
    });
  }

  /** ETag-aware: an unchanged upload costs a 304, and the cached view is returned. */
  async getUpload(uploadId: string): Promise<{ view: UploadView; retryAfterSeconds?: number }> {
    const cached = this.etags.get(uploadId);
    const snapshot = await this.client.getUploadIfChanged(uploadId, cached?.etag);
    const retry =
      snapshot.retryAfterSeconds !== undefined ? { retryAfterSeconds: snapshot.retryAfterSeconds } : {};
    if (!snapshot.modified && cached) return { view: cached.view, ...retry };
    if (!snapshot.modified) return this.getUpload(uploadId);
    const view = snapshot.upload;
    if (snapshot.etag) this.etags.set(uploadId, { etag: snapshot.etag, view });
    return { view, ...retry };
  }

  /** A fresh download URL of a PROCESSED upload (GET /uploads/{id}/download), to use at once. */
  async downloadUrl(uploadId: string): Promise<SignedDownload> {
    return await this.client.getDownload(uploadId);
  }

  async getEvents(uploadId: string): Promise<AuditEvent[]> {
    return await this.client.getEvents(uploadId);
  }

  /** Every page of GET /audit/uploads for the filters (default window: the last 30 days). */
  async auditUploads(filters: Record<string, string>): Promise<AuditUploadView[]> {
    const now = new Date();
    const items: AuditUploadView[] = [];
    for await (const page of this.client.auditUploads({
      from: filters.from ?? new Date(now.getTime() - 30 * 24 * 3600 * 1000).toISOString(),
      to: filters.to ?? now.toISOString(),
      ...(filters.status ? { status: filters.status as UploadStatus } : {}),
      ...(filters.owner ? { owner: filters.owner } : {}),
      limit: 100,
    })) {
      items.push(...page.items);
    }
    return items;
  }
}

/** The token's groups, for showing the auditor view (the API enforces access, not this). */
function groupsOf(token: string): string[] {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as Record<
      string,
      unknown
    >;
    const groups = payload['cognito:groups'];
    return Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [];
  } catch {
    return [];
  }
}
