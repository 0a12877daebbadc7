import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerImage, Duration, RemovalPolicy, Stack, Token, type CfnResource } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { buildSync } from 'esbuild';
import { CONSOLE_BUILD_OPTIONS, CONSOLE_DIR, CONSOLE_STATIC_FILES } from '../console/build-options.js';
import {
  CONSOLE_RESPONSE_HEADERS,
  consoleDocumentCsp,
  HSTS_MAX_AGE_SECONDS,
  withDocumentCsp,
  type ConsoleOrigins,
} from '../console/security-headers.js';
import { Construct, type IConstruct } from 'constructs';
import { acknowledge } from './nag-packs.js';

export interface ConsoleHostingProps {
  /**
   * Bucket that receives CloudFront's standard logs (it must allow ACL-based log delivery).
   */
  readonly logBucket: s3.IBucket;
  /**
   * What happens to the console bucket when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * ARN of an AWS WAF web ACL (scope CLOUDFRONT, in us-east-1) to put in front of the console.
   * @default no web ACL
   */
  readonly webAclArn?: string;
}

/**
 * The web console on AWS: static files in a private bucket (no public access, TLS only), served
 * only through CloudFront with Origin Access Control, HTTPS only, with strict security headers
 * and a CSP that lets the page connect to nothing but its API, its bucket's upload endpoint and
 * its sign-in token endpoint, each by exact origin (console/security-headers.ts, the same function
 * the local runtime uses). The console carries no secret: `config.json`, written at deploy time,
 * names only the API URL and the hosted UI.
 */
export class ConsoleHosting extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: ConsoleHostingProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: props.logBucket,
      serverAccessLogsPrefix: 'console-bucket/',
      removalPolicy,
    });
    acknowledge(
      this.bucket,
      'NIST.800.53.R5-S3BucketReplicationEnabled',
      "Holds only the console's static files, which every deployment uploads again from the repository: a replica would hold nothing a redeploy does not restore.",
    );
    acknowledge(
      this.bucket,
      'NIST.800.53.R5-S3DefaultEncryptionKMS',
      "Holds only the console's static files, which CloudFront serves to any visitor: nothing in it is secret, and SSE-KMS would need CloudFront granted the use of a key for no gain.",
    );
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Airlock console: strict security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          // The directives that name no other party; index.html adds connect-src (deploy()).
          contentSecurityPolicy: CONSOLE_RESPONSE_HEADERS['content-security-policy'] ?? '',
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.seconds(HSTS_MAX_AGE_SECONDS),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Airlock web console',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: 'console-cloudfront/',
      ...(props.webAclArn ? { webAclId: props.webAclArn } : {}),
    });
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR1',
      'The console is a static page for authenticated users; geography is not a control this product decides for its deployers.',
    );
    if (!props.webAclArn) {
      acknowledge(
        this.distribution,
        'AwsSolutions-CFR2',
        'WAF is optional (webAclArn): the console is static and every API call needs a JWT; deployers with a web ACL pass it in.',
      );
    }
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR4',
      'With the default *.cloudfront.net certificate CloudFront cannot pin TLSv1.2 (its policy is fixed); a custom domain with its own certificate can.',
    );
  }

  /**
   * Deploys the console files plus config.json naming the API, and index.html carrying the
   * document's CSP with the exact origins the console talks to (both resolved at deploy time).
   */
  deploy(
    apiUrl: string,
    origins: ConsoleOrigins,
    hostedUi?: { authorizeUrl: string; tokenUrl: string; clientId: string },
  ): void {
    const indexHtml = withDocumentCsp(
      readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8'),
      consoleDocumentCsp(origins),
    );
    const deployment = new s3deploy.BucketDeployment(this, 'Files', {
      destinationBucket: this.bucket,
      distribution: this.distribution,
      sources: [
        s3deploy.Source.asset(CONSOLE_DIR, {
          bundling: {
            image: DockerImage.fromRegistry('none'), // never used: the local bundler below always runs
            local: {
              tryBundle(outputDir: string): boolean {
                const result = buildSync(CONSOLE_BUILD_OPTIONS);
                writeFileSync(join(outputDir, 'app.js'), result.outputFiles[0]?.text ?? '');
                for (const file of CONSOLE_STATIC_FILES) {
                  if (file !== 'index.html') copyFileSync(join(CONSOLE_DIR, file), join(outputDir, file));
                }
                return true;
              },
            },
          },
        }),
        s3deploy.Source.data('index.html', indexHtml),
        s3deploy.Source.jsonData('config.json', {
          apiUrl,
          ...(hostedUi
            ? {
                auth: {
                  type: 'oauth',
                  ...hostedUi,
                  redirectUri: `https://${this.distribution.distributionDomainName}/`,
                  scope: 'openid email',
                },
              }
            : {}),
        }),
      ],
      prune: true,
    });
    acknowledgeDeploymentHandler(Stack.of(this), deployment, this.bucket);
  }
}

