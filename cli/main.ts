import { parseArgs } from 'node:util';
import { AirlockClient, UPLOAD_STATUSES, type UploadMethod, type UploadStatus } from '../client/index.js';
import { auditExportCommand, parseInstant, type AuditFormat } from './audit.js';
import { auditVerifyCommand } from './audit-verify.js';
import { auditDigestsCommand, auditPublicKeyCommand } from './audit-digests.js';
import { eventsCommand, listCommand, statusCommand } from './commands.js';
import { followCommand } from './follow.js';
import { webhooksStatusCommand } from './webhooks.js';
import {
  EXIT,
  UsageError,
  describeError,
  emit,
  errorLine,
  exitCodeFor,
  isLocalUrl,
  parsePositiveInt,
  type Context,
  type Output,
} from './context.js';
import { mintLocalToken } from './local-token.js';
import { downloadCommand } from './download.js';
import { uploadCommand } from './upload.js';

const OPTIONS = {
  api: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  concurrency: { type: 'string', short: 'c' },
  'no-wait': { type: 'boolean' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  method: { type: 'string' },
  type: { type: 'string' },
  status: { type: 'string' },
  owner: { type: 'string' },
  limit: { type: 'string' },
  all: { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
  format: { type: 'string' },
  group: { type: 'string', multiple: true },
  ttl: { type: 'string' },
  export: { type: 'string' },
  digests: { type: 'string' },
  'public-key': { type: 'string' },
  output: { type: 'string', short: 'o' },
  follow: { type: 'boolean', short: 'f' },
  interval: { type: 'string' },
  at: { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;
const GLOBAL_OPTIONS: OptionName[] = ['api', 'token', 'json', 'debug', 'help'];

const COMMANDS: Record<string, { options: OptionName[]; help: string }> = {
  upload: {
    options: ['concurrency', 'no-wait', 'timeout', 'method', 'type'],
    help: `Usage: airlock upload <files...> [options]

Uploads each file (declaring its size, type and SHA-256), shows a progress bar per file on
stderr, waits for each outcome, then prints a table on stdout: file, uploadId, status, reasons,
sha256, download link (fetch it with "airlock download <uploadId>").

Options:
  -c, --concurrency <n>   files uploaded at once (default 4)
  --no-wait               do not wait for the outcomes (status PENDING_UPLOAD)
  --timeout <seconds>     how long to wait for each outcome (default 600)
  --method POST|PUT       upload method (default: the API's, POST)
  --type <content-type>   declare this type for every file (default: from the extension:
                          .pdf .png .jpg .jpeg .txt .csv .docx .xlsx)

Exit code 0 when every file was PROCESSED (or, with --no-wait, uploaded); 1 when any was
REJECTED, FAILED, EXPIRED, QUARANTINED, or refused by the API (REFUSED) or by S3 (UPLOAD_REFUSED); 3 on a
network or API error or a timeout.`,
  },
  status: {
    options: ['wait', 'timeout'],
    help: `Usage: airlock status <uploadId> [--wait] [--timeout <seconds>]

Shows one upload, with its malware scan verdict (engine, signature database, time; the threat
names for auditors). --wait polls (honouring Retry-After) until it is PROCESSED, REJECTED, FAILED,
EXPIRED or QUARANTINED. Exit code 1 when it is not PROCESSED.`,
  },
  list: {
    options: ['status', 'owner', 'limit', 'all'],
    help: `Usage: airlock list [--status <status>] [--owner <user>] [--limit <n>] [--all]

Lists your uploads, newest first: --limit of them (default 20), or --all. Auditors may pass
--owner. Statuses: ${UPLOAD_STATUSES.join(', ')}.`,
  },
  download: {
    options: ['output'],
    help: `Usage: airlock download <uploadId> [--output <file>]

Saves a PROCESSED upload's file: asks the API for a fresh download URL (valid at most 5
minutes) and fetches it at once. The file is named as the server made it safe (or --output);
an existing file is never replaced. Prints the file's path (--json: uploadId, file, size).`,
  },
  events: {
    options: ['follow', 'all', 'interval'],
    help: `Usage: airlock events <uploadId>
       airlock events --follow [--all] [--interval <seconds>]

Shows the upload's audit trail, oldest first: when, what, from which status to which, who, why.

--follow prints each outcome (PROCESSED, REJECTED, FAILED, EXPIRED) as it is recorded, until
interrupted: your own uploads, or with --all every upload (auditors). Each line carries the
outcome event's id (evt_<uploadId>_<sequence>), the id webhooks and EventBridge deliver it with;
--json prints one JSON object per line. It polls every --interval seconds (default 2).`,
  },
  'webhooks status': {
    options: [],
    help: `Usage: airlock webhooks status

Local runtime: each webhook endpoint's deliveries (delivered, pending, dead-lettered, failed
attempts, last error). Exit code 1 when any delivery was dead-lettered. On AWS: the webhook
dead-letter queue (stack output WebhookDeadLetterQueueUrl) and its alarm.`,
  },
  'audit export': {
    options: ['from', 'to', 'status', 'owner', 'format'],
    help: `Usage: airlock audit export --from <instant> --to <instant> --format csv|ndjson
                           [--status <status>] [--owner <user>]

For auditors (token with the "auditors" group). Streams every upload whose last change falls
within [from, to], with its full audit trail, to stdout:
  csv     a header row, then one row per audit event: uploadId, owner, fileName, status, at,
          action, from, to, reasons (codes joined by ';'), versionId, actor, executionId.
          Cells that a spreadsheet would run as a formula get a leading "'".
  ndjson  one line per upload: its view (with owner) plus "events".
Instants: ISO 8601 (a bare date is midnight UTC), or "now".`,
  },
  'audit digests': {
    options: ['output'],
    help: `Usage: airlock audit digests --output <dir>

For auditors. Downloads every signed audit digest (docs/audit.md) into <dir>, each as the first
version stored under its key, with digests.index listing each key's versions and delete marker,
for "airlock audit verify --export ... --digests <dir>". Exit code 1 when a digest was
overwritten or deleted where it is stored.`,
  },
  'audit public-key': {
    options: ['output'],
    help: `Usage: airlock audit public-key [--output <file.pem>]

For auditors. Prints (or writes) the PEM public key that verifies the audit digests. On AWS it
is the KMS key of the stack output AuditDigestKeyArn (aws kms get-public-key gives the same).`,
  },
  'audit verify': {
    options: ['export', 'digests', 'public-key', 'at', 'from', 'to', 'owner'],
    help: `Usage: airlock audit verify --export <file.ndjson> [--digests <dir> --public-key <pem>] [--at <instant>]
       airlock audit verify [--from <instant>] [--to <instant>] [--owner <user>]

Checks every upload's audit trail against its hash chain (README "Verifying the audit trail"):
each event must hash to its "hash", name the one before it in "prevHash" (null for the first)
and carry the next "seq". Reports each trail as verified, modified, deleted, inserted or
reordered, with its first broken link.
  --export <file>   offline, from "airlock audit export --format ndjson" (no API, no token);
                    the summary names the file's SHA-256
  --digests <dir>   with --export and --public-key: the signed digests (*.json) to check, and
                    to check each trail against (its head then; a trail they name that the
                    export lacks is deleted)
  --at <instant>    with --digests: when digests are expected up to (default now); those
                    due since the last one are reported missing
  otherwise         online, through the API (auditors), every upload last changed within
                    [--from, --to] (default: from 1970-01-01 to now), optionally one --owner's,
                    checked against every digest and the public key the API gives
--json prints the summary as JSON (format airlock-audit-verification/1).
Exit code 0 when every trail verified; 1 when any did not (or a line of the export is not an
upload with its trail); 2 usage error (or an unreadable file); 3 network or API error.`,
  },
  token: {
    options: ['group', 'ttl'],
    help: `Usage: airlock token [user] [--group <group>]... [--ttl <seconds>]

Local runtime only: prints a bearer token for <user> (default $USER, else local-user), signed
with the local issuer's key in the runtime's data dir ($AIRLOCK_DATA_DIR, default <repo>/.airlock).
--group auditors makes an auditor. --ttl defaults to 3600 (at most 86400).`,
  },
};

const MAIN_HELP = `Usage: airlock <command> [options]

Uploads files to Airlock and follows them through validation; reads statuses and audit trails.

Commands:
  upload <files...>     upload files with progress, wait for the outcomes, print a table
  status <uploadId>     show one upload (--wait: until it is terminal)
  list                  list uploads, newest first
  download <uploadId>   save a processed upload's file
  events <uploadId>     show an upload's audit trail (--follow: outcomes as they happen)
  webhooks status       webhook deliveries of the local runtime
  audit export          export uploads with their full audit trails (auditors; csv or ndjson)
  audit verify          check every trail's hash chain, offline (--export) or through the API
  audit digests         download the signed audit digests (auditors), for offline verification
  audit public-key      print the public key that verifies the digests (auditors)
  token [user]          print a bearer token of the local runtime

Global options:
  --api <url>      API base URL. Default: $AIRLOCK_API_URL, else the local runtime,
                   http://localhost:$AIRLOCK_PORT (3000).
  --token <jwt>    bearer token. Default: $AIRLOCK_TOKEN, else, when the API is the local
                   runtime, a one-hour token minted for $USER with the local issuer's key
                   (in $AIRLOCK_DATA_DIR, default <repo>/.airlock), as "airlock token" does.
  --json           machine-readable JSON on stdout; no progress output
  --debug          show stack traces with errors
  -h, --help       this help; "airlock <command> --help" for a command's

Exit codes: 0 success; 1 a file was rejected, failed, expired or refused (audit verify: a
trail did not verify); 2 usage error; 3 network or API error (or a wait that timed out).`;

export interface CliEnvironment {
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdout: Output;
  stderr: Output;
}

/** Runs the CLI; returns the exit code. Never throws. */
export async function main({ argv, env, stdout, stderr }: CliEnvironment): Promise<number> {
  let debug = argv.includes('--debug');
  try {
    const { values, positionals, tokens } = parse(argv);
    debug = values.debug === true;
    const [first, ...rest] = positionals;
    const grouped = first === 'audit' || first === 'webhooks';
    const command = grouped ? `${first} ${rest[0] ?? ''}`.trim() : first;
    const args = grouped ? rest.slice(1) : rest;

    if (command === undefined || command === 'help') {
      const topic =
        command === 'help'
          ? args[0] === 'audit'
            ? `audit ${args[1] ?? 'export'}`
            : args[0] === 'webhooks'
              ? 'webhooks status'
              : args[0]
          : undefined;
      const help = topic !== undefined ? COMMANDS[topic]?.help : MAIN_HELP;
      if (help === undefined) throw new UsageError(`unknown command "${topic}"`);
      if (command === undefined && !values.help) {
        stderr.write(`${MAIN_HELP}\n`);
        return EXIT.USAGE;
      }
      await emit(stdout, `${help}\n`);
      return EXIT.OK;
    }
    const spec = COMMANDS[command];
    if (spec === undefined) {
      throw new UsageError(
        first === 'audit'
          ? 'the audit commands are "airlock audit export", "verify", "digests" and "public-key"'
          : `unknown command "${command}"`,
      );
    }
    if (values.help) {
      await emit(stdout, `${spec.help}\n`);
      return EXIT.OK;
    }
    const allowed = new Set<string>([...GLOBAL_OPTIONS, ...spec.options]);
    for (const token of tokens) {
      if (token.kind === 'option' && !allowed.has(token.name)) {
        throw new UsageError(`${token.rawName} is not an option of "airlock ${command}"`);
      }
    }

    const apiUrl = resolveApiUrl(values.api, env);
    if (command === 'token') return await tokenCommand(stdout, apiUrl, args, values, env);
    if (command === 'audit verify' && values.export !== undefined) {
      // Offline: the export file is all it reads; no API, no token.
      noArgs(args, command);
      if (values.from !== undefined || values.to !== undefined || values.owner !== undefined) {
        throw new UsageError('audit verify takes --export, or --from/--to/--owner (online), not both');
      }
      const offline: Context = {
        client: new AirlockClient({ baseUrl: apiUrl, token: () => Promise.reject(new Error('offline')) }),
        apiUrl,
        stdout,
        stderr,
        json: values.json === true,
        debug,
      };
      if ((values.digests === undefined) !== (values['public-key'] === undefined)) {
        throw new UsageError('audit verify takes --digests and --public-key together');
      }
      const digests =
        values.digests !== undefined && values['public-key'] !== undefined
          ? { digests: { dir: values.digests, publicKeyPath: values['public-key'] } }
          : {};
      return await auditVerifyCommand(offline, {
        kind: 'export',
        path: values.export,
        ...digests,
        ...(values.at !== undefined ? { at: new Date(parseInstant(values.at, 'at')) } : {}),
      });
    }

    const client = new AirlockClient({ baseUrl: apiUrl, token: tokenSource(values.token, apiUrl, env) });
    const ctx: Context = { client, apiUrl, stdout, stderr, json: values.json === true, debug };
    switch (command) {
      case 'upload':
        return await uploadCommand(ctx, {
          files: args,
          concurrency: parsePositiveInt(values.concurrency, '--concurrency', 64) ?? 4,
          wait: values['no-wait'] !== true,
          timeoutSeconds: parsePositiveInt(values.timeout, '--timeout', 86_400) ?? 600,
          ...optionalMethod(values.method),
          ...(values.type !== undefined ? { contentType: values.type } : {}),
        });
      case 'status':
        return await statusCommand(ctx, oneId(args, command), {
          wait: values.wait === true,
          timeoutSeconds: parsePositiveInt(values.timeout, '--timeout', 86_400) ?? 600,
        });
      case 'list':
        noArgs(args, command);
        return await listCommand(ctx, {
          ...optionalStatus(values.status),
          ...(values.owner !== undefined ? { owner: values.owner } : {}),
          limit: parsePositiveInt(values.limit, '--limit', 100_000) ?? 20,
          all: values.all === true,
        });
      case 'events':
        if (values.follow === true) {
          noArgs(args, command);
          return await followCommand(ctx, {
            all: values.all === true,
            intervalMs: (parsePositiveInt(values.interval, '--interval', 3600) ?? 2) * 1000,
          });
        }
        return await eventsCommand(ctx, oneId(args, command));
      case 'audit verify':
        noArgs(args, command);
        if (values.digests !== undefined || values['public-key'] !== undefined || values.at !== undefined) {
          throw new UsageError('--digests, --public-key and --at go with --export (offline)');
        }
        return await auditVerifyCommand(ctx, {
          kind: 'api',
          from: parseInstant(values.from ?? '1970-01-01', 'from'),
          to: parseInstant(values.to ?? 'now', 'to'),
          ...(values.owner !== undefined ? { owner: values.owner } : {}),
        });
      case 'audit digests':
        noArgs(args, command);
        if (values.output === undefined) throw new UsageError('audit digests needs --output <dir>');
        return await auditDigestsCommand(ctx, values.output);
      case 'audit public-key':
        noArgs(args, command);
        return await auditPublicKeyCommand(ctx, values.output);
      case 'webhooks status':
        noArgs(args, command);
        return await webhooksStatusCommand(ctx);
      case 'download':
        return await downloadCommand(ctx, oneId(args, command), {
          ...(values.output !== undefined ? { output: values.output } : {}),
        });
      default: {
        noArgs(args, command);
        if (values.from === undefined || values.to === undefined) {
          throw new UsageError('audit export needs --from and --to');
        }
        if (values.format !== 'csv' && values.format !== 'ndjson') {
          throw new UsageError('audit export needs --format csv or --format ndjson');
        }
        return await auditExportCommand(ctx, {
          from: parseInstant(values.from, 'from'),
          to: parseInstant(values.to, 'to'),
          format: values.format satisfies AuditFormat,
          ...optionalStatus(values.status),
          ...(values.owner !== undefined ? { owner: values.owner } : {}),
        });
      }
    }
  } catch (error) {
    const hint = error instanceof UsageError && error.hint;
    stderr.write(errorLine(describeError(error) + (hint ? ' (see airlock --help)' : '')));
    if (debug && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
    return exitCodeFor(error);
  }
}

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    // Node's messages add advice about '--'; the first sentence is the useful part.
    const message =
      error instanceof Error ? (error.message.split(/\.\s/)[0] ?? error.message) : String(error);
    throw new UsageError(message.replace(/\.$/, '').replace(/^Unknown option/, 'unknown option'));
  }
}

function resolveApiUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = flag ?? (env.AIRLOCK_API_URL || undefined) ?? `http://localhost:${env.AIRLOCK_PORT || 3000}`;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`the API URL must be an http(s) URL, got "${url}"`);
  }
  return url;
}

