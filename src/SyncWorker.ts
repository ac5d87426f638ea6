import { type ActorRefFrom, createActor, type SnapshotFrom } from 'xstate';
import type { breakerMachine } from '../machines/breaker.machine.js';
import type { backlogMachine } from '../machines/projections/backlog.machine.js';
import type { latencyMachine } from '../machines/projections/latency.machine.js';
import { type Provision, type SystemInput, systemMachine } from '../machines/system.machine.js';
import type { workerMachine } from '../machines/worker.machine.js';
import type { JsonValue } from './backlog/json.js';
import type { BacklogRecord, BacklogStore, DeadLetter } from './backlog/types.js';
import {
  type BreakerState,
  type BreakerStateChange,
  breakerSettings,
  CircuitBreaker,
  type CircuitBreakerOptions,
} from './CircuitBreaker.js';
import { type Clock, systemClock } from './clock.js';
import { DurableQueue } from './durable/DurableQueue.js';
import { type RetryOptions, retryPolicy } from './durable/retry.js';
import { Emitter, type Unsubscribe } from './Emitter.js';
import { BacklogError } from './errors/BacklogError.js';
import type { BacklogFullError } from './errors/BacklogFullError.js';
import { BreakerOpenError } from './errors/BreakerOpenError.js';
import { NonRetryableError } from './errors/NonRetryableError.js';
import { QueueOverflowError } from './errors/QueueOverflowError.js';
import { createCheapError, type SyncWorkerError } from './errors/SyncWorkerError.js';
import { TaskTimeoutError } from './errors/TaskTimeoutError.js';
import { WorkerShutdownError } from './errors/WorkerShutdownError.js';
import type { Inspect } from './inspect.js';
import { LatencyTracker, type LatencyTrackerOptions, latencySettings } from './LatencyTracker.js';
import { type Logger, quietLogger } from './logger.js';
import { RingBuffer } from './RingBuffer.js';
import {
  type DurableHandler,
  DurableRun,
  type DurableTask,
  type DurableTaskInput,
  isThenable,
  type SyncTask,
  TaskRun,
  toError,
} from './task.js';
import { taskKind, validateDurableTask, validateTask } from './taskValidation.js';
import {
  clockOption,
  delayMs,
  inspectOption,
  loggerOption,
  optionalFunction,
  optionsObject,
  positiveInteger,
} from './validate.js';

/** The task timeout when the worker has no latency tracker (`latencyTracker: false`). */
export const DEFAULT_TASK_TIMEOUT_MS = 30_000;

/** Options of {@link SyncWorker}. */
export interface SyncWorkerOptions {
  /** Most tasks that may wait (the running one not counted); `Infinity` for unbounded. Default 64. */
  maxQueue?: number;
  /**
   * A tracker you built (connected by reference, keeps its own actor), options
   * for one the worker creates as its child (the default), or `false` for none
   * (every task then gets {@link DEFAULT_TASK_TIMEOUT_MS}).
   */
  latencyTracker?: LatencyTracker | Omit<LatencyTrackerOptions, 'inspect'> | false;
  /**
   * A breaker you built (connected by reference, keeps its own actor and
   * clock), options for one the worker creates as its child (the default), or
   * `false` for none.
   */
  breaker?: CircuitBreaker | Omit<CircuitBreakerOptions, 'clock' | 'inspect' | 'logger'> | false;
  /** The root actor's id, shown by the inspector. Default `"sync-worker"`. */
  name?: string;
  /** Time source of task timeouts, the shutdown deadline and owned actors. Default: monotonic, unref'd. */
  clock?: Clock;
  /** An XState inspector; it sees the worker, and the breaker and tracker the worker owns. */
  inspect?: Inspect;
  /**
   * Which task errors count against the breaker. Default: all. An excluded
   * error still fails its task, but counts as a breaker success: the remote answered.
   */
  countsAsFailure?: (error: Error) => boolean;
  /** Receives swallowed callback/listener errors and breaker changes. Default: quiet. */
  logger?: Logger;
  /** Sends per-task `trace.*` events to the worker actor for the inspector: about 5 µs per task with an inspector attached. Default false. */
  trace?: boolean;
  /**
   * Handlers of durable tasks, by name. A durable task (`{ handler, payload,
   * key?, id? }`) is data, so it can be kept in `backlog` and delivered after
   * an outage or a restart. Needs `backlog`.
   */
  handlers?: Record<string, DurableHandler>;
  /**
   * Where durable tasks are kept from the moment they are accepted until
   * delivered: `lmdbBacklog({ path })` from `xstate-sync-worker/lmdb`, or
   * `memoryBacklog()`. The worker opens it in the constructor (which throws a
   * `BacklogError`, such as `BacklogLockedError`, when it cannot) and owns it
   * until shutdown. Needs `handlers`.
   */
  backlog?: BacklogStore;
  /** How durable tasks are retried. See {@link RetryOptions}. */
  retry?: RetryOptions;
  /** Called once for a durable task that went to the dead letters (its fate), with the final error. */
  onDeadLetter?: (task: DurableTask, error: Error) => void;
  /**
   * How long the lifecycle stays `draining` after the queue empties before it
   * goes `idle`, in ms on the worker's clock. Work arriving meanwhile costs no
   * state change, so steady traffic does not pay two XState transitions (about
   * 4 µs each) per burst. `onIdle()` resolves as soon as the queue is empty
   * either way. `0` goes idle at once. Default 1.
   */
  idleAfterMs?: number;
}

