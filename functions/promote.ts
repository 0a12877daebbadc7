import { lazy, makeS3Client, readConfig } from './commons/config.js';
import { makeCopyStepHandler, type CopyStepDeps } from './commons/copy-step.js';
import { ObjectStore } from './adapters/object-store.js';
import { cleanKey } from './domain/model.js';

/**
 * Promote: server-side copy of the validated version to clean/<uploadId>, labelled with the
 * detected type. The quarantine version is removed only after the outcome is recorded, so a
 * failure in between never leaves the file in neither place.
 */
export function makePromoteHandler(deps: () => CopyStepDeps) {
  return makeCopyStepHandler(
    'Promote',
    deps,
    cleanKey,
    ({ facts }) => facts?.detectedType ?? 'application/octet-stream',
  );
}

const defaultDeps = lazy((): CopyStepDeps => ({ objects: new ObjectStore(makeS3Client(readConfig())) }));

export const handler = makePromoteHandler(defaultDeps);
