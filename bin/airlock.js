#!/usr/bin/env node
// Launcher of the `airlock` bin (`npx airlock` from the repo): registers tsx's ESM loader, then
// runs the TypeScript entry point. Arguments pass through untouched in process.argv.
import { register } from 'tsx/esm/api';

register();
await import('../cli/airlock.ts');
