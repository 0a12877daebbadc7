import type { SFNClient } from '@aws-sdk/client-sfn';
import { makeDynamoDbClient, makeS3Client, readConfig } from '../functions/commons/config.js';
import { StepFunctionsGateway } from '../functions/adapters/execution-gateway.js';
import { ObjectStore } from '../functions/adapters/object-store.js';
import { UploadStore } from '../functions/adapters/upload-store.js';
import { SweepStateStore } from '../functions/adapters/sweep-state.js';
import { outcomePublicationFromEnv } from '../functions/commons/outcome-publication.js';
import type { RedriveDeps } from '../functions/redrive.js';
import type { SweeperDeps } from '../functions/sweeper.js';
import type { ApiHandler } from './api-server.js';
import { localFunctionArn, type TaskFunctionName, type TaskHandler } from './executor.js';
import type { IamEnforcer } from './iam/index.js';
import { invokeFunction } from './sandbox.js';

/** Lambda's error when the caller may not invoke the function (Step Functions' name for it). */
export class LambdaAccessDeniedError extends Error {
  override readonly name = 'Lambda.AWSLambdaException';
}

export interface LocalFunctionsOptions {
  table: string;
  bucket: string;
  stateMachineArn: string;
  /** The Step Functions client of the sweeper and the redrive. */
  stepFunctions: SFNClient;
  /** The sweeper's local timings (the reconciler's cadence: fast by default, or the deployed one scaled). */
  sweeper: Pick<SweeperDeps, 'processingTimeoutMs' | 'uploadTtlMs' | 'sweep'>;
  /** The redrive's paging: as the deployed function's (page size, concurrency, budget). */
  redrive: Pick<RedriveDeps, 'pageSize' | 'concurrency' | 'budgetMs'>;
  /**
   * The functions the template has for the configured scanner: the scan-result intake (any
   * scanner but none) and the rescan (GuardDuty's, whose on-demand scans ClamAV stands in for).
   */
  scanning: { intake: boolean; rescan: boolean };
}

export interface LocalFunctions {
  api: {
    createUpload: ApiHandler;
    getUpload: ApiHandler;
    listUploads: ApiHandler;
    getUploadEvents: ApiHandler;
    auditUploads: ApiHandler;
    auditDigests: ApiHandler;
  };
  tasks: Record<TaskFunctionName, TaskHandler>;
  /**
   * The intake of Object Scan Result events, invoked as EventBridge invokes it on AWS (under its
   * own role); undefined with `scanner: none`.
   */
  scanResult?: (event: unknown) => Promise<unknown>;
  /** One reconciler run: the sweeper function, with the local timings. */
  sweep(): Promise<unknown>;
  /** One run of the audit digest writer (its settings are in the environment, as on AWS). */
  writeAuditDigests(): Promise<unknown>;
  /** What `aws lambda invoke` does for an operator: the redrive, and the rescan where there is one. */
  invokeOperatorFunction(name: string, event: unknown): Promise<unknown>;
}

/**
 * The handler modules AWS runs, each wrapped so that every invocation runs as its function:
 * its role's policies and its timeout and memory size from the synthesized template. The task
 * functions are also invoked as the state machine's role invokes them on AWS (it must be allowed
 * lambda:InvokeFunction on each).
 */
