import { ConfigurationError } from '../domain/errors.js';

/** The one checked reader of environment variables: throws when a required one is missing. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigurationError(`Environment variable ${name} is required but not set.`);
  }
  return value;
}

export function optionalEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** An integer setting within [min, max] (bounds from setting-bounds.ts); `fallback` when unset. */
export function intEnv(
  name: string,
  fallback: number,
  bounds: { readonly min: number; readonly max?: number },
  env: NodeJS.ProcessEnv = process.env,
): number {
  const raw = optionalEnv(name, env);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const { min, max = Number.MAX_SAFE_INTEGER } = bounds;
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = bounds.max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new ConfigurationError(`Environment variable ${name} must be an integer ${range}, got "${raw}".`);
  }
  return value;
}
