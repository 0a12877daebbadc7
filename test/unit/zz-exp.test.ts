import { S3Client } from '@aws-sdk/client-s3';
import { Presigner } from '../../functions/adapters/presigner.js';
import { postGrant, putGrant } from '../../functions/domain/upload-grant.js';
import { contentDisposition, sanitizeFileName } from '../../functions/domain/file-name.js';
import { parseCreateUploadRequest } from '../../functions/domain/upload-request.js';
it('x', async () => {
  const c = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, requestChecksumCalculation: 'WHEN_REQUIRED' });
  const p = new Presigner('airlock-bucket', c);
  const sha = 'a'.repeat(64);
  const post = await p.signPost(postGrant({ uploadId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', contentType: 'application/pdf', size: 10, sha256: sha, ttlSeconds: 3600 }));
  console.log(post.url, post.fields, Buffer.from(post.fields.Policy!, 'base64').toString());
  console.log(await p.signPut(putGrant({ uploadId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', contentType: 'application/pdf', size: 10, sha256: sha, ttlSeconds: 3600 })));
  console.log(await p.signPut(putGrant({ uploadId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', contentType: 'application/pdf', size: 10, ttlSeconds: 3600 })));
  console.log(await p.signDownload({ key: 'clean/x', contentType: 'application/pdf', contentDisposition: contentDisposition('a b".pdf'), ttlSeconds: 3600 }));
  const s = sanitizeFileName('\uD800x.txt');
  console.log(JSON.stringify(s));
  try { console.log(contentDisposition(s)); } catch (e) { console.log('THROWS', e); }
  console.log(contentDisposition(sanitizeFileName('‥／‥／etc／passwd')));
  for (const b of [{fileName:'a',contentType:'text/plain',size:1,bucket:'x'}, {fileName:1}, {fileName:'a',contentType:'text/plain',size:1,method:'GET'}, null]) {
    try { parseCreateUploadRequest(b); } catch (e: any) { console.log(JSON.stringify(e.details)); }
  }
});
