import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionHistory } from './client.js';
import type { ProbedPath, ProbeResult } from './cost-recording.js';
import { median, round } from './stats.js';

/**
 * Benchmark 5: the AWS cost of 1,000 documents, happy and reject paths, computed (not typed in)
 * from: the synthesized CDK template (each function's memory and architecture, the state
 * machine's type, which function each Task state invokes), the state transitions and Task
 * states of real executions in this run, handler durations measured in this run, and the
 * requests counted by running one document through the real handlers (cost-probe.ts). Prices
 * come from bench/aws-prices.json.
 */

/** GET /uploads/{id} per document: a client honouring Retry-After (1 s while PROCESSING) sees
 * the outcome on its first or second poll, since processing takes well under a second. */
export const STATUS_POLLS_PER_DOCUMENT = 2;

export interface Price {
  usd: number;
  published: string;
  source: string;
}

export interface PriceFile {
  date: string;
  region: string;
  currency: string;
  prices: Record<string, Price>;
  notModelled: string[];
}

export function readPrices(): PriceFile {
  return JSON.parse(readFileSync(new URL('./aws-prices.json', import.meta.url), 'utf8')) as PriceFile;
}

export interface TemplateFunction {
  name: string;
  logicalId: string;
  memoryMB: number;
  architecture: string;
}

export interface TemplateFacts {
  stateMachineType: string;
  functions: Record<string, TemplateFunction>;
  /** Task state → function name, through the definition's substitutions. */
  taskFunctions: Record<string, string>;
}

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

