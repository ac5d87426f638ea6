import type { JsonValue } from '../backlog/json.js';
import type { BacklogRecord, DeadLetter } from '../backlog/types.js';
import { randomId } from '../durable/randomId.js';
import { backoffMs, type RetryPolicy } from '../durable/retry.js';
import { NonRetryableError } from '../errors/NonRetryableError.js';
import { DurableBatchRun, DurableRun, type DurableTaskInput, type TaskRun } from '../task.js';
import type { DurableTasks } from './durableTasks.js';
import type { Fates } from './fates.js';
import type { RegisteredHandler } from './handlerOptions.js';
import { shuttingDown } from './refusals.js';
import type { TaskSource } from './taskSource.js';

/** The key of durable tasks enqueued without one. */
export const DEFAULT_KEY = 'default';

/**
 * Consecutive tasks of one key and handler, run in one call of a batch
 * handler. `split`: taken while the key splits a batch that failed for its
 * data, so only what says something about the remote reaches the breaker.
 */
export class RecordBatch {
  constructor(
    readonly records: BacklogRecord[],
    readonly split: boolean,
  ) {}

  /** The handler's name, for trace events. */
  get handler(): string {
    return (this.records[0] as BacklogRecord).handler;
  }
}

/** Claims of a shared store's record that ended by lease expiry (0 for other stores). */
function lostLeasesOf(record: BacklogRecord): number {
  return (record as { lostLeases?: number }).lostLeases ?? 0;
}

/** What the durable source runs: one record, or a batch for a batch handler. */
export type DurableWork = BacklogRecord | RecordBatch;

/**
 * Durable tasks: the one owner of their records. It creates each record from
 * what `enqueue` accepted, counts its attempts, runs its handler, and decides
 * after each failed run whether it runs again or goes to the dead letters;
 * the queue under it (`DurableQueue`, or `SharedQueue` for a fleet's store)
 * keeps them per key, in the store.
 */
export class DurableSource implements TaskSource<DurableWork> {
  constructor(
    readonly queue: DurableTasks,
    readonly handlers: Readonly<Record<string, RegisteredHandler>>,
    private readonly fates: Fates,
    private readonly retry: RetryPolicy,
    private readonly wallClock: () => number = Date.now,
  ) {}

  get waiting(): number {
    return this.queue.inMemory;
  }

  /** How long ago (wall-clock ms) the oldest pending task was enqueued, or `undefined` with none. O(keys with a lane) (see `Lanes.oldestEnqueuedAt`). */
  oldestAgeMs(): number | undefined {
    const at = this.queue.lanes.oldestEnqueuedAt();
    return at === undefined ? undefined : Math.max(0, this.wallClock() - at);
  }

  /**
   * The record kept for a validated task. It holds the caller's payload
   * until its commit; the store writes `payloadJson` (the text validation
   * made), and a record kept in memory to run gets a copy parsed from it, so
   * what runs is what was accepted even if the caller reuses the object.
   */
  private record(task: DurableTaskInput): BacklogRecord {
    return {
      // The queue gives it its seq when it keeps it; a refused task never has one.
      seq: -1,
      id: task.id ?? randomId(),
      key: task.key ?? DEFAULT_KEY,
      handler: task.handler,
      payload: task.payload as JsonValue,
      attempts: 0,
      enqueuedAt: this.wallClock(),
    };
  }

  /**
   * Keeps a validated task, to be written with the next group commit (its
   * payload as `payloadJson`, unchanged); or refuses it (its fate, and
   * `false`) when the worker no longer `accepting` or the store just refused
   * a commit.
   */
  accept(task: DurableTaskInput, payloadJson: string, accepting: boolean): boolean {
    const refusal = accepting ? this.queue.refusal() : shuttingDown();
    if (refusal !== undefined) return this.fates.refused(this.record(task), refusal);
    this.queue.accept(this.record(task), payloadJson);
    return true;
  }

  prepare(probe: boolean): boolean {
    while (this.queue.prepare(probe)) {
      const head = this.queue.peek() as BacklogRecord;
      const lost = lostLeasesOf(head);
      if (lost >= this.retry.maxLostLeases) {
        // Its runs keep ending with their worker gone: running it again would likely kill another.
        const record = this.queue.take();
        const error = new NonRetryableError(
          `its lease was lost ${lost} times with no outcome reported (retry.maxLostLeases ${this.retry.maxLostLeases}): its runs may be killing their worker`,
        );
        this.fates.buried(this.queue.bury(record, error), error);
        continue;
      }
      if (this.handlers[head.handler] !== undefined) return true;
      // Kept by an earlier version whose handler is gone: it cannot be delivered, and
      // the remote is healthy, so it goes to the dead letters without a run or a breaker report.
      const record = this.queue.take();
      const error = new NonRetryableError(`no handler is registered as "${record.handler}"`);
      this.fates.buried(this.queue.bury(record, error), error);
    }
    return false;
  }

