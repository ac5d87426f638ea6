import { type ActorRefFrom, createActor } from 'xstate';
import type { breakerMachine } from '../machines/breaker.machine.js';
import type { backlogMachine } from '../machines/projections/backlog.machine.js';
import type { latencyMachine } from '../machines/projections/latency.machine.js';
import { systemMachine } from '../machines/system.machine.js';
import type { workerMachine } from '../machines/worker.machine.js';
import type { DeadLetter } from './backlog/types.js';
import { CircuitBreaker } from './CircuitBreaker.js';
import type { Clock } from './clock.js';
import { DurableQueue } from './durable/DurableQueue.js';
import { Emitter, type Unsubscribe } from './Emitter.js';
import { BacklogError } from './errors/BacklogError.js';
import { BreakerOpenError } from './errors/BreakerOpenError.js';
import { createCheapError } from './errors/SyncWorkerError.js';
import { WorkerShutdownError } from './errors/WorkerShutdownError.js';
import { LatencyTracker, type LatencyTrackerOptions } from './LatencyTracker.js';
import type { Logger } from './logger.js';
import type { DurableTaskInput, SyncTask } from './task.js';
import { taskKind, validateDurableTask, validateTask } from './taskValidation.js';
import { delayMs, optionsObject } from './validate.js';
import { BreakerGate } from './worker/breakerGate.js';
import { ClosureSource } from './worker/closureSource.js';
import { DrainLoop } from './worker/drainLoop.js';
import { DurableSource } from './worker/durableSource.js';
import { Fates } from './worker/fates.js';
import { LifecycleBridge } from './worker/lifecycle.js';
import { type WorkerSettings, workerSettings } from './worker/options.js';
import { Runner } from './worker/runner.js';
import {
  DEFAULT_TASK_TIMEOUT_MS,
  SYNC_WORKER_EVENTS,
  type SyncWorkerActor,
  type SyncWorkerEvents,
  type SyncWorkerOptions,
  type SyncWorkerStats,
  type WorkerState,
} from './worker/types.js';

export {
  DEFAULT_TASK_TIMEOUT_MS,
  type DrainState,
  type SyncWorkerActor,
  type SyncWorkerEvents,
  type SyncWorkerOptions,
  type SyncWorkerStats,
  type WorkerState,
} from './worker/types.js';

const OWNER = 'SyncWorker';
type LifecycleActor = ActorRefFrom<typeof workerMachine>;
const SHUTTING_DOWN = 'sync worker is shutting down';
const SHUT_DOWN_BEFORE_DONE = 'sync worker shut down before this task finished';

/**
 * Keeps writes to a remote service off the user-facing path: `enqueue`
 * returns at once, and one task at a time runs in the background under an
 * adaptive timeout and a circuit breaker.
 *
 * The control state lives in XState actors under one root (`.actor`): the
 * lifecycle machine decides when the worker drains, blocks, backs off and
 * stops; the breaker machine decides admission. The queue, samples and
 * counters are plain O(1) structures, so the happy path sends no XState
 * event per task.
 *
 * Every task has exactly one fate: `onSuccess` once, or `onFailure` once.
 *
 * This class wires the parts in `src/worker/` together and delegates to them.
 */
export class SyncWorker {
  /** The root actor: the lifecycle (`systemId` `worker`) and the owned `breaker`, `tracker` and `backlog`. */
  readonly actor: SyncWorkerActor;
  /** The breaker in use (yours or the worker's own), or `undefined` with `breaker: false`. */
  readonly breaker: CircuitBreaker | undefined;
  /** The tracker in use (yours or the worker's own), or `undefined` with `latencyTracker: false`. */
  readonly latencyTracker: LatencyTracker | undefined;
  /** The name given in the options. */
  readonly name: string;

  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #events: Emitter<SyncWorkerEvents>;
  readonly #fates: Fates;
  readonly #lifecycle: LifecycleBridge;
  readonly #closures: ClosureSource;
  readonly #durable: DurableSource | undefined;
  readonly #gate: BreakerGate;
  readonly #runner: Runner;
  readonly #drain: DrainLoop;
  readonly #detachBreaker: Unsubscribe | undefined;
  // Written once by shutdown(); the lifecycle machine holds the shutdown itself.
  #shutdownPromise: Promise<void> | undefined;
  #resolveShutdown: (() => void) | undefined;
  // True from the first accepted task: `isRunning` reports it; nothing decides on it.
  #started = false;
  #released = false;

