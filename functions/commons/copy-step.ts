import type { z } from 'zod';
import type { ObjectStore } from '../adapters/object-store.js';
import { storeCopyInput } from '../domain/task-contract.js';
import { taskHandler } from './task.js';

export interface CopyStepDeps {
  objects: ObjectStore;
}

type CopyInput = z.infer<typeof storeCopyInput>;

/**
 * A step that keeps a server-side copy of the claimed version under `destinationOf(uploadId)`,
 * at most once per version (Promote → clean/, Reject → rejected/).
 */
export function makeCopyStepHandler(
  step: string,
  deps: () => CopyStepDeps,
  destinationOf: (uploadId: string) => string,
  contentTypeOf: (input: CopyInput) => string,
) {
  return taskHandler(step, storeCopyInput, async (input) => {
    const { uploadId, object, facts } = input;
    const destination = destinationOf(uploadId);
    const copy = await deps().objects.copyVersionOnce(object, destination, {
      contentType: contentTypeOf(input),
      metadata: {
        'upload-id': uploadId,
        'source-version-id': object.versionId,
        ...(facts?.sha256 ? { sha256: facts.sha256 } : {}),
      },
    });
    return { storedKey: destination, ...(copy.versionId ? { storedVersionId: copy.versionId } : {}) };
  });
}
