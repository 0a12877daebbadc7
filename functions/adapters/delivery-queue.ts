import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { toPipelineError } from './aws-errors.js';

/**
 * The SQS queue webhook deliveries wait in. A failed delivery stays in it, hidden for the retry
 * policy's pause (ChangeMessageVisibility); once SQS has handed it out maxAttempts times, its
 * redrive policy moves it to the dead-letter queue.
 */
export class SqsDeliveryQueue {
  constructor(
    private readonly queueUrl: string,
    private readonly client: SQSClient = new SQSClient({}),
  ) {}

  /** Hides the message for `seconds` (at most 12 hours), after which it is delivered again. */
  async retryAfter(receiptHandle: string, seconds: number): Promise<void> {
    try {
      await this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: Math.min(Math.max(Math.ceil(seconds), 0), 43_200),
        }),
      );
    } catch (error) {
      throw toPipelineError('ChangeMessageVisibility(webhook)', error);
    }
  }
}
