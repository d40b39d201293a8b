import { constants } from 'node:fs';
import { open, readlink } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { TaskFailure } from './define-command.js';

/** Whether `path` is `root` or under it (both absolute, already resolved). */
export const isInside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Runs `act` with the folder `dir` held open by descriptor, after checking that the folder
 * really opened lies inside `root`. `act` gets `child(name)`, a path to `name` in that opened
 * folder: on Linux `/proc/self/fd/<fd>/<name>`, which the kernel resolves to the folder the
 * descriptor holds, so swapping `dir` (or a folder above it) for a link after the check cannot
 * redirect `act`. Without `/proc/self/fd` (not Linux) `child` is a plain path under `dir`.
 * A folder that is a link, or now lies outside `root`, is refused with `SYMLINK_ESCAPE`.
 *
 * @example
 *   await withPinnedDir('/ws/acme/web/reports', '/ws/acme/web', (child) => rm(child('old.txt')));
 */
export async function withPinnedDir<T>(
  dir: string,
  root: string,
  act: (child: (name: string) => string) => Promise<T>,
): Promise<T> {
  const handle = await open(dir, DIRECTORY_FLAGS).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ELOOP' || error.code === 'ENOTDIR')
      throw new TaskFailure('SYMLINK_ESCAPE', `${dir} changed into a link`);
    throw error;
  });
  try {
    const pinned = `/proc/self/fd/${handle.fd}`;
    const opened = await readlink(pinned).catch(() => undefined);
    if (opened === undefined) return await act((name) => join(dir, name));
    if (!isInside(root, opened)) throw new TaskFailure('SYMLINK_ESCAPE', `${dir} leads outside the workspace`);
    return await act((name) => join(pinned, name));
  } finally {
    await handle.close();
  }
}
