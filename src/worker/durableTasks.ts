import type { BacklogRecord, DeadLetter } from '../backlog/types.js';
import type { BacklogError } from '../errors/BacklogError.js';

/**
 * What the durable source, the drain loop and the worker ask of the durable
 * tasks under them. Two implementations: `DurableQueue` (a single-owner store:
 * LMDB, memory) and `SharedQueue` (a store a fleet shares: PostgreSQL, Redis,
 * `memorySharedBacklog`). The source decides each task's fate the same way
 * over either; the queue decides how records are kept, found and handed out.
 */
export interface DurableTasks {
  /** Accepted and neither delivered nor dead, as far as this worker knows. */
  readonly pending: number;
  /** Of `pending`, the records held in memory, waiting to run or to be written. */
  readonly inMemory: number;
  /** Whether some key can deliver now. */
  readonly hasReady: boolean;
  /** Whether some key this worker ran waits out a retry backoff. */
  readonly hasBackoff: boolean;
  /** Whether a write of accepted tasks is in flight. */
  readonly isPersisting: boolean;
  /** Whether some pending tasks are kept only in the store. */
  readonly isReplaying: boolean;
  /** Whether work is in flight that will make tasks runnable when it ends (a commit, a claim). */
  readonly isWriting: boolean;
  /** For the age of the oldest pending task held here. */
  readonly lanes: { oldestEnqueuedAt(): number | undefined };
  /** Why a new task cannot be kept now, if it cannot. */
  refusal(): BacklogError | undefined;
  /** Keeps a new task: it is written with the next commit and runs once durable. */
  accept(fields: Omit<BacklogRecord, 'seq'>): BacklogRecord;
  /** Resolves once every task accepted so far is durable; rejects if one could not be kept. */
  flush(): Promise<void>;
  /** Whether a task can run now, putting its key in front (`oldest`: the breaker's probe). */
  prepare(oldest: boolean): boolean;
  /** The task {@link prepare} put in front, left in place. */
  peek(): BacklogRecord | undefined;
  /** Takes the task {@link prepare} put in front. */
  take(): BacklogRecord;
  /** Whether `key` is splitting a batch that failed for its data. */
  isSplitting(key: string): boolean;
  /** Takes up to `maxSize` consecutive tasks of the front key and its head's handler. */
  takeBatch(maxSize: number): BacklogRecord[];
  /** The running task or batch was delivered. */
  succeeded(records: BacklogRecord | readonly BacklogRecord[]): void;
  /** The running records failed and run again at `at` (queue clock), first in their key. */
  retryAt(records: readonly BacklogRecord[], at: number, now: number): void;
  /** The running batch failed for its data: run its records again apart. */
  split(records: readonly BacklogRecord[]): void;
  /** Moves the running task to the dead letters. */
  bury(record: BacklogRecord, error: Error): DeadLetter;
  /** The running task stopped without an outcome: it stays first in its key. */
  release(record: BacklogRecord): void;
  /** A record the store could not read was buried by the store. */
  forgetCorrupt(): void;
  /** Moves every dead letter back to the end of its key; resolves with how many. */
  requeueDead(): Promise<number>;
  /** Writes what is accepted, releases what is held, and closes the store. */
  close(): Promise<void>;
}
