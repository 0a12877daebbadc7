import { currentInvocation, invokeFunction } from '../../../local/sandbox.js';

const limits = (timeoutSeconds: number) => ({ timeoutSeconds });

describe('local Lambda sandbox', () => {
  it('runs the handler as its function: the code sees which invocation it is', async () => {
    // Act
    const seen = await invokeFunction(
      'claim',
      limits(30),
      (event: { n: number }) => Promise.resolve({ n: event.n, as: currentInvocation()?.functionName }),
      { n: 1 },
    );
    // Assert
    expect(seen).toEqual({ n: 1, as: 'claim' });
    expect(currentInvocation()).toBeUndefined();
  });

  it('keeps concurrent invocations apart', async () => {
    const names = await Promise.all(
      ['promote', 'reject'].map((name) =>
        invokeFunction(
          name,
          limits(30),
          async () => {
            await new Promise((resolve) => setImmediate(resolve));
            return currentInvocation()?.functionName;
          },
          undefined,
        ),
      ),
    );
    expect(names).toEqual(['promote', 'reject']);
  });

  it("fails past the function's timeout with Lambda's Sandbox.Timedout, which Step Functions matches by name", async () => {
    // Arrange
    const never = () => new Promise<never>(() => undefined);
    // Act
    const error = await invokeFunction('validate', limits(0.05), never, undefined).catch(
      (e: unknown) => e as Error,
    );
    // Assert
    expect({ name: error.name, message: error.message }).toEqual({
      name: 'Sandbox.Timedout',
      message: 'Task timed out after 0.05 seconds',
    });
  });

  it("passes the handler's own errors through with their names", async () => {
    const failing = () => Promise.reject(Object.assign(new Error('boom'), { name: 'TransientError' }));
    await expect(invokeFunction('claim', limits(30), failing, undefined)).rejects.toMatchObject({
      name: 'TransientError',
    });
  });
});
