import { fileURLToPath } from 'node:url';
import {
  Annotations,
  ArnFormat,
  Aws,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  Token,
  type CfnResource,
} from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEFAULT_TYPE_POLICY, parseTypePolicy, type TypePolicy } from '../functions/domain/type-policy.js';
import { ConsoleHosting } from './console-hosting.js';
import { acknowledge } from './nag-packs.js';
import { TABLE_KEYS } from '../functions/adapters/upload-store.js';
import {
  MAX_DOWNLOAD_URL_TTL_SECONDS,
  MAX_UPLOAD_URL_TTL_SECONDS,
  UPLOAD_REQUEST_HEADERS,
} from '../functions/domain/upload-grant.js';
import { CLEAN_PREFIX, QUARANTINE_PREFIX, REJECTED_PREFIX } from '../functions/domain/model.js';
import { AUDITORS_GROUP } from '../functions/domain/status-view.js';
import { FAULTS_ENV } from '../functions/commons/faults.js';
import { UPLOAD_PIPELINE_ASL_PATH } from '../statemachines/definition.js';

const FUNCTIONS_DIR = fileURLToPath(new URL('../functions/', import.meta.url));

/** An existing OIDC/JWT issuer that the HTTP API trusts instead of a new Cognito user pool. */
export interface JwtIssuerProps {
  /** The issuer URL (`iss` claim), https only. */
  readonly issuerUrl: string;
  /** Accepted audiences (`aud` or `client_id` claim); at least one. */
  readonly audience: string[];
}

/** Throttling of the HTTP API's default stage. */
export interface ApiThrottleProps {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Burst capacity in requests. */
  readonly burstLimit: number;
}

/** Configuration of an Airlock upload pipeline. Every prop is optional and secure by default. */
export interface UploadPipelineProps {
  /**
   * Browser origins allowed by CORS on the bucket (uploads) and the API. `https://` origins only,
   * except `http://localhost[:port]` for development. No wildcards.
   * @default [] (no browser origin; server-side and CLI clients need none)
   */
  readonly allowedOrigins?: string[];
  /**
   * The allowed content types: max size and magic-byte family of each.
   * @default DEFAULT_TYPE_POLICY (PDF, PNG, JPEG, text/plain, text/csv, DOCX, XLSX)
   */
  readonly typePolicy?: TypePolicy;
  /**
   * Lifetime of upload grants (presigned POST policy or PUT URL). At most 15 minutes.
   * @default Duration.minutes(15)
   */
  readonly uploadUrlTtl?: Duration;
  /**
   * Lifetime of download URLs handed out by the status API. At most 5 minutes.
   * @default Duration.minutes(5)
   */
  readonly downloadUrlTtl?: Duration;
  /**
   * Days after which lifecycle removes anything left in `quarantine/`. Must exceed the upload
   * grant's lifetime plus the processing bound.
   * @default Duration.days(7)
   */
  readonly quarantineRetention?: Duration;
  /**
   * Days after which noncurrent (overwritten or deleted) object versions are removed.
   * @default Duration.days(30)
   */
  readonly noncurrentVersionRetention?: Duration;
  /**
   * How long rejected files are kept under `rejected/` for forensics.
   * @default Duration.days(90)
   */
  readonly rejectedRetention?: Duration;
  /**
   * Retention of the functions', the state machine's and the API's log groups.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * An existing JWT issuer for the HTTP API's authorizer.
   * @default a new Cognito user pool with an app client and an `auditors` group
   */
  readonly jwtIssuer?: JwtIssuerProps;
  /**
   * An existing bucket to use instead of creating one. Refused unless
   * `acceptExistingBucketRisks` is true: Airlock cannot enforce versioning, encryption, public
   * access blocks, lifecycle or EventBridge notifications on a bucket it does not own.
   * @default a new bucket configured by this construct
   */
  readonly existingBucket?: s3.IBucket;
  /**
   * Acknowledges that an `existingBucket` must be configured by its owner as this construct
   * would (versioning, EventBridge notifications, Block Public Access, TLS-only policy).
   * @default false
   */
  readonly acceptExistingBucketRisks?: boolean;
  /**
   * A customer-managed KMS key for the bucket, the table and the log groups (functions, state
   * machine, API access logs). When the key is a `kms.Key` of this app, a statement letting
   * CloudWatch Logs use it for log groups of this account and region is added to its key policy;
   * the policy of an imported key must already allow that (synth warns).
   * @default S3-managed encryption for the bucket, AWS-owned encryption for the table, and
   * CloudWatch Logs' own service-managed encryption for the log groups
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the bucket, the table and the user pool when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * A PROCESSING upload whose execution has ended without an outcome is marked FAILED after this.
   * @default Duration.hours(1)
   */
  readonly processingTimeout?: Duration;
  /**
   * How often the sweeper runs.
   * @default Duration.minutes(5)
   */
  readonly sweepInterval?: Duration;
  /**
   * Throttling of the HTTP API.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly apiThrottle?: ApiThrottleProps;
  /**
   * Principals (role ARNs) that may read `quarantine/` and `rejected/` besides the pipeline's own
   * functions, e.g. a forensics role. Everyone else is denied by the bucket policy.
   * @default []
   */
  readonly forensicReaderArns?: string[];
  /**
   * Where alarms (dead-letter queue depth, failed or timed-out executions) send notifications.
   * @default no action (the alarms still exist)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * The web console on CloudFront (private bucket behind Origin Access Control). Set `enabled:
   * false` to deploy the API only; `webAclArn` puts a WAF web ACL in front of it.
   * @default { enabled: true }
   */
  readonly console?: { readonly enabled?: boolean; readonly webAclArn?: string };
  /**
   * Reserved concurrency per function: the most concurrent executions it may have, reserved
   * from the account's pool (whole numbers, at least 1). A throttled pipeline step is retried by
   * the state machine; a throttled sweep is retried by Lambda; a throttled redrive fails back to
   * the operator, who runs it again. Lambda refuses the deployment if the reservations would
   * leave the account less unreserved concurrency than its minimum.
   * @default none: every function shares the account's unreserved concurrency
   */
  readonly reservedConcurrency?: Partial<Record<PipelineFunction, number>>;
}