export async function loadFunctions(
  iam: IamEnforcer,
  options: LocalFunctionsOptions,
): Promise<LocalFunctions> {
  const [
    createUpload,
    getUpload,
    listUploads,
    getUploadEvents,
    auditUploads,
    claim,
    validate,
    scan,
    promote,
    reject,
    record,
    release,
    publishOutcome,
    sweeper,
    redrive,
    scanResult,
    rescan,
    auditDigests,
    writeAuditDigest,
  ] = await Promise.all([
    import('../functions/create-upload.js'),
    import('../functions/get-upload.js'),
    import('../functions/list-uploads.js'),
    import('../functions/get-upload-events.js'),
    import('../functions/audit-uploads.js'),
    import('../functions/claim.js'),
    import('../functions/validate.js'),
    import('../functions/scan.js'),
    import('../functions/promote.js'),
    import('../functions/reject.js'),
    import('../functions/record-outcome.js'),
    import('../functions/release-quarantine.js'),
    import('../functions/publish-outcome.js'),
    import('../functions/sweeper.js'),
    import('../functions/redrive.js'),
    import('../functions/scan-result.js'),
    import('../functions/rescan.js'),
    import('../functions/audit-digests.js'),
    import('../functions/write-audit-digest.js'),
  ]);
  const as = <E, R>(name: string, handler: (event: E) => Promise<R>) => {
    const limits = iam.limitsOf(name); // fails at start if the template lacks the function
    return (event: E) => invokeFunction(name, limits, handler, event);
  };
  const api = (name: string, handler: (event: never) => Promise<unknown>): ApiHandler =>
    as(name, handler as unknown as ApiHandler);
  const task = (name: TaskFunctionName, handler: TaskHandler): TaskHandler => {
    const invoke = as(name, handler);
    return async (input) => {
      const resource = localFunctionArn(name);
      const decision = await iam.checkService('state-machine', {
        action: 'lambda:InvokeFunction',
        resource,
        context: {},
      });
      if (!decision.allowed) throw new LambdaAccessDeniedError(`${decision.because} (AccessDeniedException)`);
      return invoke(input);
    };
  };

  // The sweeper and the redrive read their settings from the environment on AWS; locally their
  // adapters are the same, over the same instrumented clients, with local timings.
  const maintenance = () => {
    const config = readConfig();
    const dynamoDb = makeDynamoDbClient(config);
    const objects = new ObjectStore(makeS3Client(config));
    return {
      store: new UploadStore(options.table, dynamoDb),
      sweepState: new SweepStateStore(options.table, dynamoDb),
      objects,
      // The sweeper publishes through the same EventBridge client, to the router's bus.
      publication: outcomePublicationFromEnv(objects, options.bucket),
      executions: new StepFunctionsGateway(options.stateMachineArn, options.stepFunctions),
      bucket: options.bucket,
      now: () => new Date(),
    };
  };
  let maintenanceAdapters: ReturnType<typeof maintenance> | undefined;
  const adapters = () => (maintenanceAdapters ??= maintenance());
  const sweep = as(
    'sweeper',
    sweeper.makeSweeperHandler(() => ({
      ...adapters(),
      abandonedRecordRetentionSeconds: readConfig().abandonedRecordRetentionSeconds,
      ...options.sweeper,
    })),
  );
  const redriveHandler = as(
    'redrive',
    redrive.makeRedriveHandler(() => ({ ...adapters(), ...options.redrive })),
  );
  const operatorFunctions: Record<string, (event: unknown) => Promise<unknown>> = {
    redrive: (event) => redriveHandler(event as { uploadIds?: unknown }),
    ...(options.scanning.rescan
      ? { rescan: as('rescan', (event: unknown) => rescan.handler(event as { cursor?: unknown })) }
      : {}),
  };

  return {
    api: {
      createUpload: api('create-upload', createUpload.handler),
      getUpload: api('get-upload', getUpload.handler),
      listUploads: api('list-uploads', listUploads.handler),
      getUploadEvents: api('get-upload-events', getUploadEvents.handler),
      auditUploads: api('audit-uploads', auditUploads.handler),
      auditDigests: api('audit-digests', auditDigests.handler),
    },
    tasks: {
      claim: task('claim', claim.handler),
      validate: task('validate', validate.handler),
      scan: task('scan', scan.handler),
      promote: task('promote', promote.handler),
      reject: task('reject', reject.handler),
      'record-outcome': task('record-outcome', record.handler),
      'release-quarantine': task('release-quarantine', release.handler),
      'publish-outcome': task('publish-outcome', publishOutcome.handler),
    },
    ...(options.scanning.intake ? { scanResult: as('scan-result', scanResult.handler) } : {}),
    sweep: () => sweep(undefined),
    writeAuditDigests: (() => {
      const write = as('write-audit-digest', writeAuditDigest.handler);
      return () => write(undefined);
    })(),
    invokeOperatorFunction: (name, event) => {
      const invoke = Object.hasOwn(operatorFunctions, name) ? operatorFunctions[name] : undefined;
      if (invoke === undefined) return Promise.reject(new Error(`${name} is not an operator function.`));
      return invoke(event);
    },
  };
}
