/** What a task's `run` receives. */
export interface TaskContext {
  /**
   * Aborted at the task's deadline (with a `TaskTimeoutError`) or at the
   * shutdown deadline (with a `WorkerShutdownError`). Pass it to `fetch` and
   * the like: order is guaranteed only for tasks that honour it.
   */
  readonly signal: AbortSignal;
  /** The timeout this run is held to, in ms: the tracker's current timeout. */
  readonly timeoutMs: number;
}

/** A unit of work for {@link SyncWorker}: a closure plus the callbacks that tell its fate. */
export interface SyncTask<R = unknown> {
  /** The work. Runs on the worker, never inside `enqueue`; may return a promise. */
  run(context: TaskContext): R | PromiseLike<R>;
  /** A free label for logs and events. Default `"sync"`. */
  name?: string;
  /** Called once with the result when `run` succeeds within its timeout. */
  onSuccess?(result: Awaited<R>): void;
  /**
   * Called once when the task fails for any reason: `run` threw or rejected,
   * timed out, was dropped from a full queue, was refused or failed fast by an
   * open breaker, or met shutdown. Never called together with `onSuccess`.
   */
  onFailure?(error: Error): void;
}

/**
 * One run of a task. The `AbortController` is built only if the task reads
 * `signal`, because most tasks finish in time and a controller per task would
 * cost more than the rest of the worker's bookkeeping.
 */
export class TaskRun implements TaskContext {
  private controller: AbortController | undefined;
  private abortReason: Error | undefined;

  constructor(readonly timeoutMs: number) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  abort(reason: Error): void {
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

/** A thrown value as an Error: non-Errors are wrapped, with the original as `cause`. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  return new Error(`task failed with a non-Error value: ${shown}`, { cause: value });
}

/** Whether `value` can be awaited (has a callable `then`). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Throws a TypeError naming the field when `task` is not a usable {@link SyncTask}. */
export function validateTask(task: unknown): asserts task is SyncTask {
  if (task === null || typeof task !== 'object') {
    throw new TypeError('SyncWorker.enqueue: task must be an object with a run() function');
  }
  const t = task as Record<string, unknown>;
  if (typeof t.run !== 'function') {
    throw new TypeError('SyncWorker.enqueue: task.run must be a function');
  }
  if (t.name !== undefined && typeof t.name !== 'string') {
    throw new TypeError('SyncWorker.enqueue: task.name must be a string');
  }
  if (t.onSuccess !== undefined && typeof t.onSuccess !== 'function') {
    throw new TypeError('SyncWorker.enqueue: task.onSuccess must be a function');
  }
  if (t.onFailure !== undefined && typeof t.onFailure !== 'function') {
    throw new TypeError('SyncWorker.enqueue: task.onFailure must be a function');
  }
}
