/**
 * Module hooks for the chaining benchmark (bench/audit.ts): an import of a repo module with
 * `?unsealed` loads a parallel copy of its module graph in which functions/domain/audit-chain
 * is replaced by bench/unsealed/audit-chain.ts (events appended without hashing), so that the
 * same code runs with and without the chain in one process.
 */
const TAG = 'unsealed';

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  const tagged = parent !== undefined && new URL(parent).searchParams.has(TAG);
  const resolved = await next(specifier, context);
  if (!tagged || !resolved.url.startsWith('file:') || resolved.url.includes('/node_modules/'))
    return resolved;
  const url = new URL(resolved.url);
  if (url.pathname.endsWith('/functions/domain/audit-chain.ts')) {
    return { ...resolved, url: new URL('./audit-chain.ts', import.meta.url).href };
  }
  url.searchParams.set(TAG, '');
  return { ...resolved, url: url.href };
}
