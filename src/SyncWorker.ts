import { type ActorRefFrom, createActor, type SnapshotFrom } from 'xstate';
import type { breakerMachine } from '../machines/breaker.machine.js';
import type { latencyMachine } from '../machines/latency.machine.js';
import { type Provision, type SystemInput, systemMachine } from '../machines/system.machine.js';
import type { workerMachine } from '../machines/worker.machine.js';
import {
  type BreakerState,
  type BreakerStateChange,
  breakerSettings,
  CircuitBreaker,
  type CircuitBreakerOptions,
} from './CircuitBreaker.js';
import { type Clock, systemClock } from './clock.js';
import { Emitter, type Unsubscribe } from './Emitter.js';
import { BreakerOpenError } from './errors/BreakerOpenError.js';
import { QueueOverflowError } from './errors/QueueOverflowError.js';
import { createCheapError, type SyncWorkerError } from './errors/SyncWorkerError.js';
import { TaskTimeoutError } from './errors/TaskTimeoutError.js';
import { WorkerShutdownError } from './errors/WorkerShutdownError.js';
import type { Inspect } from './inspect.js';
import { LatencyTracker, type LatencyTrackerOptions, latencySettings } from './LatencyTracker.js';
import { type Logger, quietLogger } from './logger.js';
import { RingBuffer } from './RingBuffer.js';
import { isThenable, type SyncTask, TaskRun, toError, validateTask } from './task.js';
import {
  clockOption,
  delayMs,
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
}

/** The worker's lifecycle state. */
export type WorkerState = 'idle' | 'draining' | 'blocked' | 'stopping' | 'shutdown';

