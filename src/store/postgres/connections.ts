import pg from 'pg';
import { StoreUnavailableError } from '../event-store.js';

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
 * COMMIT was sent and no answer says how it ended: the connection failed while sending it or
 * before the answer came, or the server ended the session (a FATAL error) while committing.
 * The transaction may have committed or not; only the log can tell.
 */
export class CommitInDoubtError extends Error {
  constructor(cause: unknown) {
    super(`the outcome of COMMIT is unknown: ${reasonOf(cause)}`, { cause });
    this.name = 'CommitInDoubtError';
  }
}

/**
 * Runs `work` in a transaction on a connection of its own, opened with `begin`. A connection
 * left in doubt (the rollback failed too, or COMMIT got no answer) is closed rather than
 * returned to the pool. Throws `CommitInDoubtError` when COMMIT got no answer.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  begin: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  // A dropped connection is also reported as an event, even when a query fails with it.
  const ignore = (): void => undefined;
  client.on('error', ignore);
  let reusable = true;
  try {
    await client.query(begin);
    const result = await work(client);
    await commit(client);
    return result;
  } catch (error) {
    reusable =
      !(error instanceof CommitInDoubtError) &&
      (await client.query('ROLLBACK').then(
        () => true,
        () => false,
      ));
    throw error;
  } finally {
    client.removeListener('error', ignore);
    client.release(!reusable);
  }
}

/**
 * Only an ERROR the server reported for the COMMIT says it failed (the transaction is then
 * rolled back). A connection that fails, or a FATAL error (a backend terminated while waiting
 * for a synchronous standby has committed locally), leaves the outcome in doubt.
 */
async function commit(client: pg.PoolClient): Promise<void> {
  try {
    await client.query('COMMIT');
  } catch (error) {
    if (error instanceof pg.DatabaseError && error.severity === 'ERROR') throw error;
    throw new CommitInDoubtError(error);
  }
}

/** PostgreSQL refused the data itself (a data exception, a constraint, a size limit), not the connection. */
export function isRefusedData(error: unknown): boolean {
  return error instanceof pg.DatabaseError && /^(22|23|54)/.test(error.code ?? '');
}

/** Any failure of the engine, as the port reports it. */
export function unavailable(error: unknown, doing: string): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  return new StoreUnavailableError(`the event store could not ${doing}: ${reasonOf(error)}`, { cause: error });
}

function reasonOf(error: unknown): string {
  // Connecting to "localhost" fails with an AggregateError of one error per address, and no message.
  return error instanceof Error ? error.message || (error as NodeJS.ErrnoException).code || error.name : String(error);
}
