import {
  lazy,
  makeDynamoDbClient,
  makeGuardDutyClient,
  readConfig,
  readScanConfig,
} from './commons/config.js';
import { ScanFailedError, ScanPendingError } from './commons/errors.js';
import { logger } from './commons/logger.js';
import { taskHandler } from './commons/task.js';
import {
  GuardDutyOnDemandScanner,
  LocalEngineOnDemandScanner,
  type OnDemandScanner,
} from './adapters/on-demand-scanner.js';
import { ScanResultStore } from './adapters/scan-result-store.js';
import type { ScanSummary } from './domain/model.js';
import { nextScanAction, SKIPPED_SCAN, type ScannerKind } from './domain/scan-verdict.js';
import { scanInput } from './domain/task-contract.js';
import type { Verdict } from './domain/verdict.js';

export interface ScanDeps {
  results: ScanResultStore;
  scanner: ScannerKind;
  /** How to ask the engine for a new scan, where it can be asked (GuardDuty; ClamAV locally). */
  onDemand?: OnDemandScanner;
  now: () => Date;
}

/** The Object Created reason the redrive gives the executions it starts (functions/redrive.ts). */
const REDRIVE_REASON = 'Redrive';

/**
 * Scan: decides on the engine's result for the exact version validated, fail closed. Only a
 * completed "no threats found" keeps the verdict accepted; a threat is MALWARE_DETECTED, a file
 * the engine could not fully scan NOT_FULLY_SCANNED. It never waits inside: when no result is
 * stored yet it throws ScanPending, which its Task retries on its own schedule, so whichever comes
 * first (the result or this step) the outcome is the same. A failed scan is ScanFailed (FAILED;
 * a redrive asks for a new scan). With `scanner: none` the verdict stands and says so.
 */
export function makeScanHandler(deps: () => ScanDeps) {
  return taskHandler(
    'Scan',
    scanInput,
    async ({ uploadId, object, verdict, claimedAt, detail }): Promise<Verdict & { scan: ScanSummary }> => {
      const { results, scanner, onDemand, now } = deps();
      if (scanner === 'none') return { ...verdict, scan: SKIPPED_SCAN };
      const stored = await results.get(uploadId, object.versionId);
      const action = nextScanAction(stored, {
        ...(claimedAt ? { claimedAt } : {}),
        redrive: detail.reason === REDRIVE_REASON,
        canRequest: onDemand !== undefined,
      });
      switch (action.kind) {
        case 'VERDICT':
          logger.info('scan verdict', { scan: action.scan.status });
          return action.accepted
            ? { ...verdict, scan: action.scan }
            : {
                accepted: false,
                reasons: [...verdict.reasons, action.reason!],
                facts: verdict.facts,
                scan: action.scan,
              };
        case 'REQUEST':
          // Asked first, noted second: a result that arrives in between is kept (the note is conditional).
          await onDemand!.request(object);
          await results.markRequested(uploadId, object.versionId, now().toISOString(), action.replacing);
          logger.info('new scan requested', { engine: onDemand!.engine });
          throw new ScanPendingError(`A new scan of version ${object.versionId} was requested.`);
        case 'WAIT':
          throw new ScanPendingError(`No scan result for version ${object.versionId} yet.`);
        case 'FAIL':
          throw new ScanFailedError(action.message);
      }
    },
  );
}

const defaultDeps = lazy((): ScanDeps => {
  const config = readConfig();
  const { scanner, clamd } = readScanConfig();
  const onDemand =
    clamd !== undefined
      ? new LocalEngineOnDemandScanner()
      : scanner === 'guardduty'
        ? new GuardDutyOnDemandScanner(makeGuardDutyClient())
        : undefined;
  return {
    results: new ScanResultStore(config.tableName, makeDynamoDbClient(config)),
    scanner,
    ...(onDemand ? { onDemand } : {}),
    now: () => new Date(),
  };
});

export const handler = makeScanHandler(defaultDeps);
