import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Template } from 'aws-cdk-lib/assertions';
import { ENV, synthAirlock, type Synthesized } from './support/synth.js';
import { onlyResource } from './support/template.js';

/**
 * The console's CSP against what the deployed console really talks to. Nothing expected is typed
 * in: the API URL and the token URL are read from the config.json the deployment writes, the
 * upload and download hosts are what the AWS SDK presigns for the deployed bucket, and the CSP
 * is read from the response headers policy and the index.html the deployment writes. Every
 * CloudFormation value is resolved as CloudFormation documents it (Ref, GetAtt, Join).
 */

/** Sample physical values, as a deployment would give them. */
const PHYSICAL: Record<string, string> = {
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::Region': ENV.region,
  'AWS::AccountId': ENV.account,
  'AWS::Partition': 'aws',
};
const sampleName = (logicalId: string) => `airlock-${logicalId.toLowerCase().slice(0, 40)}`;

/** Resolves a CloudFormation value of this template to the string a deployment would produce. */
function resolve(template: Template, value: unknown): string {
  if (typeof value === 'string') return value;
  const expression = value as Record<string, unknown>;
  if ('Ref' in expression) {
    const name = String(expression.Ref);
    return PHYSICAL[name] ?? sampleName(name);
  }
  if ('Fn::GetAtt' in expression) {
    const [logicalId, attribute] = expression['Fn::GetAtt'] as [string, string];
    const resource = template.toJSON().Resources[logicalId] as { Type: string };
    if (resource.Type === 'AWS::S3::Bucket' && attribute === 'RegionalDomainName') {
      return `${sampleName(logicalId)}.s3.${ENV.region}.amazonaws.com`; // as CloudFormation documents it
    }
    if (resource.Type === 'AWS::CloudFront::Distribution' && attribute === 'DomainName') {
      return 'd111111abcdef8.cloudfront.net';
    }
    throw new Error(`No sample value for ${logicalId}.${attribute}`);
  }
  if ('Fn::Join' in expression) {
    const [separator, parts] = expression['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolve(template, part)).join(separator);
  }
  throw new Error(`Cannot resolve ${JSON.stringify(value)}`);
}

interface DeployedConsole {
  headerCsp: string;
  documentCsp: string;
  /** index.html's first element in <head>. */
  firstHeadElement: string;
  config: { apiUrl: string; auth?: { tokenUrl: string; authorizeUrl: string } };
  uploadsBucket: string;
}

/** The files the console's BucketDeployment writes, with their deploy-time values resolved. */
function deployedConsole({ template, app }: Synthesized): DeployedConsole {
  const [, deployment] = onlyResource(template, 'Custom::CDKBucketDeployment');
  const props = deployment.Properties as {
    SourceObjectKeys: string[];
    SourceMarkers: Array<Record<string, unknown>>;
  };
  const files = new Map<string, string>();
  props.SourceObjectKeys.forEach((key, index) => {
    const dir = join(app.outdir, `asset.${key.replace(/\.zip$/, '')}`);
    if (!existsSync(dir)) return; // the bundled app.js: bundling is skipped in these tests
    for (const name of readdirSync(dir)) {
      let text = readFileSync(join(dir, name), 'utf8');
      for (const [marker, value] of Object.entries(props.SourceMarkers[index] ?? {})) {
        text = text.split(marker).join(resolve(template, value));
      }
      files.set(name, text);
    }
  });
  const [, headersPolicy] = onlyResource(template, 'AWS::CloudFront::ResponseHeadersPolicy');
  const headerCsp = (
    headersPolicy.Properties as {
      ResponseHeadersPolicyConfig: {
        SecurityHeadersConfig: { ContentSecurityPolicy: { ContentSecurityPolicy: unknown } };
      };
    }
  ).ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy;
  const html = files.get('index.html') ?? '';
  const head = /<head>\s*(<[^>]+>)/i.exec(html);
  const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)"/i.exec(html);
  const bucketIds = Object.keys(template.findResources('AWS::S3::Bucket')).filter((id) =>
    id.startsWith('PipelineUploadsBucket'),
  );
  return {
    headerCsp: resolve(template, headerCsp),
    documentCsp: meta?.[1] ?? '',
    firstHeadElement: head?.[1] ?? '',
    config: JSON.parse(files.get('config.json') ?? '{}') as DeployedConsole['config'],
    uploadsBucket: sampleName(bucketIds[0] ?? 'missing'),
  };
}

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name ?? '', sources]),
  );
}

