import { NAG_PACKS } from '../../infra/nag-packs.js';
import {
  formatNagReport,
  nagReport,
  summarize,
  type NagReport,
  type ValidationReport,
} from '../../infra/nag-report.js';

describe('summarize (counting a validation report)', () => {
  // Arrange: one pack with two findings of one rule, another with an IAM5 finding on two roles.
  const finding = (ruleName: string, paths: string[], acknowledgedAt = '') => ({
    ruleName,
    violatingConstructs: paths.map((constructPath) => ({ constructPath })),
    acknowledgedId: `x::${ruleName}`,
    acknowledgedAt,
    reason: 'A reason long enough to be specific about it.',
  });
  const report: ValidationReport = {
    pluginReports: [
      { pluginName: 'CloudFormation Validate', violations: [finding('W1', ['A/B'])] },
      {
        pluginName: 'AwsSolutions',
        violations: [finding('AwsSolutions-S1', ['A/B/Resource', 'A/C/Resource'])],
        suppressedViolations: [
          finding('AwsSolutions-IAM5[Resource::*]', ['A/R1/Resource']),
          finding('AwsSolutions-IAM5[Action::s3:*]', ['A/R2/Resource']),
          finding('AwsSolutions-L1', ['A/F/Resource']),
        ],
      },
      { pluginName: 'Serverless', violations: [] },
      {
        pluginName: 'NIST.800.53.R5',
        violations: [],
        suppressedViolations: [finding('NIST.800.53.R5-LambdaDLQ', ['A/F/Resource'])],
      },
    ],
  };

  test('counts findings per resource, per pack, with rules stripped of the finding detail', () => {
    expect(summarize(report)).toEqual({
      stack: 'Airlock',
      packs: [
        {
          pack: 'AwsSolutions',
          unacknowledged: 2,
          acknowledged: 3,
          rulesAcknowledged: ['AwsSolutions-IAM5', 'AwsSolutions-L1'],
        },
        { pack: 'Serverless', unacknowledged: 0, acknowledged: 0, rulesAcknowledged: [] },
        {
          pack: 'NIST.800.53.R5',
          unacknowledged: 0,
          acknowledged: 1,
          rulesAcknowledged: ['NIST.800.53.R5-LambdaDLQ'],
        },
      ],
      totals: { unacknowledged: 2, acknowledged: 4 },
    });
  });

  test('refuses a report in which a pack did not run', () => {
    expect(() => summarize({ pluginReports: [] })).toThrow(/no AwsSolutions section/);
  });
});

describe('nagReport() on the default Airlock stack', () => {
  let report: NagReport;
  // One synthesis of the whole stack: seconds alone, longer beside the other suites on 2 cores.
  beforeAll(async () => {
    report = await nagReport();
  }, 120_000);

  test('reports the three packs, in order', () => {
    expect(report.stack).toBe('Airlock');
    expect(report.packs.map((pack) => pack.pack)).toEqual([...NAG_PACKS]);
  });

  test('no pack has an unacknowledged finding, and each has acknowledged ones', () => {
    expect(report.packs.map((pack) => [pack.pack, pack.unacknowledged])).toEqual(
      NAG_PACKS.map((pack) => [pack, 0]),
    );
    for (const pack of report.packs) expect(pack.acknowledged).toBeGreaterThan(0);
  });

  test('the totals are the sums over the packs', () => {
    expect(report.totals).toEqual({
      unacknowledged: 0,
      acknowledged: report.packs.reduce((sum, pack) => sum + pack.acknowledged, 0),
    });
  });

  test("each pack's acknowledged rules are its own, sorted, distinct and without finding detail", () => {
    for (const pack of report.packs) {
      expect(pack.rulesAcknowledged).toEqual([...new Set(pack.rulesAcknowledged)].sort());
      expect(
        pack.rulesAcknowledged.filter((rule) => !rule.startsWith(`${pack.pack}-`) || rule.includes('[')),
      ).toEqual([]);
    }
  });

  test('the table shows one line per pack and the totals', () => {
    const lines = formatNagReport(report).split('\n');
    expect(lines).toHaveLength(2 + NAG_PACKS.length + 1);
    expect(lines.at(-1)).toMatch(new RegExp(`^total\\s+0\\s+${report.totals.acknowledged}$`));
  });
});
