import { QUARANTINE_PREFIX } from '../functions/domain/model.js';
import type { ObjectCreatedEvent } from '../functions/domain/object-event.js';

/** The key prefix the CDK rule matches on: an event source may list only what lies under it. */
export const PIPELINE_RULE_KEY_PREFIX = QUARANTINE_PREFIX;

/**
 * The CDK rule's pattern (infra: Object Created, this bucket, key prefix quarantine/). Every
 * local event source (RGW's pushed notifications, the ops log for POST uploads) passes its events
 * through this one function before it starts an execution.
 */
export function matchesPipelineRule(event: ObjectCreatedEvent, bucket: string): boolean {
  return (
    event.source === 'aws.s3' &&
    event['detail-type'] === 'Object Created' &&
    event.detail.bucket.name === bucket &&
    event.detail.object.key.startsWith(PIPELINE_RULE_KEY_PREFIX)
  );
}
