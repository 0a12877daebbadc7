import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { ConfigurationError } from '../domain/errors.js';

/**
 * Hooks through which the local runtime runs every function as AWS runs it: under its own role,
 * with each SDK call and each presigned grant evaluated against the IAM policies CDK synthesizes
 * (local/iam/). Nothing installs them on Lambda, where both calls below do nothing.
 */
export type SdkClient = S3Client | DynamoDBClient | SFNClient | EventBridgeClient;

/** A presigned grant about to be signed: the request its holder will be able to make. */
export interface GrantToSign {
  /** The S3 operation the URL or POST policy allows. */
  operation: 'PutObject' | 'GetObject';
  method: 'POST' | 'PUT' | 'GET';
  bucket: string;
  /** The exact key: grants pin it (a POST policy has no `starts-with` on `$key`). */
  key: string;
}

export interface LocalHooks {
  /** Called with every SDK client a function builds (commons/config.ts). */
  instrument(client: SdkClient): void;
  /** Called before a grant is signed; rejects when the signing role could not make the request. */
  checkGrant(grant: GrantToSign): Promise<void>;
}

let installed: LocalHooks | undefined;

/** The local runtime's switch. Refused on Lambda: a deployment never evaluates IAM itself. */
export function installLocalHooks(hooks: LocalHooks | undefined, env: NodeJS.ProcessEnv = process.env): void {
  if (hooks !== undefined && env.AWS_LAMBDA_FUNCTION_NAME !== undefined) {
    throw new ConfigurationError('Local IAM emulation is for the local runtime only, never on Lambda.');
  }
  installed = hooks;
}

export function instrumentClient<T extends SdkClient>(client: T): T {
  installed?.instrument(client);
  return client;
}

export async function checkGrantToSign(grant: GrantToSign): Promise<void> {
  await installed?.checkGrant(grant);
}
