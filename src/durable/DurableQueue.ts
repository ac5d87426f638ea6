import type { ActorRefFrom } from 'xstate';
import type { backlogMachine } from '../../machines/projections/backlog.machine.js';
import type { BacklogRecord, BacklogStore, DeadLetter } from '../backlog/types.js';
import type { Clock } from '../clock.js';
import { BacklogFullError } from '../errors/BacklogFullError.js';
import { RingBuffer } from '../RingBuffer.js';
import { Lane } from './Lane.js';
import { backoffMs, type RetryPolicy } from './retry.js';

/** What the queue tells the worker that drives it. */
export interface DurableQueueHost {
  /** Durable work became runnable: committed, read back, or due for its retry. */
  onRunnable(): void;
  /** A group commit failed: these tasks were not kept, and this is their fate. */
  onNotKept(records: readonly BacklogRecord[], error: BacklogFullError): void;
  /** A group commit ended either way: whatever waited for it can look again. */
  onWriteSettled(): void;
}

/** Settings of a {@link DurableQueue}. */
export interface DurableQueueSettings {
  store: BacklogStore;
  nextSeq: number;
  pendingByKey: ReadonlyMap<string, number>;
  /** Most records held in memory; the rest stay in the store until their key reaches them. */
  maxCached: number;
  retry: RetryPolicy;
  clock: Clock;
  actor: ActorRefFrom<typeof backlogMachine>;
  host: DurableQueueHost;
}

/** What became of a failed attempt. */
export type AttemptOutcome =
  | { retry: true; delayMs: number }
  | { retry: false; letter: DeadLetter };

interface FlushWaiter {
  seq: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** How long new durable tasks are refused after the store refused a commit, unless space is freed sooner. */
export const FULL_BACKOFF_MS = 1_000;

// Bounds one synchronous read from the store, so replay never stalls the event loop for long.
const READ_CHUNK = 512;

/**
 * The durable tasks of one worker: a write-ahead group commit into the store,
 * and per-key lanes that deliver each key in order, round robin across keys.
 * Memory holds at most `maxCached` records; the store holds them all.
 */
export class DurableQueue {
  private readonly store: BacklogStore;
  private readonly lanes = new Map<string, Lane>();
  private readonly ready = new RingBuffer<Lane>(16);
  private readonly backoff: Lane[] = [];
  private seq: number;
  private cached = 0;
  private storedLanes = 0;
  private pendingCount = 0;

  // Group commit: records accepted since the last commit began, and the one commit in flight.
  private batch: BacklogRecord[] = [];
  private writing = false;
  private writeScheduled = false;
  private committedSeq: number;
  // The newest seq handed to an accepted task: what flush() waits for.
  private lastAcceptedSeq: number;
  // Dead-letter requeues in flight: like a commit, their records may be readable early.
  private requeuing = 0;
  private flushWaiters: FlushWaiter[] = [];
  private idleWaiters: (() => void)[] = [];

  // After a failed commit, new tasks are refused for a while, or until a delivery frees space.
  private fullError: BacklogFullError | undefined;
  private refuseUntil = Number.NEGATIVE_INFINITY;

  // Lanes that ran dry while a commit was in flight. A store may make a commit's
  // records readable before append() resolves, so a lane may already have read
  // them back; it keeps its cursor until that commit is admitted, or the
  // records would be cached and delivered a second time.
  private retiredDuringWrite: Lane[] = [];

  private retryTimer: unknown;
  private retryTimerAt = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(private readonly settings: DurableQueueSettings) {
    this.store = settings.store;
    this.seq = settings.nextSeq;
    this.committedSeq = settings.nextSeq - 1;
    this.lastAcceptedSeq = settings.nextSeq - 1;
    for (const [key, count] of settings.pendingByKey) {
      const lane = this.lane(key);
      this.markStored(lane);
      this.pendingCount += count;
      this.makeReady(lane);
    }
  }

  /** The store's location, for messages. */
  get location(): string {
    return this.store.location;
  }

  /** Accepted and neither delivered nor dead: in memory, in the store, or being written. */
  get pending(): number {
    return this.pendingCount;
  }

  /** Of `pending`, the records held in memory, waiting to run; the rest wait only in the store. */
  get inMemory(): number {
    return this.cached;
  }

  /** Whether some key can deliver now. */
  get hasReady(): boolean {
    return this.ready.size > 0;
  }

