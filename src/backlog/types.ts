import type { BreakerSnapshot } from '../breakerSnapshot.js';
import type { JsonValue } from './json.js';

/**
 * A durable task as the backlog keeps it. `seq` orders records across keys
 * and restarts; delivery follows it within each key.
 */
export interface BacklogRecord {
  /** The store's order: larger is newer. */
  readonly seq: number;
  /** Unique per task, kept across retries and requeues: handlers deduplicate by it. */
  readonly id: string;
  /** The ordering scope: tasks with one key are delivered in enqueue order. */
  readonly key: string;
  /** The registered handler that delivers it. */
  readonly handler: string;
  /** The task's data, plain JSON. */
  readonly payload: JsonValue;
  /** Handler runs so far (time waiting behind an open breaker is not counted). */
  attempts: number;
  /**
   * Of those runs, the failures that left the breaker open: the one that
   * tripped it and failed half-open probes. They are the remote's failures,
   * not the task's, so they do not use up `retry.maxAttempts`. Absent when 0.
   */
  remoteFailures?: number;
  /** Wall-clock ms at enqueue, for display and ages only; no timer depends on it. */
  readonly enqueuedAt: number;
  /** The message of the last failed attempt. */
  lastError?: string;
}

/** A record moved to the dead letters: its error was not retryable, or it used its attempts. */
export interface DeadLetter extends BacklogRecord {
  /** Wall-clock ms when it died. */
  readonly deadAt: number;
  /** Why: the final error's message, or why the stored record could not be read. */
  readonly reason: string;
}

/** What a store knows when it opens. */
export interface BacklogOpened {
  /** The next `seq` to hand out: larger than every stored one. */
  nextSeq: number;
  /**
   * Pending records kept, over every key. A store counts them without
   * reading them, and does not list its keys here: a worker walks them with
   * {@link BacklogStore.keyAfter} as their turns come, so opening a big
   * backlog costs neither time per record nor memory per key.
   */
  pending: number;
  /** Dead letters kept. */
  deadLetters: number;
  /**
   * The owning worker's breaker state as last saved with `saveBreaker`
   * (a `BreakerSnapshot`), as the store read it back: the worker checks it.
   */
  breaker?: unknown;
}

/** Hooks a store calls while a worker owns it. */
export interface BacklogHooks {
  /** A stored record could not be decoded; the store has moved it to the dead letters. */
  onCorrupt(letter: DeadLetter): void;
  /** A background write (remove, update, bury) failed. */
  onWriteError(error: Error): void;
}

/** Counts for `stats` (also what the CLI prints). */
export interface BacklogStats {
  pending: number;
  deadLetters: number;
  /** Pending records per key. */
  byKey: Record<string, number>;
  /** Wall-clock ms of the oldest pending record's enqueue, if any. */
  oldestEnqueuedAt: number | undefined;
}

/**
 * Where durable tasks are kept. A worker opens the store once and owns it
 * until it closes; writes are applied in the order they are made.
 *
 * Implementations: `memoryBacklog()` (this package) and `lmdbBacklog()`
 * (`xstate-sync-worker/lmdb`).
 */
export interface BacklogStore {
  /** The store's location for messages: a path, or `"memory"`. */
  readonly location: string;
  /**
   * True when the store is open for reading only (`lmdbBacklog({ readOnly: true })`):
   * a worker refuses it, since it could neither keep nor remove a task.
   */
  readonly readOnly?: boolean;
  /** Takes ownership (a lock, for files) and reports what is kept. Throws a `BacklogError` it cannot. */
  open(hooks: BacklogHooks): BacklogOpened;
  /**
   * Keeps new records, in one group commit; resolves once they are durable.
   * `payloadJson`, when given, holds each record's payload as JSON text, in
   * order, exactly as `JSON.stringify` made it when the task was accepted:
   * keep that, not `record.payload`, which is the caller's value and may have
   * changed since. A store that writes JSON writes it as it is. The worker
   * changes none of `records` until the promise settles, so a store may read
   * them as late as its write runs.
   */
  append(records: readonly BacklogRecord[], payloadJson?: readonly string[]): Promise<void>;
  /**
   * The first key after `after` (the first of all without it) that has
   * pending records, in code point order (see `compareKeys`): how a worker
   * walks the keys an earlier life left, one turn at a time.
   */
  keyAfter(after: string | undefined): string | undefined;
  /**
   * The seq of `key`'s oldest pending record with `seq > afterSeq` (any,
   * without it), found without reading the record; `undefined` if none.
   */
  firstSeq(key: string, afterSeq?: number): number | undefined;
  /** Pending records of `key` with `seq > afterSeq`, oldest first, at most `limit`. */
  read(key: string, afterSeq: number, limit: number): BacklogRecord[];
  /** Persists a record's `attempts` and `lastError`. */
  update(record: BacklogRecord): void;
  /** Forgets a delivered record. */
  remove(record: BacklogRecord): void;
  /** Moves a record to the dead letters. */
  bury(letter: DeadLetter): void;
  /** Moves every dead letter back to the end of its key, with fresh attempts; returns them. */
  requeueDead(nextSeq: () => number): Promise<BacklogRecord[]>;
  /** Deletes every pending record and dead letter; returns how many. */
  purge(): Promise<number>;
  /**
   * Keeps the owning worker's own breaker state, written at each of its
   * state changes (never per task) and given back by the next `open`.
   * Optional: a store without it starts every worker's breaker closed.
   */
  saveBreaker?(state: BreakerSnapshot): void;
  /** Resolves once every write made so far is durable. */
  flush(): Promise<void>;
  /** Counts, per key and in total. */
  stats(): BacklogStats;
  /** Pending records, oldest first, optionally of one key. */
  list(options?: { key?: string; limit?: number }): BacklogRecord[];
  /** Dead letters, oldest first. */
  deadLetters(options?: { limit?: number }): DeadLetter[];
  /** Flushes and releases the store (and its lock). */
  close(): Promise<void>;
}
