import { closeSync, fsyncSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Creates `directory` and its missing parents, one level at a time, and
 * returns the directories it created, outermost first.
 *
 * Not `mkdirSync(path, { recursive: true })`: on a virtual file system such
 * as `/proc`, `mkdir` fails with ENOENT although the parent exists, and
 * Node's recursive mkdir answers ENOENT by creating the parent again, which
 * exists, forever (the constructor spun at 100% CPU). Here each level is
 * made once, so a refusal surfaces as the error it is.
 *
 * @throws Error with the failed `mkdir`'s code; the caller names the store.
 */
export function ensureDirectory(directory: string): string[] {
  const missing: string[] = [];
  for (let path = directory; !exists(path); path = dirname(path)) {
    missing.unshift(path);
    if (dirname(path) === path) break; // the root itself is missing: mkdir says why
  }
  for (const path of missing) {
    try {
      mkdirSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && isDirectory(path)) continue; // made meanwhile by another process
      if (code === 'ENOENT') {
        throw Object.assign(
          new Error(
            `mkdir ${path} failed with ENOENT although ${dirname(path)} exists: a virtual file system such as /proc or /sys holds no stores`,
          ),
          { code, cause: error },
        );
      }
      throw error;
    }
  }
  return missing;
}

/**
 * Makes the entries of `directory` (the files just created in it) durable.
 * A new file's data can be synced while its directory entry is not, so on
 * some file systems a power loss could lose a brand-new store whole even
 * after its first commit was synced.
 */
export function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
