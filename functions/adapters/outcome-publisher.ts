import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { TransientError } from '../commons/errors.js';
import { OUTCOME_EVENT_SOURCE, outcomeDetailType, type OutcomeEvent } from '../domain/outcome-event.js';
import { toPipelineError } from './aws-errors.js';

/**
 * Where outcome events go. Publishing is at least once: a caller that is not sure an event went
 * out publishes it again, with the same id, and consumers deduplicate on the id. Publishing only
 * hands events over (to EventBridge, or to the local dispatcher's durable queue); delivery to
 * webhooks is asynchronous and never blocks or fails the pipeline.
 */
export interface OutcomePublisher {
  /** Resolves once every event is durably accepted; throws (TransientError) when any is not. */
  publish(events: readonly OutcomeEvent[]): Promise<void>;
}

/** PutEvents takes at most 10 entries per request. */
const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * Publishes to an EventBridge bus: source `airlock`, detail-type `Upload Processed` (…), the
 * event as the detail and the upload as the resource, so that rules match on any of them.
 * EventBridge may accept some entries of a request and refuse others (FailedEntryCount): those
 * are sent again at once, and a TransientError names what is still refused, so that the caller
 * retries the whole publication (a repeat is harmless: same ids).
 */
export class EventBridgePublisher implements OutcomePublisher {
  constructor(
    private readonly eventBusName: string,
    private readonly client: EventBridgeClient = new EventBridgeClient({}),
    private readonly attemptsPerBatch = 2,
  ) {}

  async publish(events: readonly OutcomeEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += PUT_EVENTS_MAX_ENTRIES) {
      await this.putBatch(events.slice(start, start + PUT_EVENTS_MAX_ENTRIES));
    }
  }

  /** The entry of one event. */
  entryOf(event: OutcomeEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.eventBusName,
      Source: OUTCOME_EVENT_SOURCE,
      DetailType: outcomeDetailType(event.data.status),
      Detail: JSON.stringify(event),
      Time: new Date(event.time),
    };
  }

  private async putBatch(batch: readonly OutcomeEvent[]): Promise<void> {
    let pending = [...batch];
    let refused: string[] = [];
    for (let attempt = 0; attempt < this.attemptsPerBatch && pending.length > 0; attempt++) {
      let result;
      try {
        result = await this.client.send(
          new PutEventsCommand({ Entries: pending.map((event) => this.entryOf(event)) }),
        );
      } catch (error) {
        throw toPipelineError('PutEvents(outcome)', error);
      }
      if (!result.FailedEntryCount) return;
      // Entries answer in request order; a failed one carries an ErrorCode and no EventId.
      const entries = result.Entries ?? [];
      refused = [];
      pending = pending.filter((event, index) => {
        const entry = entries[index];
        const failed = entry === undefined || entry.ErrorCode !== undefined || entry.EventId === undefined;
        if (failed) refused.push(`${event.id}: ${entry?.ErrorCode ?? 'no answer'}`);
        return failed;
      });
    }
    if (pending.length > 0) {
      throw new TransientError(
        `PutEvents(outcome) refused ${pending.length} event(s): ${refused.join(', ')}.`,
      );
    }
  }
}

/** Publishes to each of several publishers, all of which must accept. */
export class FanOutPublisher implements OutcomePublisher {
  private readonly targets: readonly OutcomePublisher[];

  constructor(...targets: OutcomePublisher[]) {
    this.targets = targets;
  }

  async publish(events: readonly OutcomeEvent[]): Promise<void> {
    for (const target of this.targets) await target.publish(events);
  }
}
