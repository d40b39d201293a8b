import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const SECRET = /^[0-9a-f]{64}$/;

/**
 * The secret that signs dashboard sessions when SESSION_SECRET is not set: made once at random
 * and kept in the data folder (readable by NEXUS's user only), so sessions outlive a restart.
 * It is never derived from API keys, which clients hold. Replicas need SESSION_SECRET.
 */
export function dataDirSessionSecret(dataDir: string): string {
  const path = join(dataDir, 'session-secret');
  mkdirSync(dataDir, { recursive: true });
  // Written whole to a file of its own, then linked into place: the secret appears complete
  // or not at all, and of two processes starting at once the second finds the first's.
  const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const fd = openSync(draft, 'wx', 0o600);
  try {
    writeSync(fd, randomBytes(32).toString('hex'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(draft, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(draft);
  }
  const secret = readFileSync(path, 'utf8').trim();
  if (!SECRET.test(secret))
    throw new Error(`${path} is not a session secret (64 hex characters); delete it and NEXUS makes a new one`);
  return secret;
}
