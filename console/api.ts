/**
 * The console's view of the API. JSON calls go through the API's contract; the file bytes go
 * straight to S3 with XMLHttpRequest, because only XHR reports upload progress in browsers
 * (fetch cannot stream a request body over HTTP/1.1).
 */
export interface UploadView {
  uploadId: string;
  status: string;
  fileName: string;
  contentType: string;
  size: number;
  sha256?: string;
  createdAt: string;
  updatedAt: string;
  reasons?: Array<{ code: string; message: string }>;
  download?: { url: string; expiresAt: string };
}

export interface AuditEvent {
  at: string;
  actor: { type: string; id: string };
  action: string;
  from: string | null;
  to: string | null;
  reasons: Array<{ code: string; message: string }>;
  versionId?: string;
}

export interface Grant {
  method: 'POST' | 'PUT';
  url: string;
  fields?: Record<string, string>;
  headers?: Record<string, string>;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ConsoleApi {
  private readonly etags = new Map<string, { etag: string; view: UploadView }>();
  readonly isAuditor: boolean;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {
    this.isAuditor = groupsOf(token).includes('auditors');
  }

  /** Signs in only with a token the API accepts. */
  static async check(baseUrl: string, token: string): Promise<void> {
    await new ConsoleApi(baseUrl, token).json('/uploads?limit=1');
  }

  createUpload(request: { fileName: string; contentType: string; size: number }) {
    return this.json<{ uploadId: string; upload: Grant }>('/uploads', {
      method: 'POST',
      body: JSON.stringify({ ...request, method: 'PUT' }),
    });
  }

  /** Sends the file with the grant's method, reporting bytes sent. */
  sendBytes(grant: Grant, file: Blob, onProgress: (sent: number, total: number) => void): Promise<void> {
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
          reject(new ApiError(xhr.status, code, `Storage refused the upload (${xhr.status} ${code}).`));
        }
      });
      xhr.addEventListener('error', () =>
        reject(new ApiError(0, 'NETWORK_ERROR', 'The upload could not reach storage.')),
      );
      if (grant.method === 'PUT') {
        for (const [name, value] of Object.entries(grant.headers ?? {})) {
          if (name.toLowerCase() !== 'content-length') xhr.setRequestHeader(name, value);
        }
        xhr.send(file);
      } else {
        const form = new FormData();
        for (const [name, value] of Object.entries(grant.fields ?? {})) form.append(name, value);
        form.append('file', file);
        xhr.send(form);
      }
    });
  }

  /** ETag-aware: a 304 returns the cached view. */
  async getUpload(uploadId: string): Promise<{ view: UploadView; retryAfterSeconds?: number }> {
    const cached = this.etags.get(uploadId);
    const response = await this.request(`/uploads/${encodeURIComponent(uploadId)}`, {
      headers: cached ? { 'if-none-match': cached.etag } : {},
    });
    const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
    const retry = Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {};
    if (response.status === 304 && cached) return { view: cached.view, ...retry };
    const view = (await this.parse(response)) as UploadView;
    const etag = response.headers.get('etag');
    if (etag) this.etags.set(uploadId, { etag, view });
    return { view, ...retry };
  }

  async getEvents(uploadId: string): Promise<AuditEvent[]> {
    return (await this.json<{ events: AuditEvent[] }>(`/uploads/${encodeURIComponent(uploadId)}/events`))
      .events;
  }

  /** Every page of GET /audit/uploads for the filters. */
  async auditUploads(filters: Record<string, string>): Promise<Array<UploadView & { owner: string }>> {
    const items: Array<UploadView & { owner: string }> = [];
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({ ...filters, limit: '100', ...(cursor ? { cursor } : {}) });
      const page = await this.json<{ items: Array<UploadView & { owner: string }>; cursor?: string }>(
        `/audit/uploads?${query.toString()}`,
      );
      items.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    return items;
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await this.parse(await this.request(path, init))) as T;
  }

  private request(path: string, init: RequestInit): Promise<Response> {
    return fetch(`${this.baseUrl}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
  }

  private async parse(response: Response): Promise<unknown> {
    const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
    if (!response.ok) {
      throw new ApiError(
        response.status,
        body.error?.code ?? 'HTTP_ERROR',
        body.error?.message ?? `HTTP ${response.status}`,
      );
    }
    return body;
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
