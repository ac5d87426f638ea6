import type { Clock } from '../clock.js';
import { createCheapError } from '../errors/SyncWorkerError.js';
import { TaskTimeoutError, timeoutMessage } from '../errors/TaskTimeoutError.js';
import type { LatencyTracker } from '../LatencyTracker.js';
import { isThenable, type TaskRun, toError } from '../task.js';
import type { BreakerGate } from './breakerGate.js';
import { type Deadlined, DeadlineHeap } from './deadlines.js';
import type { TaskSource } from './taskSource.js';

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
 * One place for a run in flight. Its fields are plain, on the hot path: the
 * runner alone writes them, and `seq` tells a late outcome from the current one.
 */
interface RunSlot extends Deadlined {
  seq: number;
  source: TaskSource<unknown> | undefined;
  task: unknown;
  run: TaskRun | undefined;
  startedAt: number;
  /** The breaker's generation when the run was admitted. */
  generation: number;
  /** Whether the run holds the breaker's half-open probe permit (its outcome always reaches the breaker). */
  probe: boolean;
}

function emptySlot(): RunSlot {
  return {
    seq: 0,
    source: undefined,
    task: undefined,
    run: undefined,
    startedAt: 0,
    deadline: 0,
    heapIndex: -1,
    generation: 0,
    probe: false,
  };
}

/**
 * Runs up to `concurrency` tasks at a time, each under its own deadline: it
 * starts a task's code, settles its outcome once (a late one, after a timeout
 * or shutdown, is ignored), feeds the latency tracker and the breaker, and
 * hands the fate to the task's source. One timer serves every deadline: it is
 * armed for the earliest one in a heap of the runs in flight.
 */
export class Runner {
  // Slots not in use; a run takes one and gives it back when it ends.
  private readonly idle: RunSlot[] = [];
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

  constructor(
    private readonly clock: Clock,
    private readonly gate: BreakerGate,
    private readonly tracker: LatencyTracker | undefined,
    private readonly trace: RunTracer | undefined,
    readonly concurrency = 1,
  ) {
    for (let i = 0; i < concurrency; i++) this.idle.push(emptySlot());
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
    return this.stopped ? 0 : this.idle.length;
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
    const slot = this.idle.pop() as RunSlot;
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
      this.tracker?.observe(durationMs);
      if (probe || source.reportsOutcome?.(task) !== false) this.gate.succeeded(generation);
      this.trace?.({ type: 'trace.taskSettled', name: nameOf(task), outcome: 'succeeded' });
      source.succeeded(task, value, durationMs);
    } else {
      const error = toError(value);
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
    this.lastNow = now;
    this.nowIsFresh = true;
    const timeoutMs = run.timeoutMs;
    const error = createCheapError(TaskTimeoutError, timeoutMessage(timeoutMs), { timeoutMs });
    // A censored sample: the call took at least this long, so the p95 rises during a slowdown.
    this.tracker?.observe(timeoutMs);
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
    this.idle.push(slot);
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

/** A task's name for trace events. */
function nameOf(task: unknown): string {
  const t = task as { handler?: string; name?: string; task?: { name?: string } };
  return t.handler ?? t.task?.name ?? t.name ?? 'sync';
}
