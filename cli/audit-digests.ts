import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DIGEST_INDEX_FILE, storedProblem } from './audit-verify.js';
import { EXIT, UsageError, emit, errorLine, type Context } from './context.js';

const PAGE_SIZE = 100;
/** Digest names as the API gives them: `<periodEnd>.json`, nothing that could leave the directory. */
const DIGEST_NAME = /^[0-9A-Za-z:.-]+\.json$/;

/**
 * `airlock audit digests --output <dir>`: downloads every digest (its first stored version) for
 * offline verification, with `digests.index` noting each key's versions and delete marker. A
 * deleted digest is not written (offline, the chain shows it missing). Exit 1 when a digest was
 * overwritten or deleted where it is stored.
 */
export async function auditDigestsCommand(ctx: Context, dir: string): Promise<number> {
  await mkdir(dir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot create ${dir} (${error.code ?? 'error'})`, { hint: false });
  });
  const index: string[] = [];
  let written = 0;
  let problems = 0;
  for await (const page of ctx.client.auditDigests({ limit: PAGE_SIZE })) {
    for (const item of page.items) {
      if (!DIGEST_NAME.test(item.name)) throw new Error(`the API named a digest "${item.name}"`);
      index.push(JSON.stringify({ name: item.name, versions: item.versions, deleted: item.deleted }));
      const problem = storedProblem(item);
      if (problem !== undefined) {
        problems++;
        ctx.stderr.write(errorLine(`digest ${item.name}: ${problem}`));
      }
      if (item.deleted || item.digest === undefined) continue;
      await writeFile(join(dir, item.name), `${JSON.stringify(item.digest, null, 2)}\n`);
      written++;
    }
  }
  await writeFile(join(dir, DIGEST_INDEX_FILE), index.map((line) => `${line}\n`).join(''));
  await emit(
    ctx.stdout,
    ctx.json ? `${JSON.stringify({ dir, written, problems })}\n` : `${written} digests written to ${dir}\n`,
  );
  return problems > 0 ? EXIT.NOT_PROCESSED : EXIT.OK;
}

/** `airlock audit public-key [--output <file>]`: the PEM key that verifies the digests. */
export async function auditPublicKeyCommand(ctx: Context, output?: string): Promise<number> {
  const { keyId, publicKeyPem } = await ctx.client.auditPublicKey();
  if (output === undefined) {
    await emit(ctx.stdout, ctx.json ? `${JSON.stringify({ keyId, publicKeyPem })}\n` : publicKeyPem);
    return EXIT.OK;
  }
  await writeFile(output, publicKeyPem);
  await emit(ctx.stdout, `public key ${keyId} written to ${output}\n`);
  return EXIT.OK;
}