  /** Whether some key waits out a retry backoff. */
  get hasBackoff(): boolean {
    return this.backoff.length > 0;
  }

  /** Whether a group commit is in flight (the backlog machine's `persisting`). */
  get isPersisting(): boolean {
    return this.writing;
  }

  /** Whether some pending tasks are kept only in the store (the backlog machine's `replaying`). */
  get isReplaying(): boolean {
    return this.storedLanes > 0;
  }

  /** Whether accepted tasks are still being written (they become runnable when committed). */
  get isWriting(): boolean {
    return this.writing || this.batch.length > 0;
  }

  /**
   * Why a new task cannot be kept now: the store refused a commit within the
   * last {@link FULL_BACKOFF_MS} and no delivery has freed space since.
   */
  refusal(): BacklogFullError | undefined {
    if (this.fullError === undefined) return undefined;
    if (this.settings.clock.now() < this.refuseUntil) return this.fullError;
    this.fullError = undefined;
    return undefined;
  }

  /** Keeps a new task: it is written with the next group commit and runs once durable. */
  accept(fields: Omit<BacklogRecord, 'seq'>): BacklogRecord {
    const record: BacklogRecord = { seq: this.seq++, ...fields };
    this.lastAcceptedSeq = record.seq;
    this.pendingCount++;
    this.batch.push(record);
    if (!this.writing && !this.writeScheduled) {
      this.writeScheduled = true;
      queueMicrotask(this.writeBatch);
    }
    return record;
  }

  /** Resolves once every task accepted so far is durable; rejects if one of them could not be kept. */
  flush(): Promise<void> {
    // Batches commit in seq order, so once one ending at or after this seq is in, all are.
    const seq = this.lastAcceptedSeq;
    if (seq <= this.committedSeq) return Promise.resolve();
    return new Promise((resolve, reject) => this.flushWaiters.push({ seq, resolve, reject }));
  }

  /**
   * Whether a task can run now, putting the key that goes next in front: with
   * `oldest` (the breaker's probe) the key whose head waited longest,
   * otherwise the next key in round-robin order. Keys found empty on reading
   * back are dropped here, so {@link take} cannot come up empty after it.
   */
  prepare(oldest: boolean): boolean {
    if (oldest) this.rotateToOldest();
    while (this.ready.size > 0) {
      const lane = this.ready.peek() as Lane;
      if (this.loadHead(lane) !== undefined) return true;
      this.ready.shift();
    }
    return false;
  }

  /** The task {@link prepare} put in front, left in place. */
  peek(): BacklogRecord | undefined {
    return this.ready.peek()?.head;
  }

  /** Takes the task {@link prepare} put in front, and marks its key as running. */
  take(): BacklogRecord {
    const lane = this.ready.shift() as Lane;
    lane.state = 'running';
    return lane.head as BacklogRecord;
  }

  /** The running task was delivered: forget it and move its key to the back of the rotation. */
  succeeded(record: BacklogRecord): void {
    this.store.remove(record);
    this.fullError = undefined;
    this.finishHead(record);
  }

  /**
   * The running task failed: schedule its retry, or bury it when the error or
   * its attempts say so. A failure that left the breaker open (`remoteDown`)
   * is the remote's, so it does not use up the task's attempts: a long outage
   * must not bury the tasks that probe it, or their keys would lose order.
   */
  failed(record: BacklogRecord, error: Error, now: number, remoteDown: boolean): AttemptOutcome {
    const policy = this.settings.retry;
    record.lastError = error.message;
    if (remoteDown) record.remoteFailures = (record.remoteFailures ?? 0) + 1;
    const counted = record.attempts - (record.remoteFailures ?? 0);
    if (counted < policy.maxAttempts && this.isRetryable(error)) {
      this.store.update(record);
      const delayMs = backoffMs(policy, record.attempts);
      this.waitForRetry(this.lane(record.key), now + delayMs, now);
      return { retry: true, delayMs };
    }
    return { retry: false, letter: this.bury(record, error) };
  }

  /** Moves the running task to the dead letters, whatever the retry policy says. */
  bury(record: BacklogRecord, error: Error): DeadLetter {
    const letter: DeadLetter = { ...record, deadAt: Date.now(), reason: error.message };
    this.store.bury(letter);
    this.finishHead(record);
    return letter;
  }

  /** The running task was stopped without an outcome (shutdown): it stays first in its key. */
  release(record: BacklogRecord): void {
    this.makeReady(this.lane(record.key));
  }

