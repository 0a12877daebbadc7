import type { QueryCommandInput, QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { InvalidCursorError } from '../domain/errors.js';

/** How listings page through the table: bounded queries and their opaque cursors. */

/** The byOwner index's keys (upload-store.ts TABLE_KEYS.byOwner), which its cursors hold. */
const OWNER_INDEX = { partitionKey: 'ownerKey', sortKey: 'createdKey' } as const;

/**
 * Items a listing request may evaluate in DynamoDB (its filter's matches and misses together):
 * a sparse filter answers with fewer items, or none, and a cursor, never with an unbounded loop.
 */
export const READ_BUDGET = 1000;

/**
 * A Query that evaluates at most `budget` items and returns at most `limit` of them. Without a
 * filter every evaluated item is returned, so it reads no more than the page. With one, it
 * reads in growing steps (the page size, then twice that, and so on) until the page is full,
 * the index ends or the budget is spent. `lastKey` is where the next page starts: right after
 * the last item returned, or after the last one evaluated.
 */
export async function boundedQuery(
  query: (input: QueryCommandInput) => Promise<QueryCommandOutput>,
  input: QueryCommandInput,
  options: { limit: number; budget: number; keyAttributes: string[]; startKey?: Record<string, unknown> },
): Promise<{
  items: Array<Record<string, unknown>>;
  lastKey?: Record<string, unknown>;
  evaluated: number;
}> {
  const filtered = input.FilterExpression !== undefined;
  const items: Array<Record<string, unknown>> = [];
  let next = options.startKey;
  let evaluated = 0;
  let step = options.limit;
  for (;;) {
    const wanted = filtered ? step : options.limit - items.length;
    const out = await query({
      ...input,
      Limit: Math.max(1, Math.min(wanted, options.budget - evaluated)),
      ExclusiveStartKey: next,
    });
    const page = out.Items ?? [];
    evaluated += out.ScannedCount ?? page.length;
    for (const [index, item] of page.entries()) {
      items.push(item);
      if (items.length === options.limit && (index < page.length - 1 || out.LastEvaluatedKey)) {
        // Full: go on right after this item (later ones in this response were not returned).
        const lastKey = index < page.length - 1 ? pick(item, options.keyAttributes) : out.LastEvaluatedKey;
        return { items, evaluated, ...(lastKey ? { lastKey } : {}) };
      }
    }
    if (out.LastEvaluatedKey === undefined) return { items, evaluated };
    if (items.length >= options.limit || evaluated >= options.budget) {
      return { items, evaluated, lastKey: out.LastEvaluatedKey };
    }
    next = out.LastEvaluatedKey;
    step *= 2;
  }
}

export function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Cursors are opaque to clients but checked here: one cannot page into another owner's list. */
export function decodeCursor(cursor: string, owner: string): Record<string, unknown> {
  const invalid = new InvalidCursorError();
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw invalid;
  const entries = Object.entries(key);
  const expected = new Set(['pk', 'sk', OWNER_INDEX.partitionKey, OWNER_INDEX.sortKey]);
  if (
    entries.length !== expected.size ||
    entries.some(([k, v]) => !expected.has(k) || typeof v !== 'string')
  ) {
    throw invalid;
  }
  if ((key as Record<string, unknown>)[OWNER_INDEX.partitionKey] !== owner) throw invalid;
  return key as Record<string, unknown>;
}

function pick(item: Record<string, unknown>, attributes: string[]): Record<string, unknown> {
  return Object.fromEntries(attributes.map((attribute) => [attribute, item[attribute]]));
}

/** Where an audit trail page ended: the upload and the last event's key, opaque to clients. */
export function encodeAuditCursor(uploadId: string, after: string): string {
  return Buffer.from(JSON.stringify({ u: uploadId, a: after }), 'utf8').toString('base64url');
}

export function decodeAuditCursor(cursor: string, uploadId: string): string {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new InvalidCursorError({ cause: error });
  }
  if (typeof value !== 'object' || value === null) throw new InvalidCursorError();
  const { u, a, ...rest } = value as { u?: unknown; a?: unknown };
  if (u !== uploadId || typeof a !== 'string' || !a.startsWith('EVENT#') || Object.keys(rest).length > 0) {
    throw new InvalidCursorError();
  }
  return a;
}
