import type { Clock } from '../clock.js';
import { createCheapError } from '../errors/SyncWorkerError.js';
import { TaskTimeoutError } from '../errors/TaskTimeoutError.js';
import type { LatencyTracker } from '../LatencyTracker.js';
import { isThenable, type TaskRun, toError } from '../task.js';
import type { BreakerGate } from './breakerGate.js';
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
 * One run in flight. Its fields are plain, on the hot path: the runner alone
 * writes them, `seq` tells a late outcome from the current one.
 */
interface RunSlot {
  seq: number;
  source: TaskSource<unknown> | undefined;
  task: unknown;
  run: TaskRun | undefined;
  startedAt: number;
  deadline: number;
  /** The breaker's generation when the run was admitted. */
  generation: number;
}

/**
 * Runs one task at a time under its deadline: it starts the task's code,
 * settles its outcome once (a late one, after a timeout or shutdown, is
 * ignored), feeds the latency tracker and the breaker, and hands the fate to
 * the task's source. One timer serves every deadline.
 */
export class Runner {
  private readonly slot: RunSlot = {
    seq: 0,
    source: undefined,
    task: undefined,
    run: undefined,
    startedAt: 0,
    deadline: 0,
    generation: 0,
  };
  // The clock read that ended the last run starts the next, when the loop starts one at once:
  // one read per task. The drain loop forgets it (`forgetNow`) whenever it stops.
  private lastNow = 0;
  private nowIsFresh = false;
  // The deadline timer and when it fires; it re-arms itself to the running deadline when early.
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
  ) {}

  /** Connects the drain loop that hears each run's end (it is built after the runner). */
  connect(host: RunnerHost): void {
    this.host = host;
  }

  /** Runs in flight: 0 or 1. */
  get running(): number {
    return this.slot.source === undefined ? 0 : 1;
  }

  /** Runs that may still start before the runner is full. */
  get free(): number {
    return this.slot.source === undefined && !this.stopped ? 1 : 0;
  }

  /** The last run's end is no longer "now": the next start reads the clock. */
  forgetNow(): void {
    this.nowIsFresh = false;
  }

  /** Starts `task` from `source` under `timeoutMs`, admitted by the breaker at `generation`. */
  start<T>(source: TaskSource<T>, task: T, timeoutMs: number): void {
    const slot = this.slot;
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
    this.armDeadline(start);
    this.trace?.({ type: 'trace.taskStarted', name: nameOf(task) });
    let result: unknown;
    try {
      result = source.invoke(task, run);
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

  /**
   * The shutdown deadline passed: aborts the run in flight with `error` and
   * hands it back to its source with no outcome. Runs nothing after this.
   */
  abandon(error: Error): void {
    this.stop();
    const { source, task, run } = this.slot;
    if (source === undefined) return;
    this.clear();
    run?.abort(error);
    source.abandoned(task, error);
  }

  /** Stops the deadline timer; outcomes that arrive later are ignored. */
  stop(): void {
    this.stopped = true;
    this.slot.seq++;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private settle(seq: number, ok: boolean, value: unknown): void {
    const slot = this.slot;
    const source = slot.source;
    if (seq !== slot.seq || source === undefined) return;
    const { task, startedAt, generation } = slot;
    this.clear();
    const now = this.ended();
    const durationMs = now - startedAt;
    if (ok) {
      this.tracker?.observe(durationMs);
      this.gate.succeeded(generation);
      this.trace?.({ type: 'trace.taskSettled', name: nameOf(task), outcome: 'succeeded' });
      source.succeeded(task, value, durationMs);
    } else {
      const error = toError(value);
      this.gate.failed(error, generation);
      this.trace?.({ type: 'trace.taskSettled', name: nameOf(task), outcome: 'failed' });
      source.failed(task, error, now, this.gate.isOpen);
    }
    this.host.runEnded();
  }

  private timeOut(now: number): void {
    const { source, task, run, generation } = this.slot;
    if (source === undefined || run === undefined) return;
    this.clear();
    this.lastNow = now;
    this.nowIsFresh = true;
    const timeoutMs = run.timeoutMs;
    const error = createCheapError(TaskTimeoutError, `task timed out after ${timeoutMs} ms`, {
      timeoutMs,
    });
    // A censored sample: the call took at least this long, so the p95 rises during a slowdown.
    this.tracker?.observe(timeoutMs);
    this.gate.failed(error, generation);
    run.abort(error);
    this.trace?.({ type: 'trace.taskSettled', name: nameOf(task), outcome: 'timedOut' });
    source.timedOut(task, error, now, this.gate.isOpen);
    this.host.runEnded();
  }

  private clear(): void {
    const slot = this.slot;
    slot.source = undefined;
    slot.task = undefined;
    slot.run = undefined;
  }

  private ended(): number {
    const now = this.clock.now();
    this.lastNow = now;
    this.nowIsFresh = true;
    return now;
  }

  private armDeadline(now: number): void {
    const deadline = this.slot.deadline;
    if (this.timerAt <= deadline) return; // it fires first, then re-arms to this deadline
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = this.clock.setTimeout(this.onDeadlineTimer, deadline - now);
  }

  private readonly onDeadlineTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.slot.source === undefined || this.stopped) return;
    const now = this.clock.now();
    if (now >= this.slot.deadline) this.timeOut(now);
    else this.armDeadline(now);
  };
}

/** A task's name for trace events. */
function nameOf(task: unknown): string {
  const t = task as { handler?: string; name?: string };
  return t.handler ?? t.name ?? 'sync';
}
