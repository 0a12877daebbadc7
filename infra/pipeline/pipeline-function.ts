import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { acknowledge } from '../nag-packs.js';
import { pascalCase, type PipelineFunction } from './function-names.js';
import type { PipelineLogGroups } from './log-groups.js';

const FUNCTIONS_DIR = fileURLToPath(new URL('../../functions/', import.meta.url));

/**
 * Who invokes a function: the HTTP API, the state machine and an operator (`aws lambda invoke`)
 * synchronously, the schedule and an EventBridge rule (the scan results) asynchronously, an SQS
 * event source mapping by polling. Its cdk-nag reasons (DLQ, concurrency) depend on it.
 */
export type FunctionInvoker = 'api' | 'state-machine' | 'schedule' | 'operator' | 'event-rule' | 'queue';

/** What every pipeline function shares. */
export interface PipelineFunctionDefaults {
  /** The settings and resource names every function reads (commons/config.ts). */
  readonly environment: Record<string, string>;
  readonly logGroups: PipelineLogGroups;
  /** Reserved concurrency by function; unnamed functions share the account's pool. */
  readonly reservedConcurrency: Partial<Record<PipelineFunction, number>>;
}

export interface PipelineLambdaProps {
  readonly invoker: FunctionInvoker;
  readonly defaults: PipelineFunctionDefaults;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
}

/**
 * One pipeline function: the handler `functions/<name>.ts` bundled as ESM for nodejs22.x on arm64,
 * with active tracing, its own log group and its own role, which may write to that log group only
 * (instead of AWSLambdaBasicExecutionRole). Grants are added next to where it is made.
 *
 * The log group, the role and the function are made on `scope` with the ids `<Name>Logs`,
 * `<Name>Role` and `<Name>Function`, so that their logical ids stay those of deployed stacks.
 */
export class PipelineLambda extends NodejsFunction {
  readonly pipelineName: PipelineFunction;
  /** The function's own role: grants go here (also reachable as `role`). */
  readonly executionRole: iam.Role;

  constructor(scope: Construct, name: PipelineFunction, props: PipelineLambdaProps) {
    const id = pascalCase(name);
    const { environment, logGroups, reservedConcurrency } = props.defaults;
    const logGroup = logGroups.create(scope, `${id}Logs`);
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Airlock ${name} function`,
    });
    logGroup.grantWrite(role);
    const reserved = reservedConcurrency[name];
    super(scope, `${id}Function`, {
      role,
      entry: `${FUNCTIONS_DIR}${name}.ts`,
      handler: 'handler',
      description: `Airlock ${name}`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      ...(reserved === undefined ? {} : { reservedConcurrentExecutions: reserved }),
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
    this.pipelineName = name;
    this.executionRole = role;
    acknowledge(
      this,
      'AwsSolutions-L1',
      'Airlock targets nodejs22.x on purpose: its tooling and tests run on Node 22.',
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) support no resource-level permissions.',
    );
    this.acknowledgeFindings(props.invoker, reserved !== undefined);
  }

  /**
   * The Serverless and NIST 800-53 R5 findings on a pipeline function that are accepted, with
   * why. Reasons depend on who invokes it.
   */
  private acknowledgeFindings(invoker: FunctionInvoker, hasReservedConcurrency: boolean): void {
    acknowledge(
      this,
      'Serverless-LambdaLatestVersion',
      'Airlock targets nodejs22.x on purpose: its tooling and tests run on Node 22; a newer runtime is a tested change, not a flag.',
    );
    acknowledge(
      this,
      'NIST.800.53.R5-LambdaInsideVPC',
      invoker === 'queue'
        ? "Delivers webhooks to the operator's public https endpoints, behind an SSRF guard that resolves each host and refuses private, loopback, link-local and metadata addresses (functions/domain/webhook-target.ts); in a VPC it would need a NAT gateway to reach them, and it reaches no private resource."
        : 'Reaches only AWS APIs (S3, DynamoDB, Step Functions) over TLS at their public endpoints, signed by its own least-privilege role; with no private resource to reach, a VPC would add NAT or endpoint cost and no control.',
    );
    const dlqReason = {
      api: 'Invoked synchronously by the HTTP API: an error goes back to the caller as the response. A Lambda DLQ only receives failed asynchronous invocations, which this function never has.',
      'state-machine':
        'Invoked synchronously by the state machine, which retries and catches its errors and keeps failed executions (alarmed) for redrive. A Lambda DLQ only receives failed asynchronous invocations.',
      schedule:
        'Invoked by its schedule with an event that carries no data: the sweep is idempotent and the next run, one sweepInterval later, redoes a failed one, so a DLQ would only collect empty schedule events.',
      operator:
        'Invoked synchronously by an operator (aws lambda invoke), who sees its report or its error and runs it again: a redrive starts each execution at most once. No schedule, rule or service invokes it asynchronously, and a Lambda DLQ only receives failed asynchronous invocations.',
      'event-rule':
        "Invoked asynchronously by its EventBridge rule: an invocation that still fails after Lambda's retries goes to the on-failure destination (the pipeline's alarmed dead-letter queue), which keeps the whole event; a DLQ would keep the same.",
      queue:
        "Invoked synchronously by its SQS event source mapping: a failed delivery stays in the queue for its next attempt, and the queue's redrive policy moves it to the alarmed dead-letter queue after the last. A Lambda DLQ only receives failed asynchronous invocations.",
    }[invoker];
    acknowledge(this, 'Serverless-LambdaDLQ', dlqReason);
    acknowledge(this, 'NIST.800.53.R5-LambdaDLQ', dlqReason);
    if (!hasReservedConcurrency) {
      const bound = {
        api: "Its load is bounded by the HTTP API stage's throttling (apiThrottle).",
        'state-machine':
          'It runs once per pipeline step of an upload, and the state machine retries a throttled step (Lambda.TooManyRequestsException).',
        schedule: 'It runs once per sweepInterval.',
        operator: 'It runs only when an operator invokes it, and one run starts at most 100 executions.',
        'event-rule':
          'It runs once per scan result the engine publishes, at most once per uploaded version and rescan.',
        queue: "Its event source mapping's maximum concurrency bounds it (10 at once).",
      }[invoker];
      acknowledge(
        this,
        'NIST.800.53.R5-LambdaConcurrency',
        `${bound} Reserved concurrency is opt-in (reservedConcurrency): it takes capacity from the account's shared pool, and deployment fails where the account limit leaves too little unreserved.`,
      );
    }
    acknowledge(
      this.executionRole.node.tryFindChild('DefaultPolicy') ?? this.executionRole,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      "The function's grants are CDK's inline DefaultPolicy on its own role: bound to that one role (never attachable to another), and asserted grant by grant in test/infra/functions.test.ts.",
    );
  }
}
