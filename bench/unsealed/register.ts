import { register } from 'node:module';

/** Registers bench/unsealed/hooks.js (once per process): `?unsealed` imports run without the chain. */
let registered = false;
export function registerUnsealedImports(): void {
  if (registered) return;
  register('./hooks.js', import.meta.url);
  registered = true;
}
