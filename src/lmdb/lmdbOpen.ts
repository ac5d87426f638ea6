import { createRequire } from 'node:module';
import type { Database, RootDatabase } from 'lmdb';
import { BacklogError } from '../errors/BacklogError.js';

/** A task's key in the store: its ordering key, then its seq. */
export type TaskKey = [string, number];
/** lmdb's `open`. */
export type OpenLmdb = typeof import('lmdb').open;

/** The largest seq a range can name: the end of a key's records. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/**
 * Loads `lmdb` when a store is first made, so that a missing optional peer
 * dependency gives an error that says what to install, not a failed import.
 */
export function loadLmdb(): OpenLmdb {
  try {
    return (createRequire(import.meta.url)('lmdb') as { open: OpenLmdb }).open;
  } catch (error) {
    throw new BacklogError(
      'lmdb',
      "lmdbBacklog needs the optional peer dependency lmdb: run 'npm install lmdb'",
      { cause: error },
    );
  }
}

/**
 * How the store opens lmdb, and why not with lmdb's defaults. Both defaults
 * break on a refused commit (a full disk):
 *
 * - `eventTurnBatching` makes lmdb open each event turn's transaction with a
 *   promise of its own that no caller ever holds; a refused commit rejects
 *   it, an unhandled rejection that ends a Node process by default. Without
 *   it, every promise lmdb makes is returned to the store, which handles it.
 *   A group commit is one explicit transaction instead, so it stays atomic.
 * - `overlappingSync` resolves `flushed` only when a commit succeeds: after a
 *   refused last commit, `flushed` and `close()` never settle, so neither
 *   would shutdown, and the lock would stay held. Without it a commit is
 *   durable when it resolves (lmdb syncs before it commits), and a refused
 *   one rejects.
 *
 * The store's group commit keeps one commit in flight at a time, so it gains
 * nothing from overlapping the sync of one commit with the next.
 */
export const OPEN_OPTIONS = { eventTurnBatching: false, overlappingSync: false } as const;

/**
 * The root database and its sub-databases. `meta` holds what is not a task
 * (the breaker's state); a read-only open of a store made before it existed
 * has none.
 */
export interface LmdbHandles {
  root: RootDatabase;
  tasks: Database<string, TaskKey>;
  dead: Database<string, number>;
  meta: Database<string, string> | undefined;
}

/** Opens the data file at `path` with {@link OPEN_OPTIONS}. */
export function openHandles(
  openLmdb: OpenLmdb,
  path: string,
  options: { readOnly: boolean; mapSize: number | undefined },
): LmdbHandles {
  const root = openLmdb({ path, maxDbs: 4, ...options, ...OPEN_OPTIONS });
  return {
    root,
    tasks: root.openDB<string, TaskKey>({ name: 'tasks', encoding: 'string' }),
    dead: root.openDB<string, number>({ name: 'dead', encoding: 'string' }),
    // lmdb returns undefined, without throwing, for a sub-database a read-only open cannot create.
    meta: root.openDB<string, string>({ name: 'meta', encoding: 'string' }) ?? undefined,
  };
}

/**
 * What a failed lmdb write failed for. lmdb rejects each write of a refused
 * commit with a generic "Commit failed (see commitError for details)" and
 * puts the reason in `error.commitError`: a second promise, which lmdb
 * rejects and never handles itself (kriszyp/lmdb-js#368), so left alone it
 * is an unhandled rejection. This handles it, and returns its reason when
 * lmdb has already given it (it does, before the write's own rejection runs),
 * else the error itself: it never waits for lmdb.
 *
 * Call it synchronously in the rejection handler, so the handler is attached
 * before Node looks for unhandled rejections.
 */
export function reasonOf(error: unknown): Promise<unknown> {
  const commitError = (error as { commitError?: unknown } | null | undefined)?.commitError;
  if (!isThenable(commitError)) return Promise.resolve(error);
  const reason = commitError.then(
    () => error,
    (cause: unknown) => cause,
  );
  // Both settle one reaction job from now, so the race goes to `reason` when
  // lmdb has rejected commitError already, and never waits for lmdb if not.
  const notYet = Promise.resolve().then(() => error);
  return Promise.race([reason, notYet]);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
