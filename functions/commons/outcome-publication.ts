import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { ObjectStore } from '../adapters/object-store.js';
import { OutcomeOutbox } from '../adapters/outcome-outbox.js';
import { EventBridgePublisher, type OutcomePublisher } from '../adapters/outcome-publisher.js';
import { currentTransition, outcomeEvent, type OutcomeEvent } from '../domain/outcome-event.js';
import { makeDynamoDbClient, readConfig } from './config.js';
import { requireEnv } from './env.js';
import { ENV_NAMES } from './env-names.js';
import { TransientError } from './errors.js';
import { instrumentClient } from './local-hooks.js';
import { logger } from './logger.js';

export interface OutcomePublicationDeps {
  outbox: Pick<OutcomeOutbox, 'read' | 'markPublished'>;
  objects: Pick<ObjectStore, 'head'>;
  publisher: OutcomePublisher;
  /** The bucket the promoted copies are in. */
  bucket: string;
}

export type PublicationResult =
  | { published: true; eventId: string }
  | { published: false; why: 'NO_RECORD' | 'NOT_TERMINAL' | 'ALREADY_PUBLISHED' };

/**
 * Publishes the event of the terminal transition an upload's record stands at, unless it is
 * marked published, then marks it. Only a recorded transition (its event in the trail) makes an
 * event, and its id derives from the transition, so a publication repeated after a crash (by the
 * resumed run, or the sweeper) carries the same id. At least once: a crash after the publish and
 * before the mark publishes again, and consumers deduplicate on the id.
 */
export async function publishCurrentOutcome(
  deps: OutcomePublicationDeps,
  uploadId: string,
): Promise<PublicationResult> {
  const entry = await deps.outbox.read(uploadId);
  if (entry === undefined) return { published: false, why: 'NO_RECORD' };
  const { record } = entry;
  const transition = currentTransition(record.status, entry.trail);
  if (transition === undefined) return { published: false, why: 'NOT_TERMINAL' };
  if (entry.publishedSeq >= transition.seq) return { published: false, why: 'ALREADY_PUBLISHED' };
  const event = await buildEvent(deps, record, transition);
  await deps.publisher.publish([event]);
  await deps.outbox.markPublished(uploadId, transition.seq, transition.at);
  logger.info('outcome event published', { uploadId, eventId: event.id, status: transition.status });
  return { published: true, eventId: event.id };
}

async function buildEvent(
  deps: OutcomePublicationDeps,
  record: Parameters<typeof outcomeEvent>[0] & { storedKey?: string },
  transition: NonNullable<ReturnType<typeof currentTransition>>,
): Promise<OutcomeEvent> {
  if (transition.status !== 'PROCESSED') return outcomeEvent(record, transition);
  // The promoted copy's version: the one Promote wrote under clean/<id>.
  const key = record.storedKey;
  const head = key === undefined ? undefined : await deps.objects.head(deps.bucket, key);
  if (key === undefined || head?.versionId === undefined)
    throw new TransientError('The promoted copy of a PROCESSED upload has no version yet.');
  return outcomeEvent(record, {
    ...transition,
    object: { bucket: deps.bucket, key, versionId: head.versionId },
  });
}

/**
 * The publication as a function's environment sets it up: the table (the outbox), the bus
 * (EVENT_BUS_NAME; the local runtime's router answers for EventBridge at EVENTS_ENDPOINT).
 */
export function outcomePublicationFromEnv(
  objects: Pick<ObjectStore, 'head'>,
  bucket: string,
  env: NodeJS.ProcessEnv = process.env,
): OutcomePublicationDeps {
  const config = readConfig(env);
  const endpoint = env[ENV_NAMES.eventsEndpoint];
  return {
    outbox: new OutcomeOutbox(config.tableName, makeDynamoDbClient(config)),
    objects,
    publisher: new EventBridgePublisher(
      requireEnv(ENV_NAMES.eventBusName, env),
      instrumentClient(new EventBridgeClient(endpoint ? { endpoint } : {})),
    ),
    bucket,
  };
}
