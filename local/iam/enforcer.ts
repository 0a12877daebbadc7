import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { GrantToSign, LocalHooks, SdkClient } from '../../functions/commons/local-hooks.js';
import { currentInvocation, SandboxStoppedError, type FunctionLimits } from '../sandbox.js';
import { PolicyEvaluator, type Decision } from './evaluator.js';
import { iamRequestsFor, type IamRequest, type Service, type Where } from './requests.js';
import type { DeployedPolicies, Principal } from './roles.js';

/** Where every runtime also writes its IAM report, for a test tier to add them up. */
export const IAM_REPORT_DIR_ENV = 'AIRLOCK_IAM_REPORT_DIR';

export interface IamCount {
  checked: number;
  denied: number;
}

/** What the runtime checked against the synthesized policies, and what it refused. */
export interface IamReport {
  /** The template the policies came from. */
  template: string;
  /** SDK calls of the functions, presigned grants they signed, and services' own calls. */
  sdkCalls: IamCount;
  presignedGrants: IamCount;
  serviceCalls: IamCount;
  /** Every check: principal → IAM action → counts. */
  byPrincipal: Record<string, Record<string, IamCount>>;
  /** The latest denials (at most 100), newest last. */
  denials: Array<{ at: string; principal: string; action: string; resource: string; because: string }>;
  /** Calls refused because their invocation had passed its timeout (not IAM denials). */
  refusedAfterTimeout: number;
}

type Kind = 'sdkCalls' | 'presignedGrants' | 'serviceCalls';

/** The part of the SDK's middleware stack used here (its own types differ per client). */
interface MiddlewareStack {
  add(
    middleware: (
      next: (args: MiddlewareArgs) => Promise<unknown>,
      context: { commandName?: string },
    ) => (args: MiddlewareArgs) => Promise<unknown>,
    options: { step: 'deserialize'; priority: 'low'; name: string },
  ): void;
}
interface MiddlewareArgs {
  input: Record<string, unknown>;
  request: unknown;
}

/**
 * Enforces the deployed IAM on the local runtime. Every SDK client a function builds gets a
 * middleware that, at each call, turns the command into the IAM requests AWS would authorize,
 * evaluates them as the calling function's role (the invocation in progress, see sandbox.ts)
 * and, when one is denied, answers with the very HTTP response AWS sends (S3 403 AccessDenied,
 * DynamoDB and Step Functions 400 AccessDeniedException), which the SDK turns into its usual
 * error. Presigned grants are checked before they are signed, service roles before the
 * state machine invokes a task or the event rule starts an execution.
 */
