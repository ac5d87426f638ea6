import type { JsonValue } from '../backlog/json.js';
import type { BacklogRecord, DeadLetter } from '../backlog/types.js';
import type { DurableQueue } from '../durable/DurableQueue.js';
import { backoffMs, type RetryPolicy } from '../durable/retry.js';
import { NonRetryableError } from '../errors/NonRetryableError.js';
import { createCheapError } from '../errors/SyncWorkerError.js';
import { WorkerShutdownError } from '../errors/WorkerShutdownError.js';
import { type DurableHandler, DurableRun, type DurableTaskInput, type TaskRun } from '../task.js';
import type { Fates } from './fates.js';
import type { TaskSource } from './taskSource.js';

/** The key of durable tasks enqueued without one. */
export const DEFAULT_KEY = 'default';

/**
 * Durable tasks: the one owner of their records. It creates each record from
 * what `enqueue` accepted, counts its attempts, runs its handler, and decides
 * after each failed run whether it runs again or goes to the dead letters;
 * the {@link DurableQueue} under it keeps them per key, in the store.
 */
export class DurableSource implements TaskSource<BacklogRecord> {
  constructor(
    readonly queue: DurableQueue,
    readonly handlers: Readonly<Record<string, DurableHandler>>,
    private readonly fates: Fates,
    private readonly retry: RetryPolicy,
    private readonly wallClock: () => number = Date.now,
  ) {}

  get waiting(): number {
    return this.queue.inMemory;
  }

  /** The record kept for a validated task, with a copy of its payload. */
  private record(task: DurableTaskInput): Omit<BacklogRecord, 'seq'> {
    return {
      id: task.id ?? globalThis.crypto.randomUUID(),
      key: task.key ?? DEFAULT_KEY,
      handler: task.handler,
      // A copy, so what is written is what was accepted even if the caller reuses the object.
      // For validated plain JSON a JSON round trip is exact, and faster than structuredClone.
      payload: JSON.parse(JSON.stringify(task.payload)) as JsonValue,
      attempts: 0,
      enqueuedAt: this.wallClock(),
    };
  }

  /**
   * Keeps a validated task, to be written with the next group commit; or
   * refuses it (its fate, and `false`) when the worker no longer `accepting`
   * or the store just refused a commit.
   */
  accept(task: DurableTaskInput, accepting: boolean): boolean {
    const refusal = accepting
      ? this.queue.refusal()
      : createCheapError(WorkerShutdownError, 'sync worker is shutting down');
    if (refusal !== undefined)
      return this.fates.refused({ seq: -1, ...this.record(task) }, refusal);
    this.queue.accept(this.record(task));
    return true;
  }

  prepare(probe: boolean): boolean {
    while (this.queue.prepare(probe)) {
      const head = this.queue.peek() as BacklogRecord;
      if (this.handlers[head.handler] !== undefined) return true;
      // Kept by an earlier version whose handler is gone: it cannot be delivered, and
      // the remote is healthy, so it goes to the dead letters without a run or a breaker report.
      const record = this.queue.take();
      const error = new NonRetryableError(`no handler is registered as "${record.handler}"`);
      this.fates.buried(this.queue.bury(record, error), error);
    }
    return false;
  }

  take(): BacklogRecord {
    return this.queue.take();
  }

  context(record: BacklogRecord, timeoutMs: number): TaskRun {
    record.attempts++;
    return new DurableRun(timeoutMs, record);
  }

  invoke(record: BacklogRecord, run: TaskRun): unknown {
    const handler = this.handlers[record.handler] as DurableHandler;
    return handler(record.payload, run as DurableRun);
  }

  succeeded(record: BacklogRecord, result: unknown, durationMs: number): void {
    this.queue.succeeded(record);
    this.fates.succeeded(record, result, durationMs);
  }

  /**
   * Runs the task again after a backoff, or buries it when the error or its
   * attempts say so. A failure that left the breaker open (`remoteDown`) is
   * the remote's, so it does not use up the task's attempts: a long outage
   * must not bury the tasks that probe it, or their keys would lose order.
   */
  failed(record: BacklogRecord, error: Error, now: number, remoteDown: boolean): void {
    const policy = this.retry;
    record.lastError = error.message;
    if (remoteDown) record.remoteFailures = (record.remoteFailures ?? 0) + 1;
    const counted = record.attempts - (record.remoteFailures ?? 0);
    if (counted < policy.maxAttempts && this.isRetryable(error)) {
      const delayMs = backoffMs(policy, record.attempts);
      this.queue.retryAt(record, now + delayMs, now);
      this.fates.retried(record, error, record.attempts, delayMs);
      return;
    }
    this.fates.buried(this.queue.bury(record, error), error);
  }

  /** A timeout is retryable: the remote may simply have been slow this once. */
  timedOut(record: BacklogRecord, error: Error, now: number, remoteDown: boolean): void {
    this.fates.runTimedOut();
    this.failed(record, error, now, remoteDown);
  }

  /** Cut off by shutdown: the task stays first in its key for the next start. */
  abandoned(record: BacklogRecord): void {
    this.queue.release(record);
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
