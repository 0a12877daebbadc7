/**
 * The reliability suite's building blocks. Each part tries to break Airlock in one way and
 * returns what it measured; the runner prints every part's figures as one table, writes them to
 * a JSON report and (full runs) into docs/reliability.md.
 */

/** What one part of the suite found. */
export interface PartResult {
  /** Stable id, e.g. `load`, `faults.sigkill`, `hostile`. */
  id: string;
  /** One line for the summary table. */
  title: string;
  /** True only when every check of the part held. */
  passed: boolean;
  /** Counts and timings, shown in the table and kept in the JSON report. */
  figures: Record<string, number | string>;
  /** One line per broken expectation; empty when `passed`. */
  failures: string[];
  durationMs: number;
}

/** How the suite runs: `quick` is the short version that `npm test` runs. */
export interface SuiteOptions {
  quick: boolean;
  log: (message: string) => void;
}

/** A local runtime a part runs against (started by the runner). */
export interface RuntimeTarget {
  /** e.g. http://localhost:3000 */
  apiUrl: string;
  /** The runtime's data dir: tokens are minted with its local issuer key (local/auth.ts). */
  dataDir: string;
  /** RadosGW, e.g. http://127.0.0.1:7480 */
  s3Endpoint: string;
  /** dynalite, e.g. http://127.0.0.1:4567 */
  dynamoDbEndpoint: string;
  /** The router's base URL (events in, and /faults when fault injection is on). */
  routerUrl: string;
  bucket: string;
  table: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
}

/** Runs `check` and turns its failures list into a PartResult with timing. */
export async function runPart(
  id: string,
  title: string,
  check: (failures: string[]) => Promise<Record<string, number | string>>,
): Promise<PartResult> {
  const started = Date.now();
  const failures: string[] = [];
  let figures: Record<string, number | string> = {};
  try {
    figures = await check(failures);
  } catch (error) {
    failures.push(`crashed: ${(error as Error).stack ?? String(error)}`);
  }
  return { id, title, passed: failures.length === 0, figures, failures, durationMs: Date.now() - started };
}
