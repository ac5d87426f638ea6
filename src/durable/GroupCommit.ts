import type { BacklogRecord, BacklogStore } from '../backlog/types.js';

/** What a {@link GroupCommit} tells the queue that owns it, in this order for each commit. */
export interface GroupCommitEvents {
  /** A commit of `size` records went to the store. */
  started(size: number): void;
  /** The store kept these records, their payloads' JSON texts in order: durable (and maybe readable already). */
  committed(records: readonly BacklogRecord[], payloadJson: readonly string[]): void;
  /** The store refused these records: none of them is kept. */
  refused(records: readonly BacklogRecord[], cause: unknown): void;
  /** A commit ended either way, and the next one, if any, has started. */
  settled(): void;
}

interface FlushWaiter {
  seq: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * The write-ahead group commit: records accepted while a commit is in flight
 * wait in a batch and go to the store together, in one `append`, when it
 * ends. One commit is in flight at a time, so batches commit in seq order.
 */
export class GroupCommit {
  private batch: BacklogRecord[] = [];
  // The batch's payloads as JSON text, in the same order: the store writes them as they are.
  private batchJson: string[] = [];
  private inFlight: readonly BacklogRecord[] | undefined;
  private scheduled = false;
  private committedSeq: number;
  // The newest seq handed to an accepted record: what flush() waits for.
  private lastAcceptedSeq: number;
  private flushWaiters: FlushWaiter[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: BacklogStore,
    nextSeq: number,
    private readonly events: GroupCommitEvents,
  ) {
    this.committedSeq = nextSeq - 1;
    this.lastAcceptedSeq = nextSeq - 1;
  }

  /** Whether records are waiting for a commit or in one. */
  get isWriting(): boolean {
    return this.inFlight !== undefined || this.batch.length > 0;
  }

  /** Whether a commit is in flight: the store may show its records before it ends. */
  get isCommitting(): boolean {
    return this.inFlight !== undefined;
  }

  /** The oldest seq whose commit has not ended (in flight or waiting), if any. */
  get oldestUnsettledSeq(): number {
    return (this.inFlight ?? this.batch)[0]?.seq ?? Number.POSITIVE_INFINITY;
  }

  /** The oldest record whose commit has not ended, if any. */
  get oldestUnsettled(): BacklogRecord | undefined {
    return (this.inFlight ?? this.batch)[0];
  }

  /** Adds an accepted record, and its payload's JSON text, to the next commit. */
  add(record: BacklogRecord, payloadJson: string): void {
    this.lastAcceptedSeq = record.seq;
    this.batch.push(record);
    this.batchJson.push(payloadJson);
    if (this.inFlight === undefined && !this.scheduled) {
      this.scheduled = true;
      // A microtask from now: records accepted in the same turn share the commit.
      queueMicrotask(this.write);
    }
  }

  /** Resolves once every record added so far is committed; rejects if a commit of them was refused. */
  flush(): Promise<void> {
    // Batches commit in seq order, so once one ending at or after this seq is in, all are.
    const seq = this.lastAcceptedSeq;
    if (seq <= this.committedSeq) return Promise.resolve();
    return new Promise((resolve, reject) => this.flushWaiters.push({ seq, resolve, reject }));
  }

  /**
   * Rejects every flush still waiting: each was asked for after the refused
   * commit's records were accepted (they commit in seq order, so the refused
   * one was the oldest unsettled), so not all that it covers is kept, even
   * if a later commit lands.
   */
  rejectFlushes(error: Error): void {
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  /** Resolves when no record waits for a commit or is in one. */
  whenIdle(): Promise<void> {
    if (!this.isWriting) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly write = (): void => {
    this.scheduled = false;
    if (this.inFlight !== undefined) return;
    if (this.batch.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    const records = this.batch;
    const payloads = this.batchJson;
    this.batch = [];
    this.batchJson = [];
    this.inFlight = records;
    this.events.started(records.length);
    let write: Promise<void>;
    try {
      write = this.store.append(records, payloads);
    } catch (error) {
      write = Promise.reject(error);
    }
    write.then(
      () => this.settle(records, payloads, undefined, true),
      (error: unknown) => this.settle(records, payloads, error, false),
    );
  };

  private settle(
    records: readonly BacklogRecord[],
    payloads: readonly string[],
    cause: unknown,
    kept: boolean,
  ): void {
    this.inFlight = undefined;
    this.committedSeq = (records[records.length - 1] as BacklogRecord).seq;
    if (kept) {
      this.events.committed(records, payloads);
      this.resolveFlushes();
    } else {
      this.events.refused(records, cause);
    }
    this.write();
    this.events.settled();
  }

  private resolveFlushes(): void {
    const due = this.flushWaiters.filter((w) => w.seq <= this.committedSeq);
    if (due.length === 0) return;
    this.flushWaiters = this.flushWaiters.filter((w) => w.seq > this.committedSeq);
    for (const waiter of due) waiter.resolve();
  }
}
