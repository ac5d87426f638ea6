import { QueueOverflowError } from '../errors/QueueOverflowError.js';
import { createCheapError } from '../errors/SyncWorkerError.js';
import type { TaskTimeoutError } from '../errors/TaskTimeoutError.js';
import { RingBuffer } from '../RingBuffer.js';
import { type SyncTask, TaskRun } from '../task.js';
import type { Fates } from './fates.js';
import type { TaskSource } from './taskSource.js';

/** Closure tasks: a bounded FIFO that drops its oldest waiting task when full. */
export class ClosureSource implements TaskSource<SyncTask> {
  private readonly queue: RingBuffer<SyncTask>;
  /**
   * The task an idle runner will take next, held apart so that a burst
   * arriving before the drain loop runs never pushes it out: the oldest
   * *waiting* task is dropped instead. Set by {@link push}, cleared by
   * {@link take} and the failing paths.
   */
  private next: SyncTask | undefined;

  constructor(
    private readonly maxQueue: number,
    private readonly fates: Fates,
  ) {
    this.queue = new RingBuffer(Math.min(maxQueue, 16));
  }

  /** Tasks waiting, the one set apart to run next included. */
  get waiting(): number {
    return this.next === undefined ? this.queue.size : this.queue.size + 1;
  }

  /**
   * Queues a task. With `runnerFree`, an empty source sets the task apart as
   * the next to run, so it does not count against `maxQueue`: a burst of
   * `maxQueue + 1` into an idle worker drops nothing.
   */
  push(task: SyncTask, runnerFree: boolean): void {
    if (runnerFree && this.next === undefined && this.queue.size === 0) {
      this.next = task;
      return;
    }
    const victim = this.queue.size >= this.maxQueue ? this.queue.shift() : undefined;
    this.queue.push(task);
    if (victim !== undefined) this.drop(victim);
  }

  /**
   * The task set apart could not start (the breaker's half-open permit is
   * out elsewhere): it waits at the front like the others now, and the
   * bound applies to it.
   */
  enforceBound(): void {
    const next = this.next;
    if (next === undefined) return;
    this.next = undefined;
    if (this.queue.size >= this.maxQueue) this.drop(next);
    else this.queue.unshift(next);
  }

  prepare(): boolean {
    return this.next !== undefined || this.queue.size > 0;
  }

  take(): SyncTask {
    const next = this.next;
    if (next === undefined) return this.queue.shift() as SyncTask;
    this.next = undefined;
    return next;
  }

  context(_task: SyncTask, timeoutMs: number): TaskRun {
    return new TaskRun(timeoutMs);
  }

  invoke(task: SyncTask, run: TaskRun): unknown {
    return task.run(run);
  }

  succeeded(task: SyncTask, result: unknown, durationMs: number): void {
    this.fates.succeeded(task, result, durationMs);
  }

  failed(task: SyncTask, error: Error): void {
    this.fates.failed(task, error);
  }

  timedOut(task: SyncTask, error: Error): void {
    const timeout = error as TaskTimeoutError;
    this.fates.runTimedOut();
    this.fates.timedOut(task, timeout, timeout.timeoutMs);
  }

  abandoned(task: SyncTask, error: Error): void {
    this.fates.failed(task, error);
  }

  failWaiting(errorFor: () => Error): void {
    if (this.waiting === 0) return;
    // Emptied before any callback runs, so a callback that enqueues meets an empty queue.
    const tasks = this.queue.takeAll();
    if (this.next !== undefined) tasks.unshift(this.next);
    this.next = undefined;
    this.fates.failedAll(tasks, errorFor);
  }

  abandonWaiting(errorFor: () => Error): void {
    this.failWaiting(errorFor);
  }

  private drop(task: SyncTask): void {
    const error = createCheapError(
      QueueOverflowError,
      'sync queue overflow: oldest waiting task dropped',
    );
    this.fates.dropped(task, error);
  }
}
