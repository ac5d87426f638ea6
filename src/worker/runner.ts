import type { Clock } from '../clock.js';
import { cheapErrors } from '../errors/SyncWorkerError.js';
import { TaskTimeoutError, timeoutMessage } from '../errors/TaskTimeoutError.js';
import type { LatencyTracker } from '../LatencyTracker.js';
import { isThenable, toError } from '../task.js';
import type { BreakerGate } from './breakerGate.js';
import { DeadlineHeap } from './deadlines.js';
import { emptySlot, type RunSlot, retireSettlers, settlersOf } from './runSlot.js';
import type { TaskSource } from './taskSource.js';

const newTimeoutError = cheapErrors(TaskTimeoutError);

/** What the runner tells the drain loop that drives it. */
export interface RunnerHost {
  /** A run ended with an outcome (its fate told): the loop may start the next. */
  runEnded(): void;
}

/** The host before `connect`: nothing hears a run end. */
const NO_HOST: RunnerHost = { runEnded() {} };

/** Reports runs to the inspector (the worker's `trace` option); absent otherwise. */
export type RunTracer = (
  event:
    | { type: 'trace.taskStarted'; name: string }
    | { type: 'trace.taskSettled'; name: string; outcome: 'succeeded' | 'failed' | 'timedOut' },
) => void;

/**
 * Hears every run that ended with an outcome: its task (as the source ran
 * it), how long it took on the worker's clock, and its error if it failed or
 * timed out. Set only while instrumented (`xstate-sync-worker/otel`).
 */
export type RunObserver = (task: unknown, durationMs: number, error: Error | undefined) => void;

/**
 * Runs up to `concurrency` tasks at a time, each under its own deadline: it
 * starts a task's code, settles its outcome once (a late one, after a timeout
 * or shutdown, is ignored), feeds the latency tracker and the breaker, and
 * hands the fate to the task's source. One timer serves every deadline: it is
 * armed for the earliest one in a heap of the runs in flight.
 */
export class Runner {
  // Slots not in use, linked through `nextIdle` (no array to grow or shrink per run);
  // a run takes the first and gives it back when it ends. `idleCount` is their number.
  private idle: RunSlot | undefined;
  private idleCount = 0;
  // The runs in flight, by deadline; its size is the number running.
  private readonly deadlines = new DeadlineHeap<RunSlot>();
  // The clock read that ended the last run starts the next, when the loop starts one at once:
  // one read per task. The drain loop forgets it (`forgetNow`) whenever it stops.
  private lastNow = 0;
  private nowIsFresh = false;
  // The deadline timer and when it fires; it re-arms itself to the earliest deadline when early.
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  // Who hears that a run ended: set once by `connect`, before the first run.
  private host: RunnerHost = NO_HOST;
  /** Hears each run's outcome and duration while instrumented; one field check per run otherwise. */
  observer: RunObserver | undefined = undefined;

  constructor(
    private readonly clock: Clock,
    private readonly gate: BreakerGate,
    private readonly tracker: LatencyTracker | undefined,
    private readonly trace: RunTracer | undefined,
    readonly concurrency = 1,
  ) {
    const settle = (slot: RunSlot, seq: number, ok: boolean, value: unknown) =>
      this.settle(slot, seq, ok, value);
    for (let i = 0; i < concurrency; i++) this.giveBack(emptySlot(settle));
  }

  /** Connects the drain loop that hears each run's end (it is built after the runner). */
  connect(host: RunnerHost): void {
    this.host = host;
  }

  /** Runs in flight: 0 to `concurrency`. */
  get running(): number {
    return this.deadlines.size;
  }

  /** Runs that may still start before the runner is full. */
  get free(): number {
    return this.stopped ? 0 : this.idleCount;
  }

  /** The last run's end is no longer "now": the next start reads the clock. */
  forgetNow(): void {
    this.nowIsFresh = false;
  }

  /**
   * Starts `task` from `source` under `timeoutMs`, admitted by the breaker
   * (`probe`: with its half-open probe permit). Call only while {@link free}.
   */
  start<T>(source: TaskSource<T>, task: T, timeoutMs: number, probe = false): void {
    const slot = this.idle as RunSlot;
    this.idle = slot.nextIdle;
    this.idleCount--;
    const start = this.nowIsFresh ? this.lastNow : this.clock.now();
    this.nowIsFresh = false;
    const seq = ++slot.seq;
    const run = source.context(task, timeoutMs);
    slot.source = source as TaskSource<unknown>;
    slot.task = task;
    slot.run = run;
    slot.startedAt = start;
    slot.deadline = start + timeoutMs;
    slot.generation = this.gate.admittedGeneration;
    slot.probe = probe;
    this.deadlines.push(slot);
    this.armDeadline(slot.deadline, start);
    this.trace?.({ type: 'trace.taskStarted', name: nameOf(task) });
    let result: unknown;
    try {
      result = source.invoke(task, run);
      if (!isThenable(result)) {
        this.settle(slot, seq, true, result);
        return;
      }
      if ((result as object).constructor === Promise) {
        const settlers = settlersOf(slot);
        result.then(settlers.fulfilled, settlers.rejected);
        return;
      }
      // Another thenable might call back twice, or after this run is over: it gets callbacks of its own.
      result.then(
        (value) => this.settle(slot, seq, true, value),
        (error) => this.settle(slot, seq, false, error),
      );
    } catch (error) {
      this.settle(slot, seq, false, error);
    }
  }

