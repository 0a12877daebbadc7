import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PartResult } from '../reliability/part.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The short version of `npm run test:reliability`: every part (outcome events to a failing
 * webhook consumer, load, duplicates, hostile input, isolation, each fault, the backlog at the
 * deployed sweep cadence scaled down, cdk-nag, audit completeness) with small counts, against
 * its own runtimes.
 */
describe('reliability suite (quick)', () => {
  it(
    'passes every part, and its report says what each tried',
    async () => {
      // Arrange
      const reportFile = join(mkdtempSync(join(tmpdir(), 'airlock-reliability-report-')), 'report.json');
      let output = '';
      // Act
      const exitCode = await new Promise<number | null>((resolve) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', 'test/reliability/run.ts', '--quick', '--json', reportFile],
          {
            cwd: REPO_ROOT,
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.once('exit', resolve);
      });
      // Assert
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { passed: boolean; parts: PartResult[] };
      const failed = report.parts
        .filter((part) => !part.passed)
        .map((part) => ({ id: part.id, failures: part.failures.slice(0, 5) }));
      expect({ exitCode, failed }).toEqual({ exitCode: 0, failed: [] });
      expect(report.parts.map((part) => part.id)).toEqual([
        'infrastructure',
        'events',
        'load',
        'duplicates',
        'hostile',
        'isolation',
        'faults.transient',
        'faults.delivery',
        'faults.rgw-restart',
        'faults.clamd-restart',
        'faults.dynamodb-outage',
        'faults.dynamodb-outage-mid',
        'faults.sigkill',
        'load.aws-cadence',
        'backlog',
        'audit',
      ]);
      const figures = Object.fromEntries(report.parts.map((part) => [part.id, part.figures]));
      expect(figures.events).toMatchObject({ missing: 0, invented: 0, unverified: 0, schemaInvalid: 0 });
      expect(Number(figures.events?.answered500)).toBeGreaterThan(0);
      expect(figures.load).toMatchObject({ lost: 0, stuck: 0, promotedTwice: 0, wrongOutcomes: 0 });
      expect(Number(figures['faults.transient']?.injectedFaults)).toBeGreaterThan(0);
      expect(Number(figures['faults.delivery']?.deliveriesRefused)).toBeGreaterThan(0);
      expect(Number(figures['faults.dynamodb-outage-mid']?.claimedWhenItWent)).toBeGreaterThan(0);
      expect(figures['load.aws-cadence']).toMatchObject({
        lost: 0,
        stuck: 0,
        promotedTwice: 0,
        wrongOutcomes: 0,
      });
      expect(figures.backlog?.expiredBacklog).toBe(figures.backlog?.grants);
      expect(figures.audit).toMatchObject({ trailsWithGaps: 0, secretsInTable: 0, secretsInLogs: 0 });
      expect(output).toContain('PASSED');
    },
    20 * 60_000,
  );
});