/** CDK's BucketDeployment runs a CDK-owned Lambda (custom resource); its findings are CDK's. */
function acknowledgeDeploymentHandler(stack: Stack, _deployment: IConstruct, bucket: s3.Bucket): void {
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  const bucketArn = `<${stack.getLogicalId(bucket.node.defaultChild as CfnResource)}.Arn>`;
  const scoped =
    "CDK's own BucketDeployment handler copies the console files from the CDK asset bucket into the console bucket; its grants are CDK's, scoped to those two buckets.";
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
    for (const finding of [
      'Action::s3:Abort*',
      'Action::s3:DeleteObject*',
      'Action::s3:GetBucket*',
      'Action::s3:GetObject*',
      'Action::s3:List*',
      `Resource::${bucketArn}/*`,
      `Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${account}-${region}/*`,
    ]) {
      acknowledge(child, `AwsSolutions-IAM5[${finding}]`, scoped);
    }
    acknowledge(
      child,
      'AwsSolutions-IAM5[Resource::*]',
      'CloudFront CreateInvalidation for the console distribution; the action supports no resource-level permissions in this CDK handler.',
    );
    acknowledge(
      child,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "CDK's own BucketDeployment handler; it only writes its logs with this policy.",
    );
    for (const rule of ['AwsSolutions-L1', 'Serverless-LambdaLatestVersion']) {
      acknowledge(child, rule, "CDK's own BucketDeployment handler; its runtime is chosen by aws-cdk-lib.");
    }
    const notReplayable =
      "CDK's own BucketDeployment handler, invoked by CloudFormation during a deployment: it reports a failure to CloudFormation, which fails and rolls back the deployment, so a queued copy of the request could never be replayed.";
    acknowledge(child, 'Serverless-LambdaDLQ', notReplayable);
    acknowledge(child, 'NIST.800.53.R5-LambdaDLQ', notReplayable);
    acknowledge(
      child,
      'Serverless-LambdaTracing',
      "CDK's own BucketDeployment handler: it runs only while a deployment updates the console, never on a request path, and its role (made by aws-cdk-lib) has no X-Ray grants.",
    );
    acknowledge(
      child,
      'NIST.800.53.R5-LambdaConcurrency',
      "CDK's own BucketDeployment handler runs once per deployment that changes the console; reserving concurrency for it would take capacity from the account for nothing.",
    );
    acknowledge(
      child,
      'NIST.800.53.R5-LambdaInsideVPC',
      "CDK's own BucketDeployment handler copies files from the CDK asset bucket to the console bucket and invalidates CloudFront, through their public endpoints with IAM; it has no private resource to reach.",
    );
    const role = child.node.tryFindChild('ServiceRole');
    acknowledge(
      role?.node.tryFindChild('DefaultPolicy') ?? role ?? child,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      "CDK's own BucketDeployment handler: its inline policy, scoped to the CDK asset bucket, the console bucket and the distribution, is attached to that handler's role alone.",
    );
  }
}
