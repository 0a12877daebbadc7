import {
  AirlockClient,
  S3UploadError,
  SourceSizeError,
  multipartParts,
  type UploadGrant,
  type UploadProgress,
} from '../../../client/index.js';
import { apiError, chunkedSource, concat, fakeFetch, json } from './fake-fetch.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const postGrant: UploadGrant = {
  method: 'POST',
  url: 'http://s3.test/bucket',
  fields: {
    key: 'quarantine/01JUPLOAD',
    'Content-Type': 'application/pdf',
    'x-amz-meta-upload-id': '01JUPLOAD',
    Policy: 'eyJwb2xpY3kiOnRydWV9',
    'X-Amz-Signature': 'abc123',
  },
  expiresAt: '2025-01-01T00:15:00.000Z',
};

const putGrant: UploadGrant = {
  method: 'PUT',
  url: 'http://s3.test/bucket/quarantine/01JUPLOAD?X-Amz-Signature=abc',
  headers: {
    'content-type': 'application/pdf',
    'content-length': '11',
    'x-amz-meta-upload-id': '01JUPLOAD',
    'if-none-match': '*',
  },
  expiresAt: '2025-01-01T00:15:00.000Z',
};

const fileChunks = [encoder.encode('%PDF'), encoder.encode('-1.4\n'), encoder.encode('xy')];
const fileBytes = concat(fileChunks);

function client(answers: Parameters<typeof fakeFetch>[0]) {
  const fake = fakeFetch(answers);
  return {
    client: new AirlockClient({ baseUrl: 'http://api.test', token: 't', fetch: fake.fetch }),
    ...fake,
  };
}

