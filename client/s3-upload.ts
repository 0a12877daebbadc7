import { S3UploadError, SourceSizeError } from './errors.js';
import { networkError } from './transport.js';
import type { UploadFileOptions, UploadGrant, UploadProgress, UploadResult, UploadSource } from './types.js';

/**
 * Sends a file's bytes straight to S3 with a grant from `POST /uploads`: a multipart/form-data
 * POST (every field, then `file`) or a PUT with the signed headers, counting bytes as they go.
 */

export async function uploadFile(
  fetchImpl: typeof fetch,
  grant: UploadGrant,
  source: UploadSource,
  options: UploadFileOptions = {},
): Promise<UploadResult> {
  const streaming = options.streaming ?? !(isBlob(source) && inBrowser());
  const blob = isBlob(source) ? source : undefined;
  if (!streaming && blob === undefined) {
    throw new TypeError('uploadFile with streaming: false needs a Blob (or File) source.');
  }
  const total = source.size;
  const report = options.onProgress;
  const counter: ByteCounter = { loaded: 0, sizeError: undefined };
  report?.({ loaded: 0, total });

  let body: NonNullable<RequestInit['body']>;
  const headers = new Headers();
  if (grant.method === 'PUT') {
    for (const [name, value] of Object.entries(grant.headers)) headers.set(name, value);
    if (streaming || blob === undefined) {
      headers.set('content-length', String(total));
      body = countingStream(source, counter, report);
    } else {
      headers.delete('content-length'); // the browser sets it, and refuses it being set
      body = blob;
    }
  } else {
    const multipart = multipartParts(grant.fields, options.fileName ?? 'file');
    headers.set('content-type', `multipart/form-data; boundary=${multipart.boundary}`);
    if (streaming || blob === undefined) {
      headers.set('content-length', String(multipart.head.byteLength + total + multipart.tail.byteLength));
      body = concatStreams(multipart.head, countingStream(source, counter, report), multipart.tail);
    } else {
      body = new Blob([multipart.head.slice(), blob, multipart.tail.slice()]);
    }
  }

  let response: Response;
  try {
    response = await fetchImpl(grant.url, {
      method: grant.method,
      headers,
      body,
      ...(streaming ? { duplex: 'half' as const } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (counter.sizeError) throw counter.sizeError;
    throw networkError(error, grant.url, options.signal);
  }
  if (!response.ok) throw await s3Error(response);
  await response.body?.cancel();
  if (!streaming) report?.({ loaded: total, total });
  const etag = response.headers.get('etag') ?? undefined;
  const versionId = response.headers.get('x-amz-version-id') ?? undefined;
  return {
    status: response.status,
    ...(etag !== undefined ? { etag } : {}),
    ...(versionId !== undefined ? { versionId } : {}),
  };
}

const isBlob = (value: unknown): value is Blob => typeof Blob !== 'undefined' && value instanceof Blob;

/** A browser page or worker (Node, Deno and Bun have neither global). */
const inBrowser = (): boolean => 'document' in globalThis || 'WorkerGlobalScope' in globalThis;

/** Maps S3's XML error (`<Error><Code>…</Code><Message>…</Message>`) to S3UploadError. */
async function s3Error(response: Response): Promise<S3UploadError> {
  const text = await response.text().catch(() => '');
  const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  const code = tag('Code') ?? `HTTP_${response.status}`;
  const detail = tag('Message');
  return new S3UploadError(
    response.status,
    code,
    `S3 refused the upload: ${response.status} ${code}${detail ? ` (${unescapeXml(detail)})` : ''}`,
    tag('RequestId'),
  );
}

const unescapeXml = (text: string): string =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

interface ByteCounter {
  loaded: number;
  sizeError: SourceSizeError | undefined;
}

/** Streams `source`, counting bytes as the consumer pulls them, and checking the total. */
function countingStream(
  source: UploadSource,
  counter: ByteCounter,
  report: ((progress: UploadProgress) => void) | undefined,
): ReadableStream<Uint8Array> {
  const total = source.size;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= source.stream().getReader();
        const { done, value } = await reader.read();
        if (done) {
          if (counter.loaded !== total) {
            counter.sizeError = new SourceSizeError(total, counter.loaded);
            controller.error(counter.sizeError);
          } else controller.close();
          return;
        }
        counter.loaded += value.byteLength;
        if (counter.loaded > total) {
          counter.sizeError = new SourceSizeError(total, counter.loaded);
          controller.error(counter.sizeError);
          await reader.cancel();
          return;
        }
        controller.enqueue(value);
        report?.({ loaded: counter.loaded, total });
      },
      async cancel(reason) {
        await reader?.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** `head`, then every chunk of `middle`, then `tail`. */
function concatStreams(
  head: Uint8Array,
  middle: ReadableStream<Uint8Array>,
  tail: Uint8Array,
): ReadableStream<Uint8Array> {
  let stage: 'head' | 'middle' | 'tail' = 'head';
  const reader = middle.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (stage === 'head') {
          stage = 'middle';
          if (head.byteLength > 0) {
            controller.enqueue(head);
            return;
          }
        }
        if (stage === 'middle') {
          const { done, value } = await reader.read();
          if (!done) {
            controller.enqueue(value);
            return;
          }
          stage = 'tail';
        }
        controller.enqueue(tail);
        controller.close();
      },
      async cancel(reason) {
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Quotes a multipart name as the HTML standard does: `"` → %22, CR → %0D, LF → %0A. */
const quoteName = (name: string): string =>
  name
    .replace(/\r\n?|\n/g, '\r\n')
    .replace(/"/g, '%22')
    .replace(/\r/g, '%0D')
    .replace(/\n/g, '%0A');

/**
 * The bytes before and after the file in a multipart/form-data body: every field (in order),
 * then the `file` part's headers; the tail closes the file part and the body.
 */
export function multipartParts(
  fields: Record<string, string>,
  fileName: string,
  boundary: string = newBoundary(),
): { boundary: string; head: Uint8Array; tail: Uint8Array } {
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quoteName(name)}"\r\n\r\n${value}\r\n`;
  }
  head +=
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoteName(fileName)}"\r\n` +
    'Content-Type: application/octet-stream\r\n\r\n';
  const encoder = new TextEncoder();
  return { boundary, head: encoder.encode(head), tail: encoder.encode(`\r\n--${boundary}--\r\n`) };
}

function newBoundary(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `----AirlockFormBoundary${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
