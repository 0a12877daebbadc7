import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { ExecutionGateway } from '../functions/adapters/execution-gateway.js';
import { executionName } from '../functions/adapters/execution-gateway.js';
import {
  FUNCTION_PLACEHOLDERS,
  readUploadPipelineAsl,
  substituteDefinition,
  type TaskFunctionName,
} from '../statemachines/definition.js';

export type { TaskFunctionName };

export type TaskHandler = (input: unknown) => Promise<unknown>;

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_STATE_MACHINE_NAME = 'airlock-pipeline';
export const LOCAL_STATE_MACHINE_ARN = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${LOCAL_STATE_MACHINE_NAME}`;

export const localFunctionArn = (name: string): string =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:airlock-${name}`;

/** The ASL with local substitutions: the same file AWS runs, with local function ARNs. */
export function localDefinition(): StateMachineDefinition {
  const substitutions = Object.fromEntries(
    Object.entries(FUNCTION_PLACEHOLDERS).map(([placeholder, name]) => [placeholder, localFunctionArn(name)]),
  );
  return substituteDefinition(readUploadPipelineAsl(), substitutions) as StateMachineDefinition;
}

/** Binds each Task state to the in-process handler its Resource names. */
export function bindTaskStates(
  definition: StateMachineDefinition,
  handlers: Record<TaskFunctionName, TaskHandler>,
): Record<string, TaskHandler> {
  const byArn = new Map(
    Object.values(FUNCTION_PLACEHOLDERS).map((name) => [localFunctionArn(name), handlers[name]]),
  );
  const bound: Record<string, TaskHandler> = {};
  for (const [stateName, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task') continue;
    const handler = byArn.get(state.Resource);
    if (handler === undefined) throw new Error(`No local handler for the Resource of state ${stateName}.`);
    bound[stateName] = handler;
  }
  return bound;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface ExecutionRecord {
  executionArn: string;
  name: string;
  input: unknown;
  status: ExecutionStatus;
  startDate: string;
  stopDate?: string;
  /** How many times this execution was (re)started: more than 1 after a restart resumed it. */
  attempts: number;
  error?: string;
  cause?: string;
}

/**
 * Runs the pipeline state machine with aws-local-stepfunctions and keeps every execution in the
 * data dir: a JSON record (written atomically, fsynced, before `start` returns) plus an
 * append-only event history. After a restart, executions still RUNNING are run again under the
 * same execution id; the Claim step makes that safe.
 */
export class LocalExecutor implements ExecutionGateway {
  private readonly machine: StateMachine;
  private readonly running = new Map<string, Promise<void>>();
  private readonly queue: Array<() => void> = [];
  private active = 0;
  private stopping = false;

  /** `handlers` are bound by state name (see bindTaskStates); use `create` to get them bound. */
  constructor(
    private readonly dir: string,
    definition: StateMachineDefinition,
    private readonly handlers: Record<string, TaskHandler>,
    private readonly maxConcurrent: number,
    private readonly onError: (message: string, error: unknown) => void = () => undefined,
  ) {
    this.machine = new StateMachine(definition);
  }

  static async create(
    dir: string,
    handlers: Record<TaskFunctionName, TaskHandler>,
    maxConcurrent: number,
    onError?: (message: string, error: unknown) => void,
  ): Promise<LocalExecutor> {
    await mkdir(dir, { recursive: true });
    const definition = localDefinition();
    return new LocalExecutor(dir, definition, bindTaskStates(definition, handlers), maxConcurrent, onError);
  }

  /** Durably records and starts an execution; resolves once the record is on disk. */
  async startExecution(input: unknown, name: string = randomUUID()): Promise<string> {
    const executionArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${LOCAL_STATE_MACHINE_NAME}:${name}`;
    const record: ExecutionRecord = {
      executionArn,
      name,
      input,
      status: 'RUNNING',
      startDate: new Date().toISOString(),
      attempts: 1,
    };
    await this.write(record, true);
    this.launch(record);
    return executionArn;
  }

  /** ExecutionGateway: idempotent by name, as StartExecution is. */
  async start(input: unknown, dedupeKey: string): Promise<void> {
    const name = executionName(dedupeKey);
    if (await this.read(name)) return;
    await this.startExecution(input, name);
  }

  async isRunning(executionArn: string): Promise<boolean> {
    const name = executionArn.split(':').pop() ?? '';
    return (await this.read(name))?.status === 'RUNNING';
  }

  async describe(name: string): Promise<ExecutionRecord | undefined> {
    return this.read(name);
  }

  async history(name: string): Promise<unknown[]> {
    try {
      const text = await readFile(join(this.dir, `${name}.events.ndjson`), 'utf8');
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as unknown);
    } catch {
      return [];
    }
  }

  async list(): Promise<ExecutionRecord[]> {
    const names = (await readdir(this.dir)).filter((file) => file.endsWith('.json'));
    const records = await Promise.all(names.map((file) => this.read(file.slice(0, -'.json'.length))));
    return records.filter((record): record is ExecutionRecord => record !== undefined);
  }

  /** Runs again every execution a previous process left RUNNING. */
  async resumeInterrupted(): Promise<number> {
    let resumed = 0;
    for (const record of await this.list()) {
      if (record.status !== 'RUNNING' || this.running.has(record.name)) continue;
      record.attempts += 1;
      await this.write(record, true);
      this.launch(record);
      resumed++;
    }
    return resumed;
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Waits for running executions to finish (new ones are refused meanwhile). */
  async drain(timeoutMs: number): Promise<void> {
    this.stopping = true;
    await Promise.race([
      Promise.allSettled([...this.running.values()]),
      new Promise((resolve) => setTimeout(resolve, timeoutMs)),
    ]);
  }

  private launch(record: ExecutionRecord): void {
    const run = (async () => {
      await this.acquire();
      try {
        if (this.stopping) return; // left RUNNING on disk: resumed at the next start
        await this.execute(record);
      } finally {
        this.release();
        this.running.delete(record.name);
      }
    })();
    this.running.set(record.name, run);
    run.catch((error: unknown) => this.onError('execution bookkeeping failed', error));
  }

  private async execute(record: ExecutionRecord): Promise<void> {
    const execution = this.machine.run(record.input as never, {
      overrides: { taskResourceLocalHandlers: this.handlers as never },
      context: { Execution: { Id: record.executionArn, Name: record.name, StartTime: record.startDate } },
    });
    // One append stream per execution run, not an open/append/close per state event.
    const historyFile = createWriteStream(join(this.dir, `${record.name}.events.ndjson`), { flags: 'a' });
    const history = (async () => {
      try {
        for await (const event of execution.eventLogs) {
          historyFile.write(`${JSON.stringify({ ...event, attempt: record.attempts })}\n`);
        }
      } finally {
        await new Promise<void>((resolve) => historyFile.end(resolve));
      }
    })();
    try {
      await execution.result;
      record.status = 'SUCCEEDED';
    } catch (error) {
      record.status = 'FAILED';
      record.error = (error as Error).name;
      record.cause = (error as Error).message;
    }
    await history.catch((error: unknown) => this.onError('writing execution history failed', error));
    record.stopDate = new Date().toISOString();
    await this.write(record, false);
  }

  private async acquire(): Promise<void> {
    if (this.active < this.maxConcurrent) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
  }

  private release(): void {
    this.active--;
    this.queue.shift()?.();
  }

  private async read(name: string): Promise<ExecutionRecord | undefined> {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) return undefined;
    try {
      return JSON.parse(await readFile(join(this.dir, `${name}.json`), 'utf8')) as ExecutionRecord;
    } catch {
      return undefined;
    }
  }

  /** Writes a record atomically (temp file + rename); with `sync`, fsyncs before returning. */
  private async write(record: ExecutionRecord, sync: boolean): Promise<void> {
    const path = join(this.dir, `${record.name}.json`);
    const temp = `${path}.${process.pid}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(record, null, 2));
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  }
}
