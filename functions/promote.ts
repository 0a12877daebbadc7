import { lazy, makeS3Client, readConfig } from './commons/config.js';
import { taskHandler } from './commons/task.js';
import { ObjectStore } from './adapters/object-store.js';
import { cleanKey } from './domain/model.js';
import { storeCopyInput } from './domain/task-contract.js';

export interface CopyStepDeps {
  objects: ObjectStore;
}

/**
 * Promote: server-side copy of the validated version to clean/<uploadId>, labelled with the
 * detected type. The quarantine version is removed only after the outcome is recorded, so a
 * failure in between never leaves the file in neither place.
 */
export function makePromoteHandler(deps: () => CopyStepDeps) {
  return taskHandler('Promote', storeCopyInput, async ({ uploadId, object, facts }) => {
    const destination = cleanKey(uploadId);
    const copy = await deps().objects.copyVersionOnce(object, destination, {
      contentType: facts?.detectedType ?? 'application/octet-stream',
      metadata: {
        'upload-id': uploadId,
        'source-version-id': object.versionId,
        ...(facts?.sha256 ? { sha256: facts.sha256 } : {}),
      },
    });
    return { storedKey: destination, ...(copy.versionId ? { storedVersionId: copy.versionId } : {}) };
  });
}

const defaultDeps = lazy((): CopyStepDeps => ({ objects: new ObjectStore(makeS3Client(readConfig())) }));

export const handler = makePromoteHandler(defaultDeps);
