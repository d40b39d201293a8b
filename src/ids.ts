import { createHash, randomUUID } from 'node:crypto';

/** Random, prefixed ids: `cmd-…`, `task-…`, `ask-…`, plain UUIDs for events. */
export const newId = (prefix?: string): string => (prefix ? `${prefix}-${randomUUID()}` : randomUUID());

/** A UUID-shaped id derived from `parts`: the same parts always give the same id. */
export function derivedId(prefix: string, ...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${prefix}-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
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
