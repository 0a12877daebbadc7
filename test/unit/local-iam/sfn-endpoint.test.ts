import { SFNClient } from '@aws-sdk/client-sfn';
import { StepFunctionsGateway } from '../../../functions/adapters/execution-gateway.js';
import type { ExecutionRecord, LocalExecutor } from '../../../local/executor.js';
import { LOCAL_STATE_MACHINE_ARN } from '../../../local/executor.js';
import { LocalStepFunctionsHandler } from '../../../local/sfn-endpoint.js';

/** The executor's records, in memory. */
function fakeExecutor() {
  const records = new Map<string, ExecutionRecord>();
  const executor = {
    describe: (name: string) => Promise.resolve(records.get(name)),
    startExecution: (input: unknown, name = 'generated') => {
      const executionArn = `arn:aws:states:us-east-1:000000000000:execution:airlock-pipeline:${name}`;
      records.set(name, {
        executionArn,
        name,
        input,
        status: 'RUNNING',
        startDate: new Date().toISOString(),
        attempts: 1,
      });
      return Promise.resolve(executionArn);
    },
  };
  return { records, executor: executor as unknown as LocalExecutor };
}

const clientFor = (executor: LocalExecutor) =>
  new SFNClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestHandler: new LocalStepFunctionsHandler(() => executor) as never,
  });

describe('the local Step Functions API (the SDK, served by the executor)', () => {
  it('starts an execution once per name, as StartExecution does, and describes it', async () => {
    // Arrange
    const { records, executor } = fakeExecutor();
    const gateway = new StepFunctionsGateway(LOCAL_STATE_MACHINE_ARN, clientFor(executor));
    // Act
    await gateway.start({ n: 1 }, 'quarantine/x@v1');
    await gateway.start({ n: 2 }, 'quarantine/x@v1'); // ExecutionAlreadyExists, which the gateway accepts
    const [record] = [...records.values()];
    const running = await gateway.isRunning(record?.executionArn ?? '');
    if (record) record.status = 'SUCCEEDED';
    const finished = await gateway.isRunning(record?.executionArn ?? '');
    const unknown = await gateway.isRunning(
      `${LOCAL_STATE_MACHINE_ARN.replace('stateMachine', 'execution')}:nope`,
    );
    // Assert
    expect([...records.values()].map((r) => r.input)).toEqual([{ n: 1 }]);
    expect([running, finished, unknown]).toEqual([true, false, false]);
  });

  it('refuses another state machine as Step Functions does', async () => {
    const { executor } = fakeExecutor();
    const gateway = new StepFunctionsGateway(`${LOCAL_STATE_MACHINE_ARN}-other`, clientFor(executor));
    await expect(gateway.start({}, 'k')).rejects.toMatchObject({
      name: 'DependencyError',
      cause: expect.objectContaining({ name: 'StateMachineDoesNotExist' }),
    });
  });
});
