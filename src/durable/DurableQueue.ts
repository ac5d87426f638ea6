import type { ActorRefFrom } from 'xstate';
import type { backlogMachine } from '../../machines/projections/backlog.machine.js';
import type { BacklogRecord, BacklogStore, DeadLetter } from '../backlog/types.js';
import type { Clock } from '../clock.js';
import type { BacklogFullError } from '../errors/BacklogFullError.js';
import { FullBackoff } from './FullBackoff.js';
import { GroupCommit } from './GroupCommit.js';
import { Lanes } from './Lanes.js';
import { RetryTimer } from './RetryTimer.js';

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
  pending: number; // kept by an earlier life (`BacklogOpened.pending`)
  /** Most records held in memory; the rest stay in the store until their key reaches them. */
  maxCached: number;
  clock: Clock;
  actor: ActorRefFrom<typeof backlogMachine>;
  host: DurableQueueHost;
}

/**
 * The durable tasks of one worker: a write-ahead group commit into the store,
 * and per-key lanes that deliver each key in order, round robin across keys.
 * Memory holds at most `maxCached` records; the store holds them all.
 */
export class DurableQueue {
  private readonly store: BacklogStore;
  /** The per-key lanes; also read for the age of the oldest pending task (`lanes.oldestEnqueuedAt()`). */
  readonly lanes: Lanes;
  private readonly commits: GroupCommit;
  private readonly retries: RetryTimer;
  private seq: number;
  private pendingCount: number;

  // Dead-letter requeues in flight, each by the first seq it may hand out:
  // like a commit, a requeue's records may be readable before it ends.
  private requeueFloors: number[] = [];
  // After a failed commit, new tasks are refused for a while, or until a delivery frees space.
  private readonly full: FullBackoff;
  private closed = false;

  constructor(private readonly settings: DurableQueueSettings) {
    this.store = settings.store;
    this.seq = settings.nextSeq;
    this.pendingCount = settings.pending;
    this.full = new FullBackoff(settings.clock);
    this.lanes = new Lanes({
      store: settings.store,
      maxCached: settings.maxCached,
      readableThrough: () => this.readableThrough(),
      writesInFlight: () => this.commits.isCommitting || this.requeueFloors.length > 0,
      oldestWriting: () => this.commits.oldestUnsettled,
      onSpill: (spilled) => this.send({ type: spilled ? 'SPILLED' : 'CAUGHT_UP' }),
      restoredBelow: settings.nextSeq,
      restoredPending: settings.pending,
    });
    this.commits = new GroupCommit(settings.store, settings.nextSeq, {
      started: (size) => this.send({ type: 'BATCH_STARTED', size }),
      committed: (records, payloads) => this.committed(records, payloads),
      refused: (records, cause) => this.notKept(records, cause),
      settled: () => settings.host.onWriteSettled(),
    });
    this.retries = new RetryTimer(settings.clock, (due) => {
      let runnable = false;
      for (const lane of due) runnable = this.lanes.makeReady(lane) || runnable;
      if (runnable) settings.host.onRunnable();
    });
  }

  /** Accepted and neither delivered nor dead: in memory, in the store, or being written. */
  get pending(): number {
    return this.pendingCount;
  }

  /** Of `pending`, the records held in memory, waiting to run; the rest wait only in the store. */
  get inMemory(): number {
    return this.lanes.cached;
  }

  /** Whether some key can deliver now. */
  get hasReady(): boolean {
    return this.lanes.hasReady;
  }

  /** Whether some key waits out a retry backoff. */
  get hasBackoff(): boolean {
    return this.retries.size > 0;
  }

  /** Whether a group commit is in flight (the backlog machine's `persisting`). */
  get isPersisting(): boolean {
    return this.commits.isCommitting;
  }

  /** Whether some pending tasks are kept only in the store (the backlog machine's `replaying`). */
  get isReplaying(): boolean {
    return this.lanes.isReplaying;
  }

  /** Whether accepted tasks are still being written (they become runnable when committed). */
  get isWriting(): boolean {
    return this.commits.isWriting;
  }

  /**
   * Why a new task cannot be kept now: the store refused a commit within the
   * last {@link FULL_BACKOFF_MS} and no delivery has freed space since.
   */
  refusal(): BacklogFullError | undefined {
    return this.full.refusal();
  }

  /**
   * Keeps a new task, the caller's new record given its seq here: it is
   * written with the next group commit, with `payloadJson` (its payload's
   * text) as is, and runs once durable, from a copy parsed from that text.
   */
  accept(record: BacklogRecord, payloadJson: string): BacklogRecord {
    (record as { seq: number }).seq = this.seq++;
    this.pendingCount++;
    this.commits.add(record, payloadJson);
    return record;
  }

  /** Resolves once every task accepted so far is durable; rejects if one of them could not be kept. */
  flush(): Promise<void> {
    return this.commits.flush();
  }

  /**
   * Whether a task can run now, putting the key that goes next in front: with
   * `oldest` (the breaker's probe) the key whose head waited longest,
   * otherwise the next key in round-robin order. Keys found empty on reading
   * back are dropped here, so {@link take} cannot come up empty after it.
   */
  prepare(oldest: boolean): boolean {
    return this.lanes.prepare(oldest);
  }

  /** The task {@link prepare} put in front, left in place. */
  peek(): BacklogRecord | undefined {
    return this.lanes.peek();
  }

