import { apiHandler, callerFrom, jsonResponse } from './commons/http.js';
import { lazy, makeS3Client, readConfig } from './commons/config.js';
import { requireEnv } from './commons/env.js';
import { ENV_NAMES } from './commons/env-names.js';
import { BadRequestError, ForbiddenError } from './commons/http-errors.js';
import { DIGEST_PREFIX, DigestBucket } from './adapters/digest-bucket.js';
import type { DigestSigner } from './adapters/digest-signer.js';
import { InvalidCursorError } from './domain/errors.js';
import { isAuditor } from './domain/status-view.js';
import { signerFromEnv } from './commons/digest-settings.js';

export interface AuditDigestsDeps {
  digests: Pick<DigestBucket, 'list' | 'read'>;
  signer: Pick<DigestSigner, 'keyId' | 'publicKeyPem'>;
}

/** The route that answers the public key; the other lists the digests. */
export const PUBLIC_KEY_ROUTE = 'GET /audit/public-key';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;

/**
 * Two auditors-only routes over the digests, one function with the same grants:
 * - GET /audit/public-key: the PEM public key that verifies the digests (kms:GetPublicKey on AWS);
 * - GET /audit/digests: the digests in period order, a page at a time, each as its first stored
 *   version (the one Object Lock keeps) with how many versions its key has and whether a delete
 *   marker hides it, so that a verifier reports an overwrite or a delete.
 * Others get 403, as on GET /audit/uploads.
 */
export function makeAuditDigestsHandler(deps: () => AuditDigestsDeps) {
  return apiHandler(async (event) => {
    if (!isAuditor(callerFrom(event))) throw new ForbiddenError();
    const query = event.queryStringParameters ?? {};
    const invalid = (message: string) => new BadRequestError('INVALID_QUERY', message);
    const { digests, signer } = deps();
    if (event.routeKey === PUBLIC_KEY_ROUTE) {
      if (Object.keys(query).length > 0) throw invalid('This route takes no query parameters.');
      return jsonResponse(200, { keyId: await signer.keyId(), publicKeyPem: await signer.publicKeyPem() });
    }
    const unknown = Object.keys(query).filter((name) => name !== 'limit' && name !== 'cursor');
    if (unknown.length > 0) throw invalid(`Unknown query parameter(s): ${unknown.join(', ')}.`);
    let limit = DEFAULT_LIMIT;
    if (query.limit !== undefined) {
      limit = Number(query.limit);
      if (!/^\d+$/.test(query.limit) || limit < 1 || limit > MAX_LIMIT) {
        throw invalid(`limit must be an integer from 1 to ${MAX_LIMIT}.`);
      }
    }
    const after = query.cursor === undefined ? undefined : decodeDigestCursor(query.cursor);
    const page = await digests.list({ limit, ...(after ? { after } : {}) });
    const items = await Promise.all(
      page.items.map(async (stored) => ({
        name: stored.key.slice(DIGEST_PREFIX.length),
        versions: stored.versionIds.length,
        deleted: stored.deleted,
        ...(stored.versionIds[0] === undefined
          ? {}
          : { digest: await digests.read(stored.key, stored.versionIds[0]) }),
      })),
    );
    const last = page.items.at(-1);
    return jsonResponse(200, {
      items,
      ...(page.more && last ? { cursor: Buffer.from(last.key, 'utf8').toString('base64url') } : {}),
    });
  });
}

/** A cursor is the last key of a page: only a key under the digest prefix passes. */
function decodeDigestCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!key.startsWith(DIGEST_PREFIX) || !/^[0-9A-Za-z:.\-/]+$/.test(key)) throw new InvalidCursorError();
  return key;
}

const defaultDeps = lazy((): AuditDigestsDeps => {
  const config = readConfig();
  return {
    digests: new DigestBucket(requireEnv(ENV_NAMES.auditDigestBucket), makeS3Client(config)),
    signer: signerFromEnv(),
  };
});

export const handler = makeAuditDigestsHandler(defaultDeps);