  take(): DurableWork {
    const head = this.queue.peek() as BacklogRecord;
    const batchSize = (this.handlers[head.handler] as RegisteredHandler).batchSize;
    if (batchSize === undefined) return this.queue.take();
    const splitting = this.queue.isSplitting(head.key);
    return new RecordBatch(this.queue.takeBatch(batchSize), splitting);
  }

  context(work: DurableWork, timeoutMs: number): TaskRun {
    if (!(work instanceof RecordBatch)) {
      work.attempts++;
      return new DurableRun(timeoutMs, work);
    }
    for (const record of work.records) record.attempts++;
    return new DurableBatchRun(timeoutMs, work.records);
  }

  invoke(work: DurableWork, run: TaskRun): unknown {
    if (!(work instanceof RecordBatch)) {
      const handler = this.handlers[work.handler] as RegisteredHandler & { batchSize: undefined };
      return handler.run(work.payload, run as DurableRun);
    }
    const handler = this.handlers[work.handler] as RegisteredHandler & { batchSize: number };
    return handler.run(
      work.records.map((record) => record.payload),
      run as DurableBatchRun,
    );
  }

  /**
   * Whether the breaker hears this outcome. A batch being split reports only
   * failures that are the remote's (retryable ones): its successes and its
   * data's failures were told once already, by the batch that failed.
   */
  reportsOutcome(work: DurableWork, error?: Error): boolean {
    if (!(work instanceof RecordBatch) || !work.split) return true;
    return error !== undefined && this.isRetryable(error);
  }

  succeeded(work: DurableWork, result: unknown, durationMs: number): void {
    if (!(work instanceof RecordBatch)) {
      this.queue.succeeded(work);
      this.fates.succeeded(work, result, durationMs);
      return;
    }
    this.queue.succeeded(work.records);
    for (const record of work.records) this.fates.succeeded(record, result, durationMs);
  }

  /**
   * Runs the task again after a backoff, or buries it when the error or its
   * attempts say so. A failure that left the breaker open (`remoteDown`) is
   * the remote's, so it does not use up the task's attempts: a long outage
   * must not bury the tasks that probe it, or their keys would lose order.
   */
  failed(
    work: DurableWork,
    error: Error,
    now: number,
    remoteDown: boolean,
    durationMs: number,
  ): void {
    const records = work instanceof RecordBatch ? work.records : [work];
    const head = records[0] as BacklogRecord;
    for (const record of records) {
      record.lastError = error.message;
      if (remoteDown) record.remoteFailures = (record.remoteFailures ?? 0) + 1;
    }
    const counted = head.attempts - (head.remoteFailures ?? 0);
    const retryable = this.isRetryable(error);
    if (counted < this.retry.maxAttempts && retryable) {
      const delayMs = backoffMs(this.retry, head.attempts);
      this.queue.retryAt(records, now + delayMs, now);
      for (const record of records) this.fates.retried(record, error, record.attempts, delayMs);
      return;
    }
    if (records.length === 1) {
      this.fates.buried(this.queue.bury(head, error), error, durationMs);
      return;
    }
    // One of several failed for good, or the batch ran out of attempts: run it again
    // in halves at once, until the task at fault is alone and goes to the dead letters.
    this.queue.split(records);
    for (const record of records) this.fates.retried(record, error, record.attempts, 0);
  }

  /** A timeout is retryable: the remote may simply have been slow this once. */
  timedOut(
    work: DurableWork,
    error: Error,
    now: number,
    remoteDown: boolean,
    durationMs: number,
  ): void {
    this.fates.runTimedOut();
    this.failed(work, error, now, remoteDown, durationMs);
  }

  /** Cut off by shutdown: the task stays first in its key for the next start. */
  abandoned(work: DurableWork): void {
    this.queue.release(work instanceof RecordBatch ? (work.records[0] as BacklogRecord) : work);
  }

  /** Durable tasks are kept through an outage, not failed. */
  failWaiting(): void {}

  /** Durable tasks are kept through a shutdown. */
  abandonWaiting(): void {}

  /** A stored record could not be read: the store buried it; it is told like any dead letter. */
  corrupt(letter: DeadLetter, error: Error): void {
    this.queue.forgetCorrupt();
    this.fates.buried(letter, error);
  }

  private isRetryable(error: Error): boolean {
    try {
      return this.retry.isRetryable(error) !== false;
    } catch {
      // A predicate that throws cannot decide; keeping the task is the safe side.
      return true;
    }
  }
}
