import type { LocalExecutor } from './executor.js';
import { LOCAL_STATE_MACHINE_ARN } from './executor.js';

/** The parts of the SDK's HTTP request and response this handler reads and writes. */
interface SdkHttpRequest {
  headers: Record<string, string>;
  body?: unknown;
}
interface SdkHttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/**
 * The Step Functions API of the local executor, served in-process as an SDK request handler
 * (`new SFNClient({ requestHandler })`). The sweeper and the redrive then use the very
 * StepFunctionsGateway and SDK calls they use on AWS, through the same IAM checks, and get AWS's
 * answers: ExecutionAlreadyExists for a name already used, ExecutionDoesNotExist.
 */
export class LocalStepFunctionsHandler {
  constructor(private readonly executor: () => LocalExecutor) {}

  async handle(request: SdkHttpRequest): Promise<{ response: SdkHttpResponse }> {
    const target = request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'] ?? '';
    const operation = target.replace(/^AWSStepFunctions\./, '');
    const input = JSON.parse(bodyText(request.body) || '{}') as Record<string, unknown>;
    try {
      return { response: reply(200, await this.serve(operation, input)) };
    } catch (error) {
      if (error instanceof ApiError)
        return { response: reply(400, { __type: error.type, message: error.message }) };
      throw error;
    }
  }

  /** The SDK calls this when the client is destroyed. */
  destroy(): void {}

  private async serve(operation: string, input: Record<string, unknown>): Promise<unknown> {
    if (operation === 'StartExecution') {
      if (input.stateMachineArn !== LOCAL_STATE_MACHINE_ARN) {
        throw new ApiError(
          'StateMachineDoesNotExist',
          `State Machine Does Not Exist: '${String(input.stateMachineArn)}'`,
        );
      }
      const name = typeof input.name === 'string' ? input.name : undefined;
      if (name !== undefined && (await this.executor().describe(name)) !== undefined) {
        throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${name}'`);
      }
      const executionInput: unknown = JSON.parse(typeof input.input === 'string' ? input.input : '{}');
      const executionArn = await this.executor().startExecution(executionInput, name);
      return { executionArn, startDate: Date.now() / 1000 };
    }
    if (operation === 'DescribeExecution') {
      const executionArn = typeof input.executionArn === 'string' ? input.executionArn : '';
      const record = await this.executor().describe(executionArn.split(':').pop() ?? '');
      if (record === undefined || record.executionArn !== executionArn) {
        throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
      }
      return {
        executionArn: record.executionArn,
        stateMachineArn: LOCAL_STATE_MACHINE_ARN,
        name: record.name,
        status: record.status,
        startDate: Date.parse(record.startDate) / 1000,
        ...(record.stopDate ? { stopDate: Date.parse(record.stopDate) / 1000 } : {}),
        input: JSON.stringify(record.input),
      };
    }
    throw new ApiError('UnknownOperationException', `The local Step Functions do not serve ${operation}.`);
  }
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  // The SDK's body is a Uint8Array subclass that warns on string methods: decode its bytes.
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  return '';
}

function reply(statusCode: number, body: unknown): SdkHttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: Buffer.from(JSON.stringify(body)),
  };
}
