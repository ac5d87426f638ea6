import { dirname, join } from 'node:path';
import { BacklogError } from '../errors/BacklogError.js';
import { checkDataFile } from './dataFile.js';
import { ensureDirectory, syncDirectory } from './directory.js';
import { type LmdbHandles, type OpenLmdb, openHandles } from './lmdbOpen.js';
import { acquireLock } from './lock.js';

/** The data file's name in a store's directory. */
export const DATA_FILE = 'backlog.mdb';

/** What opening the files does to the file system that tests may watch: syncing a directory. */
export interface StoreFileSeams {
  syncDirectory(directory: string): void;
}

/** The real file system. */
export const realFileSystem: StoreFileSeams = { syncDirectory };

/** A store's files, open: its databases, and the release of its lock (none when read-only). */
export interface OpenFiles {
  handles: LmdbHandles;
  releaseLock: (() => void) | undefined;
}

/**
 * Opens the store at `location`, in this order: creates its directory
 * (writable opens), takes the lock, checks `backlog.mdb` before LMDB maps it
 * (see {@link checkDataFile}), opens it and, when the store is brand-new,
 * syncs its directory once, so the new files' entries survive a power loss
 * with the first commit. The lock is released again if a later step fails.
 *
 * @throws BacklogError naming the store (`BacklogLockedError` for a lock held elsewhere).
 */
export function openStoreFiles(
  location: string,
  options: { readOnly: boolean; mapSize: number | undefined },
  openLmdb: OpenLmdb,
  fs: StoreFileSeams,
): OpenFiles {
  const created = options.readOnly ? [] : createDirectory(location);
  const releaseLock = options.readOnly ? undefined : acquireLock(location, location);
  try {
    const file = join(location, DATA_FILE);
    const fresh = checkedDataFile(location, file, options.readOnly);
    const handles = openHandles(openLmdb, file, options);
    if (fresh) syncCreated(location, created, fs);
    return { handles, releaseLock };
  } catch (error) {
    releaseLock?.();
    if (error instanceof BacklogError) throw error;
    throw failure(location, 'cannot open', error);
  }
}

function createDirectory(location: string): string[] {
  try {
    return ensureDirectory(location);
  } catch (error) {
    throw failure(location, 'cannot create the directory of', error);
  }
}

/** Whether the data file is new (LMDB will create it); throws when it is not one LMDB may map. */
function checkedDataFile(location: string, file: string, readOnly: boolean): boolean {
  let state: ReturnType<typeof checkDataFile>;
  try {
    state = checkDataFile(file);
  } catch (error) {
    throw new BacklogError(
      location,
      `cannot open backlog ${location}: ${file} ${messageOf(error)}; move it aside (or restore it from a backup) to start an empty store there`,
      { cause: error },
    );
  }
  if (state === 'valid') return false;
  if (readOnly) {
    const what = state === 'missing' ? 'does not exist' : 'is empty (0 bytes)';
    throw new BacklogError(location, `cannot open backlog ${location} read-only: ${file} ${what}`);
  }
  return true;
}

/** Syncs the store's directory, which now holds new files, and the parent of each directory made for it. */
function syncCreated(location: string, created: readonly string[], fs: StoreFileSeams): void {
  for (const directory of [location, ...created.map((path) => dirname(path))]) {
    fs.syncDirectory(directory);
  }
}

function failure(location: string, what: string, error: unknown): BacklogError {
  return new BacklogError(location, `${what} backlog ${location}: ${messageOf(error)}`, {
    cause: error,
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
