import type { TaskRun } from '../task.js';

/**
 * Where the drain loop takes tasks from, one source per kind of task
 * (closures, durable records). The drain loop and the runner never ask which
 * kind a task is: each source runs its own tasks and tells their fates.
 */
export interface TaskSource<T> {
  /** Tasks waiting in memory (the running one not counted). */
  readonly waiting: number;
  /**
   * Whether a task can start now, putting it in front. `probe`: it would be
   * the breaker's half-open probe (a source may choose its oldest task).
   */
  prepare(probe: boolean): boolean;
  /** Takes the task {@link prepare} put in front. */
  take(): T;
  /** Builds the context of one run of `task` under `timeoutMs`; a durable run counts as an attempt. */
  context(task: T, timeoutMs: number): TaskRun;
  /** Calls the task's own code; returns what it returned (a value or a thenable). */
  invoke(task: T, run: TaskRun): unknown;
  /**
   * Whether the breaker hears this run's outcome (`error` undefined: it
   * succeeded). Absent: always. A probe's outcome is always heard.
   */
  reportsOutcome?(task: T, error?: Error): boolean;
  /** The run succeeded within its deadline. */
  succeeded(task: T, result: unknown, durationMs: number): void;
  /**
   * The run failed after `durationMs` (`error`, already reported to the
   * breaker; `remoteDown`: the breaker is open now).
   */
  failed(task: T, error: Error, now: number, remoteDown: boolean, durationMs: number): void;
  /** The run hit its deadline, `durationMs` after it started. */
  timedOut(task: T, error: Error, now: number, remoteDown: boolean, durationMs: number): void;
  /** The run was cut off by the shutdown deadline, with no outcome, `durationMs` after it started. */
  abandoned(task: T, error: Error, durationMs: number): void;
  /** The breaker opened: tasks that cannot be kept fail fast, each with its own error. */
  failWaiting(errorFor: () => Error): void;
  /** The shutdown deadline passed: tasks that cannot be kept fail, each with its own error. */
  abandonWaiting(errorFor: () => Error): void;
}
