import { lazy, makeS3Client, readConfig } from './commons/config.js';
import { InvalidTaskInputError } from './commons/errors.js';
import { taskHandler } from './commons/task.js';
import { ObjectStore } from './adapters/object-store.js';
import { QUARANTINE_PREFIX } from './domain/model.js';
import { releaseInput } from './domain/task-contract.js';
import type { CopyStepDeps } from './commons/copy-step.js';

/**
 * Deletes one quarantine version: after its outcome is recorded, or when it is discarded
 * (unsolicited, or another version of an upload already taken). Idempotent.
 */
export function makeReleaseQuarantineHandler(deps: () => CopyStepDeps) {
  return taskHandler('ReleaseQuarantine', releaseInput, async ({ object }) => {
    if (!object.key.startsWith(QUARANTINE_PREFIX)) {
      throw new InvalidTaskInputError('Only quarantine versions may be released.');
    }
    await deps().objects.deleteVersion(object);
    return { released: true };
  });
}

const defaultDeps = lazy((): CopyStepDeps => ({ objects: new ObjectStore(makeS3Client(readConfig())) }));

export const handler = makeReleaseQuarantineHandler(defaultDeps);
