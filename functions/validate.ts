import { lazy, makeS3Client, readConfig, readScanConfig } from './commons/config.js';
import { localScanEngine } from './commons/local-scan-engine.js';
import { taskHandler } from './commons/task.js';
import { ClamdScanner } from './adapters/clamd-scanner.js';
import { ObjectStore } from './adapters/object-store.js';
import { inspectContent } from './domain/content-inspection.js';
import type { ObjectRef, ScanSummary } from './domain/model.js';
import { scanResultEvent, type ObjectScanResultEvent } from './domain/scan-result-event.js';
import type { MalwareScanResult } from './domain/scan-verdict.js';
import { validateInput } from './domain/task-contract.js';
import type { TypePolicy } from './domain/type-policy.js';
import { judgeContent, type Verdict } from './domain/verdict.js';

/** One streaming scan: the read passes through `tee`, then `end` gives the engine's answer. */
export interface StreamScan {
  tee(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
  end(): Promise<MalwareScanResult>;
  abort(): void;
}

/**
 * The engine fed by Validate's own read (locally ClamAV over INSTREAM), and where its result goes:
 * the engine's result event, which the intake stores for the Scan step. On AWS there is none:
 * GuardDuty reads the object itself and publishes the same event.
 */
export interface InlineScan {
  open(): Promise<StreamScan>;
  deliver(event: ObjectScanResultEvent): Promise<void>;
}

export interface ValidateDeps {
  objects: ObjectStore;
  policy: TypePolicy;
  scan?: InlineScan;
}

/** Validate's answer: the verdict, and no scan verdict yet (the Scan step gives it). */
export type ValidateResult = Verdict & { scan: ScanSummary | null };

/**
 * Validate: streams the exact version once, in constant memory, and judges it against the
 * declaration and the type policy. A verdict is data (accepted or reasons), never an error.
 * Where an inline engine is configured, the same read feeds it; an engine failure is a
 * TransientError (retried, then FAILED), never a verdict.
 */
export function makeValidateHandler(deps: () => ValidateDeps) {
  return taskHandler('Validate', validateInput, async ({ object, declared }): Promise<ValidateResult> => {
    const { objects, policy, scan } = deps();
    // Connected before the read, so that an engine that is down fails before the object is read.
    const session = scan ? await scan.open() : undefined;
    const opened = await objects.openVersion(object).catch((error: unknown) => {
      session?.abort();
      throw error;
    });
    const textual = policy[declared.contentType]?.detect.kind === 'text';
    // Stop early when S3 says the size is wrong; never read far past the declared size.
    const facts = await inspectContent(session ? session.tee(opened.body) : opened.body, {
      checkText: textual,
      stopAfterBytes: declared.size,
    }).catch((error: unknown) => {
      session?.abort();
      throw error;
    });
    const complete = facts.size <= declared.size;
    if (!complete) {
      opened.abort();
      session?.abort(); // not the file the upload declared: refused without a scan
    } else if (scan && session) {
      await scan.deliver(scanResultEvent({ id: scanEventId(object), object, result: await session.end() }));
    }
    // Reading stopped early: only S3's Content-Length knows the real size, and the reasons must state it.
    const measured = complete ? facts : { ...facts, size: opened.contentLength ?? facts.size };
    const verdict = judgeContent(declared, measured, policy);
    if (complete) return { ...verdict, scan: null };
    return {
      ...verdict,
      facts: {
        size: measured.size,
        sha256: null,
        detectedType: verdict.facts.detectedType,
      },
      scan: null,
    };
  });
}

const scanEventId = (object: ObjectRef): string => `clamav-${object.versionId}-${Date.now().toString(36)}`;

const defaultDeps = lazy((): ValidateDeps => {
  const config = readConfig();
  const { scanner, clamd } = readScanConfig();
  const objects = new ObjectStore(makeS3Client(config));
  if (clamd === undefined || scanner === 'none') return { objects, policy: config.typePolicy };
  const engine = new ClamdScanner(clamd);
  return {
    objects,
    policy: config.typePolicy,
    scan: { open: () => engine.open(), deliver: (event) => localScanEngine().deliver(event) },
  };
});

export const handler = makeValidateHandler(defaultDeps);