/** The worker's lifecycle state. */
export type WorkerState = 'idle' | 'draining' | 'blocked' | 'backoff' | 'stopping' | 'shutdown';

/** What {@link SyncWorker.stats} returns. */
export interface SyncWorkerStats {
  /** Tasks waiting (the running one not counted). */
  queued: number;
  /** 1 while a task runs, else 0. */
  running: number;
  /** Tasks that succeeded. */
  completed: number;
  /** Accepted tasks that failed: errors, timeouts, breaker fail-fast, shutdown, dead letters (drops not included). */
  failed: number;
  /** Runs that timed out (for durable tasks, retried runs included). */
  timedOut: number;
  /** Durable tasks accepted and not yet delivered or dead: in memory or in the backlog. */
  backlog: number;
  /** Of `backlog`, the tasks held in memory waiting to run (about `maxQueue` at most); the rest wait only in the store. */
  backlogInMemory: number;
  /** Failed runs of durable tasks that were scheduled to run again. */
  retried: number;
  /** Durable tasks moved to the dead letters (also counted in `failed`). */
  deadLettered: number;
  /** Waiting tasks dropped by overflow. */
  dropped: number;
  /** Tasks `enqueue` refused (breaker open or shut down). */
  refused: number;
  /** The breaker's state, or `"none"` without a breaker. */
  breakerState: BreakerState | 'none';
  /** The timeout the next task would get, in ms. */
  timeoutMs: number;
  /** The lifecycle state. */
  state: WorkerState;
}

/**
 * The events of {@link SyncWorker}. Every closure task gets exactly one of
 * `taskSucceeded`, `taskFailed`, `taskTimedOut` and `taskDropped`. A durable
 * task gets `taskSucceeded` when delivered or `taskFailed` when it goes to the
 * dead letters (or its store refuses it); while it stays kept it gets none.
 * Tell the kinds apart with `'handler' in task`.
 */
export interface SyncWorkerEvents {
  taskSucceeded: { task: SyncTask | DurableTask; result: unknown; durationMs: number };
  /** Any failure other than a timeout or a drop: an error, a refusal, breaker fail-fast, shutdown, a dead letter. */
  taskFailed: { task: SyncTask | DurableTask; error: Error };
  taskTimedOut: { task: SyncTask; error: TaskTimeoutError; timeoutMs: number };
  taskDropped: { task: SyncTask; error: QueueOverflowError };
  /** A durable task's run failed and it will run again after `delayMs`. */
  taskRetried: { task: DurableTask; error: Error; attempt: number; delayMs: number };
  breakerStateChange: BreakerStateChange;
  stateChange: { from: WorkerState; to: WorkerState };
}

const SYNC_WORKER_EVENTS: readonly (keyof SyncWorkerEvents)[] = [
  'taskSucceeded',
  'taskFailed',
  'taskTimedOut',
  'taskDropped',
  'taskRetried',
  'breakerStateChange',
  'stateChange',
];

/** The root actor of a worker, for `.actor`. */
export type SyncWorkerActor = ActorRefFrom<typeof systemMachine>;

type LifecycleActor = ActorRefFrom<typeof workerMachine>;
type SyncWorkerErrorClass = new () => SyncWorkerError;

const OWNER = 'SyncWorker';
const countEverything = () => true;
const BREAKER_OPEN = 'circuit breaker open';
const SHUTTING_DOWN = 'sync worker is shutting down';

function provisionOf(
  value: unknown,
  External: abstract new (...args: never[]) => object,
): Provision {
  if (value === false) return 'none';
  return value instanceof External ? 'external' : 'owned';
}

function handlersOption(
  handlers: unknown,
  backlog: unknown,
): Readonly<Record<string, DurableHandler>> | undefined {
  if (handlers === undefined && backlog === undefined) return undefined;
  if (handlers === null || typeof handlers !== 'object' || Array.isArray(handlers)) {
    throw new TypeError(
      `${OWNER}: handlers must be an object of functions by name, as durable tasks need them with a backlog`,
    );
  }
  for (const [name, handler] of Object.entries(handlers)) {
    if (typeof handler !== 'function') {
      throw new TypeError(`${OWNER}: handlers.${name} must be a function`);
    }
  }
  const store = backlog as Partial<BacklogStore> | null | undefined;
  if (
    store === null ||
    typeof store !== 'object' ||
    typeof store.open !== 'function' ||
    typeof store.append !== 'function'
  ) {
    throw new TypeError(
      `${OWNER}: handlers need a backlog: lmdbBacklog({ path }) from 'xstate-sync-worker/lmdb', or memoryBacklog()`,
    );
  }
  return { ...(handlers as Record<string, DurableHandler>) };
}

function lifecycleState(snapshot: SnapshotFrom<typeof workerMachine>): WorkerState {
  const value = snapshot.value;
  if (typeof value === 'string') return value;
  return value.draining === 'running' ? 'draining' : value.draining;
}

const DEFAULT_KEY = 'default';

/**
 * Keeps writes to a remote service off the user-facing path: `enqueue`
 * returns at once, and one task at a time runs in the background under an
 * adaptive timeout and a circuit breaker.
 *
 * The control state (lifecycle, breaker, tracker regime) lives in XState
 * actors under one root (`.actor`); the queue, samples and counters are plain
 * O(1) structures, so the happy path sends no XState event per task.
 *
 * Every task has exactly one fate: `onSuccess` once, or `onFailure` once.
 */
