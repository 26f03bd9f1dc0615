import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const EXPLAINED: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is not a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
};

/**
 * Why files cannot be written in `dir`, or undefined when they can. A probe file is created and
 * deleted: a real write, not `access()`, so a read-only mount is caught, and so is a directory
 * that only root's `access` would pass. With `create`, a missing `dir` is created first;
 * without (for `--check`, which changes nothing), the nearest existing parent is probed instead.
 */
export async function unwritableReason(dir: string, options: { create: boolean }): Promise<string | undefined> {
  try {
    let probed = dir;
    if (options.create) await mkdir(dir, { recursive: true });
    else probed = await nearestExisting(dir);
    if (!(await stat(probed)).isDirectory()) return `cannot write to ${dir}: ${probed} is not a directory`;
    const probe = join(probed, `.write-check-${process.pid}-${Date.now()}`);
    const handle = await open(probe, 'wx');
    await handle.close();
    await unlink(probe);
    return undefined;
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const explained = code === undefined ? message : `${code}, ${EXPLAINED[code] ?? message}`;
    return `cannot write to ${dir} (${explained})`;
  }
}

async function nearestExisting(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    try {
      await stat(current);
      return current;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(current) === current) throw error;
    }
  }
}
