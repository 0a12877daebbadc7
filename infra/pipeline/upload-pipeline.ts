import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENV_NAMES, settingsEnvironment } from '../../functions/commons/env-names.js';
import { ConsoleHosting } from '../console-hosting.js';
import { buildAlarms } from './alarms.js';
import { addAuditDigestRoutes, buildApi } from './api.js';
import { buildAuditDigests, type PipelineAuditDigests } from './audit-digests.js';
import { buildEvents, type OutcomeRuleOptions, type PipelineEvents } from './events.js';
import type { PipelineFunction } from './function-names.js';
import { buildIdentity, type HostedUi } from './identity.js';
import { allowCloudWatchLogsToUse, PipelineLogGroups } from './log-groups.js';
import { buildMaintenance } from './maintenance.js';
import type { PipelineLambda } from './pipeline-function.js';
import type { UploadPipelineProps } from './props.js';
import { buildScanning, type PipelineScanning } from './scanning.js';
import { resolveSettings, scannerKindOf } from './settings.js';
import { buildSteps, type StepFunction } from './steps.js';
import { buildAccessLogsBucket, buildTable, buildUploadsBucket } from './storage.js';
import { UploadStorage } from './upload-storage.js';
import { buildWorkflow, definitionSubstitutions } from './workflow.js';

/** The functions that exist only with a scanner (`scanner: 'none'` has neither). */
type ScanningFunction = 'scan-result' | 'rescan';