export class SyncWorker {
  /** The root actor: the lifecycle (`systemId` `worker`) and the owned `breaker` and `tracker`. */
  readonly actor: SyncWorkerActor;
  /** The breaker in use (yours or the worker's own), or `undefined` with `breaker: false`. */
  readonly breaker: CircuitBreaker | undefined;
  /** The tracker in use (yours or the worker's own), or `undefined` with `latencyTracker: false`. */
  readonly latencyTracker: LatencyTracker | undefined;
  /** The name given in the options. */
  readonly name: string;

  private readonly maxQueue: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly countsAsFailure: (error: Error) => boolean;
  private readonly trace: boolean;
  private readonly lifecycle: LifecycleActor;
  private readonly queue: RingBuffer<SyncTask>;
  private readonly events: Emitter<SyncWorkerEvents>;
  private readonly detachBreaker: Unsubscribe | undefined;
  private readonly handlers: Readonly<Record<string, DurableHandler>> | undefined;
  private readonly durable: DurableQueue | undefined;
  private readonly onDeadLetter: ((task: DurableTask, error: Error) => void) | undefined;

  // Lifecycle, mirrored from the machine for the hot path.
  private currentState: WorkerState = 'idle';
  private started = false;
  private draining = false;
  private blocked = false;
  private finished = false;
  private pumping = false;
  private pumpScheduled = false;
  private inOutcome = false;
  private openWhileInOutcome = false;
  private backingOff = false;
  // The queue is empty but the lifecycle stays `draining` until `idleAfterMs` passes without work.
  private lingering = false;
  private idleSince = 0;
  private idleTimer: unknown;
  private readonly idleAfterMs: number;
  // Closure and durable tasks take turns when both wait.
  private durableTurn = false;

  // The running task; a durable one also sets `currentRecord`.
  private current: SyncTask | undefined;
  private currentRecord: BacklogRecord | undefined;
  private currentRun: TaskRun | undefined;
  private runSeq = 0;
  private startedAt = 0;
  private deadline = 0;
  private breakerGeneration = 0;
  // The clock read that ended the last task starts the next: one read per task.
  private lastNow = 0;
  private nowIsFresh = false;

  // One deadline timer for all tasks; it re-arms itself to the running task's deadline when it fires.
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;

  private completedCount = 0;
  private failedCount = 0;
  private timedOutCount = 0;
  private droppedCount = 0;
  private refusedCount = 0;
  private retriedCount = 0;
  private deadLetteredCount = 0;
  private idleWaiters: (() => void)[] = [];
  private shutdownPromise: Promise<void> | undefined;
  private resolveShutdown: (() => void) | undefined;

  /**
   * @param options see {@link SyncWorkerOptions}; invalid values throw a
   *   `TypeError` or `RangeError` naming the option.
   */
  constructor(options: SyncWorkerOptions = {}) {
    const o = optionsObject<SyncWorkerOptions>(OWNER, options);
    this.maxQueue = positiveInteger(OWNER, 'maxQueue', o.maxQueue, 64, true);
    this.name = SyncWorker.nameOption(o.name);
    this.clock = clockOption(OWNER, o.clock) ?? systemClock;
    this.logger = loggerOption(OWNER, o.logger) ?? quietLogger;
    this.countsAsFailure =
      optionalFunction<(error: Error) => boolean>(OWNER, 'countsAsFailure', o.countsAsFailure) ??
      countEverything;
    if (o.trace !== undefined && typeof o.trace !== 'boolean') {
      throw new TypeError(`${OWNER}: trace must be a boolean`);
    }
    this.trace = o.trace === true;
    this.queue = new RingBuffer(Math.min(this.maxQueue, 16));
    this.events = new Emitter<SyncWorkerEvents>(SYNC_WORKER_EVENTS, (type, error) =>
      this.logger.error?.(`${OWNER}: a "${type}" listener threw`, error),
    );

    const breakerProvision = provisionOf(o.breaker, CircuitBreaker);
    const trackerProvision = provisionOf(o.latencyTracker, LatencyTracker);
    // Validate every option before any actor starts or the store opens.
    const trackerSettings =
      trackerProvision === 'owned'
        ? latencySettings(`${OWNER}: latencyTracker`, o.latencyTracker)
        : undefined;
    this.idleAfterMs = delayMs(OWNER, 'idleAfterMs', o.idleAfterMs, 1);
    this.handlers = handlersOption(o.handlers, o.backlog);
    const retry = retryPolicy(OWNER, o.retry);
    this.onDeadLetter = optionalFunction(OWNER, 'onDeadLetter', o.onDeadLetter);
    const inspect = inspectOption<Inspect>(OWNER, o.inspect);
    const input = SyncWorker.systemInput(breakerProvision, o.breaker, trackerProvision);
    input.backlog = o.backlog === undefined ? 'none' : 'owned';
    // Last: nothing after this may throw, or the store's lock would stay held.
    const opened = o.backlog?.open({
      onCorrupt: (letter) => this.onCorrupt(letter),
      onWriteError: (error) => this.logger.error?.(`${OWNER}: a backlog write failed`, error),
    });
    this.actor = createActor(systemMachine, {
      id: this.name,
      input,
      clock: this.clock,
      inspect,
    }).start();
    this.lifecycle = this.actor.system.get('worker') as LifecycleActor;
    this.breaker = this.connectBreaker(breakerProvision, o.breaker);
    this.latencyTracker = this.connectTracker(trackerProvision, o.latencyTracker, trackerSettings);
    this.detachBreaker = this.breaker?.on('stateChange', (change) => this.onBreakerChange(change));
    this.lifecycle.subscribe((snapshot) => this.onLifecycle(snapshot));
    this.lifecycle.on('deadlineReached', () => this.onShutdownDeadline());
    if (o.backlog !== undefined && opened !== undefined) {
      this.durable = new DurableQueue({
        store: o.backlog,
        nextSeq: opened.nextSeq,
        pendingByKey: opened.pendingByKey,
        maxCached: this.maxQueue,
        retry,
        clock: this.clock,
        actor: this.actor.system.get('backlog') as ActorRefFrom<typeof backlogMachine>,
        host: {
          onRunnable: () => this.onDurableRunnable(),
          onNotKept: (records, error) => this.onNotKept(records, error),
          onWriteSettled: () => {
            if (this.draining && this.current === undefined) this.schedulePump();
          },
        },
      });
      // What a previous run left behind is delivered without waiting for new work.
      if (this.durable.hasReady) this.onDurableRunnable();
    }
  }

