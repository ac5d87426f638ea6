import { randomUUID } from 'node:crypto';
import {
  closeSync,
  constants,
  copyFileSync,
  fstatSync,
  linkSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BacklogError } from '../errors/BacklogError.js';
import { BacklogLockedError } from '../errors/BacklogLockedError.js';

/**
 * Locks held by this process, by the real path of their file (so a symlink
 * or `..` in a store's path names the same lock): the inode of our lock
 * file, and the path the store was opened by, for messages. Kept on
 * `globalThis`, so two copies of this library loaded in one process (a
 * bundle beside node_modules, say) see each other's locks: otherwise a lock
 * naming this process would look like a previous life of its pid, and the
 * second copy would take it over.
 */
const heldHere: Map<string, { ino: bigint; location: string }> = sharedRegistry();

function sharedRegistry(): Map<string, { ino: bigint; location: string }> {
  const key = Symbol.for('xstate-sync-worker.lmdb.heldLocks.v1');
  const global = globalThis as { [key]?: Map<string, { ino: bigint; location: string }> };
  global[key] ??= new Map();
  return global[key];
}

/** A lock file's name. */
const LOCK_FILE = 'worker.lock';
// Bounds: how often one take retries when the lock changes under it, and how
// many takeovers of takeovers a crash in the middle of one may leave behind.
const ATTEMPTS = 5;
const MAX_DEPTH = 3;

interface LockOwner {
  pid: number;
  host: string;
}

/** A lock file as read: its owner (undefined when unreadable) and its inode, one generation of it. */
interface SeenLock {
  owner: LockOwner | undefined;
  ino: bigint;
}

type Take = { taken: true } | { taken: false; holder: LockOwner | undefined };

/**
 * Takes the exclusive lock of the store in `directory` (which exists), or
 * throws a {@link BacklogLockedError} naming the live holder. Returns the release.
 *
 * A lock file appears whole or not at all: it is written to a file of its
 * own, then linked into place (exclusive: only one creator wins) or, to take
 * over a stale lock, renamed over it (the lock is never absent, so no fresh
 * creator can slip in). A takeover first claims the stale generation, by
 * taking the lock `worker.lock.takeover-<inode>` the same way: of several
 * processes that find the same stale lock, exactly one replaces it.
 */
export function acquireLock(directory: string, location: string): () => void {
  let file: string;
  try {
    file = join(realpathSync(directory), LOCK_FILE);
  } catch (error) {
    throw lockFailure(location, join(directory, LOCK_FILE), error);
  }
  const mine = heldHere.get(file);
  if (mine !== undefined) {
    throw new BacklogLockedError(location, process.pid, {
      sameProcess: true,
      heldAs: mine.location,
      lockFile: file,
    });
  }
  let outcome: Take;
  try {
    outcome = take(file, 0);
  } catch (error) {
    if (error instanceof BacklogError) throw error;
    throw lockFailure(location, file, error);
  }
  if (!outcome.taken) throw lockedBy(location, file, outcome.holder);
  const ino = statSync(file, { bigint: true }).ino;
  heldHere.set(file, { ino, location });
  return () => release(file, ino);
}

/** Who holds the lock `file` now, if anyone alive does (for the CLI's messages). */
export function lockHolder(file: string): number | undefined {
  const seen = readLock(file);
  return seen !== undefined && stillHeld(seen.owner, file) ? seen.owner?.pid : undefined;
}

/** One contender's take of `file`: a lock at depth 0, a claim on a stale one below. */
function take(file: string, depth: number): Take {
  const mine = writeOwnFile(file);
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (linkIfAbsent(mine, file)) return { taken: true };
      const seen = readLock(file);
      if (seen === undefined) continue; // released meanwhile: create it
      if (stillHeld(seen.owner, file)) return { taken: false, holder: seen.owner };
      const replaced = takeOver(file, seen, mine, depth);
      if (replaced !== 'changed') return replaced;
    }
    // Each attempt saw the lock change hands: someone else is winning.
    return { taken: false, holder: readLock(file)?.owner };
  } finally {
    unlinkQuietly(mine); // after a link the lock keeps its own name; after a rename it is gone
  }
}