/**
 * Airlock: presigned uploads into a quarantine prefix, validated and promoted by a Step
 * Functions state machine, with an immutable audit trail and a JWT-protected status API.
 *
 * Everything that holds data or is addressed from outside (buckets, table, log groups, user pool,
 * API, state machine, queue, functions) is made on this construct's own scope with a fixed id, so
 * that its logical id stays that of deployed stacks (test/infra/logical-ids.test.ts).
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
  /** Every function; the scan-result intake and the rescan only where a scanner is configured, `deliver-webhooks` only when webhook endpoints are configured. */
  readonly functions: Record<
    Exclude<PipelineFunction, ScanningFunction | 'deliver-webhooks'>,
    PipelineLambda
  > &
    Partial<Record<ScanningFunction | 'deliver-webhooks', PipelineLambda>>;
  /** Outcome events: the bus, and the webhook delivery when endpoints are configured. */
  readonly events: PipelineEvents;
  /** The Cognito hosted UI the console signs in with (when the construct made the user pool). */
  readonly hostedUi?: HostedUi;
  /** The console's hosting, unless disabled. */
  readonly console?: ConsoleHosting;
  readonly accessLogsBucket: s3.Bucket;
  /** The bucket and the table, with the grant helpers every function's IAM goes through. */
  readonly storage: UploadStorage;
  /** The malware engine's plan and role, the result intake and the rescan (none with `scanner: 'none'`). */
  readonly scanning: PipelineScanning;
  /** Signed, chained digests of the audit trails: their Object Lock bucket, key, writer and reader. */
  readonly auditDigests: PipelineAuditDigests;
  private readonly steps: Record<StepFunction, PipelineLambda>;

  constructor(scope: Construct, id: string, props: UploadPipelineProps = {}) {
    super(scope, id);
    const settings = resolveSettings(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const { encryptionKey } = props;
    if (encryptionKey) allowCloudWatchLogsToUse(this, encryptionKey);
    const logGroups = new PipelineLogGroups({
      retention: settings.logRetention,
      removalPolicy,
      encryptionKey,
    });

    // --- Storage --------------------------------------------------------------------------
    this.accessLogsBucket = buildAccessLogsBucket(this, removalPolicy);
    if (props.console?.enabled !== false) {
      this.console = new ConsoleHosting(this, 'Console', {
        logBucket: this.accessLogsBucket,
        removalPolicy,
        ...(props.console?.webAclArn ? { webAclArn: props.console.webAclArn } : {}),
      });
    }
    const consoleUrl = this.console
      ? `https://${this.console.distribution.distributionDomainName}`
      : undefined;
    const consoleOrigins = consoleUrl ? [consoleUrl] : [];
    this.bucket =
      props.existingBucket ??
      buildUploadsBucket(this, {
        settings,
        accessLogsBucket: this.accessLogsBucket,
        extraOrigins: consoleOrigins,
        removalPolicy,
        ...(encryptionKey ? { encryptionKey } : {}),
      });
    this.table = buildTable(this, { removalPolicy, ...(encryptionKey ? { encryptionKey } : {}) });
    this.storage = new UploadStorage({
      bucket: this.bucket,
      table: this.table,
      ...(encryptionKey ? { encryptionKey } : {}),
    });

    // --- Functions, each with its grants, grouped by who invokes them ------------------------
    const defaults = {
      environment: {
        [ENV_NAMES.tableName]: this.table.tableName,
        [ENV_NAMES.bucketName]: this.bucket.bucketName,
        ...settingsEnvironment(settings).shared,
        [ENV_NAMES.serviceName]: 'airlock',
        [ENV_NAMES.nodeOptions]: '--enable-source-maps',
        // A deployment is a production configuration: functions refuse fault injection (faults.ts).
        [ENV_NAMES.deployment]: 'production',
      },
      logGroups,
      reservedConcurrency: settings.reservedConcurrency,
    };
    this.steps = buildSteps(this, {
      storage: this.storage,
      defaults,
      scanner: scannerKindOf(settings.scanner),
    });

    const workflow = buildWorkflow(this, { bucket: this.bucket, steps: this.steps, logGroups });
    this.stateMachine = workflow.stateMachine;
    this.deadLetterQueue = workflow.deadLetterQueue;

    // --- Malware scanning: the engine, its results' intake, rescans --------------------------
    this.scanning = buildScanning(this, {
      storage: this.storage,
      defaults,
      scanner: settings.scanner,
      deadLetterQueue: this.deadLetterQueue,
      ...(encryptionKey ? { encryptionKey } : {}),
    });
    const { validate, promote, reject } = this.steps;
    const { intake } = this.scanning;
    this.storage.restrictPrefixes(
      [validate, promote, reject, ...(intake ? [intake] : [])],
      [...(props.forensicReaderArns ?? []), ...this.scanning.readerArns],
      promote,
    );
    if (intake) this.storage.denyReadingQuarantinedObjects(intake);
    const maintenance = buildMaintenance(this, {
      storage: this.storage,
      stateMachine: this.stateMachine,
      settings,
      defaults,
    });
    this.events = buildEvents(this, {
      defaults,
      ...(props.eventBus || props.eventBusArn
        ? {
            eventBus:
              props.eventBus ??
              events.EventBus.fromEventBusArn(this, 'ExistingOutcomeEventBus', props.eventBusArn ?? ''),
          }
        : {}),
      webhooks: settings.webhooks,
      retry: settings.webhookRetry,
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
    });
    // The publishers of outcome events: the Publish step and the sweeper (expiry, repairs).
    for (const publisher of [this.steps['publish-outcome'], maintenance.sweeper]) {
      this.events.grantPublish(publisher);
      publisher.addEnvironment(ENV_NAMES.eventBusName, this.events.bus.eventBusName);
    }
    buildAlarms(this, {
      deadLetterQueue: this.deadLetterQueue,
      stateMachine: this.stateMachine,
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
    });

    // --- HTTP API, behind the given JWT issuer or a new user pool -------------------------
    let issuer = props.jwtIssuer;
    let hostedUiOrigin: string | undefined;
    if (issuer === undefined) {
      const identity = buildIdentity(this, { removalPolicy, ...(consoleUrl ? { consoleUrl } : {}) });
      this.userPool = identity.userPool;
      this.userPoolClient = identity.client;
      this.hostedUi = identity.hostedUi;
      hostedUiOrigin = identity.hostedUiOrigin;
      issuer = identity.issuer;
    }
    const api = buildApi(this, {
      storage: this.storage,
      defaults,
      logGroups,
      issuer,
      corsOrigins: [...settings.allowedOrigins, ...consoleOrigins],
      throttle: settings.apiThrottle,
    });
    this.api = api.api;
    this.apiStage = api.stage;
    // Made after every function that appends to a trail: the settle time is their longest timeout.
    this.auditDigests = buildAuditDigests(this, {
      storage: this.storage,
      settings,
      defaults,
      accessLogsBucket: this.accessLogsBucket,
      trailWriters: [
        ...Object.values(api.functions),
        ...Object.values(this.steps),
        maintenance.sweeper,
        maintenance.redrive,
        ...(this.scanning.intake ? [this.scanning.intake] : []),
        ...(this.scanning.rescan ? [this.scanning.rescan] : []),
      ],
      ...(props.auditDigestKey ? { key: props.auditDigestKey } : {}),
      ...(encryptionKey ? { encryptionKey } : {}),
    });
    addAuditDigestRoutes(this.api, this.auditDigests.reader);
    this.console?.deploy(
      this.apiStage.url,
      {
        // As HttpApi.apiEndpoint is made, spelled out so that the CSP can check it is one origin.
        api: `https://${this.api.apiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`,
        uploads: `https://${this.bucket.bucketRegionalDomainName}`,
        ...(hostedUiOrigin === undefined ? {} : { auth: hostedUiOrigin }),
      },
      this.hostedUi,
    );

    this.functions = {
      ...api.functions,
      ...this.steps,
      sweeper: maintenance.sweeper,
      redrive: maintenance.redrive,
      'write-audit-digest': this.auditDigests.writer,
      'audit-digests': this.auditDigests.reader,
      ...(this.scanning.intake ? { 'scan-result': this.scanning.intake } : {}),
      ...(this.scanning.rescan ? { rescan: this.scanning.rescan } : {}),
      ...(this.events.webhooks ? { 'deliver-webhooks': this.events.webhooks.function } : {}),
    };
    this.refuseFaultInjection();
  }

  /**
   * A rule on the outcome-event bus, in one line:
   * `pipeline.addOutcomeRule('ToBilling', { statuses: ['PROCESSED'], targets: [new targets.LambdaFunction(fn)] })`.
   */
  addOutcomeRule(id: string, options: OutcomeRuleOptions): events.Rule {
    return this.events.addOutcomeRule(this, id, options);
  }

  /** Lets a principal publish outcome events to the bus (events:PutEvents on it only). */
  grantPublishOutcomes(grantee: iam.IGrantable): iam.Grant {
    return this.events.grantPublish(grantee);
  }

  /** The substitutions for the ASL's `${Placeholders}`: one per task function. */
  definitionSubstitutions(): Record<string, string> {
    return definitionSubstitutions(this.steps);
  }

  /** Fault injection is for the local runtime's reliability suite: refuse it at synth too. */
  private refuseFaultInjection(): void {
    this.node.addValidation({
      validate: () =>
        Object.entries(this.functions).flatMap(([name, fn]) => {
          const cfn = fn.node.defaultChild as lambda.CfnFunction;
          const resolved = Stack.of(this).resolve(cfn.environment) as
            { variables?: Record<string, unknown> } | undefined;
          return resolved?.variables?.[ENV_NAMES.faults] === undefined
            ? []
            : [
                `UploadPipeline: the ${name} function sets ${ENV_NAMES.faults}; fault injection is refused in a deployment.`,
              ];
        }),
    });
  }
}