/**
 * Airlock: presigned uploads into a quarantine prefix, validated and promoted by a Step
 * Functions state machine, with an immutable audit trail and a JWT-protected status API.
 */
export class UploadPipeline extends Construct {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.Table;
  readonly stateMachine: sfn.StateMachine;
  readonly api: apigwv2.HttpApi;
  readonly apiStage: apigwv2.HttpStage;
  readonly deadLetterQueue: sqs.Queue;
  readonly userPool?: cognito.UserPool;
  readonly userPoolClient?: cognito.UserPoolClient;
  readonly functions: Record<PipelineFunction, NodejsFunction>;
  /** The Cognito hosted UI the console signs in with (when the construct made the user pool). */
  hostedUi?: { authorizeUrl: string; tokenUrl: string; clientId: string };
  /** The console's hosting, unless disabled. */
  readonly console?: ConsoleHosting;
  readonly accessLogsBucket: s3.Bucket;
  /** The customer-managed key of the data and the logs, if any. */
  private readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: UploadPipelineProps = {}) {
    super(scope, id);
    const settings = resolveSettings(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.encryptionKey = props.encryptionKey;
    if (props.encryptionKey) this.allowCloudWatchLogsToUse(props.encryptionKey);

    // --- Storage --------------------------------------------------------------------------
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // CloudFront standard logs are delivered with ACLs.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy,
    });
    acknowledge(
      this.accessLogsBucket,
      'NIST.800.53.R5-S3BucketReplicationEnabled',
      "Holds access logs for a year in the deployment's region; copying them elsewhere (e.g. a central log-archive account) is the deployer's audit decision and needs a destination this construct does not own.",
    );
    acknowledge(
      this.accessLogsBucket,
      'NIST.800.53.R5-S3DefaultEncryptionKMS',
      "Receives S3 server access logs and CloudFront standard logs from AWS's log-delivery services; SSE-S3 encrypts them at rest without granting those services the use of a KMS key, which SSE-KMS would require.",
    );
    if (props.console?.enabled !== false) {
      this.console = new ConsoleHosting(this, 'Console', {
        logBucket: this.accessLogsBucket,
        removalPolicy,
        ...(props.console?.webAclArn ? { webAclArn: props.console.webAclArn } : {}),
      });
    }
    const consoleOrigin = this.console ? [`https://${this.console.distribution.distributionDomainName}`] : [];
    this.bucket = props.existingBucket ?? this.createBucket(settings, props, removalPolicy, consoleOrigin);

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy,
      ...(props.encryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      // No TTL: audit events and records are kept for as long as the table (compliance).
    });
    acknowledge(
      this.table,
      'NIST.800.53.R5-DynamoDBInBackupPlan',
      "Point-in-time recovery (35 days, continuous), deletion protection and RETAIN protect the table; an AWS Backup plan (vault, retention, cross-account copies) is the organisation's policy, commonly applied by tag through AWS Organizations backup policies.",
    );
    for (const index of [TABLE_KEYS.byOwner, TABLE_KEYS.byStatus]) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    // --- Functions ------------------------------------------------------------------------
    const environment: Record<string, string> = {
      TABLE_NAME: this.table.tableName,
      BUCKET_NAME: this.bucket.bucketName,
      UPLOAD_URL_TTL_SECONDS: String(settings.uploadUrlTtlSeconds),
      DOWNLOAD_URL_TTL_SECONDS: String(settings.downloadUrlTtlSeconds),
      TYPE_POLICY: JSON.stringify(settings.typePolicy),
      POWERTOOLS_SERVICE_NAME: 'airlock',
      NODE_OPTIONS: '--enable-source-maps',
      // A deployment is a production configuration: functions refuse fault injection (faults.ts).
      AIRLOCK_ENV: 'production',
    };
    const fn = (name: PipelineFunction, options: { memorySize?: number; timeout?: Duration } = {}) =>
      this.createFunction(name, environment, settings.logRetention, removalPolicy, {
        ...options,
        reservedConcurrency: settings.reservedConcurrency[name],
      });
    this.functions = {
      'create-upload': fn('create-upload'),
      'get-upload': fn('get-upload'),
      'list-uploads': fn('list-uploads'),
      'get-upload-events': fn('get-upload-events'),
      'audit-uploads': fn('audit-uploads'),
      claim: fn('claim'),
      validate: fn('validate', { memorySize: 1024, timeout: Duration.minutes(15) }),
      promote: fn('promote', { timeout: Duration.minutes(5) }),
      reject: fn('reject', { timeout: Duration.minutes(5) }),
      'record-outcome': fn('record-outcome'),
      'release-quarantine': fn('release-quarantine'),
      sweeper: fn('sweeper', { timeout: Duration.minutes(5) }),
      redrive: fn('redrive'),
    };
    this.grantLeastPrivilege(props.encryptionKey, props.forensicReaderArns ?? []);
    // Fault injection is for the local runtime's reliability suite: refuse it at synth too.
    this.node.addValidation({
      validate: () =>
        Object.entries(this.functions).flatMap(([name, fn]) => {
          const cfn = fn.node.defaultChild as lambda.CfnFunction;
          const resolved = Stack.of(this).resolve(cfn.environment) as
            { variables?: Record<string, unknown> } | undefined;
          return resolved?.variables?.[FAULTS_ENV] === undefined
            ? []
            : [
                `UploadPipeline: the ${name} function sets ${FAULTS_ENV}; fault injection is refused in a deployment.`,
              ];
        }),
    });

    // --- State machine --------------------------------------------------------------------
    const stateMachineLogs = this.createLogGroup('StateMachineLogs', settings.logRetention, removalPolicy);
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromFile(UPLOAD_PIPELINE_ASL_PATH),
      definitionSubstitutions: this.definitionSubstitutions(),
      stateMachineType: sfn.StateMachineType.STANDARD,
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    for (const name of STATE_MACHINE_FUNCTIONS) this.functions[name].grantInvoke(this.stateMachine);

    // --- Events: S3 Object Created under quarantine/ → state machine ------------------------
    this.deadLetterQueue = new sqs.Queue(this, 'EventDeadLetterQueue', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    new events.Rule(this, 'QuarantineObjectCreated', {
      description: 'Starts the Airlock pipeline for every object created under quarantine/.',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [this.bucket.bucketName] },
          object: { key: [{ prefix: QUARANTINE_PREFIX }] },
        },
      },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 20,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    // --- Sweeper --------------------------------------------------------------------------
    const sweeper = this.functions.sweeper;
    sweeper.addEnvironment('STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
    sweeper.addEnvironment('PROCESSING_TIMEOUT_SECONDS', String(settings.processingTimeoutSeconds));
    this.stateMachine.grantStartExecution(sweeper);
    sweeper.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution'],
        resources: [executionArnPattern(this.stateMachine)],
      }),
    );
    const sweepSchedule = new events.Rule(this, 'SweepSchedule', {
      description: 'Moves expired and stalled uploads to a terminal status.',
      schedule: events.Schedule.rate(settings.sweepInterval),
      targets: [new targets.LambdaFunction(sweeper, { retryAttempts: 2 })],
    });
    acknowledge(
      sweepSchedule,
      'Serverless-EventBusDLQ',
      'The schedule events carry no data and the sweep is idempotent: an event that cannot be delivered is superseded by the next one, a sweepInterval later, so a DLQ would only collect empty ticks.',
    );

    // --- Redrive --------------------------------------------------------------------------
    // An operator action (`aws lambda invoke`): no schedule, rule or API route invokes it.
    const redrive = this.functions.redrive;
    redrive.addEnvironment('STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
    this.stateMachine.grantStartExecution(redrive);

    // --- Alarms ---------------------------------------------------------------------------
    const alarms = [
      new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
        alarmDescription: 'Object Created events could not start the pipeline; they wait in the DLQ.',
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'ExecutionsFailed', {
        alarmDescription: 'Pipeline executions failed: uploads are FAILED and wait for a redrive.',
        metric: this.stateMachine.metricFailed({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'ExecutionsTimedOut', {
        alarmDescription: 'Pipeline executions timed out.',
        metric: this.stateMachine.metricTimedOut({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    for (const alarm of alarms) {
      if (props.alarmTopic) {
        alarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
      } else {
        acknowledge(
          alarm,
          'NIST.800.53.R5-CloudWatchAlarmAction',
          'Alarm actions notify alarmTopic when one is given; without it the alarm still changes state in CloudWatch (console, dashboards, composite alarms), and Airlock cannot guess whom to notify.',
        );
      }
    }

    this.acknowledgeReviewedFindings(props.encryptionKey !== undefined);

    // --- HTTP API -------------------------------------------------------------------------
    let issuer = props.jwtIssuer;
    if (issuer === undefined) {
      const consoleUrl = this.console
        ? `https://${this.console.distribution.distributionDomainName}`
        : undefined;
      const pool = this.createUserPool(removalPolicy, consoleUrl);
      this.hostedUi = pool.domain
        ? {
            authorizeUrl: `${pool.domain.baseUrl()}/oauth2/authorize`,
            tokenUrl: `${pool.domain.baseUrl()}/oauth2/token`,
            clientId: pool.client.userPoolClientId,
          }
        : undefined;
      this.userPool = pool.userPool;
      this.userPoolClient = pool.client;
      issuer = {
        issuerUrl: `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${pool.userPool.userPoolId}`,
        audience: [pool.client.userPoolClientId],
      };
    }
    const authorizer = new HttpJwtAuthorizer('JwtAuthorizer', issuer.issuerUrl, {
      jwtAudience: issuer.audience,
      identitySource: ['$request.header.Authorization'],
    });
    this.api = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'Airlock upload API (v1)',
      defaultAuthorizer: authorizer,
      createDefaultStage: false,
      ...(settings.allowedOrigins.length + consoleOrigin.length > 0
        ? {
            corsPreflight: {
              allowOrigins: [...settings.allowedOrigins, ...consoleOrigin],
              allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST],
              allowHeaders: ['authorization', 'content-type', 'if-none-match'],
              exposeHeaders: ['etag', 'retry-after', 'location'],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });
    const accessLogs = this.createLogGroup('ApiAccessLogs', settings.logRetention, removalPolicy);
    this.apiStage = new apigwv2.HttpStage(this, 'ApiStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: settings.apiThrottle,
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
    const routes: Array<[string, apigwv2.HttpMethod, PipelineFunction]> = [
      ['/uploads', apigwv2.HttpMethod.POST, 'create-upload'],
      ['/uploads', apigwv2.HttpMethod.GET, 'list-uploads'],
      ['/uploads/{id}', apigwv2.HttpMethod.GET, 'get-upload'],
      ['/uploads/{id}/events', apigwv2.HttpMethod.GET, 'get-upload-events'],
      ['/audit/uploads', apigwv2.HttpMethod.GET, 'audit-uploads'],
    ];
    for (const [path, method, name] of routes) {
      this.api.addRoutes({
        path,
        methods: [method],
        integration: new HttpLambdaIntegration(`${name}-integration`, this.functions[name]),
        authorizer,
      });
    }
    this.console?.deploy(this.apiStage.url, this.hostedUi);
  }

  /**
   * cdk-nag findings that were reviewed and accepted, each on the construct it concerns and with
   * its reason. Wildcards that remain are scoped to one prefix, one function or one state machine.
   */
  private acknowledgeReviewedFindings(encrypted: boolean): void {
    const stack = Stack.of(this);
    const logicalId = (construct: IConstruct) =>
      stack.getLogicalId(construct.node.defaultChild as CfnResource);
    {
      const bucketArn =
        this.bucket instanceof s3.Bucket
          ? `<${logicalId(this.bucket)}.Arn>`
          : `arn:<AWS::Partition>:s3:::${this.bucket.bucketName}`;
      const prefixReason = (prefix: string) =>
        `Object ARNs under ${prefix} only: upload ids are generated per request, so the objects cannot be named in advance.`;
      const grants: Array<[PipelineFunction, string[]]> = [
        ['create-upload', [QUARANTINE_PREFIX]],
        ['get-upload', [CLEAN_PREFIX]],
        ['validate', [QUARANTINE_PREFIX]],
        ['promote', [QUARANTINE_PREFIX, CLEAN_PREFIX]],
        ['reject', [QUARANTINE_PREFIX, REJECTED_PREFIX]],
        ['release-quarantine', [QUARANTINE_PREFIX]],
      ];
      for (const [name, prefixes] of grants) {
        for (const prefix of prefixes) {
          acknowledge(
            this.functions[name].role!,
            `AwsSolutions-IAM5[Resource::${bucketArn}/${prefix}*]`,
            prefixReason(prefix),
          );
        }
      }
    }
    for (const name of STATE_MACHINE_FUNCTIONS) {
      acknowledge(
        this.stateMachine.role,
        `AwsSolutions-IAM5[Resource::<${logicalId(this.functions[name])}.Arn>:*]`,
        `Invokes any version or alias of the ${name} function, and nothing else.`,
      );
    }
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    acknowledge(
      this.functions.sweeper.role!,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${region}:${account}:execution:<${logicalId(this.stateMachine)}.Name>:*]`,
      'Describes executions of the pipeline state machine only; execution names are not known in advance.',
    );
    acknowledge(
      this.stateMachine.role,
      'AwsSolutions-IAM5[Resource::*]',
      'CloudWatch Logs delivery (logging level ALL) and X-Ray tracing actions support no resource-level permissions.',
    );
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the EventBridge target.',
    );
    acknowledge(
      this.deadLetterQueue,
      'Serverless-SQSRedrivePolicy',
      'This queue is itself the dead-letter queue of the EventBridge target: it keeps failed events for 14 days and is alarmed; a dead-letter queue of its own would only move them.',
    );
    acknowledge(
      this.stateMachine.role.node.tryFindChild('DefaultPolicy') ?? this.stateMachine.role,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      "The state machine's inline DefaultPolicy (CDK) invokes its six task functions and delivers its logs and traces; it is bound to this one role and attachable nowhere else.",
    );
    const eventsRole = this.stateMachine.node.tryFindChild('EventsRole');
    if (eventsRole) {
      acknowledge(
        eventsRole.node.tryFindChild('DefaultPolicy') ?? eventsRole,
        'NIST.800.53.R5-IAMNoInlinePolicy',
        "EventBridge's role for the Object Created rule: CDK's inline policy allows states:StartExecution on this state machine only and is bound to this one role.",
      );
    }
    if (encrypted) {
      // Only writers have these wildcard actions (grantEncryptDecrypt); readers only decrypt.
      for (const name of KEY_WRITERS) {
        for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
          acknowledge(
            this.functions[name].role!,
            `AwsSolutions-IAM5[Action::${action}]`,
            'CDK key grants for the one customer-managed key of this pipeline; the resource is that key only.',
          );
        }
      }
    }
    // The handler CDK adds to turn on EventBridge notifications for the bucket.
    const handlerPolicy = this.bucket.node.tryFindChild('Notifications')?.node.tryFindChild('HandlerPolicy');
    if (handlerPolicy) {
      acknowledge(
        handlerPolicy,
        'NIST.800.53.R5-IAMNoInlinePolicy',
        "CDK's bucket-notifications handler: this inline policy allows s3:PutBucketNotification on the uploads bucket only and is attached to that handler's role alone.",
      );
    }
    for (const child of stack.node.children) {
      if (child.node.id.startsWith('BucketNotificationsHandler')) {
        acknowledge(
          child,
          'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          "CDK's own bucket-notifications custom resource; it only writes its logs.",
        );
      }
    }
  }

  /** The substitutions for the ASL's `${Placeholders}`: one per task function. */
  definitionSubstitutions(): Record<string, string> {
    return {
      ClaimFunctionArn: this.functions.claim.functionArn,
      ValidateFunctionArn: this.functions.validate.functionArn,
      PromoteFunctionArn: this.functions.promote.functionArn,
      RejectFunctionArn: this.functions.reject.functionArn,
      RecordOutcomeFunctionArn: this.functions['record-outcome'].functionArn,
      ReleaseQuarantineFunctionArn: this.functions['release-quarantine'].functionArn,
    };
  }

  private createBucket(
    settings: Settings,
    props: UploadPipelineProps,
    removalPolicy: RemovalPolicy,
    consoleOrigin: string[],
  ): s3.Bucket {
    const corsOrigins = [...settings.allowedOrigins, ...consoleOrigin];
    const bucket = new s3.Bucket(this, 'UploadsBucket', {
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      ...(props.encryptionKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      eventBridgeEnabled: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'uploads-bucket/',
      removalPolicy,
      cors:
        corsOrigins.length > 0
          ? [
              {
                allowedOrigins: corsOrigins,
                allowedMethods: [
                  s3.HttpMethods.POST,
                  s3.HttpMethods.PUT,
                  s3.HttpMethods.GET,
                  s3.HttpMethods.HEAD,
                ],
                allowedHeaders: [...UPLOAD_REQUEST_HEADERS],
                exposedHeaders: ['etag', 'x-amz-version-id'],
                maxAge: 3600,
              },
            ]
          : [],
      lifecycleRules: [
        {
          id: 'expire-quarantine',
          prefix: QUARANTINE_PREFIX,
          expiration: settings.quarantineRetention,
          noncurrentVersionExpiration: settings.noncurrentVersionRetention,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          id: 'keep-rejected-for-forensics',
          prefix: REJECTED_PREFIX,
          expiration: settings.rejectedRetention,
          noncurrentVersionExpiration: settings.noncurrentVersionRetention,
        },
        {
          id: 'expire-noncurrent-clean-versions',
          prefix: CLEAN_PREFIX,
          noncurrentVersionExpiration: settings.noncurrentVersionRetention,
        },
      ],
    });
    acknowledge(
      bucket,
      'NIST.800.53.R5-S3BucketReplicationEnabled',
      'Replication needs a destination bucket in another region, which this single-region construct does not create; the bucket is versioned and retained. Deployers who need a second copy replicate a bucket they own and pass it as existingBucket.',
    );
    if (!props.encryptionKey) {
      acknowledge(
        bucket,
        'NIST.800.53.R5-S3DefaultEncryptionKMS',
        'SSE-S3 (AES-256) by default, with no key to manage or grant; pass encryptionKey to encrypt the bucket (and the table and logs) with a customer-managed KMS key instead.',
      );
    }
    return bucket;
  }

  private createFunction(
    name: PipelineFunction,
    environment: Record<string, string>,
    retention: logs.RetentionDays,
    removalPolicy: RemovalPolicy,
    options: { memorySize?: number; timeout?: Duration; reservedConcurrency?: number | undefined },
  ): NodejsFunction {
    const id = pascalCase(name);
    const logGroup = this.createLogGroup(`${id}Logs`, retention, removalPolicy);
    // Its own role instead of AWSLambdaBasicExecutionRole: it may write to its own log group only.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Airlock ${name} function`,
    });
    logGroup.grantWrite(role);
    const fn = new NodejsFunction(this, `${id}Function`, {
      role,
      entry: `${FUNCTIONS_DIR}${name}.ts`,
      handler: 'handler',
      description: `Airlock ${name}`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: options.memorySize ?? 256,
      timeout: options.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      ...(options.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: options.reservedConcurrency }),
      environment,
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        // Some dependencies still call require(); give the ESM bundle one.
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        externalModules: [],
      },
    });
    acknowledge(
      fn,
      'AwsSolutions-L1',
      'Airlock targets nodejs22.x on purpose: its tooling and tests run on Node 22.',
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) support no resource-level permissions.',
    );
    this.acknowledgeFunctionFindings(name, fn, role, options.reservedConcurrency !== undefined);
    return fn;
  }

  /**
   * The Serverless and NIST 800-53 R5 findings on one pipeline function that are accepted, with
   * why. Reasons depend on who invokes it: the HTTP API, the state machine and an operator
   * synchronously, the schedule asynchronously.
   */
  private acknowledgeFunctionFindings(
    name: PipelineFunction,
    fn: NodejsFunction,
    role: iam.Role,
    hasReservedConcurrency: boolean,
  ): void {
    const invoker = INVOKER[name];
    acknowledge(
      fn,
      'Serverless-LambdaLatestVersion',
      'Airlock targets nodejs22.x on purpose: its tooling and tests run on Node 22; a newer runtime is a tested change, not a flag.',
    );
    acknowledge(
      fn,
      'NIST.800.53.R5-LambdaInsideVPC',
      'Reaches only AWS APIs (S3, DynamoDB, Step Functions) over TLS at their public endpoints, signed by its own least-privilege role; with no private resource to reach, a VPC would add NAT or endpoint cost and no control.',
    );
    const dlqReason = {
      api: 'Invoked synchronously by the HTTP API: an error goes back to the caller as the response. A Lambda DLQ only receives failed asynchronous invocations, which this function never has.',
      'state-machine':
        'Invoked synchronously by the state machine, which retries and catches its errors and keeps failed executions (alarmed) for redrive. A Lambda DLQ only receives failed asynchronous invocations.',
      schedule:
        'Invoked by its schedule with an event that carries no data: the sweep is idempotent and the next run, one sweepInterval later, redoes a failed one, so a DLQ would only collect empty schedule events.',
      operator:
        'Invoked synchronously by an operator (aws lambda invoke), who sees its report or its error and runs it again: a redrive starts each execution at most once. No schedule, rule or service invokes it asynchronously, and a Lambda DLQ only receives failed asynchronous invocations.',
    }[invoker];
    acknowledge(fn, 'Serverless-LambdaDLQ', dlqReason);
    acknowledge(fn, 'NIST.800.53.R5-LambdaDLQ', dlqReason);
    if (!hasReservedConcurrency) {
      const bound = {
        api: "Its load is bounded by the HTTP API stage's throttling (apiThrottle).",
        'state-machine':
          'It runs once per pipeline step of an upload, and the state machine retries a throttled step (Lambda.TooManyRequestsException).',
        schedule: 'It runs once per sweepInterval.',
        operator: 'It runs only when an operator invokes it, and one run starts at most 100 executions.',
      }[invoker];
      acknowledge(
        fn,
        'NIST.800.53.R5-LambdaConcurrency',
        `${bound} Reserved concurrency is opt-in (reservedConcurrency): it takes capacity from the account's shared pool, and deployment fails where the account limit leaves too little unreserved.`,
      );
    }
    acknowledge(
      role.node.tryFindChild('DefaultPolicy') ?? role,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      "The function's grants are CDK's inline DefaultPolicy on its own role: bound to that one role (never attachable to another), and asserted grant by grant in test/infra/functions.test.ts.",
    );
  }

  /** A log group with the pipeline's retention, encrypted with the customer-managed key if any. */
  private createLogGroup(
    id: string,
    retention: logs.RetentionDays,
    removalPolicy: RemovalPolicy,
  ): logs.LogGroup {
    const logGroup = new logs.LogGroup(this, id, {
      retention,
      removalPolicy,
      ...(this.encryptionKey ? { encryptionKey: this.encryptionKey } : {}),
    });
    if (!this.encryptionKey) {
      acknowledge(
        logGroup,
        'NIST.800.53.R5-CloudWatchLogGroupEncrypted',
        'CloudWatch Logs encrypts every log group at rest with service-managed keys; pass encryptionKey to encrypt this log group with that customer-managed key as well.',
      );
    }
    return logGroup;
  }

  /**
   * Lets CloudWatch Logs use the key for log groups of this account and region, as it must for
   * encrypted log groups. An imported key's policy cannot be changed from here: synth warns.
   */
  private allowCloudWatchLogsToUse(key: kms.IKey): void {
    const stack = Stack.of(this);
    const { statementAdded } = key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
      true,
    );
    if (!statementAdded) {
      Annotations.of(this).addWarningV2(
        'airlock:encryptionKeyPolicy',
        `encryptionKey is imported, so its key policy cannot be extended here: it must let logs.${stack.region}.amazonaws.com use the key for this account's log groups, or their creation fails.`,
      );
    }
  }

  /** Each function gets exactly the actions on exactly the resources its step needs. */
  private grantLeastPrivilege(key: kms.IKey | undefined, forensicReaders: string[]): void {
    const f = this.functions;
    const objects = (prefix: string) => this.bucket.arnForObjects(`${prefix}*`);
    const allow = (target: NodejsFunction, actions: string[], resources: string[]) =>
      target.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    const table = this.table.tableArn;
    const index = (name: string) => `${this.table.tableArn}/index/${name}`;

    // API: create-upload signs PUT grants into quarantine/ only; its record and audit are puts.
    allow(f['create-upload'], ['s3:PutObject'], [objects(QUARANTINE_PREFIX)]);
    allow(f['create-upload'], ['dynamodb:PutItem'], [table]);
    // The status function signs downloads of clean/ only.
    allow(f['get-upload'], ['s3:GetObject'], [objects(CLEAN_PREFIX)]);
    allow(f['get-upload'], ['dynamodb:GetItem'], [table]);
    allow(f['list-uploads'], ['dynamodb:Query'], [index(TABLE_KEYS.byOwner.indexName)]);
    allow(f['get-upload-events'], ['dynamodb:GetItem', 'dynamodb:Query'], [table]);
    allow(f['audit-uploads'], ['dynamodb:Query'], [index(TABLE_KEYS.byStatus.indexName)]);
    // Pipeline steps.
    allow(f.claim, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'], [table]);
    allow(f.validate, ['s3:GetObject', 's3:GetObjectVersion'], [objects(QUARANTINE_PREFIX)]);
    allow(f.promote, ['s3:GetObjectVersion'], [objects(QUARANTINE_PREFIX)]);
    // GetObject on its own destination: HeadObject, to copy each version at most once.
    allow(f.promote, ['s3:PutObject', 's3:GetObject'], [objects(CLEAN_PREFIX)]);
    allow(f.reject, ['s3:GetObjectVersion'], [objects(QUARANTINE_PREFIX)]);
    allow(f.reject, ['s3:PutObject', 's3:GetObject'], [objects(REJECTED_PREFIX)]);
    allow(f['record-outcome'], ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'], [table]);
    allow(f['release-quarantine'], ['s3:DeleteObjectVersion'], [objects(QUARANTINE_PREFIX)]);
    allow(f.sweeper, ['dynamodb:Query'], [index(TABLE_KEYS.byStatus.indexName)]);
    allow(f.sweeper, ['dynamodb:UpdateItem', 'dynamodb:PutItem'], [table]);
    // Redrive lists FAILED uploads and checks their version is still in quarantine/: no writes.
    allow(f.redrive, ['dynamodb:Query'], [index(TABLE_KEYS.byStatus.indexName)]);
    allow(f.redrive, ['dynamodb:GetItem'], [table]); // uploads named by id are read directly
    // Both list the versions of quarantine/<id> only.
    for (const lister of [f.sweeper, f.redrive]) {
      lister.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucketVersions'],
          resources: [this.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${QUARANTINE_PREFIX}*`] } },
        }),
      );
    }

    if (key) {
      // Writers of objects or items encrypt; readers only decrypt.
      for (const name of KEY_WRITERS) key.grantEncryptDecrypt(f[name]);
      for (const name of KEY_READERS) key.grantDecrypt(f[name]);
    }

    // Defense in depth: only the pipeline (and named forensic readers) may read quarantine/ and
    // rejected/, whatever other IAM policies in the account allow.
    if (this.bucket instanceof s3.Bucket) {
      const readers = [f.validate, f.promote, f.reject].map((fn) => (fn.role as iam.IRole).roleArn);
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'DenyReadingUnvalidatedObjects',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: [objects(QUARANTINE_PREFIX), objects(REJECTED_PREFIX)],
          conditions: { ArnNotEquals: { 'aws:PrincipalArn': [...readers, ...forensicReaders] } },
        }),
      );
      // Only Promote writes clean/: nothing else in the account can replace a validated file.
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'DenyWritingCleanExceptPromote',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['s3:PutObject'],
          resources: [objects(CLEAN_PREFIX)],
          conditions: { ArnNotEquals: { 'aws:PrincipalArn': [(f.promote.role as iam.IRole).roleArn] } },
        }),
      );
    }
  }

  private createUserPool(
    removalPolicy: RemovalPolicy,
    consoleUrl: string | undefined,
  ): {
    userPool: cognito.UserPool;
    client: cognito.UserPoolClient;
    domain?: cognito.UserPoolDomain;
  } {
    const userPool = new cognito.UserPool(this, 'UserPool', {
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
      mfa: cognito.Mfa.OPTIONAL,
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
      'AwsSolutions-COG2',
      'MFA is OPTIONAL (TOTP) so that an operator can create first users; require it in a derived stack if policy demands.',
    );
    acknowledge(
      userPool,
      'AwsSolutions-COG8',
      'Cognito Plus (threat protection) is a paid plan left to the deployer; sign-up is disabled and passwords are strong.',
    );
    new cognito.CfnUserPoolGroup(this, 'AuditorsGroup', {
      userPoolId: userPool.userPoolId,
      groupName: AUDITORS_GROUP,
      description: 'May read every upload and its audit trail.',
    });
    if (!consoleUrl) return { userPool, client };
    // A prefix unique to this stack (from its id), so that deployers never collide.
    const stackUuid = Fn.select(2, Fn.split('/', Aws.STACK_ID));
    const domain = userPool.addDomain('HostedUi', {
      cognitoDomain: { domainPrefix: `airlock-${Fn.select(0, Fn.split('-', stackUuid))}` },
    });
    return { userPool, client, domain };
  }
}

/** The pipeline's functions, in declaration order. */
export const PIPELINE_FUNCTIONS = [
  'create-upload',
  'get-upload',
  'list-uploads',
  'get-upload-events',
  'audit-uploads',
  'claim',
  'validate',
  'promote',
  'reject',
  'record-outcome',
  'release-quarantine',
  'sweeper',
  'redrive',
] as const;

export type PipelineFunction = (typeof PIPELINE_FUNCTIONS)[number];

/** Functions that write objects or items, so encrypt with the customer-managed key. */
const KEY_WRITERS = ['create-upload', 'promote', 'reject', 'claim', 'record-outcome', 'sweeper'] as const;
/** Functions that only read objects or items, so only decrypt. */
const KEY_READERS = [
  'get-upload',
  'list-uploads',
  'get-upload-events',
  'audit-uploads',
  'validate',
  'redrive',
] as const;

/**
 * Who invokes each function: the HTTP API, the state machine and an operator (`aws lambda
 * invoke`) synchronously, the schedule asynchronously. Its cdk-nag acknowledgements (DLQ,
 * concurrency) give reasons that depend on it.
 */
const INVOKER: Record<PipelineFunction, 'api' | 'state-machine' | 'schedule' | 'operator'> = {
  'create-upload': 'api',
  'get-upload': 'api',
  'list-uploads': 'api',
  'get-upload-events': 'api',
  'audit-uploads': 'api',
  claim: 'state-machine',
  validate: 'state-machine',
  promote: 'state-machine',
  reject: 'state-machine',
  'record-outcome': 'state-machine',
  'release-quarantine': 'state-machine',
  sweeper: 'schedule',
  redrive: 'operator',
};

const STATE_MACHINE_FUNCTIONS = [
  'claim',
  'validate',
  'promote',
  'reject',
  'record-outcome',
  'release-quarantine',
] as const;

interface Settings {
  allowedOrigins: string[];
  typePolicy: TypePolicy;
  uploadUrlTtlSeconds: number;
  downloadUrlTtlSeconds: number;
  quarantineRetention: Duration;
  noncurrentVersionRetention: Duration;
  rejectedRetention: Duration;
  logRetention: logs.RetentionDays;
  processingTimeoutSeconds: number;
  sweepInterval: Duration;
  apiThrottle: ApiThrottleProps;
  reservedConcurrency: Partial<Record<PipelineFunction, number>>;
}

/** Applies defaults and refuses misconfiguration at synth time, with a message saying why. */
export function resolveSettings(props: UploadPipelineProps): Settings {
  const fail = (message: string): never => {
    throw new Error(`UploadPipeline: ${message}`);
  };
  const seconds = (duration: Duration | undefined, fallback: Duration, name: string): number => {
    const value = (duration ?? fallback).toSeconds();
    if (Token.isUnresolved(value)) fail(`${name} must be a concrete duration.`);
    return value;
  };

  const allowedOrigins = props.allowedOrigins ?? [];
  for (const origin of allowedOrigins) {
    if (!/^(https:\/\/[a-z0-9.-]+(:\d+)?|http:\/\/(localhost|127\.0\.0\.1)(:\d+)?)$/i.test(origin)) {
      fail(
        `allowedOrigins entry "${origin}" must be an https origin (or http://localhost) without path or wildcard.`,
      );
    }
  }
  const uploadUrlTtlSeconds = seconds(props.uploadUrlTtl, Duration.minutes(15), 'uploadUrlTtl');
  if (uploadUrlTtlSeconds < 1 || uploadUrlTtlSeconds > MAX_UPLOAD_URL_TTL_SECONDS) {
    fail(`uploadUrlTtl must be between 1 second and 15 minutes, got ${uploadUrlTtlSeconds}s.`);
  }
  const downloadUrlTtlSeconds = seconds(props.downloadUrlTtl, Duration.minutes(5), 'downloadUrlTtl');
  if (downloadUrlTtlSeconds < 1 || downloadUrlTtlSeconds > MAX_DOWNLOAD_URL_TTL_SECONDS) {
    fail(`downloadUrlTtl must be between 1 second and 5 minutes, got ${downloadUrlTtlSeconds}s.`);
  }
  const days = (duration: Duration | undefined, fallback: number, name: string, min: number): Duration => {
    const value = duration ?? Duration.days(fallback);
    const count = value.toDays({ integral: false });
    if (!Number.isInteger(count) || count < min)
      fail(`${name} must be a whole number of days, at least ${min}.`);
    return value;
  };
  const processingTimeoutSeconds = seconds(props.processingTimeout, Duration.hours(1), 'processingTimeout');
  if (processingTimeoutSeconds < 60 * 20 || processingTimeoutSeconds > 86_400) {
    // Validate alone may take up to 15 minutes: a shorter bound would fail live executions.
    fail('processingTimeout must be between 20 minutes and 24 hours.');
  }
  const sweepInterval = props.sweepInterval ?? Duration.minutes(5);
  const sweepSeconds = seconds(sweepInterval, Duration.minutes(5), 'sweepInterval');
  if (sweepSeconds < 60 || sweepSeconds % 60 !== 0) fail('sweepInterval must be a whole number of minutes.');
  const apiThrottle = props.apiThrottle ?? { rateLimit: 50, burstLimit: 100 };
  if (apiThrottle.rateLimit <= 0 || apiThrottle.burstLimit <= 0) fail('apiThrottle limits must be positive.');
  const reservedConcurrency = props.reservedConcurrency ?? {};
  for (const [name, value] of Object.entries(reservedConcurrency)) {
    if (!(PIPELINE_FUNCTIONS as readonly string[]).includes(name)) {
      fail(`reservedConcurrency names an unknown function "${name}".`);
    }
    if (value === undefined) continue;
    if (Token.isUnresolved(value) || !Number.isInteger(value) || value < 1) {
      fail(`reservedConcurrency of ${name} must be a whole number, at least 1 (0 would stop the function).`);
    }
  }
  if (props.existingBucket && props.acceptExistingBucketRisks !== true) {
    fail(
      'existingBucket is refused unless acceptExistingBucketRisks is true: its owner must enable versioning, ' +
        'EventBridge notifications, Block Public Access and a TLS-only policy, which this construct cannot enforce.',
    );
  }
  if (props.jwtIssuer) {
    if (!/^https:\/\//.test(props.jwtIssuer.issuerUrl)) fail('jwtIssuer.issuerUrl must be an https URL.');
    if (props.jwtIssuer.audience.length === 0) fail('jwtIssuer.audience must name at least one audience.');
  }
  let typePolicy: TypePolicy;
  try {
    typePolicy = parseTypePolicy(JSON.stringify(props.typePolicy ?? DEFAULT_TYPE_POLICY));
  } catch (error) {
    return fail((error as Error).message);
  }
  const quarantineRetention = days(props.quarantineRetention, 7, 'quarantineRetention', 1);
  if (quarantineRetention.toSeconds() <= uploadUrlTtlSeconds + processingTimeoutSeconds) {
    fail(
      'quarantineRetention must exceed uploadUrlTtl plus processingTimeout, or bytes could expire before a redrive.',
    );
  }

  return {
    allowedOrigins,
    typePolicy,
    uploadUrlTtlSeconds,
    downloadUrlTtlSeconds,
    quarantineRetention,
    noncurrentVersionRetention: days(props.noncurrentVersionRetention, 30, 'noncurrentVersionRetention', 1),
    rejectedRetention: days(props.rejectedRetention, 90, 'rejectedRetention', 1),
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    processingTimeoutSeconds,
    sweepInterval,
    apiThrottle,
    reservedConcurrency,
  };
}

function executionArnPattern(stateMachine: sfn.StateMachine): string {
  // arn:aws:states:<region>:<account>:execution:<name>:*
  const stack = Stack.of(stateMachine);
  return stack.formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachine.stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

const pascalCase = (name: string): string =>
  name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
