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

  constructor(
    private readonly maxQueue: number,
    private readonly fates: Fates,
  ) {
    this.queue = new RingBuffer(Math.min(maxQueue, 16));
  }

  get waiting(): number {
    return this.queue.size;
  }

  /**
   * Queues a task. `room` extra places are free because the drain loop will
   * take that many tasks to run before any can wait (an idle worker's first
   * task), so a burst of `maxQueue + room` drops nothing.
   */
  push(task: SyncTask, room: number): void {
    const victim = this.queue.size >= this.maxQueue + room ? this.queue.shift() : undefined;
    this.queue.push(task);
    if (victim !== undefined) this.drop(victim);
  }

  /** The task taken to run could not start after all (the breaker's permit was out): the bound applies again. */
  enforceBound(): void {
    while (this.queue.size > this.maxQueue) this.drop(this.queue.shift() as SyncTask);
  }

  private drop(task: SyncTask): void {
    const error = createCheapError(
      QueueOverflowError,
      'sync queue overflow: oldest waiting task dropped',
    );
    this.fates.dropped(task, error);
  }

  prepare(): boolean {
    return this.queue.size > 0;
  }

  take(): SyncTask {
    return this.queue.shift() as SyncTask;
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
    // Emptied before any callback runs, so a callback that enqueues meets an empty queue.
    if (this.queue.size > 0) this.fates.failedAll(this.queue.takeAll(), errorFor);
  }

  abandonWaiting(errorFor: () => Error): void {
    this.failWaiting(errorFor);
  }
}
