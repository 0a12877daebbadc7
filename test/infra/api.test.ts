import type { PipelineFunction } from '../../infra/upload-pipeline.js';
import { logicalIdOf, synthAirlock } from './support/synth.js';
import { onlyResource, referencedId, resourceById, resourcesOfType } from './support/template.js';

// Arrange (once per stack): defaults (a new Cognito user pool), and an external issuer with
// browser origins and custom throttling.
const defaults = synthAirlock();
const ISSUER = 'https://login.example.com/realms/airlock';
const ORIGIN = 'https://console.example.com';
const external = synthAirlock({
  jwtIssuer: { issuerUrl: ISSUER, audience: ['airlock-api'] },
  allowedOrigins: [ORIGIN],
  apiThrottle: { rateLimit: 5, burstLimit: 10 },
});

const { stack, template } = defaults;
const routes = [...resourcesOfType(template, 'AWS::ApiGatewayV2::Route').values()].map((r) => r.Properties);
const [authorizerId, authorizer] = onlyResource(template, 'AWS::ApiGatewayV2::Authorizer');
const [, stage] = onlyResource(template, 'AWS::ApiGatewayV2::Stage');
const userPoolId = logicalIdOf(stack.pipeline.userPool);
const clientId = logicalIdOf(stack.pipeline.userPoolClient);

describe('HTTP API', () => {
  test('there are exactly the six routes of the v1 API, and the two of the audit digests', () => {
    expect(routes.map((route) => route['RouteKey']).sort()).toEqual([
      'GET /audit/digests',
      'GET /audit/public-key',
      'GET /audit/uploads',
      'GET /uploads',
      'GET /uploads/{id}',
      'GET /uploads/{id}/download',
      'GET /uploads/{id}/events',
      'POST /uploads',
    ]);
  });

  test('every route requires a JWT, checked by the authorizer', () => {
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) {
      expect([route['RouteKey'], route['AuthorizationType'], route['AuthorizerId']]).toEqual([
        route['RouteKey'],
        'JWT',
        { Ref: authorizerId },
      ]);
    }
  });

  test('each route invokes its own function (the download redirect is served by get-upload)', () => {
    // Arrange
    const expected: Record<string, PipelineFunction> = {
      'POST /uploads': 'create-upload',
      'GET /uploads': 'list-uploads',
      'GET /uploads/{id}': 'get-upload',
      'GET /uploads/{id}/download': 'get-upload',
      'GET /uploads/{id}/events': 'get-upload-events',
      'GET /audit/uploads': 'audit-uploads',
      'GET /audit/digests': 'audit-digests',
      'GET /audit/public-key': 'audit-digests',
    };

    // Act
    const targets = Object.fromEntries(
      routes.map((route) => {
        const target = route['Target'] as { 'Fn::Join': [string, [string, unknown]] };
        const integrationId = referencedId(target['Fn::Join'][1][1]);
        const integration = resourceById(template, integrationId!).Properties;
        return [route['RouteKey'], referencedId(integration['IntegrationUri'])];
      }),
    );

    // Assert
    expect(targets).toEqual(
      Object.fromEntries(
        Object.entries(expected).map(([key, name]) => [key, logicalIdOf(stack.pipeline.functions[name])]),
      ),
    );
  });

  test('by default the JWT authorizer trusts the Cognito user pool and its app client', () => {
    expect(authorizer.Properties).toEqual(
      expect.objectContaining({
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: {
          Issuer: { 'Fn::Join': ['', ['https://cognito-idp.eu-west-1.amazonaws.com/', { Ref: userPoolId }]] },
          Audience: [{ Ref: clientId }],
        },
      }),
    );
  });

  test('with jwtIssuer the authorizer trusts that issuer and audience', () => {
    // Act
    const [, externalAuthorizer] = onlyResource(external.template, 'AWS::ApiGatewayV2::Authorizer');

    // Assert
    expect(externalAuthorizer.Properties).toEqual(
      expect.objectContaining({
        AuthorizerType: 'JWT',
        JwtConfiguration: { Issuer: ISSUER, Audience: ['airlock-api'] },
      }),
    );
  });

  test('with jwtIssuer no Cognito user pool is created', () => {
    external.template.resourceCountIs('AWS::Cognito::UserPool', 0);
  });

  test('the $default stage writes access logs to a log group with a retention', () => {
    // Act
    const accessLogs = stage.Properties['AccessLogSettings'] as { DestinationArn: unknown; Format: string };
    const logGroupId = referencedId(accessLogs.DestinationArn);

    // Assert
    expect(stage.Properties['StageName']).toBe('$default');
    expect(resourceById(template, logGroupId!).Type).toBe('AWS::Logs::LogGroup');
    expect(resourceById(template, logGroupId!).Properties['RetentionInDays']).toEqual(expect.any(Number));
  });

  test('the $default stage is throttled (rate 50, burst 100 by default)', () => {
    expect(stage.Properties['DefaultRouteSettings']).toEqual({
      ThrottlingRateLimit: 50,
      ThrottlingBurstLimit: 100,
    });
  });

  test('every route has its own throttle below the stage, so no one route can take the whole stage', () => {
    // Arrange
    const routeSettings = stage.Properties['RouteSettings'] as Record<
      string,
      { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }
    >;

    // Assert: each route of the API is named, none reaches the stage's limits, and issuance
    // (which writes records and counters) is held to a fraction of the status polls.
    expect(Object.keys(routeSettings).sort()).toEqual(routes.map((route) => route['RouteKey']).sort());
    for (const limits of Object.values(routeSettings)) {
      expect(limits.ThrottlingRateLimit).toBeLessThan(50);
      expect(limits.ThrottlingBurstLimit).toBeLessThan(100);
      expect(limits.ThrottlingRateLimit).toBeGreaterThanOrEqual(1);
    }
    expect(routeSettings['POST /uploads']!.ThrottlingRateLimit).toBeLessThan(
      routeSettings['GET /uploads/{id}']!.ThrottlingRateLimit,
    );
  });

  test('throttling is configurable', () => {
    const [, externalStage] = onlyResource(external.template, 'AWS::ApiGatewayV2::Stage');
    expect(externalStage.Properties['DefaultRouteSettings']).toEqual({
      ThrottlingRateLimit: 5,
      ThrottlingBurstLimit: 10,
    });
  });

  test("CORS: by default only the console's own CloudFront origin", () => {
    const [, api] = onlyResource(template, 'AWS::ApiGatewayV2::Api');
    const cors = api.Properties['CorsConfiguration'] as Record<string, unknown>;
    expect(cors['AllowOrigins']).toEqual([
      expect.objectContaining({
        'Fn::Join': [
          '',
          [
            'https://',
            { 'Fn::GetAtt': [expect.stringMatching(/^PipelineConsoleDistribution/), 'DomainName'] },
          ],
        ],
      }),
    ]);
  });

  test('CORS: with allowedOrigins, only that origin, GET and POST, no wildcard', () => {
    // Act
    const [, api] = onlyResource(external.template, 'AWS::ApiGatewayV2::Api');
    const cors = api.Properties['CorsConfiguration'] as Record<string, unknown>;

    // Assert
    expect(cors['AllowOrigins']).toEqual([
      ORIGIN,
      expect.objectContaining({
        'Fn::Join': [
          '',
          [
            'https://',
            { 'Fn::GetAtt': [expect.stringMatching(/^PipelineConsoleDistribution/), 'DomainName'] },
          ],
        ],
      }),
    ]);
    expect(cors['AllowMethods']).toEqual(['GET', 'POST']);
    expect(cors['AllowCredentials']).not.toBe(true);
    expect(JSON.stringify(cors)).not.toContain('*');
  });
});

