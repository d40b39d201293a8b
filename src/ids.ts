import { createHash, randomUUID } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): 48 bits of milliseconds, then randomness. Ids made close in time sort
 * close together, which keeps the log's indexes append-mostly instead of scattered.
 */
export function uuidv7(): string {
  const ms = Date.now().toString(16).padStart(12, '0');
  // randomUUID() is v4: random bits and the RFC variant; swap in the time and version 7.
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${randomUUID().slice(15)}`;
}

/** Time-ordered, prefixed ids: `cmd-…`, `task-…`, `ask-…`; plain UUIDv7 for events. */
export const newId = (prefix?: string): string => (prefix ? `${prefix}-${uuidv7()}` : uuidv7());

/** A UUID-shaped id derived from `parts`: the same parts always give the same id. */
export function derivedId(prefix: string, ...parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${prefix}-${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`;
}

/** JSON with object keys sorted at every depth: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
