import { ConfigurationError } from '../domain/errors.js';
import type { ObjectRef } from '../domain/model.js';
import type { ObjectScanResultEvent } from '../domain/scan-result-event.js';

/**
 * The local runtime's malware engine (ClamAV), seen from the functions: what GuardDuty and
 * EventBridge are on AWS. `deliver` hands a result to the pipeline as the result event (the
 * runtime invokes the intake function with it, as the rule would); `requestScan` is the local
 * counterpart of GuardDuty's SendObjectMalwareScan: the engine reads the version itself and
 * delivers its result the same way. Nothing installs it on Lambda.
 */
export interface LocalScanEngine {
  deliver(event: ObjectScanResultEvent): Promise<void>;
  requestScan(object: ObjectRef): Promise<void>;
}

let installed: LocalScanEngine | undefined;

/** The local runtime's switch. Refused on Lambda, where GuardDuty (or a custom engine) scans. */
export function installLocalScanEngine(
  engine: LocalScanEngine | undefined,
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (engine !== undefined && env.AWS_LAMBDA_FUNCTION_NAME !== undefined) {
    throw new ConfigurationError('The local scan engine is for the local runtime only, never on Lambda.');
  }
  installed = engine;
}

/** The installed engine; a ConfigurationError where the functions were told to scan locally but none is. */
export function localScanEngine(): LocalScanEngine {
  if (installed === undefined) {
    throw new ConfigurationError(
      'clamd is configured (CLAMD_ADDRESS) but no local scan engine is installed: the local runtime only.',
    );
  }
  return installed;
}
