import type { BacklogRecord, BacklogStats, DeadLetter } from '../backlog/types.js';

/*
 * The shared-store protocol: one backlog used by many processes at once (a
 * fleet of app instances). Unlike a `BacklogStore` there is no exclusive lock
 * and no owner: the store hands out `seq`, and work is CLAIMED one key at a
 * time under a lease. Everything is async, since a shared store is a server.
 *
 * Clocks: every time that decides something (a lease's expiry, a key's retry
 * time) is taken from the STORE's clock (the database server's), never from a
 * worker's, so workers with skewed clocks cannot steal or keep a key. Durations
 * (`leaseMs`, `delayMs`) are relative and added to the store's clock.
 *
 * "Takes effect" (ack, retry, bury, renew, release): the operation changed
 * the store only if the lease is CURRENT at the moment the store applies it:
 * its `token` is the key's latest fencing token and its expiry, by the store's
 * clock, is still in the future. Otherwise it changes nothing and resolves
 * `false`: the worker has lost the key (another worker may be running its
 * records) and must stop using it; its late outcome changes nothing.
 *
 * Errors: an operation that could not reach the server rejects with a
 * `BacklogUnavailableError` (nothing is known to have changed, so the caller
 * may repeat it: every operation is safe to repeat under the same lease, and
 * `append` of records with the same ids may duplicate them, which ids dedupe).
 * Any other failure rejects with a `BacklogError`.
 */

/** A record as written by `append`: the store assigns its `seq`. */
export type NewRecord = Omit<BacklogRecord, 'seq'>;

/** A record handed out by a claim, with the store's count of leases lost on it. */
export interface SharedRecord extends BacklogRecord {
  /**
   * Claims of this record that ended by lease expiry with no outcome reported
   * (its worker died, hung, or was paused past the lease). Kept across
   * retries, reset by `requeueDeadLetters`. The worker buries a record whose
   * count reaches `retry.maxLostLeases` instead of running it again.
   */
  readonly lostLeases: number;
}

/** The right to run one key's head records until `expiresAt` (store clock). */
export interface SharedLease {
  /** The key claimed. */
  readonly key: string;
  /** Who holds it: the session's `owner`. */
  readonly owner: string;
  /**
   * The fencing token: strictly greater than every earlier lease's token on
   * this key, so a stale holder's operations are recognised and refused.
   */
  readonly token: number;
  /** When the lease ends unless renewed, in ms on the store's clock (for display only). */
  readonly expiresAt: number;
}

/** What `claim` hands out: a lease on one key and that key's head records. */
export interface SharedClaim {
  readonly lease: SharedLease;
  /** The key's oldest pending records, in `seq` order, at least 1 and at most the claim's `limit`. */
  readonly records: SharedRecord[];
}

/** What a claim asks for. */
export interface ClaimRequest {
  /** Most head records to hand out (a batch handler's `batchSize`, else 1). */
  readonly limit: number;
  /** How long the lease lasts unless renewed, ms (added to the store's clock). */
  readonly leaseMs: number;
}

/** Options of {@link SharedBacklogStore.open}. */
export interface SharedOpenOptions {
  /** Who this session is, for leases and messages (a worker id); a random one when absent. */
  readonly owner?: string;
  /**
   * `'producer'`: this session only appends and flushes (an API instance that
   * runs no worker): `claim` and `dueInMs` reject with a `BacklogError`.
   * `'worker'` (the default): it may also claim.
   */
  readonly role?: 'worker' | 'producer';
}

/** Counts for `stats` on a shared store. */
export interface SharedBacklogStats extends BacklogStats {
  /** Keys under a current lease (being run by some worker now). */
  leased: number;
}

/**
 * A store that many processes share. It is a factory: each `open` is one
 * session (one worker, producer or CLI), and sessions on the same location
 * see one backlog. Implementations: `memorySharedBacklog()` (this package,
 * sessions in one process), `postgresBacklog()` (`xstate-sync-worker/postgres`)
 * and `redisBacklog()` (`xstate-sync-worker/redis`).
 */
export interface SharedBacklogStore {
  /** Tells it apart from a single-owner `BacklogStore`. */
  readonly kind: 'shared';
  /** The store's location for messages (a URL without its password, or `"memory"`). */
  readonly location: string;
  /**
   * Connects, creating or migrating the schema first when needed (safe when
   * many processes open at once), and starts a session. Rejects with a
   * `BacklogUnavailableError` when the server cannot be reached, or a
   * `BacklogError` when the stored format is newer than this version knows.
   */
  open(options?: SharedOpenOptions): Promise<SharedBacklog>;
}