  /**
   * Submits a task and returns at once; the task never runs inside this call.
   *
   * - Returns `true` when the task is accepted. When the queue is full, the
   *   oldest *waiting* task is dropped to make room (its `onFailure` gets a
   *   {@link QueueOverflowError}), never the running one.
   * - Returns `false` when refused: the breaker is open ({@link BreakerOpenError})
   *   or the worker is shutting down ({@link WorkerShutdownError}). The task's
   *   `onFailure` is called before `enqueue` returns.
   *
   * These `onFailure` calls run synchronously, after the worker's state is
   * updated, so calling `enqueue` again from inside them is safe.
   *
   * A durable task (`{ handler, payload, key?, id? }`, with the `handlers` and
   * `backlog` options) is kept instead of dropped or refused: `true` means it
   * is accepted and will be written with the next group commit (`flush()`
   * says when it is durable), even while the breaker is open. It is refused
   * (`false`, a `taskFailed` event) only once `shutdown()` has been called.
   *
   * @throws TypeError when `task` is neither kind, has a field of the wrong
   *   type, names an unknown handler, or carries a payload that is not plain JSON.
   */
  enqueue<R>(task: SyncTask<R>): boolean;
  enqueue(task: DurableTaskInput): boolean;
  enqueue(task: SyncTask | DurableTaskInput): boolean {
    if (taskKind(task) === 'durable') return this.enqueueDurable(task as DurableTaskInput);
    validateTask(task);
    if (!this.accepting)
      return this.refuse(task, createCheapError(WorkerShutdownError, SHUTTING_DOWN));
    if (this.breaker?.isOpen)
      return this.refuse(task, createCheapError(BreakerOpenError, BREAKER_OPEN));
    this.started = true;
    const victim = this.queue.size >= this.maxQueue ? this.queue.shift() : undefined;
    this.queue.push(task);
    if (!this.draining || this.lingering || this.backingOff) this.resume();
    if (victim !== undefined) this.drop(victim);
    return true;
  }

  /**
   * Resolves once every durable task accepted so far is durable in the
   * backlog (at once without one). Rejects with a `BacklogFullError` when the
   * store refused some of them; those tasks also got `taskFailed`.
   */
  flush(): Promise<void> {
    return this.durable?.flush() ?? Promise.resolve();
  }

  /**
   * Moves every dead letter back to the end of its key, with a fresh attempt
   * count and the same id, and delivers them. Resolves with how many.
   */
  requeueDeadLetters(): Promise<number> {
    if (this.durable === undefined) return Promise.resolve(0);
    if (this.finished) return Promise.reject(new WorkerShutdownError('the worker has shut down'));
    return this.durable.requeueDead();
  }

