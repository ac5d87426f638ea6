import type { BacklogRecord } from '../backlog/types.js';
import { BacklogError } from '../errors/BacklogError.js';
import { BacklogUnavailableError } from '../errors/BacklogUnavailableError.js';
import type { SharedBacklog } from './types.js';

/** Most records in one append: a long outage's backlog goes out in several. */
const MAX_APPEND = 500;

/** What the outbox tells the queue it belongs to. */
export interface OutboxHost {
  /** An append succeeded: the store answers, and these records are claimable now. */
  committed(count: number): void;
  /** An append could not reach the store: its records wait for it to answer again. */
  unreachable(error: BacklogUnavailableError): void;
  /** The store refused these records for good: this is their fate. */
  notKept(records: readonly BacklogRecord[], error: BacklogError): void;
  /** An append ended either way. */
  settled(): void;
}

interface Waiter {
  upTo: number;
  resolve: () => void;
  reject: (error: Error) => void;
  error?: Error;
}

/**
 * Accepted durable tasks on their way into a shared store: one append in
 * flight at a time, the rest waiting behind it in accept order (a group
 * commit). An append the store did not answer goes back in front, to be sent
 * again once it answers; `failAll` ends the wait. `flush` waiters are
 * resolved in order as appends settle.
 */
export class Outbox {
  private waiting: BacklogRecord[] = [];
  private sending: BacklogRecord[] | undefined;
  /** The ordinal of the last accepted record, and of the last whose append settled. */
  private accepted = 0;
  private settledThrough = 0;
  private waiters: Waiter[] = [];
  private scheduled = false;
  /** Set while the store is unreachable: nothing is sent until `resume`. */
  private paused = false;
  /** Set when the worker closes with the store unreachable: what cannot be sent fails with it. */
  private abandoned: BacklogError | undefined;

  constructor(
    private readonly host: OutboxHost,
    private readonly session: () => SharedBacklog | undefined,
  ) {}

  /** Records accepted and not yet appended (the one in flight included). */
  get count(): number {
    return this.waiting.length + (this.sending?.length ?? 0);
  }

  /** Whether an append is in flight. */
  get isSending(): boolean {
    return this.sending !== undefined;
  }

  /** The oldest `enqueuedAt` waiting here. */
  oldestEnqueuedAt(): number | undefined {
    return this.sending?.[0]?.enqueuedAt ?? this.waiting[0]?.enqueuedAt;
  }

  /** Takes a new record, to be sent with the next append. */
  add(record: BacklogRecord): void {
    this.waiting.push(record);
    this.accepted++;
    this.schedule();
  }

  /** Resolves once every record accepted so far has been appended; rejects if one was not kept. */
  flush(): Promise<void> {
    if (this.settledThrough >= this.accepted) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ upTo: this.accepted, resolve, reject });
    });
  }

  /** The store answers again: send what waits. */
  resume(): void {
    this.paused = false;
    this.schedule();
  }

  /**
   * Fails every record waiting (not the append in flight, which settles by
   * itself and is failed then) with `error`, told through the host.
   */
  failAll(error: BacklogError): void {
    if (this.sending !== undefined || this.waiting.length === 0) return;
    const failed = this.waiting;
    this.waiting = [];
    this.settle(failed.length, error);
    this.host.notKept(failed, error);
  }

  /**
   * The worker closes while the store does not answer: what waits fails with
   * `error` now, and an append in flight fails with it too if it is not answered.
   */
  abandon(error: BacklogError): void {
    this.abandoned = error;
    this.failAll(error);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.send();
    });
  }

  private send(): void {
    const session = this.session();
    if (this.paused || this.sending !== undefined || this.waiting.length === 0 || !session) return;
    const batch = this.waiting.splice(0, MAX_APPEND);
    this.sending = batch;
    session.append(batch.map(({ seq: _unassigned, ...fields }) => fields)).then(
      (stored) => {
        // The store's seqs, for what the caller still holds (fates, logs).
        for (let i = 0; i < batch.length; i++) {
          (batch[i] as { seq: number }).seq = (stored[i] as BacklogRecord).seq;
        }
        this.sent(batch.length);
        this.host.committed(batch.length);
        this.host.settled();
        this.send();
      },
      (error: unknown) => this.unsent(batch, error),
    );
  }

  private unsent(batch: BacklogRecord[], error: unknown): void {
    this.sending = undefined;
    if (error instanceof BacklogUnavailableError && this.abandoned === undefined) {
      // Sent again once the store answers: if this one did commit before the line broke,
      // the second copy has the same ids, which is what handlers deduplicate by.
      this.waiting.unshift(...batch);
      this.paused = true;
      this.host.unreachable(error);
    } else {
      const refused =
        this.abandoned ??
        (error instanceof BacklogError ? error : new BacklogError('unknown', String(error)));
      this.settle(batch.length, refused);
      this.host.notKept(batch, refused);
    }
    this.host.settled();
    if (this.abandoned !== undefined) this.failAll(this.abandoned);
    else this.send();
  }

  private sent(count: number): void {
    this.sending = undefined;
    this.settle(count, undefined);
  }

  /** The next `count` records in order have settled, failed with `error` if given. */
  private settle(count: number, error: Error | undefined): void {
    this.settledThrough += count;
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (error !== undefined && waiter.error === undefined) waiter.error = error;
      if (waiter.upTo > this.settledThrough) still.push(waiter);
      else if (waiter.error !== undefined) waiter.reject(waiter.error);
      else waiter.resolve();
    }
    this.waiters = still;
  }
}
