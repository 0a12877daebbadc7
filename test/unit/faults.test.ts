import {
  assertFaultsAllowed,
  faultReport,
  parseFaultRates,
  resetFaultsForTests,
  setFaultRates,
  shouldInjectFault,
  stepFault,
} from '../../functions/commons/faults.js';
import { readConfig } from '../../functions/commons/config.js';
import { ConfigurationError } from '../../functions/domain/errors.js';
import { taskHandler } from '../../functions/commons/task.js';
import { z } from 'zod';

const saved = process.env.AIRLOCK_FAULTS;
afterEach(() => {
  if (saved === undefined) delete process.env.AIRLOCK_FAULTS;
  else process.env.AIRLOCK_FAULTS = saved;
  resetFaultsForTests();
});

describe('fault injection (AIRLOCK_FAULTS)', () => {
  it('is off by default: nothing is ever injected', () => {
    // Arrange
    delete process.env.AIRLOCK_FAULTS;
    // Act
    const injected = [shouldInjectFault('claim', () => 0), stepFault('Validate', () => 0)];
    // Assert
    expect(injected).toEqual([false, undefined]);
    expect(() => setFaultRates({ claim: 1 })).toThrow('fault injection is off');
  });

  it('parses per-point rates, and "steps" for every task step', () => {
    // Arrange + Act
    const rates = parseFaultRates('steps=0.2, router=0.5');
    // Assert
    expect(rates).toEqual({
      claim: 0.2,
      validate: 0.2,
      promote: 0.2,
      reject: 0.2,
      record: 0.2,
      releasequarantine: 0.2,
      router: 0.5,
    });
  });

  it.each(['claim', 'claim=2', 'claim=-0.1', 'nowhere=0.1', 'claim=abc'])('refuses "%s"', (raw) => {
    // Arrange + Act + Assert
    expect(() => parseFaultRates(raw)).toThrow(ConfigurationError);
  });

  it('is refused on Lambda and with AIRLOCK_ENV=production, at config read (cold start)', () => {
    // Arrange
    const base = { AIRLOCK_FAULTS: 'steps=0.1', TABLE_NAME: 't', BUCKET_NAME: 'b' };
    // Act + Assert
    expect(() => assertFaultsAllowed({ ...base, AWS_LAMBDA_FUNCTION_NAME: 'airlock-claim' })).toThrow(
      'refused in a production configuration',
    );
    expect(() => readConfig({ ...base, AIRLOCK_ENV: 'production' })).toThrow(ConfigurationError);
    expect(() => readConfig(base)).not.toThrow();
  });

  it('injects at the configured rate and counts what it injected', () => {
    // Arrange
    process.env.AIRLOCK_FAULTS = 'claim=0.5';
    // Act
    const draws = [0.1, 0.7, 0.4, 0.9].map((draw) => shouldInjectFault('claim', () => draw));
    // Assert
    expect(draws).toEqual([true, false, true, false]);
    expect(faultReport()).toEqual({ rates: { claim: 0.5 }, injected: { claim: 2 } });
  });

  it('a step fails with TransientError (which the ASL retries) before or after its work', async () => {
    // Arrange
    process.env.AIRLOCK_FAULTS = 'validate=1';
    let worked = 0;
    const step = taskHandler('Validate', z.object({ uploadId: z.string() }), () => {
      worked++;
      return Promise.resolve('done');
    });
    // Act: enough runs to see both kinds
    const outcomes: string[] = [];
    for (let run = 0; run < 40; run++) {
      outcomes.push(await step({ uploadId: 'u' }).catch((error: Error) => `${error.name}: ${error.message}`));
    }
    // Assert
    expect(new Set(outcomes.map((outcome) => outcome.split(':')[0]))).toEqual(new Set(['TransientError']));
    expect(outcomes.some((outcome) => outcome.includes('before'))).toBe(true);
    expect(outcomes.some((outcome) => outcome.includes('after'))).toBe(true);
    expect(worked).toBe(outcomes.filter((outcome) => outcome.includes('after')).length);
  });

  it('rates can be changed at run time (the local /faults control), e.g. back to 0', async () => {
    // Arrange
    process.env.AIRLOCK_FAULTS = 'claim=1';
    const step = taskHandler('Claim', z.object({}), () => Promise.resolve('claimed'));
    // Act
    setFaultRates({ claim: 0 });
    // Assert
    await expect(step({})).resolves.toBe('claimed');
  });
});
