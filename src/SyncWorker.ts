import { type ActorRefFrom, createActor } from 'xstate';
import type { workerMachine } from '../machines/worker.machine.js';
import type { JsonCompatible } from './backlog/json.js';
import type { CircuitBreaker } from './CircuitBreaker.js';
import { Emitter, type Unsubscribe } from './Emitter.js';
import { BreakerOpenError } from './errors/BreakerOpenError.js';
import { createCheapError } from './errors/SyncWorkerError.js';
import { WorkerShutdownError } from './errors/WorkerShutdownError.js';
import type { LatencyTracker } from './LatencyTracker.js';
import type { Logger } from './logger.js';
import { refuseUnknownOptions } from './optionNames.js';
import type { DurableHandlers, DurableTaskFor, DurableTaskInput, SyncTask } from './task.js';
import { taskKind, validateDurableTask, validateTask } from './taskValidation.js';
import { delayMs, optionsObject } from './validate.js';
import { resumeBreaker } from './worker/breakerResume.js';
import { ClosureSource } from './worker/closureSource.js';
import {
  connectBreaker,
  connectTracker,
  durableSourceFor,
  openOwnStore,
  reportCorrupt,
  type WorkerParts,
  withDrain,
} from './worker/collaborators.js';
import type { DrainLoop } from './worker/drainLoop.js';
import type { DurableSource } from './worker/durableSource.js';
import { WorkerEffects } from './worker/effects.js';
import { Fates } from './worker/fates.js';
import { type HealthOptions, type WorkerHealth, workerHealth } from './worker/health.js';
import { registerParts } from './worker/internals.js';
import { LifecycleBridge, runtimeSystemMachine } from './worker/lifecycle.js';
import { type WorkerSettings, workerSettings } from './worker/options.js';
import { workerStats } from './worker/stats.js';
import {
  SYNC_WORKER_EVENTS,
  type SyncWorkerActor,
  type SyncWorkerEvents,
  type SyncWorkerOptions,
  type SyncWorkerStats,
  type WorkerState,
} from './worker/types.js';

const OWNER = 'SyncWorker';
type LifecycleActor = ActorRefFrom<typeof workerMachine>;
const SHUTTING_DOWN = 'sync worker is shutting down';

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
 *
 * @typeParam H the `handlers` option's type, inferred from it.
 * @typeParam T the durable tasks `enqueue` accepts, computed from `H`: leave it be.
 */
export class SyncWorker<
  H extends DurableHandlers = DurableHandlers,
  T extends DurableTaskInput<unknown> = DurableTaskFor<H>,
