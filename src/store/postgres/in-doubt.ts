import { setTimeout as pause } from 'node:timers/promises';
import pg from 'pg';
import type { StoredEvent } from './append-plan.js';
import { inTransaction } from './connections.js';
import type { LogNames } from './schema.js';

export interface InDoubtOptions {
  readonly pool: pg.Pool;
  readonly names: LogNames;
  /** How long the database may stay out of reach before the outcome is given up as unknown. */
  readonly withinMs: number;
}

const FIELDS = ['position', 'tenant', 'stream', 'revision', 'event_id', 'type', 'version', 'data', 'metadata'] as const;

/**
 * Whether the transaction whose COMMIT got no answer recorded `rows`. Asked on another
 * connection under the log's append lock: the transaction held that lock when it sent COMMIT,
 * so the lock is granted only once it has ended, one way or the other. A transaction commits
 * all its rows or none, so unless every row is in the log as written, it rolled back (any of
 * the ids found elsewhere were written since, by another append). Tries again while the
 * database is out of reach; throws the last failure once `withinMs` have passed.
 *
 * @example
 *   if (await wasRecorded(plan.rows, { pool, names, withinMs: 10_000 })) settle(plan);
 */
export async function wasRecorded(rows: readonly StoredEvent[], options: InDoubtOptions): Promise<boolean> {
  const stored = await storedUnderLock(
    rows.map((row) => row.event_id),
    options,
  );
  return rows.every((row) => {
    const found = stored.get(row.event_id);
    return found !== undefined && FIELDS.every((field) => found[field] === row[field]);
  });
}

async function storedUnderLock(
  ids: readonly string[],
  { pool, names, withinMs }: InDoubtOptions,
): Promise<Map<string, StoredEvent>> {
  const deadline = Date.now() + withinMs;
  for (let wait = 50; ; wait = Math.min(wait * 2, 1_000)) {
    const left = Math.max(1, deadline - Date.now());
    try {
      return await withinTime(lookUp(pool, names, ids, left), left);
    } catch (error) {
      if (!transient(error) || Date.now() + wait >= deadline) throw error;
    }
    await pause(wait);
  }
}

/** Read only, and waiting for the lock no longer than `lockTimeoutMs`. */
function lookUp(
  pool: pg.Pool,
  names: LogNames,
  ids: readonly string[],
  lockTimeoutMs: number,
): Promise<Map<string, StoredEvent>> {
  const begin = `BEGIN READ ONLY; SET LOCAL lock_timeout = ${Math.ceil(lockTimeoutMs)}; SELECT pg_advisory_xact_lock(${names.appendLock})`;
  return inTransaction(pool, begin, async (client) => {
    const text = `SELECT ${FIELDS.join(', ')} FROM ${names.events} WHERE event_id = ANY ($1::text[])`;
    const { rows } = await client.query<StoredEvent>({ text, values: [ids] });
    return new Map(rows.map((row) => [row.event_id, row]));
  });
}

/** A connection that hangs (a network that drops packets) must not hold the answer past the deadline. */
async function withinTime<T>(work: Promise<T>, ms: number): Promise<T> {
  // Settled later, a late failure is nobody's to handle.
  void work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the database within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Out of reach, overloaded, shutting down or the lock still held: worth another try. A wrong statement is not. */
const transient = (error: unknown): boolean =>
  !(error instanceof pg.DatabaseError) || /^(08|53|57|55P03)/.test(error.code ?? '');
