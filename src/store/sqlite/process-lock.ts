import Database from 'better-sqlite3';
import { dirname } from 'node:path';
import { StoreUnavailableError } from '../event-store.js';

/**
 * One process owns a data folder: a second NEXUS on it fails instead of racing the first. The
 * lock is the open connection to `path`; closing it releases the folder.
 *
 * @example
 *   const lock = acquireProcessLock(join(dataDir, 'nexus.lock'));
 */
export function acquireProcessLock(path: string): Database.Database {
  const lock = new Database(path, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec(
      `CREATE TABLE IF NOT EXISTS owner (pid INTEGER); DELETE FROM owner; INSERT INTO owner VALUES (${process.pid});`,
    );
    return lock;
  } catch (cause) {
    lock.close();
    throw new StoreUnavailableError(`${dirname(path)} is in use by another NEXUS process`, { cause });
  }
}