/** One session on a shared store. See the notes at the top of this file for clocks, "takes effect" and errors. */
export interface SharedBacklog {
  /** The store's location, as {@link SharedBacklogStore.location}. */
  readonly location: string;
  /** This session's owner id (given to `open`, or made up). */
  readonly owner: string;
  /** `'worker'` or `'producer'`, as opened. */
  readonly role: 'worker' | 'producer';

  /**
   * Keeps new records, assigning each a `seq` larger than every seq the store
   * handed out before, in the order given (so one producer's order is kept
   * per key). Resolves with the stored records once they are durable (for
   * PostgreSQL: the commit's WAL is flushed). Per key, a record is claimable
   * only after every record with a smaller seq of that key is visible, so
   * delivery per key follows `seq` across the fleet.
   */
  append(records: readonly NewRecord[]): Promise<BacklogRecord[]>;
  /** Resolves once every `append` this session started has settled (each resolved or rejected). */
  flush(): Promise<void>;

  /**
   * Claims the next key in the one shared rotation and returns its head
   * records (a key enters the rotation at the back when it gets records while
   * it has none, and goes to the back each time it is claimed; the claim takes
   * the claimable key nearest the front); `undefined` when no key is claimable. A key is claimable when it
   * has pending records, no current lease, and its retry time (store clock) has
   * passed. At most one current lease exists per key. Claiming a key whose
   * previous lease EXPIRED without an outcome adds 1 to `lostLeases` of the
   * records that lease was given (and still pending). A head record whose
   * `lostLeases` is above 0 is handed out ALONE, whatever the limit, so a
   * record that kills its worker does not count lost leases on the innocent
   * records behind it. Rejects for a producer session.
   */
  claim(request: ClaimRequest): Promise<SharedClaim | undefined>;
  /**
   * Ms (store clock) until some key becomes claimable by its retry time or a
   * lease's expiry: 0 if one is claimable now, `undefined` if nothing is
   * pending. For sleeping between empty claims; rejects for a producer session.
   */
  dueInMs(): Promise<number | undefined>;
  /**
   * Forgets the delivered records `seqs` of the lease's key; the lease stays
   * held (so a batch can be split and run on under it) unless `release` is
   * true, when the key also goes back into the rotation. Seqs that are not
   * pending records of that key are ignored.
   */
  ack(
    lease: SharedLease,
    seqs: readonly number[],
    options?: { release?: boolean },
  ): Promise<boolean>;
  /**
   * The records failed and run again later: keeps their `attempts`,
   * `remoteFailures` and `lastError` as given, makes the key unclaimable
   * until `delayMs` from now on the store's clock (any worker may then
   * resume it), and ends the lease. The records keep their place, first in
   * their key.
   */
  retry(lease: SharedLease, records: readonly BacklogRecord[], delayMs: number): Promise<boolean>;
  /**
   * Moves these records of the lease's key to the dead letters, keeping the
   * letter's `reason`, `deadAt`, `attempts` and `lastError`. The lease stays
   * held unless `release` is true.
   */
  bury(
    lease: SharedLease,
    letters: readonly DeadLetter[],
    options?: { release?: boolean },
  ): Promise<boolean>;
  /** Extends the lease to `leaseMs` from now (store clock). `false`: it was lost, stop using the key. */
  renew(lease: SharedLease, leaseMs: number): Promise<boolean>;
  /**
   * Ends the lease without an outcome and without counting a lost lease: the
   * records stay first in their key, claimable at once by any worker (a
   * shutdown, or this worker's breaker opened).
   */
  release(lease: SharedLease): Promise<boolean>;

  /**
   * Moves every dead letter back to the end of its key with a new seq, fresh
   * attempts and no lost leases; resolves with how many.
   */
  requeueDeadLetters(): Promise<number>;
  /** Counts, per key and in total. */
  stats(): Promise<SharedBacklogStats>;
  /** Pending records in seq order, optionally of one key, at most `limit`. */
  list(options?: { key?: string; limit?: number }): Promise<SharedRecord[]>;
  /** Dead letters in seq order, at most `limit`. */
  deadLetters(options?: { limit?: number }): Promise<DeadLetter[]>;
  /** Deletes every pending record, lease and dead letter; resolves with how many records. */
  purge(): Promise<number>;
  /** Waits for this session's appends, then ends the session (leases it holds just expire). */
  close(): Promise<void>;
}

/** Whether `backlog` is a shared store (rather than a single-owner `BacklogStore`). */
export function isSharedStore(backlog: unknown): backlog is SharedBacklogStore {
  return (
    typeof backlog === 'object' &&
    backlog !== null &&
    (backlog as { kind?: unknown }).kind === 'shared'
  );
}
