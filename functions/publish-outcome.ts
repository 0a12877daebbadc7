import { lazy, makeS3Client, readConfig } from './commons/config.js';
import { logger } from './commons/logger.js';
import {
  outcomePublicationFromEnv,
  publishCurrentOutcome,
  type OutcomePublicationDeps,
} from './commons/outcome-publication.js';
import { taskHandler } from './commons/task.js';
import { ObjectStore } from './adapters/object-store.js';
import { publishOutcomeInput, uploadIdFromKey } from './domain/task-contract.js';
import { isUploadId } from './domain/upload-id.js';

/**
 * Publish: the state after every Record (and on the path a resumed run takes past a recorded
 * outcome). Publishes the event of the upload's recorded terminal transition and marks it
 * published. Its errors are retried, then caught by the state machine: publishing never fails
 * the pipeline, and an event still unpublished is the sweeper's to publish.
 */
export function makePublishOutcomeHandler(deps: () => OutcomePublicationDeps) {
  return taskHandler('Publish', publishOutcomeInput, async (input) => {
    const uploadId = uploadIdFromKey(input.detail.object.key);
    if (uploadId === undefined || !isUploadId(uploadId)) return { published: false, why: 'NO_RECORD' };
    const result = await publishCurrentOutcome(deps(), uploadId);
    if (!result.published) logger.info('no outcome event to publish', { why: result.why });
    return result;
  });
}

const defaultDeps = lazy((): OutcomePublicationDeps => {
  const config = readConfig();
  return outcomePublicationFromEnv(new ObjectStore(makeS3Client(config)), config.bucketName);
});

export const handler = makePublishOutcomeHandler(defaultDeps);