  /**
   * @param options see {@link SyncWorkerOptions}; invalid values throw a
   *   `TypeError` or `RangeError` naming the option.
   */
  constructor(options: SyncWorkerOptions = {}) {
    const settings = workerSettings(options);
    this.name = settings.name;
    this.#logger = settings.logger;
    this.#clock = settings.clock;
    this.#events = new Emitter<SyncWorkerEvents>(SYNC_WORKER_EVENTS, (type, error) =>
      this.#logger.error?.(`${OWNER}: a "${type}" listener threw`, error),
    );
    this.#fates = new Fates(this.#events, this.#logger, settings.onDeadLetter);
    this.#closures = new ClosureSource(settings.maxQueue, this.#fates);
    this.#lifecycle = new LifecycleBridge(
      {
        startDraining: () => this.#drain.schedule(),
        abandonRemaining: () => this.#abandonRemaining(),
        release: () => this.#release(),
        stateChanged: (from, to) => this.#events.emit('stateChange', { from, to }),
      },
      settings.clock,
      settings.idleAfterMs,
      this.#logger,
    );
    // Last: nothing after this may throw, or the store's lock would stay held.
    const opened = settings.durable?.store.open({
      onCorrupt: (letter) => this.#onCorrupt(letter),
      onWriteError: (error) => this.#logger.error?.(`${OWNER}: a backlog write failed`, error),
    });
    this.actor = createActor(
      systemMachine.provide({ actors: { worker: this.#lifecycle.machine } }),
      { id: this.name, input: settings.system, clock: settings.clock, inspect: settings.inspect },
    ).start();
    this.#lifecycle.attach(this.actor.system.get('worker') as LifecycleActor);
    this.breaker = this.#connectBreaker(settings);
    this.latencyTracker = this.#connectTracker(settings);
    this.#gate = new BreakerGate(this.breaker, settings.countsAsFailure, this.#logger);
    this.#durable = this.#durableSource(settings, opened);
    const tracker = this.latencyTracker;
    this.#runner = new Runner(
      settings.clock,
      this.#gate,
      tracker,
      { runEnded: () => this.#drain.runEnded() },
      settings.trace ? this.#lifecycle.trace : undefined,
    );
    this.#drain = new DrainLoop(
      this.#closures,
      this.#durable,
      this.#runner,
      this.#gate,
      this.#lifecycle,
      tracker === undefined ? () => DEFAULT_TASK_TIMEOUT_MS : () => tracker.timeout(),
    );
    this.#detachBreaker = this.breaker?.on('stateChange', (change) => {
      if (this.#events.has('breakerStateChange')) this.#events.emit('breakerStateChange', change);
      this.#drain.breakerChanged(change);
    });
    // What a previous run left behind is delivered without waiting for new work.
    if (this.#durable?.queue.hasReady) this.#durableRunnable();
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
    if (taskKind(task) === 'durable') return this.#enqueueDurable(task as DurableTaskInput);
    validateTask(task);
    const lifecycle = this.#lifecycle;
    if (!lifecycle.admissionOpen || lifecycle.drain === 'done') {
      return this.#fates.refused(task, createCheapError(WorkerShutdownError, SHUTTING_DOWN));
    }
    if (this.#gate.isOpen) {
      return this.#fates.refused(task, createCheapError(BreakerOpenError, 'circuit breaker open'));
    }
    this.#started = true;
    this.#closures.push(task, this.#runner.free > 0 && lifecycle.drain !== 'blocked');
    this.#drain.workArrived();
    return true;
  }

  /**
   * Resolves once every durable task accepted so far is durable in the
   * backlog (at once without one). Rejects with a `BacklogFullError` when the
   * store refused some of them; those tasks also got `taskFailed`.
   */
  flush(): Promise<void> {
    return this.#durable?.queue.flush() ?? Promise.resolve();
  }

  /**
   * Moves every dead letter back to the end of its key, with a fresh attempt
   * count and the same id, and delivers them. Resolves with how many.
   */
  requeueDeadLetters(): Promise<number> {
    if (this.#durable === undefined) return Promise.resolve(0);
    if (this.#lifecycle.drain === 'done') {
      return Promise.reject(new WorkerShutdownError('the worker has shut down'));
    }
    return this.#durable.queue.requeueDead();
  }

  /**
   * Stops accepting work, drains what is queued until `timeoutMs` (on the
   * worker's clock), then aborts the running task, fails every remaining task
   * with a {@link WorkerShutdownError}, stops the worker's actors and resolves.
   * Durable tasks not delivered by then stay kept in the backlog.
   * Idempotent: later calls return the first call's promise.
   */
  shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    const o = optionsObject<{ timeoutMs?: number }>(`${OWNER}.shutdown`, options);
    const timeoutMs = delayMs(`${OWNER}.shutdown`, 'timeoutMs', o.timeoutMs, 5_000);
    if (this.#shutdownPromise !== undefined) return this.#shutdownPromise;
    this.#shutdownPromise = new Promise((resolve) => {
      this.#resolveShutdown = resolve;
    });
    const drain = this.#lifecycle.drain;
    const nothingToDrain =
      this.#runner.running === 0 &&
      this.#closures.waiting === 0 &&
      (drain !== 'running' || this.#lifecycle.isLingering);
    this.#lifecycle.shutdown(timeoutMs, nothingToDrain);
    return this.#shutdownPromise;
  }

  /**
   * Resolves when no task is waiting or running (at once if that is so now).
   * Durable tasks kept behind an open breaker or a retry backoff count as waiting.
   */
  onIdle(): Promise<void> {
    return this.#drain.onIdle();
  }

  /** Listens for an event; returns a function that stops listening. */
  on<K extends keyof SyncWorkerEvents>(
    type: K,
    listener: (event: SyncWorkerEvents[K]) => void,
  ): Unsubscribe {
    return this.#events.on(type, listener);
  }

  /** Closure tasks waiting, not counting the running one. */
  get size(): number {
    return this.#closures.waiting;
  }

  /** Waiting tasks dropped by overflow so far. */
  get dropped(): number {
    return this.#fates.droppedCount;
  }

  /** True from the first accepted task until shutdown completes. */
  get isRunning(): boolean {
    return this.#started && this.#lifecycle.drain !== 'done';
  }

  /** The lifecycle state, as the worker's lifecycle machine holds it. */
  get state(): WorkerState {
    return this.#lifecycle.state;
  }

  /** A snapshot of the counters and states. */
  stats(): SyncWorkerStats {
    const fates = this.#fates;
    const queue = this.#durable?.queue;
    return {
      queued: this.#closures.waiting,
      running: this.#runner.running,
      completed: fates.completed,
      failed: fates.failedCount,
      timedOut: fates.timedOutRuns,
      backlog: queue?.pending ?? 0,
      backlogInMemory: queue?.inMemory ?? 0,
      retried: fates.retriedCount,
      deadLettered: fates.deadLetteredCount,
      dropped: fates.droppedCount,
      refused: fates.refusedCount,
      breakerState: this.breaker?.state ?? 'none',
      timeoutMs: this.latencyTracker?.timeout() ?? DEFAULT_TASK_TIMEOUT_MS,
      state: this.#lifecycle.state,
      drain: this.#lifecycle.drain,
      persisting: queue?.isPersisting ?? false,
      replaying: queue?.isReplaying ?? false,
    };
  }

  #enqueueDurable(task: DurableTaskInput): boolean {
    const durable = this.#durable;
    validateDurableTask(task, durable === undefined ? undefined : durable.handlers);
    const source = durable as DurableSource;
    const lifecycle = this.#lifecycle;
    if (!lifecycle.admissionOpen || lifecycle.drain === 'done') {
      const error = createCheapError(WorkerShutdownError, SHUTTING_DOWN);
      return this.#fates.refused(source.refusedRecord(task), error);
    }
    // The store just refused a commit: say so now rather than accept what cannot be kept.
    const full = source.queue.refusal();
    if (full !== undefined) return this.#fates.refused(source.refusedRecord(task), full);
    this.#started = true;
    source.queue.accept(source.record(task));
    // Draining from now: the task is waiting (for its commit), so onIdle must wait for it.
    this.#drain.workArrived();
    return true;
  }

  #durableRunnable(): void {
    if (this.#lifecycle.drain === 'done') return;
    this.#started = true;
    this.#drain.workArrived();
  }

  #durableSource(
    settings: WorkerSettings,
    opened: ReturnType<NonNullable<WorkerSettings['durable']>['store']['open']> | undefined,
  ): DurableSource | undefined {
    const durable = settings.durable;
    if (durable === undefined || opened === undefined) return undefined;
    const queue = new DurableQueue({
      store: durable.store,
      nextSeq: opened.nextSeq,
      pendingByKey: opened.pendingByKey,
      maxCached: settings.maxQueue,
      retry: durable.retry,
      clock: settings.clock,
      actor: this.actor.system.get('backlog') as ActorRefFrom<typeof backlogMachine>,
      host: {
        onRunnable: () => this.#durableRunnable(),
        onNotKept: (records, error) => this.#fates.notKept(records, error),
        onWriteSettled: () => this.#drain.lookAgain(),
      },
    });
    return new DurableSource(queue, durable.handlers, this.#fates);
  }

  #connectBreaker(settings: WorkerSettings): CircuitBreaker | undefined {
    if (settings.system.breaker === 'none') return undefined;
    if (settings.breaker !== undefined) return settings.breaker;
    const actor = this.actor.system.get('breaker') as ActorRefFrom<typeof breakerMachine>;
    return new CircuitBreaker({ logger: this.#logger }, actor);
  }

  #connectTracker(settings: WorkerSettings): LatencyTracker | undefined {
    if (settings.tracker === undefined) return undefined;
    if (settings.tracker instanceof LatencyTracker) return settings.tracker;
    const actor = this.actor.system.get('tracker') as ActorRefFrom<typeof latencyMachine>;
    return new LatencyTracker(settings.tracker as LatencyTrackerOptions, actor);
  }

  /** The lifecycle's `abandonRemaining`: the shutdown deadline passed. */
  #abandonRemaining(): void {
    const errorFor = () => createCheapError(WorkerShutdownError, SHUT_DOWN_BEFORE_DONE);
    this.#runner.abandon(errorFor());
    this.#closures.abandonWaiting(errorFor);
    this.#durable?.abandonWaiting();
  }

  /** The lifecycle's `release`: the worker is done; stop timers, release the store, stop the actors. */
  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#runner.stop();
    this.#lifecycle.stop();
    this.#detachBreaker?.();
    const closing = this.#durable?.queue.close() ?? Promise.resolve();
    closing
      .catch((error: unknown) =>
        this.#logger.error?.(`${OWNER}: closing the backlog failed`, error),
      )
      .finally(() => {
        this.actor.stop();
        this.#drain.resolveIdle();
        this.#resolveShutdown?.();
      });
  }

  /** A stored record could not be read: the store buried it; report it like any dead letter. */
  #onCorrupt(letter: DeadLetter): void {
    this.#logger.error?.(
      `${OWNER}: ${letter.reason} (key ${JSON.stringify(letter.key)}, seq ${letter.seq}); moved to the dead letters`,
    );
    const error = new BacklogError(this.#durable?.queue.location, letter.reason);
    // During open() the queue does not exist yet, and the record was never counted as pending.
    if (this.#durable === undefined) this.#fates.buried(letter, error);
    else this.#durable.corrupt(letter, error);
  }
}
