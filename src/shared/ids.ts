import { createHash, randomUUID } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): 48 bits of milliseconds, then randomness. Ids made close in time sort
 * close together, which keeps the log's indexes append-mostly instead of scattered.
 */
export function uuidv7(): string {
  const now = Date.now();
  if (now !== clock.ms) {
    const hex = now.toString(16).padStart(12, '0');
    clock.ms = now;
    clock.prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7`;
  }
  // randomUUID() is v4: random bits and the RFC variant; swap in the time and version 7.
  return clock.prefix + randomUUID().slice(15);
}

/** The time part of the ids of the current millisecond. */
const clock = { ms: -1, prefix: '' };

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
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** What an approval is bound to: the hash of a command's type and exact params. */
export const payloadHash = (commandType: string, params: Record<string, unknown>): string =>
  sha256(canonicalJson({ command_type: commandType, params }));
