import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured logger per function. The uploadId is appended as the correlation key by each
 * handler. Never log presigned URLs, policies, signatures or tokens.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'airlock' });