  /**
   * The shutdown deadline passed: aborts every run in flight with its own
   * error from `errorFor` and hands it back to its source with no outcome.
   * Runs nothing after this.
   */
  abandon(errorFor: () => Error): void {
    this.stop();
    const now = this.clock.now();
    for (let slot = this.deadlines.peek(); slot !== undefined; slot = this.deadlines.peek()) {
      const { source, task, run, startedAt } = slot;
      this.release(slot);
      retireSettlers(slot);
      const error = errorFor();
      run?.abort(error);
      source?.abandoned(task, error, now - startedAt);
    }
  }

  /** Stops the deadline timer; outcomes that arrive later are ignored. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private settle(slot: RunSlot, seq: number, ok: boolean, value: unknown): void {
    const source = slot.source;
    if (seq !== slot.seq || source === undefined) return;
    const { task, startedAt, generation, probe } = slot;
    this.release(slot);
    const now = this.ended();
    const durationMs = now - startedAt;
    if (ok) {
      this.observer?.(task, durationMs, undefined);
      this.tracker?.observe(durationMs);
      if (probe || source.reportsOutcome?.(task) !== false) this.gate.succeeded(generation);
      this.trace?.({ type: 'trace.taskSettled', name: nameOf(task), outcome: 'succeeded' });
      source.succeeded(task, value, durationMs);
    } else {
      const error = toError(value);
      this.observer?.(task, durationMs, error);
      if (probe || source.reportsOutcome?.(task, error) !== false) {
        this.gate.failed(error, generation);
      }
      this.trace?.({ type: 'trace.taskSettled', name: nameOf(task), outcome: 'failed' });
      source.failed(task, error, now, this.gate.isOpen, durationMs);
    }
    this.host.runEnded();
  }

  private timeOut(slot: RunSlot, now: number): void {
    const { source, task, run, generation, startedAt } = slot;
    if (source === undefined || run === undefined) return;
    this.release(slot);
    retireSettlers(slot);
    this.lastNow = now;
    this.nowIsFresh = true;
    const timeoutMs = run.timeoutMs;
    const error = newTimeoutError(timeoutMessage(timeoutMs));
    error.timeoutMs = timeoutMs;
    // A censored sample: the call took at least this long, so the p95 rises during a slowdown.
    this.tracker?.observe(timeoutMs);
    this.observer?.(task, now - startedAt, error);
    this.gate.failed(error, generation);
    run.abort(error);
    this.trace?.({ type: 'trace.taskSettled', name: nameOf(task), outcome: 'timedOut' });
    source.timedOut(task, error, now, this.gate.isOpen, now - startedAt);
    this.host.runEnded();
  }

  /** The run in `slot` is over: a late outcome finds a newer seq, and the slot is free again. */
  private release(slot: RunSlot): void {
    slot.seq++;
    slot.source = undefined;
    slot.task = undefined;
    slot.run = undefined;
    this.deadlines.remove(slot);
    this.giveBack(slot);
  }

  private giveBack(slot: RunSlot): void {
    slot.nextIdle = this.idle;
    this.idle = slot;
    this.idleCount++;
  }

  private ended(): number {
    const now = this.clock.now();
    this.lastNow = now;
    this.nowIsFresh = true;
    return now;
  }

  private armDeadline(deadline: number, now: number): void {
    if (this.timerAt <= deadline) return; // it fires first, then re-arms to the earliest deadline
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = this.clock.setTimeout(this.onDeadlineTimer, deadline - now);
  }

  private readonly onDeadlineTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    const now = this.clock.now();
    for (let due = this.deadlines.peek(); due !== undefined; due = this.deadlines.peek()) {
      if (due.deadline > now) {
        this.armDeadline(due.deadline, now);
        return;
      }
      this.timeOut(due, now);
      if (this.stopped) return;
    }
  };
}

/** The name of a task as the runner holds it (a closure run, a durable record or batch): for traces and metrics. */
export function nameOf(task: unknown): string {
  const t = task as { handler?: string; name?: string; task?: { name?: string } };
  return t.handler ?? t.task?.name ?? t.name ?? 'sync';
}
