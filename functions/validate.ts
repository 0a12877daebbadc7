import { lazy, makeS3Client, readConfig } from './commons/config.js';
import { taskHandler } from './commons/task.js';
import { ObjectStore } from './adapters/object-store.js';
import { inspectContent } from './domain/content-inspection.js';
import { validateInput } from './domain/task-contract.js';
import type { TypePolicy } from './domain/type-policy.js';
import { judgeContent, type Verdict } from './domain/verdict.js';

export interface ValidateDeps {
  objects: ObjectStore;
  policy: TypePolicy;
}

/**
 * Validate: streams the exact version once, in constant memory, and judges it against the
 * declaration and the type policy. A verdict is data (accepted or reasons), never an error.
 */
export function makeValidateHandler(deps: () => ValidateDeps) {
  return taskHandler('Validate', validateInput, async ({ object, declared }): Promise<Verdict> => {
    const { objects, policy } = deps();
    const opened = await objects.openVersion(object);
    const textual = policy[declared.contentType]?.detect.kind === 'text';
    // Stop early when S3 says the size is wrong; never read far past the declared size.
    const facts = await inspectContent(opened.body, { checkText: textual, stopAfterBytes: declared.size });
    const complete = facts.size <= declared.size;
    if (!complete) opened.abort();
    // Reading stopped early: only S3's Content-Length knows the real size, and the reasons must state it.
    const measured = complete ? facts : { ...facts, size: opened.contentLength ?? facts.size };
    const verdict = judgeContent(declared, measured, policy);
    if (complete) return verdict;
    return {
      ...verdict,
      facts: {
        size: measured.size,
        sha256: null,
        detectedType: verdict.facts.detectedType,
      },
    };
  });
}

const defaultDeps = lazy((): ValidateDeps => {
  const config = readConfig();
  return { objects: new ObjectStore(makeS3Client(config)), policy: config.typePolicy };
});

export const handler = makeValidateHandler(defaultDeps);
