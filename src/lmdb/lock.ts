import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { BacklogError } from '../errors/BacklogError.js';
import { BacklogLockedError } from '../errors/BacklogLockedError.js';

/** Paths locked by this process: a second owner here is refused even though the pid is alive. */
const heldHere = new Set<string>();

interface LockOwner {
  pid: number;
  host: string;
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') {
      return { pid: parsed.pid, host: parsed.host };
    }
  } catch {
    // Unreadable or half-written: the writer died before finishing, so the lock is stale.
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a lock left in the file still binds. A lock is stale when its
 * process is gone, so a worker killed with SIGKILL never blocks the next
 * start. A recorded pid equal to ours that this process does not hold is a
 * previous life of a container's pid (often 1), so it is stale too. Locks
 * from another host cannot be checked and are honoured.
 */
function stillHeld(file: string, owner: LockOwner | undefined): boolean {
  if (owner === undefined) return false;
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return heldHere.has(file);
  return isAlive(owner.pid);
}

function tryCreate(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: Date.now() }));
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Takes the exclusive lock `file` for `location`, or throws a
 * {@link BacklogLockedError} naming the live holder. Returns the release.
 */
export function acquireLock(file: string, location: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    let created: boolean;
    try {
      created = tryCreate(file);
    } catch (error) {
      throw new BacklogError(
        location,
        `cannot create the lock ${file}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (created) {
      heldHere.add(file);
      return () => release(file);
    }
    const owner = readOwner(file);
    if (stillHeld(file, owner)) throw new BacklogLockedError(location, owner?.pid);
    try {
      unlinkSync(file);
    } catch {
      // Another starter removed it first; try again.
    }
  }
  throw new BacklogLockedError(location);
}

function release(file: string): void {
  if (!heldHere.delete(file)) return;
  try {
    unlinkSync(file);
  } catch {
    // Already gone: nothing to release.
  }
}

/** Who holds the lock of `file` now, if anyone alive does (for the CLI's messages). */
export function lockHolder(file: string): number | undefined {
  const owner = readOwner(file);
  return stillHeld(file, owner) ? owner?.pid : undefined;
}
