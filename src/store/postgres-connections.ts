import pg from 'pg';
import { StoreUnavailableError } from './event-store.js';

export interface ConnectionOptions {
  readonly connectionString: string;
  readonly connectTimeoutMs: number;
}

/** Positions are int8; as JavaScript numbers they are exact up to 2^53. */
const types = new pg.TypeOverrides();
types.setTypeParser(pg.types.builtins.INT8, Number);

/** What every connection of the store uses; `name` shows in pg_stat_activity. */
export const clientConfig = (options: ConnectionOptions, name: string): pg.ClientConfig => ({
  connectionString: options.connectionString,
  connectionTimeoutMillis: options.connectTimeoutMs,
  keepAlive: true,
  application_name: name,
  types,
});

export function createPool(options: ConnectionOptions, name: string, size: number): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(options, name), max: size });
  // An idle connection that drops is replaced by the pool; unheard, its error would crash us.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Runs `work` in a transaction on a connection of its own, opened with `begin`. A connection
 * left in doubt (the rollback failed too) is closed rather than returned to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, begin: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A dropped connection is also reported as an event, even when a query fails with it.
  const ignore = (): void => undefined;
  client.on('error', ignore);
  let reusable = true;
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    reusable = await client.query('ROLLBACK').then(
      () => true,
      () => false,
    );
    throw error;
  } finally {
    client.removeListener('error', ignore);
    client.release(!reusable);
  }
}

/** PostgreSQL refused the data itself (a data exception, a constraint, a size limit), not the connection. */
export function isRefusedData(error: unknown): boolean {
  return error instanceof pg.DatabaseError && /^(22|23|54)/.test(error.code ?? '');
}

/** Any failure of the engine, as the port reports it. */
export function unavailable(error: unknown, doing: string): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  // Connecting to "localhost" fails with an AggregateError of one error per address, and no message.
  const reason = error instanceof Error ? error.message || (error as NodeJS.ErrnoException).code || error.name : String(error);
  return new StoreUnavailableError(`the event store could not ${doing}: ${reason}`, { cause: error });
}
