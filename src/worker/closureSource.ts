import { QueueOverflowError } from '../errors/QueueOverflowError.js';
import { cheapErrors } from '../errors/SyncWorkerError.js';
import type { TaskTimeoutError } from '../errors/TaskTimeoutError.js';
import { type SyncTask, TaskRun } from '../task.js';
import { type ClosureLane, ClosureLanes } from './closureLanes.js';
import type { Fates } from './fates.js';
import type { TaskSource } from './taskSource.js';

/**
 * One run of a closure task: its context, with the task and the lane it
 * holds while it runs. A plain `TaskRun`, not a subclass: one is built per
 * task, and a subclass costs several times more to construct.
 */
export type ClosureRun = TaskRun & { readonly task: SyncTask; readonly lane: ClosureLane };

const newOverflowError = cheapErrors(QueueOverflowError);

const closureRun = (task: SyncTask, lane: ClosureLane) => new TaskRun(0, task, lane) as ClosureRun;

/**
 * Closure tasks: per-key FIFO lanes (see {@link ClosureLanes}), bounded in
 * total by `maxQueue`, dropping the oldest waiting task when full.
 */
export class ClosureSource implements TaskSource<ClosureRun> {
  private readonly lanes = new ClosureLanes();
  /**
   * The task an idle runner will take next, held apart so that a burst
   * arriving before the drain loop runs never pushes it out: the oldest
   * *waiting* task is dropped instead. Set by {@link push}, cleared by
   * {@link take} and the failing paths; `nextLane` is its key's lane, which
   * counts as running from then on: the task set apart is its key's turn, so
   * the key's later tasks take no place in the rotation before it has run.
   */
  private next: SyncTask | undefined;
  private nextLane: ClosureLane | undefined;

  constructor(
    /** Most tasks that may wait (the `maxQueue` option). */
    readonly maxQueue: number,
    private readonly fates: Fates,
  ) {}

  /** Tasks waiting, the one set apart to run next included. */
  get waiting(): number {
    return this.next === undefined ? this.lanes.queued : this.lanes.queued + 1;
  }

  /**
   * Queues a task while nothing runs. With `runnerFree`, an empty source sets
   * the task apart as the next to run, so it does not count against
   * `maxQueue`: a burst of `maxQueue + 1` into an idle worker drops nothing.
   */
  push(task: SyncTask, runnerFree: boolean): void {
    const lanes = this.lanes;
    if (runnerFree && this.next === undefined && lanes.queued === 0) {
      const lane = lanes.laneFor(task);
      this.next = task;
      this.nextLane = lane;
      lanes.occupy(lane);
      return;
    }
    this.queue(task);
  }

  /** Queues a task at the back of its key's lane; when full, the oldest waiting task is dropped. */
  queue(task: SyncTask): void {
    const lanes = this.lanes;
    const victim = lanes.queued >= this.maxQueue ? lanes.dropOldest() : undefined;
    lanes.push(task);
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
    const lane = this.nextLane as ClosureLane;
    this.next = undefined;
    this.nextLane = undefined;
    if (this.lanes.queued >= this.maxQueue) {
      this.lanes.finished(lane); // not running after all
      this.drop(next);
    } else this.lanes.pushFront(next, lane);
  }

  /** Whether a task of a key with nothing in flight waits (the one set apart goes first). */
  prepare(): boolean {
    return this.next !== undefined || this.lanes.hasStartable();
  }

  take(): ClosureRun {
    const next = this.next;
    if (next !== undefined) {
      const lane = this.nextLane as ClosureLane;
      this.next = undefined;
      this.nextLane = undefined;
      return closureRun(next, lane);
    }
    const lane = this.lanes.front();
    return closureRun(this.lanes.take(lane), lane);
  }

  context(run: ClosureRun, timeoutMs: number): TaskRun {
    run.timeoutMs = timeoutMs;
    return run;
  }

  invoke(run: ClosureRun): unknown {
    return run.task.run(run);
  }

  succeeded(run: ClosureRun, result: unknown, durationMs: number): void {
    this.lanes.finished(run.lane);
    this.fates.succeeded(run.task, result, durationMs);
  }

  failed(run: ClosureRun, error: Error, _now: number, _down: boolean, durationMs: number): void {
    this.lanes.finished(run.lane);
    this.fates.failed(run.task, error, durationMs);
  }

  timedOut(run: ClosureRun, error: Error, _now: number, _down: boolean, durationMs: number): void {
    this.lanes.finished(run.lane);
    const timeout = error as TaskTimeoutError;
    this.fates.runTimedOut();
    this.fates.timedOut(run.task, timeout, timeout.timeoutMs, durationMs);
  }

  abandoned(run: ClosureRun, error: Error, durationMs: number): void {
    this.lanes.finished(run.lane);
    this.fates.failed(run.task, error, durationMs);
  }

  failWaiting(errorFor: () => Error): void {
    if (this.waiting === 0) return;
    // Emptied before any callback runs, so a callback that enqueues meets an empty queue.
    const next = this.next;
    if (next !== undefined) this.lanes.finished(this.nextLane as ClosureLane);
    this.next = undefined;
    this.nextLane = undefined;
    const tasks = this.lanes.takeAll();
    if (next !== undefined) tasks.unshift(next);
    this.fates.failedAll(tasks, errorFor);
  }

  abandonWaiting(errorFor: () => Error): void {
    this.failWaiting(errorFor);
  }

  private drop(task: SyncTask): void {
    this.fates.dropped(task, newOverflowError('sync queue overflow: oldest waiting task dropped'));
  }
}