/** What {@link SyncWorker.stats} returns. */
export interface SyncWorkerStats {
  /** Tasks waiting (the running one not counted). */
  queued: number;
  /** 1 while a task runs, else 0. */
  running: number;
  /** Tasks that succeeded. */
  completed: number;
  /** Accepted tasks that failed: errors, timeouts, breaker fail-fast and shutdown (drops not included). */
  failed: number;
  /** Of `failed`, the tasks that timed out. */
  timedOut: number;
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

/** The events of {@link SyncWorker}. Every task gets exactly one of the four `task*` events. */
export interface SyncWorkerEvents {
  taskSucceeded: { task: SyncTask; result: unknown; durationMs: number };
  /** Any failure other than a timeout or a drop: an error, a refusal, breaker fail-fast, shutdown. */
  taskFailed: { task: SyncTask; error: Error };
  taskTimedOut: { task: SyncTask; error: TaskTimeoutError; timeoutMs: number };
  taskDropped: { task: SyncTask; error: QueueOverflowError };
  breakerStateChange: BreakerStateChange;
  stateChange: { from: WorkerState; to: WorkerState };
}

const SYNC_WORKER_EVENTS: readonly (keyof SyncWorkerEvents)[] = [
  'taskSucceeded',
  'taskFailed',
  'taskTimedOut',
  'taskDropped',
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

function lifecycleState(snapshot: SnapshotFrom<typeof workerMachine>): WorkerState {
  const value = snapshot.value;
  return typeof value === 'string' ? value : value.draining === 'blocked' ? 'blocked' : 'draining';
}

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

  // The running task.
  private current: SyncTask | undefined;
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
    this.logger = loggerOption<Logger>(OWNER, o.logger) ?? quietLogger;
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
    // Validate the owned tracker's options before any actor starts.
    const trackerSettings =
      trackerProvision === 'owned'
        ? latencySettings(`${OWNER}: latencyTracker`, o.latencyTracker)
        : undefined;
    this.actor = createActor(systemMachine, {
      id: this.name,
      input: SyncWorker.systemInput(breakerProvision, o.breaker, trackerProvision),
      clock: this.clock,
      inspect: o.inspect,
    }).start();
    this.lifecycle = this.actor.system.get('worker') as LifecycleActor;
    this.breaker = this.connectBreaker(breakerProvision, o.breaker);
    this.latencyTracker = this.connectTracker(trackerProvision, o.latencyTracker, trackerSettings);
    this.detachBreaker = this.breaker?.on('stateChange', (change) => this.onBreakerChange(change));
    this.lifecycle.subscribe((snapshot) => this.onLifecycle(snapshot));
    this.lifecycle.on('deadlineReached', () => this.onShutdownDeadline());
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
   * @throws TypeError when `task` has no `run` function or a field of the wrong type.
   */
  enqueue<R>(task: SyncTask<R>): boolean;
  enqueue(task: SyncTask): boolean {
    validateTask(task);
    if (!this.accepting) return this.refuse(task, WorkerShutdownError, SHUTTING_DOWN);
    if (this.breaker?.isOpen) return this.refuse(task, BreakerOpenError, BREAKER_OPEN);
    this.started = true;
    const victim = this.queue.size >= this.maxQueue ? this.queue.shift() : undefined;
    this.queue.push(task);
    if (!this.draining) this.wake();
    if (victim !== undefined) this.drop(victim);
    return true;
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
    if (!this.draining) this.finish();
    return this.shutdownPromise;
  }

  /** Resolves when no task is waiting or running (at once if that is so now). */
  onIdle(): Promise<void> {
    if (!this.draining || this.finished) return Promise.resolve();
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

  private refuse(task: SyncTask, ErrorClass: SyncWorkerErrorClass, message: string): false {
    this.refusedCount++;
    this.notifyFailure(task, createCheapError(ErrorClass, message));
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
      while (this.current === undefined && !this.blocked && !this.finished) {
        if (this.queue.size === 0) {
          this.becomeIdle();
          return;
        }
        const timeoutMs = this.nextTimeoutMs();
        if (this.admitNext(timeoutMs)) this.begin(this.queue.shift() as SyncTask, timeoutMs);
      }
    } finally {
      this.pumping = false;
    }
  };

  /** Takes the breaker's permit for the next task; on refusal fails fast (open) or blocks (half-open). */
  private admitNext(timeoutMs: number): boolean {
    const breaker = this.breaker;
    if (breaker === undefined) return true;
    if (breaker.allow(timeoutMs)) {
      this.breakerGeneration = breaker.generation;
      return true;
    }
    if (breaker.isOpen) {
      this.failWaiting(BreakerOpenError, BREAKER_OPEN);
    } else {
      this.blocked = true;
      this.nowIsFresh = false;
      this.lifecycle.send({ type: 'PERMIT_DENIED' });
    }
    return false;
  }

  private begin(task: SyncTask, timeoutMs: number): void {
    const start = this.nowIsFresh ? this.lastNow : this.clock.now();
    this.nowIsFresh = false;
    const run = new TaskRun(timeoutMs);
    const seq = ++this.runSeq;
    this.current = task;
    this.currentRun = run;
    this.startedAt = start;
    this.deadline = start + timeoutMs;
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
    this.current = undefined;
    this.currentRun = undefined;
    const now = this.clock.now();
    this.lastNow = now;
    this.nowIsFresh = true;
    this.inOutcome = true;
    if (ok) this.succeed(task, value, now - this.startedAt);
    else this.fail(task, toError(value));
    this.afterOutcome();
  }

  private succeed(task: SyncTask, result: unknown, durationMs: number): void {
    this.completedCount++;
    this.latencyTracker?.observe(durationMs);
    if (this.breakerStillCurrent()) this.breaker?.recordSuccess();
    if (this.trace) this.traceSettled(task, 'succeeded');
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
    if (this.trace) this.traceSettled(task, 'failed');
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
    this.current = undefined;
    this.currentRun = undefined;
    this.lastNow = now;
    this.nowIsFresh = true;
    this.inOutcome = true;
    const timeoutMs = run.timeoutMs;
    const error = createCheapError(TaskTimeoutError, `task timed out after ${timeoutMs} ms`, {
      timeoutMs,
    });
    this.failedCount++;
    this.timedOutCount++;
    // A censored sample: the call took at least this long, so the p95 rises during a slowdown.
    this.latencyTracker?.observe(timeoutMs);
    this.reportFailure(error);
    run.abort(error);
    if (this.trace) this.traceSettled(task, 'timedOut');
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

  private notifyFailure(task: SyncTask, error: Error): void {
    this.callFailure(task, error);
    if (this.events.has('taskFailed')) this.events.emit('taskFailed', { task, error });
  }

  private callFailure(task: SyncTask, error: Error): void {
    if (task.onFailure === undefined) return;
    try {
      task.onFailure(error);
    } catch (thrown) {
      this.logger.error?.(`${OWNER}: onFailure of task "${task.name ?? 'sync'}" threw`, thrown);
    }
  }

  private traceSettled(task: SyncTask, outcome: 'succeeded' | 'failed' | 'timedOut'): void {
    this.lifecycle.send({ type: 'trace.taskSettled', name: task.name ?? 'sync', outcome });
  }

  // --- lifecycle ---------------------------------------------------------

  private becomeIdle(): void {
    this.nowIsFresh = false;
    if (this.draining) {
      this.draining = false;
      this.lifecycle.send({ type: 'QUEUE_DRAINED' });
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
    if (!this.accepting) this.finish();
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
    this.current = undefined;
    this.currentRun = undefined;
    const waiting = this.queue.takeAll();
    this.failedCount += waiting.length + (task === undefined ? 0 : 1);
    const message = 'sync worker shut down before this task finished';
    if (task !== undefined) {
      const error = createCheapError(WorkerShutdownError, message);
      run?.abort(error);
      this.notifyFailure(task, error);
    }
    for (const t of waiting) this.notifyFailure(t, createCheapError(WorkerShutdownError, message));
    // This runs inside the lifecycle actor's transition; stop the actors after it.
    queueMicrotask(() => this.finish());
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.draining = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.detachBreaker?.();
    this.actor.stop();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
    this.resolveShutdown?.();
  }
}
