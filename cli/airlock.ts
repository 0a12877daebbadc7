#!/usr/bin/env node
/**
 * The `airlock` command (see `airlock --help`). Run it with `npx airlock` from the repo (the
 * `bin/airlock.js` launcher) or `node --import tsx cli/airlock.ts`.
 */
import { main } from './main.js';

// A closed pipe (`airlock audit export ... | head`) ends the output quietly, not with EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
