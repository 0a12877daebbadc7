import { createHash } from 'node:crypto';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { errorName, toPipelineError } from './aws-errors.js';

/** What the sweeper needs to know of, and do with, pipeline executions. */
export interface ExecutionGateway {
  /** True while the execution runs; false once it ended or when it is unknown. */
  isRunning(executionId: string): Promise<boolean>;
  /** Starts an execution for an event; the same `dedupeKey` never starts two. */
  start(input: unknown, dedupeKey: string): Promise<void>;
}

/** Step Functions implementation. Execution names make restarts idempotent. */
export class StepFunctionsGateway implements ExecutionGateway {
  constructor(
    private readonly stateMachineArn: string,
    private readonly client: SFNClient = new SFNClient({}),
  ) {}

  async isRunning(executionId: string): Promise<boolean> {
    try {
      const out = await this.client.send(new DescribeExecutionCommand({ executionArn: executionId }));
      return out.status === 'RUNNING';
    } catch (error) {
      if (errorName(error) === 'ExecutionDoesNotExist') return false;
      throw toPipelineError('DescribeExecution', error);
    }
  }

  async start(input: unknown, dedupeKey: string): Promise<void> {
    try {
      await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: executionName(dedupeKey),
          input: JSON.stringify(input),
        }),
      );
    } catch (error) {
      if (errorName(error) === 'ExecutionAlreadyExists') return;
      throw toPipelineError('StartExecution', error);
    }
  }
}

/** Step Functions names: at most 80 chars of [A-Za-z0-9-_]. */
export function executionName(dedupeKey: string): string {
  return `sweep-${createHash('sha256').update(dedupeKey).digest('hex').slice(0, 48)}`;
}
