import { InvalidCursorError } from './errors.js';

/** Where an audit listing stopped: which status partition, and DynamoDB's key within it. */
export interface AuditPosition {
  status: number;
  key?: Record<string, unknown>;
}

const KEY_ATTRIBUTES = new Set(['pk', 'sk', 'statusKey', 'updatedKey']);

export function encodeAuditCursor(position: AuditPosition): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** Opaque to clients, checked here: only a position this route could have produced passes. */
export function decodeAuditCursor(cursor: string, statusCount: number): AuditPosition {
  const invalid = new InvalidCursorError();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid;
  const { status, key, ...rest } = value as { status?: unknown; key?: unknown };
  if (Object.keys(rest).length > 0) throw invalid;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 0 || status >= statusCount)
    throw invalid;
  if (key === undefined) return { status };
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw invalid;
  const entries = Object.entries(key);
  if (
    entries.length !== KEY_ATTRIBUTES.size ||
    entries.some(([k, v]) => !KEY_ATTRIBUTES.has(k) || typeof v !== 'string')
  ) {
    throw invalid;
  }
  return { status, key: key as Record<string, unknown> };
}
