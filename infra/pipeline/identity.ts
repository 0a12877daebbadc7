import { Aws, Duration, Fn, Stack, type RemovalPolicy } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type { Construct } from 'constructs';
import { AUDITORS_GROUP } from '../../functions/domain/status-view.js';
import { acknowledge } from '../nag-packs.js';
import type { JwtIssuerProps } from './props.js';

/** The Cognito hosted UI the console signs in with: authorization code with PKCE. */
export interface HostedUi {
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  readonly clientId: string;
}

export interface PipelineIdentityProps {
  readonly removalPolicy: RemovalPolicy;
  /** The console's URL, for the hosted UI's callback. @default no console: no OAuth flows */
  readonly consoleUrl?: string;
}

export interface PipelineIdentity {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  /** The issuer and audience the HTTP API's JWT authorizer checks. */
  readonly issuer: JwtIssuerProps;
  /** Only with a console. */
  readonly hostedUi?: HostedUi;
  /** The hosted UI's origin (its token endpoint is the console's one cross-origin sign-in call). */
  readonly hostedUiOrigin?: string;
}

/**
 * A Cognito user pool (no self sign-up, strong passwords, optional TOTP MFA) with the console's
 * app client, the `auditors` group and, with a console, a hosted UI domain. All are made on the
 * pipeline's scope with fixed ids: the pool holds the users, the client id and the domain are
 * addressed from outside.
 */
export function buildIdentity(
  scope: Construct,
  { removalPolicy, consoleUrl }: PipelineIdentityProps,
): PipelineIdentity {
  const userPool = new cognito.UserPool(scope, 'UserPool', {
    selfSignUpEnabled: false,
    signInAliases: { email: true },
    passwordPolicy: {
      minLength: 12,
      requireDigits: true,
      requireLowercase: true,
      requireUppercase: true,
      requireSymbols: true,
      tempPasswordValidity: Duration.days(3),
    },
    // Required: auditors can read every upload, and the pool cannot require MFA of one group only.
    // Machine clients take tokens from their own issuer (jwtIssuer) or an app client of their own.
    mfa: cognito.Mfa.REQUIRED,
    mfaSecondFactor: { otp: true, sms: false },
    accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
    deletionProtection: true,
    removalPolicy,
  });
  const client = userPool.addClient('ConsoleClient', {
    generateSecret: false,
    // SRP for apps; admin password auth (needs IAM credentials) lets operators mint tokens.
    authFlows: { userSrp: true, adminUserPassword: true },
    // The hosted UI serves the console only: authorization code with PKCE (a public client, no
    // secret), back to the console's own URL. Without a console there are no OAuth flows.
    ...(consoleUrl
      ? {
          oAuth: {
            flows: { authorizationCodeGrant: true },
            scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
            callbackUrls: [`${consoleUrl}/`],
            logoutUrls: [`${consoleUrl}/`],
          },
        }
      : { disableOAuth: true }),
    preventUserExistenceErrors: true,
    accessTokenValidity: Duration.hours(1),
    idTokenValidity: Duration.hours(1),
    refreshTokenValidity: Duration.days(1),
  });
  acknowledge(
    userPool,
    'AwsSolutions-COG8',
    'Cognito Plus (threat protection) is a paid plan left to the deployer; sign-up is disabled and passwords are strong.',
  );
  new cognito.CfnUserPoolGroup(scope, 'AuditorsGroup', {
    userPoolId: userPool.userPoolId,
    groupName: AUDITORS_GROUP,
    description: 'May read every upload and its audit trail.',
  });
  const issuer = {
    issuerUrl: `https://cognito-idp.${Stack.of(scope).region}.amazonaws.com/${userPool.userPoolId}`,
    audience: [client.userPoolClientId],
  };
  if (!consoleUrl) return { userPool, client, issuer };
  // A prefix unique to this stack (from its id), so that deployers never collide.
  const stackUuid = Fn.select(2, Fn.split('/', Aws.STACK_ID));
  const domain = userPool.addDomain('HostedUi', {
    cognitoDomain: { domainPrefix: `airlock-${Fn.select(0, Fn.split('-', stackUuid))}` },
  });
  const hostedUi = {
    authorizeUrl: `${domain.baseUrl()}/oauth2/authorize`,
    tokenUrl: `${domain.baseUrl()}/oauth2/token`,
    clientId: client.userPoolClientId,
  };
  return { userPool, client, issuer, hostedUi, hostedUiOrigin: domain.baseUrl() };
}