describe('Cognito user pool (default)', () => {
  const userPool = resourceById(template, userPoolId).Properties;

  test('only administrators create users (no self sign-up)', () => {
    expect(userPool['AdminCreateUserConfig']).toEqual(
      expect.objectContaining({ AllowAdminCreateUserOnly: true }),
    );
  });

  test('passwords have at least 12 characters', () => {
    const policy = userPool['Policies'] as { PasswordPolicy: { MinimumLength: number } };
    expect(policy.PasswordPolicy.MinimumLength).toBeGreaterThanOrEqual(12);
  });

  test('sign-in requires a second factor (TOTP, not SMS): auditors, who read everything, use MFA', () => {
    expect(userPool['MfaConfiguration']).toBe('ON');
    expect(userPool['EnabledMfas']).toEqual(['SOFTWARE_TOKEN_MFA']);
  });

  test('there is an "auditors" group in the pool', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolGroup', {
      GroupName: 'auditors',
      UserPoolId: { Ref: userPoolId },
    });
  });

  test('the app client has no secret (public client)', () => {
    expect(resourceById(template, clientId).Properties['GenerateSecret']).toBe(false);
  });
});

describe('stack outputs', () => {
  const outputs: Array<[string, unknown]> = [
    ['BucketName', { Ref: logicalIdOf(stack.pipeline.bucket) }],
    ['TableName', { Ref: logicalIdOf(stack.pipeline.table) }],
    ['StateMachineArn', { Ref: logicalIdOf(stack.pipeline.stateMachine) }],
    ['RedriveFunctionName', { Ref: logicalIdOf(stack.pipeline.functions.redrive) }],
    ['RescanFunctionName', { Ref: logicalIdOf(stack.pipeline.functions.rescan) }],
    ['UserPoolId', { Ref: userPoolId }],
    ['UserPoolClientId', { Ref: clientId }],
  ];

  test.each(outputs)('%s', (name, value) => {
    // Act
    const found = template.findOutputs(name) as Record<string, { Value: unknown }>;

    // Assert
    expect(found[name]?.Value).toEqual(value);
  });

  test('ApiUrl is the base URL of this API', () => {
    // Act
    const found = template.findOutputs('ApiUrl') as Record<string, { Value: unknown }>;

    // Assert
    const apiId = onlyResource(template, 'AWS::ApiGatewayV2::Api')[0];
    expect(found['ApiUrl']?.Value).toEqual({
      'Fn::Join': [
        '',
        ['https://', { Ref: apiId }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/'],
      ],
    });
  });
});