describe('uploadFile via POST: a multipart body built as a stream', () => {
  it('sends every field in order, then the file part, byte for byte, with an exact Content-Length', async () => {
    // Arrange
    const { client: airlock, requests } = client([new Response(null, { status: 204 })]);
    // Act
    const result = await airlock.uploadFile(postGrant, chunkedSource(fileChunks), { fileName: 'report.pdf' });
    // Assert
    const sent = requests[0]!;
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(
      sent.headers.get('content-type') ?? '',
    )?.[1];
    expect(boundary).toMatch(/^----AirlockFormBoundary[0-9a-f]{32}$/);
    const field = (name: string, value: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const expected =
      field('key', 'quarantine/01JUPLOAD') +
      field('Content-Type', 'application/pdf') +
      field('x-amz-meta-upload-id', '01JUPLOAD') +
      field('Policy', 'eyJwb2xpY3kiOnRydWV9') +
      field('X-Amz-Signature', 'abc123') +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="report.pdf"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n%PDF-1.4\nxy' +
      `\r\n--${boundary}--\r\n`;
    expect(decoder.decode(sent.body)).toBe(expected);
    expect(sent.headers.get('content-length')).toBe(String(sent.body!.byteLength));
    expect(sent.method).toBe('POST');
    expect(sent.url).toBe('http://s3.test/bucket');
    expect(sent.init.duplex).toBe('half');
    expect(sent.headers.has('authorization')).toBe(false); // the API token never goes to S3
    expect(result).toEqual({ status: 204 });
  });

  it('is a body a standard multipart parser reads back to the same fields and file', async () => {
    // Arrange
    const { client: airlock, requests } = client([new Response(null, { status: 204 })]);
    // Act
    await airlock.uploadFile(postGrant, chunkedSource(fileChunks), { fileName: 'we"ird\r\nname.pdf' });
    // Assert
    const sent = requests[0]!;
    const form = await new Response(sent.body, {
      headers: { 'content-type': sent.headers.get('content-type')! },
    }).formData();
    expect([...form.keys()]).toEqual([...Object.keys(postGrant.fields), 'file']);
    const file = form.get('file') as File;
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(fileBytes);
    expect(form.get('Policy')).toBe('eyJwb2xpY3kiOnRydWV9');
  });

  it('reports byte progress as the file is pulled, ending at the total', async () => {
    // Arrange
    const { client: airlock } = client([new Response(null, { status: 204 })]);
    const progress: UploadProgress[] = [];
    // Act
    await airlock.uploadFile(postGrant, chunkedSource(fileChunks), { onProgress: (p) => progress.push(p) });
    // Assert
    expect(progress).toEqual([
      { loaded: 0, total: 11 },
      { loaded: 4, total: 11 },
      { loaded: 9, total: 11 },
      { loaded: 11, total: 11 },
    ]);
  });

  it('multipartParts sizes add up to the Content-Length the client sends', () => {
    // Arrange
    const fields = { key: 'k', 'Content-Type': 'text/plain; charset=utf-8', note: 'grüße 🎉' };
    // Act
    const parts = multipartParts(fields, 'ünïcode.txt', 'BOUNDARY');
    // Assert
    const head = decoder.decode(parts.head);
    expect(head).toContain('name="note"\r\n\r\ngrüße 🎉\r\n');
    expect(parts.head.byteLength).toBe(Buffer.byteLength(head, 'utf8'));
    expect(decoder.decode(parts.tail)).toBe('\r\n--BOUNDARY--\r\n');
  });

  it('with streaming: false sends a Blob body of the same bytes (for browsers)', async () => {
    // Arrange
    const { client: airlock, requests } = client([new Response(null, { status: 204 })]);
    const progress: UploadProgress[] = [];
    // Act
    await airlock.uploadFile(postGrant, new Blob([fileBytes]), {
      streaming: false,
      onProgress: (p) => progress.push(p),
    });
    // Assert
    const sent = requests[0]!;
    expect(sent.init.body).toBeInstanceOf(Blob);
    expect(sent.headers.has('content-length')).toBe(false);
    expect(decoder.decode(sent.body)).toContain('\r\n\r\n%PDF-1.4\nxy\r\n--');
    expect(progress).toEqual([
      { loaded: 0, total: 11 },
      { loaded: 11, total: 11 },
    ]);
  });
});

describe('uploadFile in a browser', () => {
  afterEach(() => {
    Reflect.deleteProperty(globalThis, 'document');
  });

  it('sends a Blob source as a Blob by default (S3 speaks HTTP/1.1, where browsers cannot stream)', async () => {
    // Arrange
    Object.defineProperty(globalThis, 'document', { value: {}, configurable: true });
    const { client: airlock, requests } = client([new Response(null, { status: 200 })]);
    // Act
    await airlock.uploadFile(putGrant, new Blob([fileBytes]));
    // Assert
    const sent = requests[0]!;
    expect(sent.init.body).toBeInstanceOf(Blob);
    expect(sent.init.duplex).toBeUndefined();
    expect(sent.headers.has('content-length')).toBe(false); // browsers set it themselves
    expect(sent.body).toEqual(fileBytes);
  });
});

describe('uploadFile via PUT', () => {
  it('streams the bytes with exactly the signed headers and a Content-Length, reporting progress', async () => {
    // Arrange
    const { client: airlock, requests } = client([
      new Response(null, { status: 200, headers: { etag: '"md5"', 'x-amz-version-id': 'v1' } }),
    ]);
    const progress: number[] = [];
    // Act
    const result = await airlock.uploadFile(putGrant, chunkedSource(fileChunks), {
      onProgress: (p) => progress.push(p.loaded),
    });
    // Assert
    const sent = requests[0]!;
    expect(sent.method).toBe('PUT');
    expect(sent.url).toBe(putGrant.url);
    expect(Object.fromEntries(sent.headers)).toEqual(putGrant.headers);
    expect(sent.body).toEqual(fileBytes);
    expect(sent.init.duplex).toBe('half');
    expect(progress).toEqual([0, 4, 9, 11]);
    expect(result).toEqual({ status: 200, etag: '"md5"', versionId: 'v1' });
  });

  it('fails with SourceSizeError when the source yields more bytes than its size', async () => {
    // Arrange
    const { client: airlock } = client([new Response(null, { status: 200 })]);
    // Act
    const error = await airlock.uploadFile(putGrant, chunkedSource(fileChunks, 5)).catch((e: unknown) => e);
    // Assert
    expect(error).toBeInstanceOf(SourceSizeError);
    expect(error).toMatchObject({ expected: 5 });
  });

  it('fails with SourceSizeError when the source yields fewer bytes than its size', async () => {
    // Arrange
    const { client: airlock } = client([new Response(null, { status: 200 })]);
    // Act
    const error = await airlock.uploadFile(putGrant, chunkedSource(fileChunks, 20)).catch((e: unknown) => e);
    // Assert
    expect(error).toMatchObject({ name: 'SourceSizeError', expected: 20, actual: 11 });
  });
});

describe('S3 refusals', () => {
  it.each([
    [400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size'],
    [403, 'AccessDenied', 'Invalid according to Policy: Policy Condition failed'],
    [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match'],
  ])('%d %s becomes S3UploadError with the XML <Code>', async (status, code, message) => {
    // Arrange
    const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>req-1</RequestId></Error>`;
    const { client: airlock } = client([
      new Response(xml, { status, headers: { 'content-type': 'application/xml' } }),
    ]);
    // Act
    const error = await airlock.uploadFile(postGrant, chunkedSource(fileChunks)).catch((e: unknown) => e);
    // Assert
    expect(error).toBeInstanceOf(S3UploadError);
    expect(error).toMatchObject({ name: 'S3UploadError', status, code, requestId: 'req-1' });
    expect((error as Error).message).toBe(`S3 refused the upload: ${status} ${code} (${message})`);
  });

  it('a refusal without an XML body gets HTTP_<status>', async () => {
    // Arrange
    const { client: airlock } = client([new Response('', { status: 403 })]);
    // Act
    const error = await airlock.uploadFile(putGrant, chunkedSource(fileChunks)).catch((e: unknown) => e);
    // Assert
    expect(error).toMatchObject({ status: 403, code: 'HTTP_403' });
  });
});

describe('upload: createUpload then uploadFile', () => {
  it('declares the source size and sends the bytes with the returned grant', async () => {
    // Arrange
    const created = { uploadId: '01JUPLOAD', status: 'PENDING_UPLOAD', upload: putGrant, statusUrl: 's' };
    const { client: airlock, requests } = client([json(201, created), new Response(null, { status: 200 })]);
    // Act
    const result = await airlock.upload(chunkedSource(fileChunks), {
      fileName: 'report.pdf',
      contentType: 'application/pdf',
      method: 'PUT',
    });
    // Assert
    expect(result).toEqual(created);
    expect(JSON.parse(decoder.decode(requests[0]!.body))).toEqual({
      fileName: 'report.pdf',
      contentType: 'application/pdf',
      method: 'PUT',
      size: 11,
    });
    expect(requests[0]!.headers.get('idempotency-key')).toMatch(/^[0-9a-f]{32}$/);
    expect(requests[1]!.body).toEqual(fileBytes);
  });

  it('sends no bytes when the API refuses the declaration', async () => {
    // Arrange
    const { client: airlock, requests } = client([apiError(415, 'UNSUPPORTED_MEDIA_TYPE')]);
    // Act
    const error = await airlock
      .upload(chunkedSource(fileChunks), { fileName: 'a.exe', contentType: 'application/x-msdownload' })
      .catch((e: unknown) => e);
    // Assert
    expect(error).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(requests).toHaveLength(1);
  });
});