  /** A record the store could not read was buried by the store: count it as dead. */
  forgetCorrupt(): void {
    this.pendingCount--;
  }

  /** Moves every dead letter back to the end of its key with fresh attempts; returns how many. */
  async requeueDead(): Promise<number> {
    this.requeuing++;
    let revived: BacklogRecord[];
    try {
      revived = await this.store.requeueDead(() => this.seq++);
    } finally {
      this.requeuing--;
    }
    this.pendingCount += revived.length;
    this.admit(revived);
    this.forgetRetired();
    return revived.length;
  }

  /** Stops the retry timer, waits for writes in flight, and releases the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== undefined) this.settings.clock.clearTimeout(this.retryTimer);
    if (this.isWriting) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    try {
      await this.store.close();
    } finally {
      this.send({ type: 'CLOSE' });
    }
  }

  // --- writing -----------------------------------------------------------

  private readonly writeBatch = (): void => {
    this.writeScheduled = false;
    if (this.writing) return;
    if (this.batch.length === 0) {
      this.settleIdle();
      return;
    }
    const records = this.batch;
    this.batch = [];
    this.writing = true;
    this.send({ type: 'BATCH_STARTED', size: records.length });
    let write: Promise<void>;
    try {
      write = this.store.append(records);
    } catch (error) {
      write = Promise.reject(error);
    }
    write.then(
      () => this.committed(records),
      (error: unknown) => this.notKept(records, error),
    );
  };

  private committed(records: readonly BacklogRecord[]): void {
    this.writing = false;
    this.send({ type: 'BATCH_COMMITTED' });
    this.committedSeq = (records[records.length - 1] as BacklogRecord).seq;
    this.admit(records);
    this.forgetRetired();
    this.resolveFlushes(undefined);
    this.writeBatch();
    this.settings.host.onWriteSettled();
  }

  private notKept(records: readonly BacklogRecord[], cause: unknown): void {
    this.writing = false;
    this.send({ type: 'BATCH_FAILED' });
    this.pendingCount -= records.length;
    this.committedSeq = (records[records.length - 1] as BacklogRecord).seq;
    const reason = cause instanceof Error ? cause.message : String(cause);
    const error = new BacklogFullError(
      this.store.location,
      `backlog ${this.store.location} could not keep ${records.length} task(s): ${reason}`,
      { cause },
    );
    this.fullError = error;
    this.refuseUntil = this.settings.clock.now() + FULL_BACKOFF_MS;
    this.forgetRetired();
    this.resolveFlushes(error);
    this.settings.host.onNotKept(records, error);
    this.writeBatch();
    this.settings.host.onWriteSettled();
  }

  private resolveFlushes(error: Error | undefined): void {
    const due = this.flushWaiters.filter((w) => w.seq <= this.committedSeq);
    if (due.length === 0) return;
    this.flushWaiters = this.flushWaiters.filter((w) => w.seq > this.committedSeq);
    for (const waiter of due) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
  }

  private settleIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // --- lanes -------------------------------------------------------------

  /** Durable records join their keys' lanes: cached while memory allows, else left in the store. */
  private admit(records: readonly BacklogRecord[]): void {
    let runnable = false;
    for (const record of records) {
      const lane = this.lane(record.key);
      // Already read back from the store by a replay that raced this commit.
      if (record.seq <= lane.cursor) continue;
      if (lane.stored || this.cached >= this.settings.maxCached) {
        this.markStored(lane);
      } else {
        lane.cache.push(record);
        lane.cursor = record.seq;
        this.cached++;
      }
      if (lane.state === 'idle') runnable = this.makeReady(lane) || runnable;
    }
    if (runnable) this.settings.host.onRunnable();
  }

  /** The lane's head, reading the next chunk from the store when the cache is dry. */
  private loadHead(lane: Lane): BacklogRecord | undefined {
    if (lane.cache.size === 0 && lane.stored) this.readBack(lane);
    const head = lane.head;
    if (head === undefined) this.retire(lane);
    return head;
  }

  private readBack(lane: Lane): void {
    const room = Math.max(1, Math.min(READ_CHUNK, this.settings.maxCached - this.cached));
    const records = this.store.read(lane.key, lane.cursor, room);
    for (const record of records) {
      lane.cache.push(record);
      lane.cursor = record.seq;
    }
    this.cached += records.length;
    if (records.length < room) this.markCaughtUp(lane);
  }

