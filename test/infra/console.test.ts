import { Match } from 'aws-cdk-lib/assertions';
import { logicalIdOf, synthAirlock } from './support/synth.js';
import { onlyResource, resourcesOfType } from './support/template.js';

// Arrange (once): the default stack, and one with the console turned off.
const { stack, template } = synthAirlock();
const withoutConsole = synthAirlock({ console: { enabled: false } });
const consoleBucketId = logicalIdOf(stack.pipeline.console!.bucket);

describe('web console hosting (CloudFront + private S3)', () => {
  test('the console bucket blocks all public access and is TLS-only', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: consoleBucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('CloudFront reads the bucket through Origin Access Control only', () => {
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    const [, distribution] = onlyResource(template, 'AWS::CloudFront::Distribution');
    const config = distribution.Properties['DistributionConfig'] as {
      Origins: Array<Record<string, unknown>>;
    };
    expect(config.Origins).toEqual([
      expect.objectContaining({
        OriginAccessControlId: expect.anything(),
        S3OriginConfig: { OriginAccessIdentity: '' },
      }),
    ]);
  });

  test('viewers are redirected to HTTPS and only GET/HEAD are allowed', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({
          ViewerProtocolPolicy: 'redirect-to-https',
          AllowedMethods: ['GET', 'HEAD'],
        }),
      }),
    });
  });

  test('responses carry a strict CSP, HSTS, nosniff, DENY framing and no referrer', () => {
    const [, policy] = onlyResource(template, 'AWS::CloudFront::ResponseHeadersPolicy');
    const headers = (
      policy.Properties['ResponseHeadersPolicyConfig'] as Record<
        string,
        Record<string, Record<string, unknown>>
      >
    )['SecurityHeadersConfig']!;
    // The header's CSP names no other party; index.html carries the rest (console-csp.test.ts).
    const csp = String(JSON.stringify(headers['ContentSecurityPolicy']));
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(headers['StrictTransportSecurity']).toEqual(
      expect.objectContaining({ AccessControlMaxAgeSec: 31536000 }),
    );
    expect(headers['ContentTypeOptions']).toEqual({ Override: true });
    expect(headers['FrameOptions']).toEqual({ FrameOption: 'DENY', Override: true });
    expect(headers['ReferrerPolicy']).toEqual({ ReferrerPolicy: 'no-referrer', Override: true });
  });

  test('CloudFront logs go to the access-log bucket', () => {
    const accessLogsId = logicalIdOf(stack.pipeline.accessLogsBucket);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Logging: Match.objectLike({ Bucket: { 'Fn::GetAtt': [accessLogsId, 'RegionalDomainName'] } }),
      }),
    });
  });

  test('the console files and a config.json naming the API are deployed to the console bucket', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketName: { Ref: consoleBucketId },
      Prune: true,
    });
    const [, deployment] = onlyResource(template, 'Custom::CDKBucketDeployment');
    // config.json is filled at deploy time with the HTTP API's URL (a marker resolved by CDK).
    expect(JSON.stringify(deployment.Properties['SourceMarkers'])).toContain(logicalIdOf(stack.pipeline.api));
  });

  test('the stack outputs the console URL', () => {
    template.hasOutput('ConsoleUrl', {});
  });

  test('with console.enabled false there is no distribution and no console origin in CORS', () => {
    expect(resourcesOfType(withoutConsole.template, 'AWS::CloudFront::Distribution').size).toBe(0);
    const [, api] = onlyResource(withoutConsole.template, 'AWS::ApiGatewayV2::Api');
    expect(api.Properties['CorsConfiguration']).toBeUndefined();
  });

  test('sign-in uses the Cognito hosted UI: code flow with PKCE back to the console, no client secret', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
    const [, client] = onlyResource(template, 'AWS::Cognito::UserPoolClient');
    expect(client.Properties).toEqual(
      expect.objectContaining({
        GenerateSecret: false,
        AllowedOAuthFlows: ['code'],
        AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthScopes: ['openid', 'email'],
        CallbackURLs: [
          {
            'Fn::Join': [
              '',
              [
                'https://',
                { 'Fn::GetAtt': [expect.stringMatching(/^PipelineConsoleDistribution/), 'DomainName'] },
                '/',
              ],
            ],
          },
        ],
      }),
    );
  });

  test('without the console there is no hosted UI and no OAuth flow', () => {
    expect(resourcesOfType(withoutConsole.template, 'AWS::Cognito::UserPoolDomain').size).toBe(0);
    const [, client] = onlyResource(withoutConsole.template, 'AWS::Cognito::UserPoolClient');
    expect(client.Properties['AllowedOAuthFlows']).toBeUndefined();
  });
});