  /** Takes the task {@link prepare} put in front, and marks its key as running. */
  take(): BacklogRecord {
    return this.lanes.take();
  }

  /** Whether `key` is splitting a batch that failed for its data. */
  isSplitting(key: string): boolean {
    return this.lanes.lane(key).segments !== undefined;
  }

  /** Takes a batch from the key {@link prepare} put in front (see `Lanes.takeBatch`). */
  takeBatch(maxSize: number): BacklogRecord[] {
    return this.lanes.takeBatch(maxSize);
  }

  /** The running task or batch was delivered: forget it and move its key to the back of the rotation. */
  succeeded(records: BacklogRecord | readonly BacklogRecord[]): void {
    // One record is the common case: no list is made for it.
    const batch = Array.isArray(records) ? (records as readonly BacklogRecord[]) : undefined;
    const head = batch === undefined ? (records as BacklogRecord) : (batch[0] as BacklogRecord);
    if (batch === undefined) this.store.remove(head);
    else for (const record of batch) this.store.remove(record);
    const count = batch?.length ?? 1;
    this.full.spaceFreed();
    this.pendingCount -= count;
    this.lanes.finishHead(head, count);
  }

  /**
   * The running task (or batch, from its key's head) failed and runs again
   * at `at` (on the queue's clock): it keeps its place, first in its key, and
   * the store keeps the new attempt counts.
   */
  retryAt(records: readonly BacklogRecord[], at: number, now: number): void {
    for (const record of records) this.store.update(record);
    this.retries.wait(this.lanes.lane((records[0] as BacklogRecord).key), at, now);
  }

  /**
   * The running batch failed for its data: the store keeps the new attempt
   * counts, and the key runs it again at once as two halves, in order.
   */
  split(records: readonly BacklogRecord[]): void {
    for (const record of records) this.store.update(record);
    const key = (records[0] as BacklogRecord).key;
    this.lanes.lane(key).split(records.length);
    this.lanes.again(key);
  }

  /** Moves the running task to the dead letters, whatever the retry policy says. */
  bury(record: BacklogRecord, error: Error): DeadLetter {
    const letter: DeadLetter = { ...record, deadAt: Date.now(), reason: error.message };
    this.store.bury(letter);
    this.pendingCount--;
    this.lanes.finishHead(record);
    return letter;
  }

  /** The running task was stopped without an outcome (shutdown): it stays first in its key. */
  release(record: BacklogRecord): void {
    this.lanes.makeReady(this.lanes.lane(record.key));
  }

  /** A record the store could not read was buried by the store: count it as dead. */
  forgetCorrupt(): void {
    this.pendingCount--;
  }

  /** Moves every dead letter back to the end of its key with fresh attempts; returns how many. */
  async requeueDead(): Promise<number> {
    // Every seq the store hands out for this requeue is at least this one.
    const floor = this.seq;
    this.requeueFloors.push(floor);
    let revived: BacklogRecord[];
    try {
      revived = await this.store.requeueDead(() => this.seq++);
    } catch (error) {
      this.requeueEnded(floor, []);
      throw error;
    }
    this.pendingCount += revived.length;
    this.requeueEnded(floor, revived);
    return revived.length;
  }

  /** Stops the retry timer, waits for writes in flight, and releases the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.retries.stop();
    await this.commits.whenIdle();
    try {
      await this.store.close();
    } finally {
      this.send({ type: 'CLOSE' });
    }
  }

  // --- commits and requeues ending ----------------------------------------

  private committed(records: readonly BacklogRecord[], payloads: readonly string[]): void {
    this.send({ type: 'BATCH_COMMITTED' });
    this.ended(records, payloads);
  }

  private notKept(records: readonly BacklogRecord[], cause: unknown): void {
    this.send({ type: 'BATCH_FAILED' });
    this.pendingCount -= records.length;
    const error = this.full.refused(this.store.location, records.length, cause);
    this.ended([]);
    this.commits.rejectFlushes(error);
    this.settings.host.onNotKept(records, error);
  }

  private requeueEnded(floor: number, revived: readonly BacklogRecord[]): void {
    this.requeueFloors.splice(this.requeueFloors.indexOf(floor), 1);
    this.ended(revived);
  }

  /** A commit or requeue ended: admit what it kept, and look again where reading back waited for it. */
  private ended(kept: readonly BacklogRecord[], payloads?: readonly string[]): void {
    const admitted = this.lanes.admit(kept, payloads);
    const unparked = this.lanes.unpark();
    this.lanes.forgetRetired();
    if (admitted || unparked) this.settings.host.onRunnable();
  }

  /**
   * The newest seq a read-back may take: below every commit and requeue that
   * has not ended. Their records may be readable already (lmdb shows a commit
   * before its promise resolves), and they are admitted when it ends; taking
   * them earlier would deliver them twice. And a read must not pass a gap: a
   * lane's cursor that went past a seq still being written would never read
   * it back, and its task, durable once its flush() resolved, would be lost
   * for this life.
   */
  private readableThrough(): number {
    return Math.min(this.commits.oldestUnsettledSeq, ...this.requeueFloors) - 1;
  }

  private send(event: Parameters<DurableQueueSettings['actor']['send']>[0]): void {
    if (this.settings.actor.getSnapshot().status === 'active') this.settings.actor.send(event);
  }
}
