import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../local/settings.js';
import type { BenchReport } from '../../bench/report.js';

/**
 * `npm run bench -- --smoke`: every benchmark at its smallest, against the tier's shared runtime,
 * so that the benchmark cannot rot. It checks that each section is there with sane figures,
 * not that the goals are met (the machine running the tests is busy).
 */
const run = promisify(execFile);

describe('npm run bench -- --smoke', () => {
  let report: BenchReport;
  let stdout: string;
  const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-smoke-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    const runtimeFile = process.env.AIRLOCK_E2E_RUNTIME;
    if (!runtimeFile) throw new Error('AIRLOCK_E2E_RUNTIME is not set: run the e2e tier through jest.');
    const out = join(dir, 'bench.json');
    ({ stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--smoke', '--json', out, '--runtime', runtimeFile],
      { cwd: REPO_ROOT, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
    ));
    report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
  }, 260_000);

  it('prints the table with every benchmark', () => {
    expect(stdout).toContain('| # ');
    for (const section of [
      'validate 1 MiB',
      '100 KiB by PUT',
      '100 KiB by POST',
      'concurrent client',
      'POST /uploads',
      'AWS cost',
    ]) {
      expect(stdout).toContain(section);
    }
  });

  it('measures validation against a raw GetObject, with memory', () => {
    const { validation } = report;
    expect(validation.sizes.length).toBeGreaterThanOrEqual(2);
    for (const size of validation.sizes) {
      expect(size.bestRawMiBps).toBeGreaterThan(0);
      expect(size.bestValidateMiBps).toBeGreaterThan(0);
      expect(size.ratio).toBeGreaterThan(0);
      expect(Number.isFinite(size.ratio)).toBe(true);
      expect(size.validateGrowthBytes).toBeGreaterThanOrEqual(0);
      expect(size.validateMedianMs).toBeGreaterThan(0);
    }
    expect(typeof validation.memoryMet).toBe('boolean');
  });

  it('measures end-to-end latency against the irreducible work, losing nothing', () => {
    const { latency } = report;
    expect(latency.put.n).toBe(3);
    expect(latency.put.p50).toBeGreaterThan(0);
    expect(latency.put.p99).toBeGreaterThanOrEqual(latency.put.p50);
    expect(latency.post.n).toBe(1);
    expect(latency.postToPutRatio).toBeGreaterThan(0);
    expect(latency.irreducible.totalMs).toBeGreaterThan(0);
    expect(Object.keys(latency.irreducible.components)).toEqual(
      expect.arrayContaining(['s3 PUT', 's3 HEAD', 's3 GET', 's3 COPY', 's3 DELETE']),
    );
    expect(latency.ratio).toBeGreaterThan(0);
    expect(latency.lost).toBe(0);
  });

  it('measures throughput with no document lost', () => {
    expect(report.throughput.levels).toHaveLength(1);
    const [level] = report.throughput.levels;
    expect(level).toMatchObject({ clients: 1, documents: 3, processed: 3, lost: 0 });
    expect(level!.docsPerSecond).toBeGreaterThan(0);
  });

  it('measures issuance against a bare createPresignedPost', () => {
    const { issuance } = report;
    expect(issuance.api.perSecond).toBeGreaterThan(0);
    expect(issuance.api.errors).toBe(0);
    expect(issuance.presign.perSecond).toBeGreaterThan(0);
    expect(issuance.api.p95Ms).toBeGreaterThan(0);
    expect(issuance.ratio).toBeGreaterThan(0);
  });

  it('computes the cost of both paths from the template, the ASL path and counted requests', () => {
    const { cost } = report;
    expect(cost.stateMachineType).toBe('STANDARD');
    expect(cost.functions.validate?.memoryMB).toBeGreaterThan(0);
    expect(cost.paths.map((path) => path.path)).toEqual(['processed', 'rejected']);
    for (const path of cost.paths) {
      expect(path.stateTransitions).toBeGreaterThanOrEqual(5);
      expect(path.lambda.invocations).toBeGreaterThanOrEqual(5);
      expect(path.lambda.gbSeconds).toBeGreaterThan(0);
      expect(path.dynamo.wru).toBeGreaterThan(0);
      expect(path.dynamo.rru).toBeGreaterThan(0);
      expect(path.s3.putCopyPostList).toBeGreaterThan(0);
      expect(path.s3.getHeadOther).toBeGreaterThan(0);
      expect(path.usdPer1000.total).toBeGreaterThan(0);
    }
    expect(cost.paths[0]!.statesEntered).toContain('Promote');
    expect(cost.paths[1]!.statesEntered).toContain('Reject');
  });

  it('measures the audit chain: reads with and without it, sealing CPU, an export verified by the CLI', () => {
    const { chaining, verify } = report.audit!;
    // Two paths, each with ISSUED, CLAIMED and its outcome (docs/audit.md: the chain starts at issuance).
    expect(chaining.transitions).toBe(6);
    expect(chaining.readsUnchained).toBeGreaterThan(0);
    // docs/audit.md: chaining costs no extra read; the hashes make items larger, never smaller.
    expect(chaining.readsChained).toBe(chaining.readsUnchained);
    expect(chaining.wruChained).toBeGreaterThanOrEqual(chaining.wruUnchained);
    expect(chaining.sealUs).toBeGreaterThan(0);
    expect(chaining.unsealedUs).toBeGreaterThan(0);
    expect(verify.events).toBeGreaterThanOrEqual(2000);
    expect(verify).toMatchObject({ result: 'VERIFIED' });
    expect(verify.verdicts.verified).toBe(verify.uploads);
    expect(verify.busyDay.eventsPerUpload).toBeGreaterThanOrEqual(5);
    expect(verify.busyDay.eventsPerUpload).toBeLessThanOrEqual(8);
    expect(verify.eventsPerSecond).toBeGreaterThan(0);
    expect(verify.ratio).toBeGreaterThan(0);
    expect(stdout).toContain('audit verify --export');
  });

  it('reports every goal with whether it was met, and the machine it ran on', () => {
    expect(report.mode).toBe('smoke');
    expect(report.goals.length).toBeGreaterThan(0);
    for (const goal of report.goals) expect(typeof goal.met).toBe('boolean');
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(report.machine.node).toMatch(/^\d+\./);
  });
});
