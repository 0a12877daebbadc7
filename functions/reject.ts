import { lazy, makeS3Client, readConfig } from './commons/config.js';
import { taskHandler } from './commons/task.js';
import { ObjectStore } from './adapters/object-store.js';
import { rejectedKey } from './domain/model.js';
import { storeCopyInput } from './domain/task-contract.js';
import type { CopyStepDeps } from './promote.js';

/**
 * Reject: keeps the refused version for forensics under rejected/<uploadId>, labelled as opaque
 * bytes so that nothing ever renders it. Clients can never read rejected/.
 */
export function makeRejectHandler(deps: () => CopyStepDeps) {
  return taskHandler('Reject', storeCopyInput, async ({ uploadId, object, facts }) => {
    const destination = rejectedKey(uploadId);
    const copy = await deps().objects.copyVersionOnce(object, destination, {
      contentType: 'application/octet-stream',
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

export const handler = makeRejectHandler(defaultDeps);