  /**
   * Stops accepting work, drains what is queued until `timeoutMs` (on the
   * worker's clock), then aborts the running task, fails every remaining task
   * with a {@link WorkerShutdownError}, stops the worker's actors and resolves.
   * Idempotent: later calls return the first call's promise.
   */
  shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    const o = optionsObject<{ timeoutMs?: number }>(`${OWNER}.shutdown`, options);
    const timeoutMs = delayMs(`${OWNER}.shutdown`, 'timeoutMs', o.timeoutMs, 5_000);
    if (this.shutdownPromise !== undefined) return this.shutdownPromise;
    this.shutdownPromise = new Promise((resolve) => {
      this.resolveShutdown = resolve;
    });
    this.lifecycle.send({ type: 'SHUTDOWN', timeoutMs });
    if (!this.draining || this.lingering || this.onlyKeptWorkLeft()) this.finish();
    return this.shutdownPromise;
  }

  /**
   * Resolves when no task is waiting or running (at once if that is so now).
   * Durable tasks kept behind an open breaker or a retry backoff count as waiting.
   */
  onIdle(): Promise<void> {
    if (!this.draining || this.lingering || this.finished) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Listens for an event; returns a function that stops listening. */
  on<K extends keyof SyncWorkerEvents>(
    type: K,
    listener: (event: SyncWorkerEvents[K]) => void,
  ): Unsubscribe {
    return this.events.on(type, listener);
  }

  /** Tasks waiting, not counting the running one. */
  get size(): number {
    return this.queue.size;
  }

  /** Waiting tasks dropped by overflow so far. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** True from the first accepted task until shutdown completes. */
  get isRunning(): boolean {
    return this.started && !this.finished;
  }

  /** The lifecycle state, as the worker actor holds it. */
  get state(): WorkerState {
    return this.currentState;
  }

  /** A snapshot of the counters and states. */
  stats(): SyncWorkerStats {
    return {
      queued: this.queue.size,
      running: this.current === undefined ? 0 : 1,
      completed: this.completedCount,
      failed: this.failedCount,
      timedOut: this.timedOutCount,
      backlog: this.durable?.pending ?? 0,
      backlogInMemory: this.durable?.inMemory ?? 0,
      retried: this.retriedCount,
      deadLettered: this.deadLetteredCount,
      dropped: this.droppedCount,
      refused: this.refusedCount,
      breakerState: this.breaker?.state ?? 'none',
      timeoutMs: this.nextTimeoutMs(),
      state: this.currentState,
    };
  }

  /** Whether `enqueue` takes work: until `shutdown()` is called. */
  private get accepting(): boolean {
    return this.shutdownPromise === undefined;
  }

  private static nameOption(name: unknown): string {
    if (name === undefined) return 'sync-worker';
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError(`${OWNER}: name must be a non-empty string`);
    }
    return name;
  }

  private static systemInput(
    breaker: Provision,
    breakerOptions: unknown,
    tracker: Provision,
  ): SystemInput {
    if (breaker !== 'owned') return { breaker, tracker };
    return { breaker, breakerInput: breakerSettings(`${OWNER}: breaker`, breakerOptions), tracker };
  }

  private connectBreaker(provision: Provision, given: unknown): CircuitBreaker | undefined {
    if (provision === 'none') return undefined;
    if (provision === 'external') return given as CircuitBreaker;
    const actor = this.actor.system.get('breaker') as ActorRefFrom<typeof breakerMachine>;
    return new CircuitBreaker({ logger: this.logger }, actor);
  }

  private connectTracker(
    provision: Provision,
    given: unknown,
    options: LatencyTrackerOptions | undefined,
  ): LatencyTracker | undefined {
    if (provision === 'none') return undefined;
    if (provision === 'external') return given as LatencyTracker;
    const actor = this.actor.system.get('tracker') as ActorRefFrom<typeof latencyMachine>;
    return new LatencyTracker(options, actor);
  }

  private nextTimeoutMs(): number {
    return this.latencyTracker?.timeout() ?? DEFAULT_TASK_TIMEOUT_MS;
  }

  // --- admission ---------------------------------------------------------

  private enqueueDurable(task: DurableTaskInput): boolean {
    validateDurableTask(task, this.handlers);
    const fields = {
      id: task.id ?? globalThis.crypto.randomUUID(),
      key: task.key ?? DEFAULT_KEY,
      handler: task.handler,
      // A copy, so what is written is what was accepted even if the caller reuses the object.
      // For validated plain JSON a JSON round trip is exact, and faster than structuredClone.
      payload: JSON.parse(JSON.stringify(task.payload)) as JsonValue,
      attempts: 0,
      enqueuedAt: Date.now(),
    };
    const durable = this.durable as DurableQueue;
    if (!this.accepting) {
      return this.refuse(
        { seq: -1, ...fields },
        createCheapError(WorkerShutdownError, SHUTTING_DOWN),
      );
    }
    // The store just refused a commit: say so now rather than accept what cannot be kept.
    const full = durable.refusal();
    if (full !== undefined) return this.refuse({ seq: -1, ...fields }, full);
    this.started = true;
    durable.accept(fields);
    // Draining from now: the task is waiting (for its commit), so onIdle must wait for it.
    if (!this.draining || this.lingering) this.resume();
    return true;
  }

  private refuse(task: SyncTask | DurableTask, error: Error): false {
    this.refusedCount++;
    this.notifyFailure(task, error);
    return false;
  }

  private drop(task: SyncTask): void {
    this.droppedCount++;
    const error = createCheapError(
      QueueOverflowError,
      'sync queue overflow: oldest waiting task dropped',
    );
    this.callFailure(task, error);
    if (this.events.has('taskDropped')) this.events.emit('taskDropped', { task, error });
  }

  private wake(): void {
    this.draining = true;
    this.lifecycle.send({ type: 'WORK_QUEUED' });
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(this.pump);
  }

  // --- the drain loop ----------------------------------------------------

  /** Starts tasks until one goes asynchronous, the queue empties, or the breaker blocks. */
  private readonly pump = (): void => {
    this.pumpScheduled = false;
    if (this.pumping || this.current !== undefined || this.blocked || this.finished) return;
    this.pumping = true;
    try {
      while (this.current === undefined && !this.blocked && !this.finished && !this.backingOff) {
        const probing = this.breaker?.state === 'half_open';
        const durableReady = this.durable?.prepare(probing) === true;
        if (this.queue.size === 0 && !durableReady) {
          this.noRunnableWork();
          return;
        }
        const timeoutMs = this.nextTimeoutMs();
        if (!this.admitNext(timeoutMs)) continue;
        // The probe replays the oldest kept task; otherwise the two kinds take turns.
        if (durableReady && (probing || this.durableTurn || this.queue.size === 0)) {
          this.durableTurn = false;
          this.beginDurable((this.durable as DurableQueue).take(), timeoutMs);
        } else {
          this.durableTurn = durableReady;
          this.begin(this.queue.shift() as SyncTask, timeoutMs);
        }
      }
    } finally {
      this.pumping = false;
    }
  };

  /** Takes the breaker's permit for the next task; on refusal fails fast (open) or blocks. */
  private admitNext(timeoutMs: number): boolean {
    const breaker = this.breaker;
    if (breaker === undefined) return true;
    if (breaker.allow(timeoutMs)) {
      this.breakerGeneration = breaker.generation;
      return true;
    }
    if (breaker.isOpen) {
      this.failWaiting(BreakerOpenError, BREAKER_OPEN);
      // Durable tasks are kept, not failed: wait for the breaker's probe.
      if (this.durable?.hasReady) this.waitForBreaker();
    } else {
      this.waitForBreaker();
    }
    return false;
  }

  private waitForBreaker(): void {
    if (!this.accepting && this.queue.size === 0) {
      // Shutting down with only durable tasks left: they stay kept; no need to wait.
      this.finish();
      return;
    }
    this.blocked = true;
    this.nowIsFresh = false;
    this.lifecycle.send({ type: 'PERMIT_DENIED' });
  }

  /** Whether all that is left are durable tasks that cannot run now: they stay kept, so shutdown need not wait. */
  private onlyKeptWorkLeft(): boolean {
    return this.current === undefined && this.queue.size === 0 && (this.blocked || this.backingOff);
  }

  /** Nothing can run now: idle, or waiting for a retry backoff or a group commit. */
  private noRunnableWork(): void {
    const durable = this.durable;
    if (durable?.hasBackoff) {
      if (!this.accepting) this.finish();
      else this.enterBackoff();
      return;
    }
    // A commit in flight makes its tasks runnable when it lands; onIdle must not resolve before.
    if (durable?.isWriting) return;
    this.becomeIdle();
  }

  private enterBackoff(): void {
    this.nowIsFresh = false;
    this.backingOff = true;
    this.lifecycle.send({ type: 'RETRY_WAIT' });
  }

  private leaveBackoff(): void {
    this.backingOff = false;
    this.lifecycle.send({ type: 'WORK_READY' });
    this.schedulePump();
  }

  /** Durable tasks became runnable: committed, read back, or due for a retry. */
  private onDurableRunnable(): void {
    if (this.finished) return;
    this.started = true;
    this.resume();
  }

  /** Work arrived: wake an idle worker, end a backoff or a linger, or just look again. */
  private resume(): void {
    if (!this.draining) this.wake();
    else if (this.backingOff) this.leaveBackoff();
    else {
      this.lingering = false;
      this.schedulePump();
    }
  }

  private begin(task: SyncTask, timeoutMs: number): void {
    this.start(task, undefined, new TaskRun(timeoutMs));
  }

  /** Runs a durable task's handler: this run counts as an attempt. */
  private beginDurable(record: BacklogRecord, timeoutMs: number): void {
    record.attempts++;
    const run = new DurableRun(timeoutMs, record);
    const handler = this.handlers?.[record.handler];
    const task: SyncTask = {
      name: record.handler,
      run:
        handler === undefined
          ? () => {
              // A record kept by an earlier version whose handler is gone cannot be delivered.
              throw new NonRetryableError(`no handler is registered as "${record.handler}"`);
            }
          : () => handler(record.payload, run),
    };
    this.start(task, record, run);
  }

  private start(task: SyncTask, record: BacklogRecord | undefined, run: TaskRun): void {
    const start = this.nowIsFresh ? this.lastNow : this.clock.now();
    this.nowIsFresh = false;
    const seq = ++this.runSeq;
    this.current = task;
    this.currentRecord = record;
    this.currentRun = run;
    this.startedAt = start;
    this.deadline = start + run.timeoutMs;
    this.armDeadline(start);
    if (this.trace) this.lifecycle.send({ type: 'trace.taskStarted', name: task.name ?? 'sync' });
    let result: unknown;
    try {
      result = task.run(run);
      if (!isThenable(result)) {
        this.settle(seq, true, result);
        return;
      }
      result.then(
        (value) => this.settle(seq, true, value),
        (error) => this.settle(seq, false, error),
      );
    } catch (error) {
      this.settle(seq, false, error);
    }
  }

  /** Ends the running task with its outcome; a late outcome (after a timeout or shutdown) is ignored. */
  private settle(seq: number, ok: boolean, value: unknown): void {
    const task = this.current;
    if (seq !== this.runSeq || task === undefined) return;
    const record = this.currentRecord;
    this.current = undefined;
    this.currentRecord = undefined;
    this.currentRun = undefined;
    const now = this.clock.now();
    this.lastNow = now;
    this.nowIsFresh = true;
    this.inOutcome = true;
    if (record !== undefined) this.settleDurable(record, ok, value, now);
    else if (ok) this.succeed(task, value, now - this.startedAt);
    else this.fail(task, toError(value));
    this.afterOutcome();
  }

  private settleDurable(record: BacklogRecord, ok: boolean, value: unknown, now: number): void {
    const durationMs = now - this.startedAt;
    if (ok) {
      this.countSuccess(durationMs);
      (this.durable as DurableQueue).succeeded(record);
      if (this.trace) this.traceSettled(record.handler, 'succeeded');
      if (this.events.has('taskSucceeded')) {
        this.events.emit('taskSucceeded', { task: record, result: value, durationMs });
      }
      return;
    }
    const error = toError(value);
    this.reportFailure(error);
    if (this.trace) this.traceSettled(record.handler, 'failed');
    this.durableAttemptFailed(record, error, now);
  }

  /** Retries a durable task's failed run, or buries the task: its fate then is the dead letters. */
  private durableAttemptFailed(record: BacklogRecord, error: Error, now: number): void {
    // Read after the failure was reported: an open breaker now means the remote is down.
    const remoteDown = this.breaker?.isOpen === true;
    const outcome = (this.durable as DurableQueue).failed(record, error, now, remoteDown);
    if (outcome.retry) {
      this.retriedCount++;
      if (this.events.has('taskRetried')) {
        const { delayMs } = outcome;
        this.events.emit('taskRetried', { task: record, error, attempt: record.attempts, delayMs });
      }
      return;
    }
    this.buried(outcome.letter, error);
  }

  /** A durable task's fate is the dead letters: one `onDeadLetter` call and one `taskFailed`. */
  private buried(letter: DeadLetter, error: Error): void {
    this.failedCount++;
    this.deadLetteredCount++;
    if (this.onDeadLetter !== undefined) {
      try {
        this.onDeadLetter(letter, error);
      } catch (thrown) {
        this.logger.error?.(`${OWNER}: onDeadLetter threw`, thrown);
      }
    }
    if (this.events.has('taskFailed')) this.events.emit('taskFailed', { task: letter, error });
  }

  /** What every success feeds: the counter, the latency window and the breaker. */
  private countSuccess(durationMs: number): void {
    this.completedCount++;
    this.latencyTracker?.observe(durationMs);
    if (this.breakerStillCurrent()) this.breaker?.recordSuccess();
  }

  private succeed(task: SyncTask, result: unknown, durationMs: number): void {
    this.countSuccess(durationMs);
    if (this.trace) this.traceSettled(task.name, 'succeeded');
    if (task.onSuccess !== undefined) {
      try {
        task.onSuccess(result);
      } catch (error) {
        this.logger.error?.(`${OWNER}: onSuccess of task "${task.name ?? 'sync'}" threw`, error);
      }
    }
    if (this.events.has('taskSucceeded')) {
      this.events.emit('taskSucceeded', { task, result, durationMs });
    }
  }

  private fail(task: SyncTask, error: Error): void {
    this.failedCount++;
    this.reportFailure(error);
    if (this.trace) this.traceSettled(task.name, 'failed');
    this.notifyFailure(task, error);
  }

  private afterOutcome(): void {
    this.inOutcome = false;
    if (this.openWhileInOutcome) {
      this.openWhileInOutcome = false;
      this.failWaiting(BreakerOpenError, BREAKER_OPEN);
    }
    if (!this.pumping) this.pump();
  }

  /** Reports a failure to the breaker, unless the breaker moved on since the task began. */
  private reportFailure(error: Error): void {
    const breaker = this.breaker;
    if (breaker === undefined || !this.breakerStillCurrent()) return;
    let counts = true;
    try {
      counts = this.countsAsFailure(error) !== false;
    } catch (thrown) {
      this.logger.error?.(
        `${OWNER}: countsAsFailure threw; counting the error as a failure`,
        thrown,
      );
    }
    // An excluded error means the remote answered: for the breaker, that is a success.
    if (counts) breaker.recordFailure();
    else breaker.recordSuccess();
  }

  private breakerStillCurrent(): boolean {
    return this.breaker !== undefined && this.breaker.generation === this.breakerGeneration;
  }

  // --- timeouts ----------------------------------------------------------

  private armDeadline(now: number): void {
    if (this.timerAt <= this.deadline) return; // it fires first, then re-arms to this deadline
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = this.deadline;
    this.timer = this.clock.setTimeout(this.onDeadlineTimer, this.deadline - now);
  }

  private readonly onDeadlineTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.current === undefined || this.finished) return;
    const now = this.clock.now();
    if (now >= this.deadline) this.timeOut(now);
    else this.armDeadline(now);
  };

  private timeOut(now: number): void {
    const task = this.current as SyncTask;
    const run = this.currentRun as TaskRun;
    const record = this.currentRecord;
    this.current = undefined;
    this.currentRecord = undefined;
    this.currentRun = undefined;
    this.lastNow = now;
    this.nowIsFresh = true;
    this.inOutcome = true;
    const timeoutMs = run.timeoutMs;
    const error = createCheapError(TaskTimeoutError, `task timed out after ${timeoutMs} ms`, {
      timeoutMs,
    });
    this.timedOutCount++;
    // A censored sample: the call took at least this long, so the p95 rises during a slowdown.
    this.latencyTracker?.observe(timeoutMs);
    this.reportFailure(error);
    run.abort(error);
    if (this.trace) this.traceSettled(task.name, 'timedOut');
    if (record !== undefined) {
      // A timeout is retryable: the remote may simply have been slow this once.
      this.durableAttemptFailed(record, error, now);
      this.afterOutcome();
      return;
    }
    this.failedCount++;
    this.callFailure(task, error);
    if (this.events.has('taskTimedOut'))
      this.events.emit('taskTimedOut', { task, error, timeoutMs });
    this.afterOutcome();
  }

  // --- failing many ------------------------------------------------------

  private onBreakerChange(change: BreakerStateChange): void {
    if (this.events.has('breakerStateChange')) this.events.emit('breakerStateChange', change);
    if (change.to === 'open') {
      // Inside an outcome, the task that caused this hears of its own fate first.
      if (this.inOutcome) this.openWhileInOutcome = true;
      else this.failWaiting(BreakerOpenError, BREAKER_OPEN);
    }
    if (this.blocked) {
      this.blocked = false;
      this.lifecycle.send({ type: 'BREAKER_CHANGED' });
      this.schedulePump();
    }
  }

  /** Fails every waiting task: the queue is emptied before any callback runs. */
  private failWaiting(ErrorClass: SyncWorkerErrorClass, message: string): void {
    if (this.queue.size === 0) return;
    const tasks = this.queue.takeAll();
    this.failedCount += tasks.length;
    for (const task of tasks) this.notifyFailure(task, createCheapError(ErrorClass, message));
    if (this.current === undefined) this.schedulePump();
  }

  private notifyFailure(task: SyncTask | DurableTask, error: Error): void {
    this.callFailure(task, error);
    if (this.events.has('taskFailed')) this.events.emit('taskFailed', { task, error });
  }

  private callFailure(task: SyncTask | DurableTask, error: Error): void {
    // Durable tasks are data: no callbacks; their fate is told by events.
    if (!('run' in task) || task.onFailure === undefined) return;
    try {
      task.onFailure(error);
    } catch (thrown) {
      this.logger.error?.(`${OWNER}: onFailure of task "${task.name ?? 'sync'}" threw`, thrown);
    }
  }

  private traceSettled(
    name: string | undefined,
    outcome: 'succeeded' | 'failed' | 'timedOut',
  ): void {
    this.lifecycle.send({ type: 'trace.taskSettled', name: name ?? 'sync', outcome });
  }

  // --- lifecycle ---------------------------------------------------------

  private becomeIdle(): void {
    this.nowIsFresh = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    if (!this.accepting) {
      if (this.draining) {
        this.draining = false;
        this.lifecycle.send({ type: 'QUEUE_DRAINED' });
      }
      this.finish();
    } else if (this.draining) {
      this.linger();
    }
    for (const resolve of waiters) resolve();
  }

  /** Goes `idle` after `idleAfterMs` without work; one timer, re-armed only when it fires early. */
  private linger(): void {
    if (this.idleAfterMs === 0) {
      this.goIdle();
      return;
    }
    this.lingering = true;
    this.idleSince = this.clock.now();
    if (this.idleTimer === undefined) {
      this.idleTimer = this.clock.setTimeout(this.onIdleTimer, this.idleAfterMs);
    }
  }

  private readonly onIdleTimer = (): void => {
    this.idleTimer = undefined;
    if (!this.lingering || this.finished) return;
    const waited = this.clock.now() - this.idleSince;
    if (waited >= this.idleAfterMs) this.goIdle();
    else this.idleTimer = this.clock.setTimeout(this.onIdleTimer, this.idleAfterMs - waited);
  };

  private goIdle(): void {
    this.lingering = false;
    this.draining = false;
    this.lifecycle.send({ type: 'QUEUE_DRAINED' });
  }

  private onLifecycle(snapshot: SnapshotFrom<typeof workerMachine>): void {
    const to = lifecycleState(snapshot);
    if (to === this.currentState) return;
    const from = this.currentState;
    this.currentState = to;
    this.events.emit('stateChange', { from, to });
  }

  private onShutdownDeadline(): void {
    const task = this.current;
    const run = this.currentRun;
    const record = this.currentRecord;
    this.current = undefined;
    this.currentRecord = undefined;
    this.currentRun = undefined;
    const waiting = this.queue.takeAll();
    const message = 'sync worker shut down before this task finished';
    this.failedCount += waiting.length;
    if (task !== undefined) {
      const error = createCheapError(WorkerShutdownError, message);
      run?.abort(error);
      // A durable task stays first in its key for the next start; a closure task fails.
      if (record !== undefined) (this.durable as DurableQueue).release(record);
      else {
        this.failedCount++;
        this.notifyFailure(task, error);
      }
    }
    for (const t of waiting) this.notifyFailure(t, createCheapError(WorkerShutdownError, message));
    // This runs inside the lifecycle actor's transition; stop the actors after it.
    queueMicrotask(() => this.finish());
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.draining = false;
    this.backingOff = false;
    // Ending early with durable tasks kept (not run): for the lifecycle, that is drained.
    if (this.currentState === 'stopping') this.lifecycle.send({ type: 'QUEUE_DRAINED' });
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.idleTimer !== undefined) this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.lingering = false;
    this.detachBreaker?.();
    const closing = this.durable?.close() ?? Promise.resolve();
    closing
      .catch((error: unknown) => this.logger.error?.(`${OWNER}: closing the backlog failed`, error))
      .finally(() => {
        this.actor.stop();
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
        this.resolveShutdown?.();
      });
  }

  // --- durable store events ------------------------------------------------

  /** A group commit failed: its tasks were not kept, and each gets `taskFailed` as its fate. */
  private onNotKept(records: readonly BacklogRecord[], error: BacklogFullError): void {
    this.failedCount += records.length;
    this.logger.error?.(`${OWNER}: ${error.message}`, error.cause);
    if (!this.events.has('taskFailed')) return;
    for (const task of records) this.events.emit('taskFailed', { task, error });
  }

  /** A stored record could not be read: the store buried it; report it like any dead letter. */
  private onCorrupt(letter: DeadLetter): void {
    this.durable?.forgetCorrupt();
    this.logger.error?.(
      `${OWNER}: ${letter.reason} (key ${JSON.stringify(letter.key)}, seq ${letter.seq}); moved to the dead letters`,
    );
    this.buried(letter, new BacklogError(this.durable?.location, letter.reason));
  }
}
