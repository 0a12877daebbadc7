import { isTerminal, type UploadStatus, type UploadView } from '../client/index.js';
import { EXIT, emit, type Context } from './context.js';
import { cell, formatBytes, reasonCodes, scanLines, table } from './format.js';

/** `airlock status <id> [--wait]`: exit 1 when the upload is REJECTED, FAILED, EXPIRED or QUARANTINED. */
export async function statusCommand(
  ctx: Context,
  uploadId: string,
  options: { wait: boolean; timeoutSeconds: number },
): Promise<number> {
  const view = options.wait
    ? await ctx.client.waitForOutcome(uploadId, { timeoutMs: options.timeoutSeconds * 1000 })
    : await ctx.client.getUpload(uploadId);
  if (ctx.json) {
    await emit(ctx.stdout, JSON.stringify(view, null, 2) + '\n');
  } else {
    const rows: Array<[string, string]> = [
      ['uploadId', view.uploadId],
      ['status', view.status],
      ['fileName', view.fileName],
      ['contentType', view.contentType],
      ['size', `${view.size} (${formatBytes(view.size)})`],
      ['sha256', cell(view.sha256)],
      ['detectedType', cell(view.detectedType)],
      ['createdAt', view.createdAt],
      ['updatedAt', view.updatedAt],
      ...(view.expiresAt ? [['expiresAt', view.expiresAt] as [string, string]] : []),
      ...(view.reasons ?? []).map(
        (reason) => ['reason', `${reason.code}: ${reason.message}`] as [string, string],
      ),
      ...scanLines(view.scan),
      ...(view.download ? [['download', `airlock download ${view.uploadId}`] as [string, string]] : []),
    ];
    const width = Math.max(...rows.map(([name]) => name.length));
    await emit(ctx.stdout, rows.map(([name, value]) => `${name.padEnd(width)}  ${cell(value)}\n`).join(''));
  }
  return notProcessed(view) ? EXIT.NOT_PROCESSED : EXIT.OK;
}

const notProcessed = (view: UploadView): boolean => isTerminal(view.status) && view.status !== 'PROCESSED';

/** `airlock list`: newest first; `--limit` uploads (default 20) or `--all`. */
export async function listCommand(
  ctx: Context,
  options: { status?: UploadStatus; owner?: string; limit: number; all: boolean },
): Promise<number> {
  const items: UploadView[] = [];
  const wanted = options.all ? Infinity : options.limit;
  for await (const page of ctx.client.listUploads({
    limit: Math.min(100, options.all ? 100 : options.limit),
    ...(options.status ? { status: options.status } : {}),
    ...(options.owner ? { owner: options.owner } : {}),
  })) {
    items.push(...page.items.slice(0, wanted - items.length));
    if (items.length >= wanted) break;
  }
  if (ctx.json) {
    await emit(ctx.stdout, JSON.stringify(items, null, 2) + '\n');
    return EXIT.OK;
  }
  const rows = items.map((item) => [
    cell(item.uploadId),
    cell(item.status),
    cell(item.fileName),
    cell(formatBytes(item.size)),
    cell(item.updatedAt),
    cell(reasonCodes(item.reasons)),
  ]);
  await emit(ctx.stdout, table(['uploadId', 'status', 'fileName', 'size', 'updatedAt', 'reasons'], rows));
  return EXIT.OK;
}

/** `airlock events <id>`: the audit trail, oldest first. */
export async function eventsCommand(ctx: Context, uploadId: string): Promise<number> {
  const events = await ctx.client.getEvents(uploadId);
  if (ctx.json) {
    await emit(ctx.stdout, JSON.stringify({ uploadId, events }, null, 2) + '\n');
    return EXIT.OK;
  }
  const rows = events.map((event) => [
    cell(event.at),
    cell(event.action),
    cell(`${event.from ?? '∅'} → ${event.to ?? '∅'}`),
    cell(`${event.actor.type}:${event.actor.id}`),
    cell(reasonCodes(event.reasons)),
    cell(event.versionId),
  ]);
  await emit(ctx.stdout, table(['at', 'action', 'transition', 'actor', 'reasons', 'versionId'], rows));
  return EXIT.OK;
}
