import { lazy, makeS3Client, readConfig } from './commons/config.js';
import { makeCopyStepHandler, type CopyStepDeps } from './commons/copy-step.js';
import { ObjectStore } from './adapters/object-store.js';
import { rejectedKey } from './domain/model.js';

/**
 * Reject: keeps the refused version for forensics under rejected/<uploadId>, labelled as opaque
 * bytes so that nothing ever renders it. Clients can never read rejected/.
 */
export function makeRejectHandler(deps: () => CopyStepDeps) {
  return makeCopyStepHandler('Reject', deps, rejectedKey, () => 'application/octet-stream');
}

const defaultDeps = lazy((): CopyStepDeps => ({ objects: new ObjectStore(makeS3Client(readConfig())) }));

export const handler = makeRejectHandler(defaultDeps);
