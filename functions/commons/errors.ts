/**
 * The errors of the state machine's tasks and their dependencies. Each has a stable literal
 * `name`: Step Functions `Retry`/`Catch` match on it, so a name here is part of the ASL's contract.
 * What a client may be told lives elsewhere: the domain's refusals in domain/errors.ts, the HTTP
 * edge's own in commons/http-errors.ts.
 */

/**
 * A dependency (S3, DynamoDB, the network) failed in a way that may pass: throttling, 5xx,
 * timeouts, refused connections. The state machine retries this name with backoff.
 */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** A dependency refused the request for a reason that retrying will not fix. */
export class DependencyError extends Error {
  override readonly name = 'DependencyError';
}

/** The event or task input is not what the state machine contract says. Not retried. */
export class InvalidTaskInputError extends Error {
  override readonly name = 'InvalidTaskInputError';
}

/** The quarantine version to work on no longer exists. Not retried. */
export class ObjectVersionMissingError extends Error {
  override readonly name = 'ObjectVersionMissingError';
}

/** A conditional write lost against a state that the step cannot accept. Not retried. */
export class TransitionConflictError extends Error {
  override readonly name = 'TransitionConflictError';
}

/**
 * The Scan step found no result for its object version yet: the engine has not answered. Its Task
 * retries this name on a schedule of its own (statemachines/upload-pipeline.ts), then FAILED.
 */
export class ScanPendingError extends Error {
  override readonly name = 'ScanPending';
}

/** The engine could not scan the version (failed, access denied): FAILED, and a redrive scans again. */
export class ScanFailedError extends Error {
  override readonly name = 'ScanFailed';
}
