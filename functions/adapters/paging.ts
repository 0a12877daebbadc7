import type { QueryCommandInput, QueryCommandOutput } from '@aws-sdk/lib-dynamodb';

/** How listings page through the table: bounded queries (their cursors: table-layout.ts). */

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

function pick(item: Record<string, unknown>, attributes: string[]): Record<string, unknown> {
  return Object.fromEntries(attributes.map((attribute) => [attribute, item[attribute]]));
}
