import type { JsonValue } from './backlog/json.js';
import type { BacklogRecord } from './backlog/types.js';

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
  /**
   * The ordering scope: tasks with one key run one at a time, in enqueue
   * order; tasks of different keys may run side by side up to the worker's
   * `concurrency`. Read once, at `enqueue`. Default: one shared key, so tasks
   * without keys run one at a time whatever `concurrency` says.
   */
  key?: string;
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

  /**
   * @param timeoutMs set once, when the run starts, before the task's code sees it.
   * @param task the closure task this is a run of (the worker's own bookkeeping).
   * @param lane where that task's key stands while it runs (the worker's own bookkeeping).
   */
  constructor(
    public timeoutMs: number,
    readonly task?: SyncTask,
    readonly lane?: object,
  ) {}

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

/**
 * A durable task as submitted: data that survives restarts, delivered by the
 * handler registered under `handler`. Delivery is at least once.
 */
export interface DurableTaskInput<P = JsonValue, N extends string = string> {
  /** The name of a handler given to the worker's `handlers` option. */
  handler: N;
  /** Plain JSON data for the handler (checked at `enqueue`, in time proportional to its size). */
  payload: P;
  /** The ordering scope: tasks with one key are delivered in enqueue order. Default: one shared key. */
  key?: string;
  /** A unique id, kept across retries, for the handler to deduplicate by. Default: a random UUID. */
  id?: string;
}

/** A durable task as the worker holds it and reports it in events: the stored record. */
export type DurableTask = Readonly<BacklogRecord>;

/** What a durable task's handler receives besides its payload. */
export interface DurableContext extends TaskContext {
  /** This run's number: 1 on the first try. */
  readonly attempt: number;
  /** The task's id; deduplicate by it, since a crash mid-delivery means it is delivered again. */
  readonly id: string;
  /** The task's ordering key. */
  readonly key: string;
}

/** Delivers durable tasks' payloads. Throw a `NonRetryableError` when a retry cannot help. */
// biome-ignore lint/suspicious/noExplicitAny: each handler declares the payload type it accepts.
export type DurableHandler<P = any> = (payload: P, context: DurableContext) => unknown;

/** How a batch handler takes its tasks. */
export interface BatchOptions {
  /**
   * Most tasks in one call: consecutive waiting tasks of one key and this
   * handler, in order. A batch never waits to fill; it takes what waits when
   * its key's turn comes. An integer from 1 to 10 000.
   */
  maxSize: number;
}

/** What a batch handler receives besides its payloads: one entry per task, in the payloads' order. */
export interface DurableBatchContext extends TaskContext {
  /** The tasks' ids; deduplicate by them, since a crash mid-delivery means they are delivered again. */
  readonly ids: readonly string[];
  /** Each task's run number: 1 on its first try. */
  readonly attempts: readonly number[];
  /** The tasks' ordering key (one batch holds one key). */
  readonly key: string;
}

/**
 * A handler that delivers several durable tasks in one call. The call is
 * one outcome: it succeeds or fails for all its tasks. Throw a
 * `NonRetryableError` when the data is at fault; the worker then splits the
 * batch to find the bad task and delivers the others.
 */
// biome-ignore lint/suspicious/noExplicitAny: each handler declares the payload type it accepts.
export interface BatchHandler<P = any> {
  batch: BatchOptions;
  run(payloads: P[], context: DurableBatchContext): unknown;
}

/** A registered handler: a function of one payload, `{ run }` with one, or a batch handler. */
// biome-ignore lint/suspicious/noExplicitAny: each handler declares the payload type it accepts.
export type DurableHandlerEntry<P = any> =
  | DurableHandler<P>
  | { run: DurableHandler<P>; batch?: undefined }
  | BatchHandler<P>;

/** The `handlers` option: handlers of durable tasks, by name. */
export type DurableHandlers = Record<string, DurableHandlerEntry>;

/** The payload type a handler entry declares: its first parameter, or one element of a batch's. */
export type PayloadOf<E> = E extends {
  batch: object;
  run(payloads: (infer P)[], c: never): unknown;
}
  ? P
  : E extends { run(payload: infer P, c: never): unknown }
    ? P
    : E extends (payload: infer P, c: never) => unknown
      ? P
      : never;

/**
 * The durable tasks a worker with handlers `H` accepts: for each handler
 * name, `{ handler: name, payload }` with the payload type that handler
 * declares. With untyped handlers (`Record<string, …>`) any name and payload.
 */
export type DurableTaskFor<H> = {
  [N in keyof H & string]: DurableTaskInput<PayloadOf<H[N]>, N>;
}[keyof H & string];

/** One run of a durable task: the closure context plus the task's identity. */
export class DurableRun extends TaskRun implements DurableContext {
  readonly attempt: number;
  readonly id: string;
  readonly key: string;

  constructor(timeoutMs: number, record: BacklogRecord) {
    super(timeoutMs);
    this.attempt = record.attempts;
    this.id = record.id;
    this.key = record.key;
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

/** One run of a batch: the closure context plus its tasks' identities. */
export class DurableBatchRun extends TaskRun implements DurableBatchContext {
  readonly ids: readonly string[];
  readonly attempts: readonly number[];
  readonly key: string;

  constructor(timeoutMs: number, records: readonly BacklogRecord[]) {
    super(timeoutMs);
    this.ids = records.map((record) => record.id);
    this.attempts = records.map((record) => record.attempts);
    this.key = (records[0] as BacklogRecord).key;
  }
}
