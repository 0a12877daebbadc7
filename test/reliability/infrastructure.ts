import { nagReport } from '../../infra/nag-report.js';
import { runPart, type PartResult, type SuiteOptions } from './part.js';

/**
 * Infrastructure: the default stack synthesized with the AwsSolutions, Serverless and NIST 800-53
 * R5 packs of cdk-nag. Zero unacknowledged findings; every acknowledgement carries its reason on
 * its construct (the infra tests check the reasons).
 */
export function runInfrastructure(_options: SuiteOptions): Promise<PartResult> {
  return runPart('infrastructure', 'cdk-nag: AwsSolutions, Serverless, NIST 800-53 R5', async (failures) => {
    const report = await nagReport();
    const figures: Record<string, number> = {};
    for (const pack of report.packs) {
      figures[`${pack.pack} unacknowledged`] = pack.unacknowledged;
      figures[`${pack.pack} acknowledged`] = pack.acknowledged;
      if (pack.unacknowledged > 0)
        failures.push(`${pack.pack}: ${pack.unacknowledged} unacknowledged finding(s)`);
    }
    if (report.packs.length !== 3) failures.push(`expected 3 packs, got ${report.packs.length}`);
    return figures;
  });
}