/** Replaces the stale generation `seen` of `file` with `mine`, if this contender wins its claim. */
function takeOver(file: string, seen: SeenLock, mine: string, depth: number): Take | 'changed' {
  const claimFile = `${file}.takeover-${seen.ino}`;
  if (depth + 1 >= MAX_DEPTH) {
    throw new Error(
      `it is stale, and so are takeovers of it that crashed: remove ${file}.takeover-* by hand`,
    );
  }
  const claim = take(claimFile, depth + 1);
  if (!claim.taken) {
    // A live process holds the claim. While the stale generation is still in
    // place, that process replaces it and owns the lock; else look again.
    return inodeOf(file) === seen.ino ? claim : 'changed';
  }
  try {
    // Holding the claim, only we may replace this generation; if it is gone, another claim did.
    if (inodeOf(file) !== seen.ino) return 'changed';
    renameSync(mine, file);
    return { taken: true };
  } finally {
    unlinkQuietly(claimFile);
  }
}

/**
 * Whether a lock's owner still binds. A lock is stale when its process is
 * gone, so a worker killed with SIGKILL never blocks the next start. A
 * recorded pid equal to ours that this process does not hold is a previous
 * life of a container's pid (often 1), so it is stale too. An unreadable lock
 * is stale: lock files appear whole, so only a fault could leave one so.
 * Locks from another host cannot be checked and are honoured.
 */
function stillHeld(owner: LockOwner | undefined, file: string | undefined): boolean {
  if (owner === undefined) return false;
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return file !== undefined && heldHere.has(file);
  return isAlive(owner.pid);
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

/** Writes this process's owner record to a new file beside `file`; returns its path. */
function writeOwnFile(file: string): string {
  const path = `${file}.${process.pid}-${randomUUID()}.tmp`;
  const owner = JSON.stringify({ pid: process.pid, host: hostname(), since: Date.now() });
  writeFileSync(path, owner, { flag: 'wx' });
  return path;
}

/** Gives `file` the content of `mine` if it does not exist: a link is atomic and exclusive. */
function linkIfAbsent(mine: string, file: string): boolean {
  try {
    linkSync(mine, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
      throw error;
    }
  }
  // A file system without hard links: an exclusive copy still has one winner,
  // though a reader may see it before its content (and take it for stale).
  try {
    copyFileSync(mine, file, constants.COPYFILE_EXCL);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Reads a lock file and its inode from one open, so both are of the same generation. */
function readLock(file: string): SeenLock | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return {
      ino: fstatSync(fd, { bigint: true }).ino,
      owner: parseOwner(readFileSync(fd, 'utf8')),
    };
  } finally {
    closeSync(fd);
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') {
      return { pid: parsed.pid, host: parsed.host };
    }
  } catch {
    // Not an owner record: stale (see stillHeld).
  }
  return undefined;
}

function inodeOf(file: string): bigint | undefined {
  try {
    return statSync(file, { bigint: true }).ino;
  } catch {
    return undefined;
  }
}

/** Releases our lock: removes the file only while it is still ours (not taken over since). */
function release(file: string, ino: bigint): void {
  if (heldHere.get(file)?.ino !== ino) return;
  heldHere.delete(file);
  if (inodeOf(file) === ino) unlinkQuietly(file);
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone: nothing to remove.
  }
}

function lockedBy(
  location: string,
  file: string,
  holder: LockOwner | undefined,
): BacklogLockedError {
  const otherHost = holder !== undefined && holder.host !== hostname() ? holder.host : undefined;
  return new BacklogLockedError(location, holder?.pid, { otherHost, lockFile: file });
}

function lockFailure(location: string, file: string, error: unknown): BacklogError {
  const message = error instanceof Error ? error.message : String(error);
  return new BacklogError(location, `cannot take the lock ${file}: ${message}`, { cause: error });
}
