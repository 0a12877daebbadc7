import type { Clock } from '../../../client/index.js';

/** A scripted fetch for client tests: answers in order and records every request with its body. */

export interface RecordedRequest {
  url: string;
  method: string;
  headers: Headers;
  /** The body as sent (streams read to the end), or undefined. */
  body: Uint8Array | undefined;
  init: RequestInit;
}

type Answer = Response | Error | ((request: RecordedRequest) => Response | Error);

export function fakeFetch(answers: Answer[]): { fetch: typeof fetch; requests: RecordedRequest[] } {
  const requests: RecordedRequest[] = [];
  const queue = [...answers];
  const fetchImpl = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = await readBody(init.body);
    const request: RecordedRequest = {
      url: input instanceof Request ? input.url : input.toString(),
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
      body,
      init,
    };
    requests.push(request);
    const next = queue.shift();
    if (next === undefined) throw new Error(`unexpected request: ${request.method} ${request.url}`);
    const answer = typeof next === 'function' ? next(request) : next;
    // Anything but a Response is thrown (DOMException may come from another realm under jest).
    if (!(answer instanceof Response)) throw answer;
    return answer;
  };
  return { fetch: fetchImpl, requests };
}

async function readBody(body: RequestInit['body']): Promise<Uint8Array | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Blob) return new Uint8Array(await body.arrayBuffer());
  if (body instanceof ReadableStream) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of body as ReadableStream<Uint8Array>) chunks.push(chunk);
    return concat(chunks);
  }
  throw new Error(`fake fetch cannot read a ${typeof body} body`);
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

export const apiError = (
  status: number,
  code: string,
  message = 'nope',
  details?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Response => json(status, { error: { code, message, ...(details ? { details } : {}) } }, headers);

/** A clock whose sleeps only advance its own time, and are recorded. */
export function fakeClock(start = 1_000_000): Clock & { sleeps: number[]; time: number } {
  const clock = {
    time: start,
    sleeps: [] as number[],
    now: () => clock.time,
    sleep: (ms: number) => {
      clock.sleeps.push(ms);
      clock.time += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

/** An upload source yielding the given chunks (so streaming and counting can be observed). */
export function chunkedSource(chunks: readonly Uint8Array[], declaredSize?: number) {
  return {
    size: declaredSize ?? chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0),
    stream: () => {
      const queue = [...chunks];
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = queue.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(next);
        },
      });
    },
  };
}

export const view = (status: string, extra: Record<string, unknown> = {}) => ({
  uploadId: '01JUPLOAD',
  status,
  fileName: 'report.pdf',
  contentType: 'application/pdf',
  size: 10,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:01.000Z',
  ...extra,
});
