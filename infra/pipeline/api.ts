import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { Construct } from 'constructs';
import { TABLE_KEYS } from '../../functions/adapters/upload-store.js';
import { CLEAN_PREFIX, QUARANTINE_PREFIX } from '../../functions/domain/model.js';
import type { PipelineLogGroups } from './log-groups.js';
import { PipelineLambda, type PipelineFunctionDefaults } from './pipeline-function.js';
import type { ApiThrottleProps, JwtIssuerProps } from './props.js';
import type { UploadStorage } from './upload-storage.js';

/** The functions behind the HTTP API's routes. */
export type ApiFunction =
  'create-upload' | 'get-upload' | 'list-uploads' | 'get-upload-events' | 'audit-uploads';

export interface PipelineApiProps {
  readonly storage: UploadStorage;
  readonly defaults: PipelineFunctionDefaults;
  readonly logGroups: PipelineLogGroups;
  /** The issuer whose JWTs the authorizer accepts. */
  readonly issuer: JwtIssuerProps;
  /** Browser origins allowed by CORS (the configured ones and the console's). */
  readonly corsOrigins: string[];
  readonly throttle: ApiThrottleProps;
}

export interface PipelineApi {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly functions: Record<ApiFunction, PipelineLambda>;
}

/**
 * Each route's share of the stage's throttle: status polls are most of the traffic; issuance,
 * downloads and listings are bounded lower; auditors' searches lower still.
 */
export const ROUTE_THROTTLE_SHARE: Readonly<Record<string, number>> = {
  'POST /uploads': 0.2,
  'GET /uploads/{id}': 0.8,
  'GET /uploads/{id}/download': 0.2,
  'GET /uploads': 0.2,
  'GET /uploads/{id}/events': 0.2,
  'GET /audit/uploads': 0.1,
  'GET /audit/digests': 0.1,
  'GET /audit/public-key': 0.05,
};

/**
 * The v1 HTTP API: six routes here (and the two of the audit digests: addAuditDigestRoutes), each with its own function and grants, all behind a JWT
 * authorizer; a throttled `$default` stage with access logs. The API, its stage and their log
 * group are made on the pipeline's scope with fixed ids (their URL is addressed from outside).
 */
export function buildApi(scope: Construct, props: PipelineApiProps): PipelineApi {
  const { storage, defaults } = props;
  const handler = (name: ApiFunction) => new PipelineLambda(scope, name, { invoker: 'api', defaults });

  // Signs PUT/POST grants into quarantine/ only; its record, holding the ISSUED event, is one put.
  // It counts each grant on the owner's quota item (read back, and healed from the records, at
  // the limit) and ties an Idempotency-Key to its upload (a put, read back on a retry).
  const createUpload = handler('create-upload');
  storage.grantObjects(createUpload, ['s3:PutObject'], QUARANTINE_PREFIX);
  storage.grantItems(createUpload, ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
  storage.grantItems(createUpload, ['dynamodb:BatchGetItem']);
  // Signs downloads of clean/ only (GET /uploads/{id}/download, a fresh URL on each request).
  const getUpload = handler('get-upload');
  storage.grantObjects(getUpload, ['s3:GetObject'], CLEAN_PREFIX);
  storage.grantItems(getUpload, ['dynamodb:GetItem']);
  const listUploads = handler('list-uploads');
  storage.grantItems(listUploads, ['dynamodb:Query'], TABLE_KEYS.byOwner.indexName);
  const getUploadEvents = handler('get-upload-events');
  // One Query of the upload's partition: the record holding its trail (or an unsolicited key's trail).
  storage.grantItems(getUploadEvents, ['dynamodb:Query']);
  const auditUploads = handler('audit-uploads');
  storage.grantItems(auditUploads, ['dynamodb:Query'], TABLE_KEYS.byStatus.indexName);

  const authorizer = new HttpJwtAuthorizer('JwtAuthorizer', props.issuer.issuerUrl, {
    jwtAudience: props.issuer.audience,
    identitySource: ['$request.header.Authorization'],
  });
  const api = new apigwv2.HttpApi(scope, 'HttpApi', {
    description: 'Airlock upload API (v1)',
    defaultAuthorizer: authorizer,
    createDefaultStage: false,
    ...(props.corsOrigins.length > 0
      ? {
          corsPreflight: {
            allowOrigins: props.corsOrigins,
            allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST],
            allowHeaders: ['authorization', 'content-type', 'if-none-match', 'idempotency-key'],
            exposeHeaders: ['etag', 'retry-after', 'location', 'idempotent-replayed'],
            maxAge: Duration.hours(1),
          },
        }
      : {}),
  });
  const accessLogs = props.logGroups.create(scope, 'ApiAccessLogs');
  const stage = new apigwv2.HttpStage(scope, 'ApiStage', {
    httpApi: api,
    stageName: '$default',
    autoDeploy: true,
    throttle: props.throttle,
    accessLogSettings: {
      destination: new apigwv2.LogGroupLogDestination(accessLogs),
      // No query strings or headers: they could carry cursors or tokens.
      format: AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          requestTime: '$context.requestTime',
          routeKey: '$context.routeKey',
          status: '$context.status',
          responseLength: '$context.responseLength',
          latency: '$context.responseLatency',
          sub: '$context.authorizer.claims.sub',
          error: '$context.authorizer.error',
        }),
      ),
    },
  });
  const routes: Array<[string, apigwv2.HttpMethod, PipelineLambda]> = [
    ['/uploads', apigwv2.HttpMethod.POST, createUpload],
    ['/uploads', apigwv2.HttpMethod.GET, listUploads],
    ['/uploads/{id}', apigwv2.HttpMethod.GET, getUpload],
    ['/uploads/{id}/download', apigwv2.HttpMethod.GET, getUpload],
    ['/uploads/{id}/events', apigwv2.HttpMethod.GET, getUploadEvents],
    ['/audit/uploads', apigwv2.HttpMethod.GET, auditUploads],
  ];
  const integrations = new Map<PipelineLambda, HttpLambdaIntegration>();
  for (const [path, method, fn] of routes) {
    const integration =
      integrations.get(fn) ?? new HttpLambdaIntegration(`${fn.pipelineName}-integration`, fn);
    integrations.set(fn, integration);
    api.addRoutes({ path, methods: [method], integration, authorizer });
  }
  // Per-route throttles, a share of the stage's: no one route (issuance above all, which writes
  // and signs) can take the whole stage. Per-owner quotas bound what one caller can hold.
  (stage.node.defaultChild as apigwv2.CfnStage).routeSettings = Object.fromEntries(
    Object.entries(ROUTE_THROTTLE_SHARE).map(([routeKey, share]) => [
      routeKey,
      {
        ThrottlingRateLimit: Math.max(1, Math.floor(props.throttle.rateLimit * share)),
        ThrottlingBurstLimit: Math.max(1, Math.floor(props.throttle.burstLimit * share)),
      },
    ]),
  );
  return {
    api,
    stage,
    functions: {
      'create-upload': createUpload,
      'get-upload': getUpload,
      'list-uploads': listUploads,
      'get-upload-events': getUploadEvents,
      'audit-uploads': auditUploads,
    },
  };
}

/** The auditors' routes over the audit digests, behind the API's default (JWT) authorizer. */
export function addAuditDigestRoutes(api: apigwv2.HttpApi, reader: PipelineLambda): void {
  const integration = new HttpLambdaIntegration(`${reader.pipelineName}-integration`, reader);
  for (const path of ['/audit/digests', '/audit/public-key']) {
    api.addRoutes({ path, methods: [apigwv2.HttpMethod.GET], integration });
  }
}
