/* eslint-disable no-console -- a command-line tool */
import { parseArgs } from 'node:util';
import { issueToken } from './auth.js';
import { readLocalSettings } from './settings.js';

/** `npm run -s token -- <user> [--group auditors] [--ttl 3600]`: prints a local bearer token. */
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { group: { type: 'string', multiple: true }, ttl: { type: 'string', default: '3600' } },
});
const sub = positionals[0];
const ttl = Number(values.ttl);
if (!sub || !/^[A-Za-z0-9@._+-]{1,128}$/.test(sub) || !Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) {
  console.error('usage: npm run -s token -- <user> [--group auditors] [--ttl seconds (1-86400)]');
  process.exit(2);
}
console.log(
  await issueToken(readLocalSettings().dataDir, { sub, groups: values.group ?? [], ttlSeconds: ttl }),
);
