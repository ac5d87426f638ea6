import type { BreakerStateChange } from '../CircuitBreaker.js';
import { cheapErrors } from '../errors/SyncWorkerError.js';
import { WorkerShutdownError } from '../errors/WorkerShutdownError.js';
import type { LatencyTracker } from '../LatencyTracker.js';
import type { SyncTask } from '../task.js';
import type { Admission, BreakerGate } from './breakerGate.js';
import type { ClosureSource } from './closureSource.js';
import type { DurableSource } from './durableSource.js';
import type { LifecycleBridge } from './lifecycle.js';
import { breakerOpen } from './refusals.js';
import type { Runner, RunnerHost } from './runner.js';
import { DEFAULT_TASK_TIMEOUT_MS } from './types.js';

const newShutdownError = cheapErrors(WorkerShutdownError);

/**
 * The drain loop: while the lifecycle's drain is `running` and the runner has
 * room, it picks the next task (the breaker's probe replays the oldest kept
 * durable task; otherwise closure and durable tasks take turns, each source
 * offering only keys with nothing in flight), asks the breaker, and starts
 * it. What it cannot get past (nothing to start, a refused permit) it tells
 * the lifecycle, which decides what follows, but only once nothing is in
 * flight: a run still out will end and look again.
 */
export class DrainLoop implements RunnerHost {
  // Plain flags of the loop itself, not lifecycle state: the loop alone writes them.
  /** A pump is on the stack (outcomes of synchronous tasks must not re-enter it). */
  private pumping = false;
  /** A pump is queued as a microtask. */
  private pumpScheduled = false;
  /** Durable tasks go next when both kinds wait. */
  private durableTurn = false;
  /** `onIdle()` callers, resolved when nothing waits or runs. */
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly closures: ClosureSource,
    private readonly durable: DurableSource | undefined,
    private readonly runner: Runner,
    private readonly gate: BreakerGate,
    private readonly lifecycle: LifecycleBridge,
    private readonly tracker: LatencyTracker | undefined,
  ) {}

  /** Whether nothing waits or runs (what `onIdle()` waits for). */
  get isIdle(): boolean {
    const drain = this.lifecycle.drain;
    return drain === 'idle' || drain === 'done' || this.lifecycle.isLingering;
  }

  /** Resolves when nothing waits or runs. */
  onIdle(): Promise<void> {
    if (this.isIdle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Whether a shutdown now would have nothing to wait for (the SHUTDOWN event's `nothingToDrain`). */
  get nothingToDrain(): boolean {
    const drain = this.lifecycle.drain;
    return (
      this.runner.running === 0 &&
      this.closures.waiting === 0 &&
      (drain !== 'running' || this.lifecycle.isLingering)
    );
  }

  /** Queues an accepted closure task and wakes the drain for it. */
  acceptClosure(task: SyncTask): void {
    // A run in flight means the drain is running, not lingering: the run's end looks again,
    // and a pump now is needed only if another run could start beside it.
    const runner = this.runner;
    if (runner.free === 0) {
      this.closures.queue(task); // every slot is busy (admission is open, so not stopped)
      return;
    }
    if (runner.running > 0) {
      this.closures.queue(task);
      this.schedule();
      return;
    }
    // An idle runner will take the first task of a burst: it is set apart, not counted as waiting.
    this.closures.push(task, this.lifecycle.drain !== 'blocked');
    this.workArrived();
  }

  /** Work arrived (enqueued, committed, read back, or due for a retry). */
  workArrived(): void {
    if (this.lifecycle.workArrived() && this.runner.free > 0) this.schedule();
  }

  /** Looks for the next task in a microtask (never inside `enqueue`). */
  schedule(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(this.pump);
  }

  /** A commit ended, or the breaker let calls through again: a drain with free slots looks again. */
  lookAgain(): void {
    if (this.lifecycle.drain === 'running' && this.runner.free > 0) this.schedule();
  }

  runEnded(): void {
    if (!this.pumping) this.pump();
  }

  /**
   * The breaker changed. An open breaker fails the closure tasks waiting,
   * after the outcome that opened it is told; one that lets calls through
   * again (half-open, closed) wakes a blocked drain, and a running one with
   * free slots looks again: a run in flight beside them may be far from its end.
   */
  breakerChanged(change: BreakerStateChange): void {
    // A microtask, so the task whose failure opened the breaker (here or in another
    // worker sharing it) hears its own fate before the waiting tasks fail fast.
    if (change.to === 'open') queueMicrotask(() => this.failFastIfOpen());
    this.lifecycle.breakerChanged();
    if (change.to !== 'open') this.lookAgain();
  }

  /** The lifecycle's `abandonRemaining`: the shutdown deadline passed. */
  abandonRemaining(): void {
    const errorFor = () => newShutdownError('sync worker shut down before this task finished');
    this.runner.abandon(errorFor);
    this.closures.abandonWaiting(errorFor);
    this.durable?.abandonWaiting();
  }

  /** Resolves every `onIdle()` caller (the worker is idle, or done). */
  resolveIdle(): void {
    const waiters = this.idleWaiters;
    if (waiters.length === 0) return;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private failFastIfOpen(): void {
    if (!this.gate.isOpen || this.closures.waiting === 0) return;
    this.closures.failWaiting(breakerOpen);
    if (this.runner.running === 0 && this.lifecycle.drain === 'running') this.schedule();
  }

  /** Starts tasks until the runner is full, nothing can start, or the lifecycle leaves `running`. */
  private readonly pump = (): void => {
    this.pumpScheduled = false;
    if (this.pumping) return;
    this.pumping = true;
    const runner = this.runner;
    const lifecycle = this.lifecycle;
    try {
      while (runner.free > 0 && lifecycle.drain === 'running') {
        if (!this.startNext()) return;
      }
    } finally {
      this.pumping = false;
      this.runner.forgetNow();
    }
  };

  /** Starts one task; returns false when the loop must stop and wait. */
  private startNext(): boolean {
    const probing = this.gate.probing;
    const durableReady = this.durable?.prepare(probing) === true;
    const closureReady = this.closures.prepare();
    if (!durableReady && !closureReady) {
      this.nothingToStart();
      return false;
    }
    const timeoutMs = this.tracker?.timeout() ?? DEFAULT_TASK_TIMEOUT_MS;
    const admission = this.gate.admit(timeoutMs);
    if (admission !== 'admitted') return this.refused(admission);
    // The probe replays the oldest kept task; otherwise the two kinds take turns.
    if (durableReady && (probing || this.durableTurn || !closureReady)) {
      this.durableTurn = false;
      const durable = this.durable as DurableSource;
      this.runner.start(durable, durable.take(), timeoutMs, probing);
    } else {
      this.durableTurn = durableReady;
      this.runner.start(this.closures, this.closures.take(), timeoutMs, probing);
    }
    return true;
  }

  /** The breaker refused the next task. Returns whether the loop may go on. */
  private refused(admission: Exclude<Admission, 'admitted'>): boolean {
    if (admission === 'open') {
      this.closures.failWaiting(breakerOpen);
      // Durable tasks are kept, not failed: wait for the breaker's probe.
      if (this.durable?.queue.hasReady !== true) return true;
    } else {
      // Half-open with the probe out: the task an idle worker took to run must wait after all.
      this.closures.enforceBound();
    }
    // Runs in flight (the probe among them, perhaps) end and look again: not blocked yet.
    if (this.runner.running > 0) return false;
    this.lifecycle.permitDenied(this.closures.waiting > 0);
    return false;
  }

  /** Nothing can start now: wait for the running task or a commit, or tell the lifecycle. */
  private nothingToStart(): void {
    if (this.runner.running > 0) return;
    // A commit in flight makes its tasks runnable when it lands: wait for it like a run.
    if (this.durable?.queue.isWriting === true) return;
    const retryPending = this.durable?.queue.hasBackoff === true;
    if (!retryPending) this.resolveIdle();
    this.lifecycle.nothingRunnable(retryPending);
  }
}