> {
  /** The root actor: the lifecycle (`systemId` `worker`) and the owned `breaker`, `tracker` and `backlog`. */
  readonly actor: SyncWorkerActor;
  /** The breaker in use (yours or the worker's own), or `undefined` with `breaker: false`. */
  readonly breaker: CircuitBreaker | undefined;
  /** The tracker in use (yours or the worker's own), or `undefined` with `latencyTracker: false`. */
  readonly latencyTracker: LatencyTracker | undefined;
  /** The name given in the options. */
  readonly name: string;

  readonly #logger: Logger;
  readonly #events: Emitter<SyncWorkerEvents>;
  readonly #fates: Fates;
  readonly #lifecycle: LifecycleBridge;
  readonly #durable: DurableSource | undefined;
  readonly #drain: DrainLoop;
  readonly #effects: WorkerEffects;
  /** Every part, for stats() and release; the hot paths keep their own references below. */
  readonly #parts: WorkerParts;
  /** The `health` option's thresholds. */
  readonly #health: WorkerSettings['health'];
  // True from the first accepted task: `isRunning` reports it; nothing decides on it.
  #started = false;

  /**
   * @param options see {@link SyncWorkerOptions}; invalid values throw a
   *   `TypeError` or `RangeError` naming the option.
   */
  constructor(options: SyncWorkerOptions<H> = {}) {
    const settings = workerSettings(options);
    this.name = settings.name;
    this.#logger = settings.logger;
    this.#health = settings.health;
    this.#events = new Emitter<SyncWorkerEvents>(SYNC_WORKER_EVENTS, (type, error) =>
      this.#logger.error?.(`${OWNER}: a "${type}" listener threw`, error),
    );
    this.#fates = new Fates(this.#events, this.#logger, settings.onDeadLetter);
    const closures = new ClosureSource(settings.maxQueue, this.#fates);
    this.#effects = new WorkerEffects(this.#events, this.#logger, settings.clock);
    this.#lifecycle = new LifecycleBridge(
      this.#effects,
      settings.clock,
      settings.idleAfterMs,
      this.#logger,
    );
    // Last: nothing after this may throw, or the store's lock would stay held.
    // Closures here capture only what they need: one that captured `settings` would keep it alive.
    const location = settings.durable?.store.location ?? 'memory';
    const opened = openOwnStore(settings)?.open({
      onCorrupt: (letter) =>
        reportCorrupt(letter, location, this.#logger, this.#fates, this.#durable),
      onWriteError: (error) => this.#logger.error?.(`${OWNER}: a backlog write failed`, error),
    });
    const resume = resumeBreaker(settings, options, opened, this.#logger);
    this.actor = createActor(runtimeSystemMachine, {
      id: this.name,
      input: resume.system,
      clock: settings.clock,
      inspect: settings.inspect,
    }).start();
    this.#lifecycle.attach(this.actor.system.get('worker') as LifecycleActor);
    this.breaker = connectBreaker(settings, this.actor, resume.from);
    this.latencyTracker = connectTracker(settings, this.actor);
    const fleet = { breaker: this.breaker, lifecycle: this.#lifecycle };
    this.#durable = durableSourceFor(settings, opened, this.actor, this.#fates, fleet, {
      onRunnable: () => this.#durableRunnable(),
      onNotKept: (records, error) => this.#fates.notKept(records, error),
      onWriteSettled: () => this.#drain.lookAgain(),
    });
    this.#parts = withDrain(settings, {
      closures,
      durable: this.#durable,
      fates: this.#fates,
      lifecycle: this.#lifecycle,
      breaker: this.breaker,
      tracker: this.latencyTracker,
    });
    this.#drain = this.#parts.drain;
    registerParts(this, this.#parts);
    const detachBreaker = this.breaker?.on('stateChange', (change) => {
      if (this.#events.has('breakerStateChange')) this.#events.emit('breakerStateChange', change);
      this.#drain.breakerChanged(change);
    });
    this.#effects.connect(this.#parts, this.actor, detachBreaker);
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
  enqueue<D extends T>(task: D & { payload: JsonCompatible<D['payload']> }): boolean;
  enqueue(task: SyncTask | DurableTaskInput<unknown>): boolean {
    if (taskKind(task) === 'durable') return this.#enqueueDurable(task as DurableTaskInput);
    validateTask(task);
    const lifecycle = this.#lifecycle;
    if (!lifecycle.admissionOpen) {
      return this.#fates.refused(task, createCheapError(WorkerShutdownError, SHUTTING_DOWN));
    }
    if (this.breaker?.isOpen) {
      return this.#fates.refused(task, createCheapError(BreakerOpenError, 'circuit breaker open'));
    }
    this.#started = true;
    this.#drain.acceptClosure(task);
    return true;
  }

  /**
   * Resolves once every durable task accepted so far is durable in the
   * backlog (at once without one). Rejects with a `BacklogFullError` when the
   * store refused some of them (a `BacklogUnavailableError` when a shared store
   * stayed unreachable); those tasks also got `taskFailed`.
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
    refuseUnknownOptions(`${OWNER}.shutdown`, o, ['timeoutMs']);
    const timeoutMs = delayMs(`${OWNER}.shutdown`, 'timeoutMs', o.timeoutMs, 5_000);
    const { promise, first } = this.#effects.shutdownRequested();
    if (first) this.#lifecycle.shutdown(timeoutMs, this.#drain.nothingToDrain);
    return promise;
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
    return this.#parts.closures.waiting;
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
    return workerStats(this.#parts);
  }

  /**
   * The worker's health now, for readiness and liveness probes: `ok`,
   * `degraded` or `down`, with a typed reason for each finding (see
   * {@link WorkerHealth}). `options` overrides the `health` option's thresholds for this call.
   */
  health(options?: HealthOptions): WorkerHealth {
    return workerHealth(this.#parts, this.#health, options);
  }

  #enqueueDurable(task: DurableTaskInput): boolean {
    const durable = this.#durable;
    validateDurableTask(task, durable?.handlers);
    const lifecycle = this.#lifecycle;
    if (!(durable as DurableSource).accept(task, lifecycle.admissionOpen)) return false;
    this.#started = true;
    // Draining from now: the task is waiting (for its commit), so onIdle must wait for it.
    this.#drain.workArrived();
    return true;
  }

  #durableRunnable(): void {
    if (this.#lifecycle.drain === 'done') return;
    this.#started = true;
    this.#drain.workArrived();
  }
}