/**
 * The bearer token: --token, else $AIRLOCK_TOKEN, else for a local runtime one minted by its
 * `npm run token` (once, lazily: commands that fail on usage never ask for one).
 */
function tokenSource(
  flag: string | undefined,
  apiUrl: string,
  env: NodeJS.ProcessEnv,
): () => Promise<string> {
  const given = flag ?? (env.AIRLOCK_TOKEN || undefined);
  if (given !== undefined) return () => Promise.resolve(given.trim());
  if (!isLocalUrl(apiUrl)) {
    throw new UsageError(
      `no token for ${apiUrl}: pass --token or set AIRLOCK_TOKEN (tokens are minted only for a local runtime)`,
    );
  }
  let minted: Promise<string> | undefined;
  return () =>
    (minted ??= mintLocalToken({ sub: env.USER || 'local-user', groups: [], ttlSeconds: 3600 }, env));
}

async function tokenCommand(
  stdout: Output,
  apiUrl: string,
  args: string[],
  values: { group?: string[]; ttl?: string },
  env: NodeJS.ProcessEnv,
): Promise<number> {
  if (!isLocalUrl(apiUrl)) {
    throw new UsageError(`airlock token works only for the local runtime, not ${apiUrl}`);
  }
  if (args.length > 1) throw new UsageError('token takes at most one user');
  const sub = args[0] ?? (env.USER || 'local-user');
  if (!/^[A-Za-z0-9@._+-]{1,128}$/.test(sub)) {
    throw new UsageError(`user must be 1-128 characters of A-Z a-z 0-9 @ . _ + -, got "${sub}"`);
  }
  const groups = values.group ?? [];
  for (const group of groups) {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(group)) throw new UsageError(`invalid group "${group}"`);
  }
  const ttl = parsePositiveInt(values.ttl, '--ttl', 86_400) ?? 3600;
  await emit(stdout, `${await mintLocalToken({ sub, groups, ttlSeconds: ttl }, env)}\n`);
  return EXIT.OK;
}

function oneId(args: string[], command: string): string {
  if (args.length !== 1 || args[0] === undefined || args[0] === '') {
    throw new UsageError(`${command} needs exactly one upload id`);
  }
  return args[0];
}

function noArgs(args: string[], command: string): void {
  if (args.length > 0) throw new UsageError(`${command} takes no arguments, got "${args.join(' ')}"`);
}

function optionalStatus(value: string | undefined): { status?: UploadStatus } {
  if (value === undefined) return {};
  const status = value.toUpperCase();
  if (!(UPLOAD_STATUSES as readonly string[]).includes(status)) {
    throw new UsageError(`--status must be one of ${UPLOAD_STATUSES.join(', ')}, got "${value}"`);
  }
  return { status: status as UploadStatus };
}

function optionalMethod(value: string | undefined): { method?: UploadMethod } {
  if (value === undefined) return {};
  const method = value.toUpperCase();
  if (method !== 'POST' && method !== 'PUT')
    throw new UsageError(`--method must be POST or PUT, got "${value}"`);
  return { method };
}