  private finishHead(record: BacklogRecord): void {
    const lane = this.lane(record.key);
    lane.cache.shift();
    this.cached--;
    this.pendingCount--;
    lane.state = 'idle';
    // Read the next chunk now: a read that filled its room exactly cannot tell it
    // reached the end, and a lane with nothing left must leave the rotation, not hold a turn.
    if (lane.cache.size === 0 && lane.stored) this.readBack(lane);
    if (lane.hasWork) this.makeReady(lane);
    else this.retire(lane);
  }

  private makeReady(lane: Lane): boolean {
    if (lane.state === 'ready' || lane.state === 'running') return false;
    lane.state = 'ready';
    this.ready.push(lane);
    return true;
  }

  private retire(lane: Lane): void {
    lane.state = 'idle';
    if (lane.hasWork) return;
    if (this.mayRevealRecords) this.retiredDuringWrite.push(lane);
    else this.lanes.delete(lane.key);
  }

  /** Whether a write in flight may have made records readable that are not admitted yet. */
  private get mayRevealRecords(): boolean {
    return this.writing || this.requeuing > 0;
  }

  /** After a commit is admitted, lanes that ran dry during it can go (if still dry). */
  private forgetRetired(): void {
    if (this.mayRevealRecords) return;
    for (const lane of this.retiredDuringWrite) {
      if (lane.state === 'idle' && !lane.hasWork && this.lanes.get(lane.key) === lane) {
        this.lanes.delete(lane.key);
      }
    }
    this.retiredDuringWrite = [];
  }

  private lane(key: string): Lane {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = new Lane(key);
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private markStored(lane: Lane): void {
    if (lane.stored) return;
    lane.stored = true;
    if (this.storedLanes++ === 0) this.send({ type: 'SPILLED' });
  }

  private markCaughtUp(lane: Lane): void {
    if (!lane.stored) return;
    lane.stored = false;
    if (--this.storedLanes === 0) this.send({ type: 'CAUGHT_UP' });
  }

  /** Puts the ready lane with the oldest head first: a probe should replay what waited longest. */
  private rotateToOldest(): void {
    let best = 0;
    let bestSeq = Number.POSITIVE_INFINITY;
    let kept = 0;
    const count = this.ready.size;
    for (let i = 0; i < count; i++) {
      const lane = this.ready.shift() as Lane;
      const head = this.loadHead(lane);
      if (head === undefined) continue;
      if (head.seq < bestSeq) {
        bestSeq = head.seq;
        best = kept;
      }
      this.ready.push(lane);
      kept++;
    }
    for (let i = 0; i < best; i++) this.ready.push(this.ready.shift() as Lane);
  }

  private isRetryable(error: Error): boolean {
    try {
      return this.settings.retry.isRetryable(error) !== false;
    } catch {
      // A predicate that throws cannot decide; keeping the task is the safe side.
      return true;
    }
  }

  // --- retry timer -------------------------------------------------------

  private waitForRetry(lane: Lane, at: number, now: number): void {
    lane.state = 'backoff';
    lane.retryAt = at;
    this.backoff.push(lane);
    this.armRetryTimer(now);
  }

  private armRetryTimer(now: number): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const lane of this.backoff) earliest = Math.min(earliest, lane.retryAt);
    if (earliest >= this.retryTimerAt || this.closed) return;
    if (this.retryTimer !== undefined) this.settings.clock.clearTimeout(this.retryTimer);
    this.retryTimerAt = earliest;
    this.retryTimer = this.settings.clock.setTimeout(
      this.onRetryTimer,
      Math.max(0, earliest - now),
    );
  }

  private readonly onRetryTimer = (): void => {
    this.retryTimer = undefined;
    this.retryTimerAt = Number.POSITIVE_INFINITY;
    const now = this.settings.clock.now();
    let runnable = false;
    for (let i = this.backoff.length - 1; i >= 0; i--) {
      const lane = this.backoff[i] as Lane;
      if (lane.retryAt > now) continue;
      this.backoff.splice(i, 1);
      lane.state = 'idle';
      runnable = this.makeReady(lane) || runnable;
    }
    if (this.backoff.length > 0) this.armRetryTimer(now);
    if (runnable) this.settings.host.onRunnable();
  };

  private send(event: Parameters<DurableQueueSettings['actor']['send']>[0]): void {
    if (this.settings.actor.getSnapshot().status === 'active') this.settings.actor.send(event);
  }
}
