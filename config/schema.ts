/**
 * Writes airlock.config.schema.json, the JSON Schema editors use for airlock.config.json, from
 * the zod schema the loader validates with (so that both always agree; a unit test compares
 * them). `npm run gen:config-schema`.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { AIRLOCK_CONFIG_SCHEMA, DEFAULT_CONFIG_PATH } from './airlock-config.js';

export const SCHEMA_PATH = resolve(DEFAULT_CONFIG_PATH, '..', 'airlock.config.schema.json');

/** The JSON Schema of airlock.config.json, as the file holds it. */
export function configJsonSchema(): string {
  const schema = z.toJSONSchema(AIRLOCK_CONFIG_SCHEMA, { io: 'input' });
  return `${JSON.stringify({ ...schema, title: 'Airlock configuration (airlock.config.json)' }, null, 2)}\n`;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) writeFileSync(SCHEMA_PATH, configJsonSchema());
