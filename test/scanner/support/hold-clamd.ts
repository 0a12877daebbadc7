/* eslint-disable no-console -- talks to the test that spawned it */
import { startClamd } from '../../../local/clamd.js';

/** Starts clamd in the dir given and holds it until killed: a runtime that dies with -9. */
const clamd = await startClamd({ dir: process.argv[2] as string, database: 'test' });
console.log(`ready ${clamd.pid()}`);
setInterval(() => undefined, 60_000);