/** Synthesizes the Airlock stack (bundling skipped, as the infra tests do) and reads it. */
export async function synthesizeTemplate(): Promise<TemplateFacts> {
  const [{ App }, { AirlockStack }] = await Promise.all([
    import('aws-cdk-lib'),
    import('../infra/airlock-stack.js'),
  ]);
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const outdir = mkdtempSync(join(tmpdir(), 'airlock-bench-cdk-'));
  try {
    const app = new App({ outdir, context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
    const stack = new AirlockStack(app, 'Airlock', {
      env: { account: '123456789012', region: 'us-east-1' },
      pipeline: {},
    });
    const template = app.synth().getStackArtifact(stack.artifactId).template as {
      Resources: Record<string, CfnResource>;
    };
    const functions: Record<string, TemplateFunction> = {};
    const byLogicalId = new Map<string, TemplateFunction>();
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const props = resource.Properties ?? {};
      const name = /^Airlock (.+)$/.exec(typeof props.Description === 'string' ? props.Description : '')?.[1];
      if (name === undefined) continue; // CDK's own deployment-time helpers
      const fn = {
        name,
        logicalId,
        memoryMB: Number(props.MemorySize ?? 128),
        architecture: ((props.Architectures as string[] | undefined) ?? ['x86_64'])[0] ?? 'x86_64',
      };
      functions[name] = fn;
      byLogicalId.set(logicalId, fn);
    }
    const machine = Object.values(template.Resources).find(
      (resource) => resource.Type === 'AWS::StepFunctions::StateMachine',
    );
    if (machine === undefined) throw new Error('The template has no state machine.');
    const props = machine.Properties ?? {};
    const definition = readDefinition(props, outdir);
    const substitutions = (props.DefinitionSubstitutions ?? {}) as Record<
      string,
      { 'Fn::GetAtt'?: [string, string] }
    >;
    const taskFunctions: Record<string, string> = {};
    for (const [stateName, state] of Object.entries(definition.States)) {
      if (state.Type !== 'Task') continue;
      const placeholder = /^\$\{(\w+)\}$/.exec(state.Resource ?? '')?.[1] ?? '';
      const logicalId = substitutions[placeholder]?.['Fn::GetAtt']?.[0] ?? '';
      const fn = byLogicalId.get(logicalId);
      if (fn === undefined) throw new Error(`Task state ${stateName} invokes no function of the template.`);
      taskFunctions[stateName] = fn.name;
    }
    return {
      stateMachineType: typeof props.StateMachineType === 'string' ? props.StateMachineType : 'STANDARD',
      functions,
      taskFunctions,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

interface AslDefinition {
  States: Record<string, { Type: string; Resource?: string }>;
}

/** The definition as deployed: inline, or the S3 asset CDK staged in the cloud assembly. */
function readDefinition(props: Record<string, unknown>, outdir: string): AslDefinition {
  if (typeof props.DefinitionString === 'string') return JSON.parse(props.DefinitionString) as AslDefinition;
  const location = props.DefinitionS3Location as { Key?: string } | undefined;
  if (location?.Key)
    return JSON.parse(readFileSync(join(outdir, `asset.${location.Key}`), 'utf8')) as AslDefinition;
  throw new Error('The state machine definition is neither inline nor a staged asset.');
}

export interface LambdaLine {
  function: string;
  invocations: number;
  memoryMB: number;
  architecture: string;
  /** Median measured duration (ms) of one invocation, billed rounded up to 1 ms. */
  durationMs: number;
  gbSeconds: number;
  /** Where the duration was measured. */
  measuredIn: string;
}

export interface PathCost {
  path: 'processed' | 'rejected';
  executions: number;
  /** StateEntered (+ retries) per execution: what Standard Workflows bill. */
  stateTransitions: number;
  statesEntered: string[];
  lambda: { invocations: number; gbSeconds: number; lines: LambdaLine[] };
  dynamo: { wru: number; rru: number; operations: string[] };
  s3: { putCopyPostList: number; getHeadOther: number; free: number; byOperation: Record<string, number> };
  apiRequests: number;
  eventBridgeEvents: number;
  /** What the malware scanner bills (GuardDuty: per object and per GB scanned; none otherwise). */
  scanner: { engine: string; objects: number; gigabytes: number };
  /** USD per 1,000 documents. */
  usdPer1000: {
    scanner: number;
    stepFunctions: number;
    lambdaRequests: number;
    lambdaDuration: number;
    dynamodb: number;
    s3: number;
    apiGateway: number;
    eventBridge: number;
    total: number;
  };
}

export interface CostResult {
  pricesDate: string;
  region: string;
  stateMachineType: string;
  architecture: string;
  statusPollsPerDocument: number;
  functions: Record<string, TemplateFunction>;
  paths: PathCost[];
  /**
   * The validate step alone for bigger files (benchmark 1's durations), and the scanner's share
   * (GuardDuty per object and GB), USD per 1,000 docs.
   */
  validateBySize: Array<{
    size: string;
    durationMs: number;
    gbSeconds: number;
    usdPer1000: number;
    scannerUsdPer1000: number;
  }>;
  notModelled: string[];
}

const S3_TIER1 = new Set([
  'PutObject',
  'PostObject',
  'CopyObject',
  'ListObjectVersions',
  'ListObjectsV2',
  'ListObjects',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
]);
const S3_FREE = new Set(['DeleteObject', 'DeleteObjects', 'AbortMultipartUpload']);

/** Median duration (ms) of each state across executions, from StateEntered → StateExited. */
export function stateDurations(histories: ExecutionHistory[]): Record<string, number> {
  const samples = new Map<string, number[]>();
  for (const history of histories) {
    const entered = new Map<string, number>();
    for (const event of history.events) {
      const name = event.state?.name;
      if (name === undefined) continue;
      if (event.type === 'StateEntered') entered.set(name, event.timestamp);
      if (event.type === 'StateExited' && entered.has(name)) {
        const list = samples.get(name) ?? [];
        list.push(event.timestamp - (entered.get(name) as number));
        samples.set(name, list);
      }
    }
  }
  return Object.fromEntries([...samples.entries()].map(([name, list]) => [name, median(list)]));
}

function transitionsOf(history: ExecutionHistory): { count: number; entered: string[] } {
  const entered = history.events
    .filter((event) => event.type === 'StateEntered')
    .map((event) => event.state?.name ?? '');
  const retries = history.events.filter((event) => event.type === 'StateRetried').length;
  return { count: entered.length + retries, entered };
}

const gbSeconds = (memoryMB: number, ms: number) => (memoryMB / 1024) * (Math.max(1, Math.ceil(ms)) / 1000);

export function computeCost(params: {
  template: TemplateFacts;
  prices: PriceFile;
  probe: ProbeResult;
  processed: ExecutionHistory[];
  rejected: ExecutionHistory[];
  validateBySize: Array<{ label: string; ms: number; bytes: number }>;
}): CostResult {
  const { template, prices, probe } = params;
  const price = (name: string): number => {
    const entry = prices.prices[name];
    if (entry === undefined) throw new Error(`bench/aws-prices.json has no price "${name}".`);
    return entry.usd;
  };
  const gbSecondPrice = (architecture: string) =>
    price(architecture === 'arm64' ? 'lambdaGbSecondArm64' : 'lambdaGbSecondX86_64');
  const fn = (name: string): TemplateFunction => {
    const found = template.functions[name];
    if (found === undefined) throw new Error(`The template has no function "${name}".`);
    return found;
  };

  const pathCost = (
    path: 'processed' | 'rejected',
    histories: ExecutionHistory[],
    probed: ProbedPath,
  ): PathCost => {
    if (histories.length === 0) throw new Error(`No ${path} execution history to count transitions from.`);
    // The typical execution: the most common number of transitions (retries are rare).
    const counts = histories.map(transitionsOf);
    const stateTransitions = median(counts.map((count) => count.count));
    const statesEntered =
      (counts.find((count) => count.count === stateTransitions) ?? counts[0])?.entered ?? [];
    const durations = stateDurations(histories);

    const lines: LambdaLine[] = [];
    for (const state of statesEntered) {
      const functionName = template.taskFunctions[state];
      if (functionName === undefined) continue; // Choice/Succeed: no invocation
      const f = fn(functionName);
      const ms = durations[state] ?? 0;
      lines.push({
        function: `${functionName} (${state})`,
        invocations: 1,
        memoryMB: f.memoryMB,
        architecture: f.architecture,
        durationMs: round(ms, 1),
        gbSeconds: gbSeconds(f.memoryMB, ms),
        measuredIn: 'execution histories of the sequential runs (local executor)',
      });
    }
    const scanning = template.functions['scan-result'] !== undefined;
    const others: Array<[string, number, number]> = [
      ['create-upload', 1, probe.apiHandlerMs['create-upload']],
      ['get-upload', STATUS_POLLS_PER_DOCUMENT, probe.apiHandlerMs['get-upload']],
      // GuardDuty scans every upload, accepted or not: its result goes to the intake once.
      ...(scanning ? [['scan-result', 1, probe.intakeMs] as [string, number, number]] : []),
    ];
    for (const [name, invocations, ms] of others) {
      const f = fn(name);
      lines.push({
        function: name,
        invocations,
        memoryMB: f.memoryMB,
        architecture: f.architecture,
        durationMs: round(ms, 1),
        gbSeconds: invocations * gbSeconds(f.memoryMB, ms),
        measuredIn:
          name === 'scan-result'
            ? "handler timed in process storing GuardDuty's result (cost probe)"
            : 'handler timed in process (cost probe)',
      });
    }
    const invocations = lines.reduce((total, line) => total + line.invocations, 0);
    const lambdaDuration = lines.reduce(
      (total, line) => total + line.gbSeconds * gbSecondPrice(line.architecture),
      0,
    );
    const totalGbSeconds = lines.reduce((total, line) => total + line.gbSeconds, 0);

    // DynamoDB: every request the handlers sent, plus the polls beyond the probe's one.
    const pollRead = probed.dynamo.filter((op) => op.step === 'get-upload');
    const otherOps = probed.dynamo.filter((op) => op.step !== 'get-upload');
    const pollRru = pollRead.reduce((total, op) => total + op.rru, 0);
    const wru = otherOps.reduce((total, op) => total + op.wru, 0) + pollRead.reduce((t, op) => t + op.wru, 0);
    const rru = otherOps.reduce((total, op) => total + op.rru, 0) + pollRru * STATUS_POLLS_PER_DOCUMENT;
    const operations = [
      ...otherOps.map(
        (op) =>
          `${op.step}: ${op.command} ${op.wru > 0 ? `${op.wru} WRU` : `${op.rru} RRU`} (${op.itemBytes} B)`,
      ),
      ...pollRead.map(
        (op) => `get-upload ×${STATUS_POLLS_PER_DOCUMENT}: ${op.command} ${op.rru} RRU (${op.itemBytes} B)`,
      ),
    ];

    const s3 = { putCopyPostList: 0, getHeadOther: 0, free: 0, byOperation: probed.s3 };
    for (const [operation, count] of Object.entries(probed.s3)) {
      if (S3_TIER1.has(operation)) s3.putCopyPostList += count;
      else if (S3_FREE.has(operation)) s3.free += count;
      else s3.getHeadOther += count;
    }
    const apiRequests = 1 + STATUS_POLLS_PER_DOCUMENT;
    const per1000 = (usd: number) => round(usd * 1000, 6);
    const scanner = {
      engine: scanning ? 'GuardDuty Malware Protection for S3' : 'none',
      objects: scanning ? 1 : 0,
      gigabytes: scanning ? probed.bytes / 1024 ** 3 : 0,
    };
    const usd = {
      scanner: per1000(
        scanner.objects * price('guardDutyS3MalwareScanPerObject') +
          scanner.gigabytes * price('guardDutyS3MalwareScanPerGb'),
      ),
      stepFunctions: per1000(stateTransitions * price('stepFunctionsStandardStateTransition')),
      lambdaRequests: per1000(invocations * price('lambdaRequest')),
      lambdaDuration: per1000(lambdaDuration),
      dynamodb: per1000(
        wru * price('dynamodbOnDemandWriteRequestUnit') + rru * price('dynamodbOnDemandReadRequestUnit'),
      ),
      s3: per1000(
        s3.putCopyPostList * price('s3PutCopyPostListRequest') +
          s3.getHeadOther * price('s3GetHeadOtherRequest') +
          s3.free * price('s3DeleteRequest'),
      ),
      apiGateway: per1000(apiRequests * price('apiGatewayHttpApiRequest')),
      eventBridge: per1000(price('eventBridgeAwsServiceEvent')),
      total: 0,
    };
    usd.total = round(
      usd.scanner +
        usd.stepFunctions +
        usd.lambdaRequests +
        usd.lambdaDuration +
        usd.dynamodb +
        usd.s3 +
        usd.apiGateway +
        usd.eventBridge,
      6,
    );
    return {
      path,
      executions: histories.length,
      stateTransitions,
      statesEntered,
      lambda: { invocations, gbSeconds: round(totalGbSeconds, 6), lines },
      dynamo: { wru, rru, operations },
      s3,
      apiRequests,
      eventBridgeEvents: 1,
      scanner,
      usdPer1000: usd,
    };
  };

  const validate = fn('validate');
  const architectures = new Set(Object.values(template.functions).map((f) => f.architecture));
  return {
    pricesDate: prices.date,
    region: prices.region,
    stateMachineType: template.stateMachineType,
    architecture: [...architectures].join('+'),
    statusPollsPerDocument: STATUS_POLLS_PER_DOCUMENT,
    functions: template.functions,
    paths: [
      pathCost('processed', params.processed, probe.processed),
      pathCost('rejected', params.rejected, probe.rejected),
    ],
    validateBySize: params.validateBySize.map(({ label, ms, bytes }) => {
      const gbs = gbSeconds(validate.memoryMB, ms);
      const scanning = template.functions['scan-result'] !== undefined;
      const scannerUsd = scanning
        ? price('guardDutyS3MalwareScanPerObject') +
          (bytes / 1024 ** 3) * price('guardDutyS3MalwareScanPerGb')
        : 0;
      return {
        size: label,
        durationMs: round(ms, 1),
        gbSeconds: round(gbs, 6),
        usdPer1000: round(gbs * gbSecondPrice(validate.architecture) * 1000, 6),
        scannerUsdPer1000: round(scannerUsd * 1000, 6),
      };
    }),
    notModelled: prices.notModelled,
  };
}