/** The origins the AWS SDK presigns uploads and downloads to, for this bucket and region. */
async function presignedOrigins(bucket: string): Promise<{ upload: string; download: string }> {
  const s3 = new S3Client({
    region: ENV.region,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
  });
  const post = await createPresignedPost(s3, {
    Bucket: bucket,
    Key: 'quarantine/01J0000000000000000000000',
    Expires: 60,
  });
  const get = await getSignedUrl(
    s3,
    new GetObjectCommand({ Bucket: bucket, Key: 'clean/01J0000000000000000000000' }),
  );
  return { upload: new URL(post.url).origin, download: new URL(get).origin };
}

describe('the console under its deployed CSP', () => {
  const withHostedUi = deployedConsole(synthAirlock());
  const withExternalIssuer = deployedConsole(
    synthAirlock({ jwtIssuer: { issuerUrl: 'https://issuer.example.com', audience: ['airlock'] } }),
  );

  test('the document CSP connects to exactly the API, the upload endpoint and the token endpoint', async () => {
    // Arrange
    const { config, documentCsp, uploadsBucket } = withHostedUi;
    const { upload, download } = await presignedOrigins(uploadsBucket);
    // Act
    const connect = directives(documentCsp).get('connect-src') ?? [];
    // Assert
    const needed = [new URL(config.apiUrl).origin, upload, new URL(config.auth?.tokenUrl ?? 'x:').origin];
    expect(new Set(connect)).toEqual(new Set(["'self'", ...needed]));
    expect(download).toBe(upload); // downloads are navigations, and the same host besides
    expect(directives(documentCsp).get('default-src')).toEqual(["'self'"]);
  });

  test('without a hosted UI, no identity provider may be reached', async () => {
    const { config, documentCsp, uploadsBucket } = withExternalIssuer;
    const { upload } = await presignedOrigins(uploadsBucket);
    expect(config.auth).toBeUndefined();
    expect(new Set(directives(documentCsp).get('connect-src'))).toEqual(
      new Set(["'self'", new URL(config.apiUrl).origin, upload]),
    );
  });

  test('no source anywhere is a wildcard or broader than one origin', () => {
    for (const csp of [withHostedUi.documentCsp, withHostedUi.headerCsp, withExternalIssuer.documentCsp]) {
      for (const [, sources] of directives(csp)) {
        for (const source of sources) {
          expect(source).not.toMatch(/\*/);
          if (!source.startsWith("'") && source !== 'data:') expect(new URL(source).origin).toBe(source);
        }
      }
    }
  });

  test('the header names no other party and forbids framing; the document policy comes first in <head>', () => {
    const header = directives(withHostedUi.headerCsp);
    expect(header.get('frame-ancestors')).toEqual(["'none'"]);
    expect(header.has('connect-src')).toBe(false);
    expect(header.has('default-src')).toBe(false);
    for (const sources of header.values()) {
      for (const source of sources) expect(["'self'", "'none'", 'data:']).toContain(source);
    }
    expect(withHostedUi.firstHeadElement).toMatch(/^<meta http-equiv="Content-Security-Policy"/);
    // Every directive of the header is also in the document policy, except what only a header can carry.
    const document = directives(withHostedUi.documentCsp);
    for (const [name, sources] of header)
      if (name !== 'frame-ancestors') expect(document.get(name)).toEqual(sources);
  });
});