export class IamEnforcer {
  private readonly evaluator: PolicyEvaluator;
  private readonly report: IamReport;
  private readonly decided = new WeakMap<object, Promise<Decision & { request?: IamRequest }>>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deployed: DeployedPolicies,
    private readonly where: Where & { bucket: string },
    template: string,
    private readonly reportFiles: string[] = [],
  ) {
    this.evaluator = new PolicyEvaluator(deployed, where);
    const zero = (): IamCount => ({ checked: 0, denied: 0 });
    this.report = {
      template,
      sdkCalls: zero(),
      presignedGrants: zero(),
      serviceCalls: zero(),
      byPrincipal: {},
      denials: [],
      refusedAfterTimeout: 0,
    };
  }

  /** The hooks for functions/commons/local-hooks.ts. */
  get hooks(): LocalHooks {
    return { instrument: (client) => this.instrument(client), checkGrant: (grant) => this.checkGrant(grant) };
  }

  limitsOf(functionName: string): FunctionLimits {
    const deployed = this.deployed.functions.get(functionName);
    if (deployed === undefined) throw new Error(`The synthesized template has no ${functionName} function.`);
    return { timeoutSeconds: deployed.timeoutSeconds };
  }

  /** The longest timeout among the template's functions but `except` (the digests' settle time). */
  longestTimeoutSeconds(except: readonly string[]): number {
    return Math.max(
      ...[...this.deployed.functions.values()]
        .filter((fn) => !except.includes(fn.name))
        .map((fn) => fn.timeoutSeconds),
    );
  }

  /** The outcome-event bus of the template, as functions name it locally (EVENT_BUS_NAME). */
  get outcomeEventBus(): string | undefined {
    return this.deployed.outcomeEventBus;
  }

  snapshot(): IamReport {
    return structuredClone(this.report);
  }

  /** Adds the checking middleware to a function's SDK client. */
  instrument(client: SdkClient): void {
    const service: Service | undefined =
      client instanceof S3Client
        ? 's3'
        : client instanceof DynamoDBClient
          ? 'dynamodb'
          : client instanceof SFNClient
            ? 'sfn'
            : client instanceof EventBridgeClient
              ? 'events'
              : undefined;
    if (service === undefined)
      throw new Error('Only S3, DynamoDB, Step Functions and EventBridge clients can be checked.');
    // Innermost, just before the request would be sent: a presigner never gets here, and a
    // denial goes back through the SDK's own deserializer and retry decision.
    const stack = client.middlewareStack as unknown as MiddlewareStack;
    stack.add(
      (next, context) => async (args) => {
        const invocation = currentInvocation();
        const command = String(context.commandName ?? 'unknown command');
        if (invocation === undefined) {
          throw new Error(
            `${command} was sent outside any function invocation: run handlers through invokeFunction.`,
          );
        }
        if (invocation.timedOut) {
          this.report.refusedAfterTimeout++;
          this.changed();
          throw new SandboxStoppedError(
            `${invocation.functionName} passed its timeout: Lambda would have stopped it before this ${command}.`,
          );
        }
        let decision = this.decided.get(context);
        if (decision === undefined) {
          // Once per call: a retried attempt is not checked (or counted) again.
          decision = this.authorize('sdkCalls', invocation.functionName, service, command, args.input);
          this.decided.set(context, decision);
        }
        const outcome = await decision;
        if (!outcome.allowed) {
          const principal = this.principal(invocation.functionName);
          return { response: deniedResponse(service, principal, outcome, args.request) };
        }
        return next(args);
      },
      { step: 'deserialize', priority: 'low', name: 'airlockLocalIam' },
    );
  }

  /** A grant must be one the signing function could itself use. */
  async checkGrant(grant: GrantToSign): Promise<void> {
    const invocation = currentInvocation();
    if (invocation === undefined)
      throw new Error(`A ${grant.method} grant was signed outside any function invocation.`);
    const outcome = await this.authorize('presignedGrants', invocation.functionName, 's3', grant.operation, {
      Bucket: grant.bucket,
      Key: grant.key,
    });
    if (outcome.allowed) return;
    throw new S3ServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: `${denialMessage(this.principal(invocation.functionName), outcome)} (presigned ${grant.method})`,
    });
  }

  /** A call a service makes with its own role: the state machine's, the event rule's. */
  async checkService(principalName: 'state-machine' | 'events-rule', request: IamRequest): Promise<Decision> {
    const principal =
      principalName === 'state-machine' ? this.deployed.stateMachine : this.deployed.eventsRule;
    if (principal === undefined) throw new Error(`The synthesized template has no ${principalName} role.`);
    const decision = await this.evaluator.decide(principal, request);
    this.count('serviceCalls', principal, request, decision);
    return decision.allowed
      ? decision
      : { allowed: false, because: denialMessage(principal, { ...decision, request }) };
  }

  /** Writes the report now and stops the periodic writes. */
  stop(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flush();
  }

  private async authorize(
    kind: Kind,
    functionName: string,
    service: Service,
    command: string,
    input: Record<string, unknown>,
  ): Promise<Decision & { request?: IamRequest }> {
    const principal = this.principal(functionName);
    for (const request of iamRequestsFor(service, command, input, this.where)) {
      const decision = await this.evaluator.decide(principal, request);
      this.count(kind, principal, request, decision);
      if (!decision.allowed) return { ...decision, request };
    }
    return { allowed: true };
  }

  private principal(functionName: string): Principal {
    const principal = this.deployed.functions.get(functionName);
    if (principal === undefined) throw new Error(`The synthesized template has no ${functionName} function.`);
    return principal;
  }

  private count(kind: Kind, principal: Principal, request: IamRequest, decision: Decision): void {
    const byAction = (this.report.byPrincipal[principal.name] ??= {});
    const count = (byAction[request.action] ??= { checked: 0, denied: 0 });
    count.checked++;
    this.report[kind].checked++;
    if (!decision.allowed) {
      count.denied++;
      this.report[kind].denied++;
      this.report.denials.push({
        at: new Date().toISOString(),
        principal: principal.name,
        action: request.action,
        resource: request.resource,
        because: decision.because,
      });
      if (this.report.denials.length > 100) this.report.denials.shift();
    }
    this.changed();
  }

  /** Writes the report at most every 200 ms, so that even a killed runtime leaves its counts. */
  private changed(): void {
    if (this.flushTimer !== undefined || this.reportFiles.length === 0) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, 200);
    this.flushTimer.unref();
  }

  private flush(): void {
    const text = `${JSON.stringify(this.report, null, 2)}\n`;
    for (const file of this.reportFiles) {
      mkdirSync(join(file, '..'), { recursive: true });
      const temp = `${file}.tmp`;
      writeFileSync(temp, text);
      renameSync(temp, file);
    }
  }
}

/** AWS's wording: `User: <session> is not authorized to perform: <action> on resource: <arn> …`. */
function denialMessage(principal: Principal, outcome: { because: string; request?: IamRequest }): string {
  const request = outcome.request;
  return request === undefined
    ? outcome.because
    : `User: ${principal.sessionArn} is not authorized to perform: ${request.action} on resource: ${request.resource} ${outcome.because}`;
}

/** The HTTP response AWS sends for a denied call; the SDK's deserializer makes the error of it. */
function deniedResponse(
  service: Service,
  principal: Principal,
  outcome: { because: string; request?: IamRequest },
  request: unknown,
): { statusCode: number; headers: Record<string, string>; body: Uint8Array } {
  const message = denialMessage(principal, outcome);
  const requestId = randomUUID();
  if (service === 's3') {
    const isHead = (request as { method?: string } | undefined)?.method === 'HEAD';
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>AccessDenied</Code><Message>${escapeXml(message)}</Message>` +
      `<RequestId>${requestId}</RequestId><HostId>local</HostId></Error>`;
    return {
      statusCode: 403,
      headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
      body: Buffer.from(isHead ? '' : xml), // a HEAD response has no body, on AWS too
    };
  }
  return {
    statusCode: 400,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId },
    body: Buffer.from(JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', message })),
  };
}

const escapeXml = (value: string) =>
  value.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
