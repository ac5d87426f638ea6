/**
 * A small executable model of a SyncWorker that runs closure tasks, with its own
 * breaker and latency tracker, on a simulated clock. The model-based property
 * test (`sync-worker.model.test.ts`) runs the same commands against it and
 * against a real worker and compares them after every command.
 *
 * The model states the documented behaviour, not the implementation:
 * - one task runs at a time, in enqueue order; a full queue drops its oldest waiting task
 *   (a worker with nothing running takes a burst's first task to run, so it never waits);
 * - the breaker opens after `failureThreshold` consecutive failures, turns half-open
 *   after `probeIntervalMs`, and in half-open hands out one permit; an unreported
 *   permit counts as a failed probe after its timeout (the task timeout for the
 *   worker's own probe, `probeTimeoutMs` for anyone else's);
 * - an outcome whose task began before the breaker last changed (state, or the
 *   half-open permit) is not reported to it;
 * - when the breaker opens, the waiting tasks fail with BreakerOpenError;
 * - the timeout is `clamp(headroom × p95, floor, ceiling)` once warm; a success
 *   feeds its latency, a timeout feeds its timeout (a censored sample);
 * - shutdown drains until its deadline, then fails the running and waiting
 *   tasks with WorkerShutdownError; afterwards the breaker is frozen;
 * - after the queue empties the worker stays `draining` for `idleAfterMs`,
 *   then goes `idle`, unless work arrives first.
 *
 * The lifecycle is not the model's own: `lifecycle` (./lifecycle-model.ts)
 * steps the real worker machine with XState's pure `transition()`. The model
 * tells it what it meets (work arrived, nothing runnable, the permit denied,
 * the breaker changed, shutdown called) with the facts it knows, and reads
 * from its snapshot whether the worker is blocked, stopping or done, and its
 * `state()`. The shutdown deadline is the machine's `after` delay, which
 * `transition()` returns as a delayed `xstate.raise`; the lifecycle model
 * keeps it on this model's clock, so `dueEvents` lists it and `fire` sends it
 * back, and the fates at the deadline follow the machine's `abandonRemaining`.
 *
 * Time: the model knows every pending timer (task deadline, probe interval,
 * probe permit, shutdown deadline). The timings below are chosen so that no two
 * of them can fall due at the same instant except a worker probe's deadline and
 * its permit timeout, which are the same event seen twice: all times the test
 * drives are multiples of 10 ms, task timeouts too, the probe interval ends at
 * ≡ 2 or 7 (mod 10), an external permit at ≡ 5 and a shutdown deadline at ≡ 4.
 * (Going idle after the linger commutes with every other event, so it may tie.)
 * `fireDue` asserts that, so a change of timings cannot silently make the
 * model ambiguous.
 */
import type { BreakerState, SyncWorkerStats, WorkerState } from '../../../src/index.js';
import { LifecycleModel } from './lifecycle-model.js';

/** The worker's settings in every model run; `maxQueue` and the threshold vary per run. */
export const TIMING = {
  /** Every clock step the test takes is a multiple of this. */
  tick: 10,
  tracker: {
    window: 5,
    warmupSamples: 3,
    defaultMs: 1_000,
    floorMs: 100,
    ceilingMs: 3_000,
    headroom: 2,
  },
  probeIntervalMs: 502,
  /** The permit timeout of a probe taken by someone other than the worker (`breaker.allow()`). */
  probeTimeoutMs: 1_505,
  shutdownShortMs: 304,
  shutdownLongMs: 4_004,
  /** The lifecycle stays `draining` this long after the queue empties (the worker's default). */
  idleAfterMs: 1,
} as const;

/** A value a task throws or rejects with, and how to print it. */
export interface Thrown {
  label: string;
  value: unknown;
}

/** What a task's `run` does. */
export type Body =
  /** Returns a promise the test settles later (complete, fail, or never: a timeout or shutdown ends it). */
  | { kind: 'controlled' }
  /** Returns a thenable that never calls back. */
  | { kind: 'hang' }
  /** Returns a value synchronously. */
  | { kind: 'sync' }
  /** Throws synchronously. */
  | { kind: 'throw'; thrown: Thrown };

export type LibraryError =
  | 'TaskTimeoutError'
  | 'BreakerOpenError'
  | 'QueueOverflowError'
  | 'WorkerShutdownError';

/** The one fate the model expects for a task. */
export type ExpectedFate =
  | { kind: 'success'; value: unknown }
  /** `run` threw or rejected with `thrown` (an Error as itself, anything else as an Error's cause). */
  | { kind: 'error'; thrown: unknown }
  | { kind: 'library'; name: LibraryError; timeoutMs?: number };

export interface ModelTask {
  id: number;
  name: string;
  body: Body;
  fate?: ExpectedFate;
}

/** The fields of `stats()` a worker running only closure tasks determines. */
export type ClosureStats = Pick<
  SyncWorkerStats,
  | 'queued'
  | 'running'
  | 'completed'
  | 'failed'
  | 'timedOut'
  | 'dropped'
  | 'refused'
  | 'breakerState'
  | 'timeoutMs'
  | 'state'
>;

type DueKind = 'deadline' | 'probeTimeout' | 'probeInterval' | 'shutdown' | 'idle';
/** When two timers fall due together, they fire in this order (only the worker-probe pair may). */
const DUE_ORDER: readonly DueKind[] = [
  'deadline',
  'probeTimeout',
  'probeInterval',
  'shutdown',
  'idle',
];

interface Due {
  at: number;
  kind: DueKind;
}

interface Running {
  id: number;
  startedAt: number;
  timeoutMs: number;
  /** The breaker epoch when the task was admitted: its outcome is reported only if unchanged. */
  epoch: number;
}

export class WorkerModel {
  now = 0;
  readonly tasks: ModelTask[] = [];
  /** Ids of started tasks, in start order. */
  readonly starts: number[] = [];
  /** Controlled tasks that already have their fate but whose promise the test has not settled. */
  readonly stale: number[] = [];

  // The breaker.
  breaker: BreakerState = 'closed';
  probing = false;
  permitBy: 'worker' | 'external' | undefined;
  failures = 0;
  /** Bumped whenever the breaker's state or its half-open permit changes. */
  epoch = 0;
  private openedAt = 0;
  private permitAt = 0;
  private permitTimeoutMs = 0;

  // The latency tracker: the last `window` samples.
  private readonly samples: number[] = [];

  // The worker.
  readonly queue: number[] = [];
  running: Running | undefined;
  /** The worker machine, stepped with `transition()`: the one source of the lifecycle state. */
  readonly lifecycle = new LifecycleModel(() => this.now, TIMING.idleAfterMs, {
    abandonRemaining: () => this.abandonRemaining(),
  });
  started = false;
  completed = 0;
  failed = 0;
  timedOut = 0;
  dropped = 0;
  refused = 0;

  constructor(
    readonly maxQueue: number,
    readonly failureThreshold: number,
  ) {}

  // --- commands ----------------------------------------------------------

  /** Submits a task; returns what `enqueue` must return. */
  enqueue(body: Body, name: string): boolean {
    const id = this.tasks.length;
    this.tasks.push({ id, name, body });
    if (!this.lifecycle.admissionOpen) return this.refuse(id, 'WorkerShutdownError');
    if (this.breaker === 'open') return this.refuse(id, 'BreakerOpenError');
    this.started = true;
    // A worker with nothing running sets a burst's first task apart to run: the oldest
    // task *after* it is the one dropped.
    const kept = this.running === undefined && this.lifecycle.drain !== 'blocked' ? 1 : 0;
    const victim =
      this.queue.length >= this.maxQueue + kept ? this.queue.splice(kept, 1)[0] : undefined;
    this.queue.push(id);
    this.lifecycle.workArrived();
    if (victim !== undefined) this.drop(victim);
    return true;
  }

  private drop(id: number): void {
    this.dropped++;
    this.setFate(id, { kind: 'library', name: 'QueueOverflowError' });
  }

  /** The running task's promise resolves (`ok`) or rejects with `thrown`. */
  settleRunning(ok: boolean, value: unknown): void {
    this.outcome(ok, value);
  }

  /** Idempotent: as in the worker, only the first call reaches the machine (its deadline stands). */
  shutdown(timeoutMs: number): void {
    if (!this.lifecycle.admissionOpen) return;
    const nothingToDrain =
      this.running === undefined && this.queue.length === 0 && this.lifecycle.resting;
    this.lifecycle.shutdown(timeoutMs, nothingToDrain);
  }

  /** `breaker.recordFailure()` from outside the worker; in half_open it decides, permit or not. */
  breakerFailure(): void {
    if (this.finished) return; // the breaker's actor has stopped: calls are no-ops
    if (this.breaker === 'closed') {
      this.failures++;
      if (this.failures >= this.failureThreshold) this.setBreaker('open', false);
    } else if (this.breaker === 'half_open') {
      this.failures++;
      this.setBreaker('open', false);
    }
  }

  /** `breaker.recordSuccess()` from outside the worker; in half_open it decides, permit or not. */
  breakerSuccess(): void {
    if (this.finished) return;
    if (this.breaker === 'closed') this.failures = 0;
    else if (this.breaker === 'half_open') {
      this.failures = 0;
      this.setBreaker('closed', false);
    }
  }

  breakerReset(): void {
    if (this.finished) return;
    this.failures = 0;
    this.setBreaker('closed', false);
  }

  /** `breaker.allow()`: whether the call may go ahead; takes the half-open permit. */
  allow(by: 'worker' | 'external', permitTimeoutMs: number): boolean {
    if (this.breaker === 'closed') return true;
    if (this.breaker === 'open' || this.probing) return false;
    this.permitBy = by;
    this.permitAt = this.now;
    this.permitTimeoutMs = permitTimeoutMs;
    this.setBreaker('half_open', true);
    return true;
  }

  /** Brings the worker to rest after a command, as its microtask pump does. */
  settle(): void {
    this.pump();
  }

  // --- time --------------------------------------------------------------

  /** The pending timers, earliest first. */
  dueEvents(): Due[] {
    if (this.finished) return [];
    const due: Due[] = [];
    const r = this.running;
    if (r !== undefined) due.push({ at: r.startedAt + r.timeoutMs, kind: 'deadline' });
    if (this.probing) due.push({ at: this.permitAt + this.permitTimeoutMs, kind: 'probeTimeout' });
    if (this.breaker === 'open') {
      due.push({ at: this.openedAt + TIMING.probeIntervalMs, kind: 'probeInterval' });
    }
    const deadline = this.lifecycle.nextTimer();
    if (deadline !== undefined) due.push({ at: deadline, kind: 'shutdown' });
    const lingerEnd = this.lifecycle.lingerEndsAt();
    if (lingerEnd !== undefined) due.push({ at: lingerEnd, kind: 'idle' });
    return due.sort((a, b) => a.at - b.at || DUE_ORDER.indexOf(a.kind) - DUE_ORDER.indexOf(b.kind));
  }

  /** The earliest pending timer's time, if any. */
  nextDue(): number | undefined {
    return this.dueEvents()[0]?.at;
  }

  /**
   * How many separate events fall due within `ms` from now (a worker probe's
   * deadline and its permit timeout count as one). A single coarse clock jump
   * over more than one would fire them all at the jump's end, in an order the
   * model does not claim to know.
   */
  eventsWithin(ms: number): number {
    // Going idle changes nothing any other event depends on: it may fire in any order.
    const due = this.dueEvents().filter((d) => d.at <= this.now + ms && d.kind !== 'idle');
    const pairedProbe = this.permitBy === 'worker' && this.running !== undefined;
    return pairedProbe && due.some((d) => d.kind === 'deadline')
      ? due.filter((d) => d.kind !== 'probeTimeout').length
      : due.length;
  }

  /**
   * Moves the model's time to `at` and fires every timer due by then, each
   * followed by the worker's reaction. Used for exact steps (a timer due at
   * `at`), and for a coarse jump over at most one event, which then happens at
   * the jump's end.
   */
  fireDue(at: number): void {
    this.now = at;
    for (;;) {
      const due = this.dueEvents().filter((d) => d.at <= at);
      const first = due[0];
      if (first === undefined) break;
      this.assertNoAmbiguousTie(due);
      this.fire(first.kind);
      this.pump();
    }
  }

  private assertNoAmbiguousTie(all: readonly Due[]): void {
    const due = all.filter((d) => d.kind !== 'idle');
    const [first, second] = due;
    if (first === undefined || second === undefined || second.at !== first.at) return;
    const workerProbe =
      this.permitBy === 'worker' && first.kind === 'deadline' && second.kind === 'probeTimeout';
    if (workerProbe && due[2]?.at !== first.at) return;
    throw new Error(
      `model: timers fall due together at ${first.at} (${due.map((d) => `${d.kind}@${d.at}`).join(', ')}); change TIMING`,
    );
  }

  private fire(kind: DueKind): void {
    switch (kind) {
      case 'deadline':
        this.timeOut();
        return;
      case 'probeTimeout':
        this.failures++;
        this.setBreaker('open', false);
        return;
      case 'probeInterval':
        this.setBreaker('half_open', false);
        return;
      case 'shutdown':
        this.lifecycle.fireTimers();
        return;
      case 'idle':
        this.lifecycle.lingerEnded();
        return;
    }
  }

  // --- what a reader sees ------------------------------------------------

  /** The timeout the next task gets. */
  timeoutMs(): number {
    const t = TIMING.tracker;
    if (this.samples.length < t.warmupSamples) return Math.min(t.defaultMs, t.ceilingMs);
    const p95 = Math.max(...this.samples); // nearest rank of ≤ 5 samples: the largest
    return Math.min(t.ceilingMs, Math.max(t.floorMs, t.headroom * p95, 1));
  }

  state(): WorkerState {
    return this.lifecycle.state;
  }

  /** The machine's `release` ran: the worker is done, and `shutdown()` resolves. */
  get finished(): boolean {
    return this.lifecycle.released;
  }

  /** The closure-task fields of `stats()`. */
  stats(): ClosureStats {
    return {
      queued: this.queue.length,
      running: this.running === undefined ? 0 : 1,
      completed: this.completed,
      failed: this.failed,
      timedOut: this.timedOut,
      dropped: this.dropped,
      refused: this.refused,
      breakerState: this.breaker,
      timeoutMs: this.timeoutMs(),
      state: this.state(),
    };
  }

  get isRunning(): boolean {
    return this.started && !this.finished;
  }

  /** Whether the running task is one the test settles by hand. */
  runningIsControlled(): boolean {
    const r = this.running;
    return r !== undefined && this.tasks[r.id]?.body.kind === 'controlled';
  }

  // --- internals ---------------------------------------------------------

  private setBreaker(state: BreakerState, probing: boolean): void {
    if (state === this.breaker && probing === this.probing) return;
    this.epoch++;
    const changed = state !== this.breaker;
    this.breaker = state;
    this.probing = probing;
    if (!probing) this.permitBy = undefined;
    if (!changed) return;
    if (state === 'open') {
      this.openedAt = this.now;
      this.failWaiting('BreakerOpenError');
    }
    this.lifecycle.breakerChanged(); // a blocked worker tries again on any change
  }

  /** Starts tasks while the lifecycle's drain is `running`; tells it what stops the loop. */
  private pump(): void {
    while (this.running === undefined && this.lifecycle.drain === 'running') {
      const next = this.queue[0];
      if (next === undefined) {
        this.lifecycle.nothingRunnable(false); // closure tasks never wait out a retry
        return;
      }
      const timeoutMs = this.timeoutMs();
      if (this.breaker === 'open') {
        this.failWaiting('BreakerOpenError');
        continue;
      }
      if (this.breaker === 'half_open') {
        if (this.probing) {
          // The task set apart cannot run after all: the bound applies to it too.
          if (this.queue.length > this.maxQueue) this.drop(this.queue.shift() as number);
          this.lifecycle.permitDenied(this.queue.length > 0);
          return;
        }
        this.allow('worker', timeoutMs);
      }
      this.queue.shift();
      this.begin(next, timeoutMs);
    }
  }

  private begin(id: number, timeoutMs: number): void {
    this.starts.push(id);
    this.running = { id, startedAt: this.now, timeoutMs, epoch: this.epoch };
    const body = this.task(id).body;
    if (body.kind === 'sync') this.outcome(true, id);
    else if (body.kind === 'throw') this.outcome(false, body.thrown.value);
  }

  private outcome(ok: boolean, value: unknown): void {
    const r = this.running;
    if (r === undefined) throw new Error('model: no running task to settle');
    this.running = undefined;
    const current = r.epoch === this.epoch;
    if (ok) {
      this.completed++;
      this.observe(this.now - r.startedAt);
      if (current) this.breakerSuccess();
      this.setFate(r.id, { kind: 'success', value });
    } else {
      this.failed++;
      if (current) this.breakerFailure();
      this.setFate(r.id, { kind: 'error', thrown: value });
    }
  }

  private timeOut(): void {
    const r = this.running as Running;
    this.running = undefined;
    this.failed++;
    this.timedOut++;
    this.observe(r.timeoutMs); // censored: the call took at least this long
    if (r.epoch === this.epoch) this.breakerFailure();
    this.setFate(r.id, { kind: 'library', name: 'TaskTimeoutError', timeoutMs: r.timeoutMs });
    this.markStale(r.id);
  }

  /** The machine's `abandonRemaining`, at the shutdown deadline (its `release` follows). */
  private abandonRemaining(): void {
    const r = this.running;
    this.running = undefined;
    if (r !== undefined) {
      this.failed++;
      this.setFate(r.id, { kind: 'library', name: 'WorkerShutdownError' });
      this.markStale(r.id);
    }
    for (const id of this.queue.splice(0)) {
      this.failed++;
      this.setFate(id, { kind: 'library', name: 'WorkerShutdownError' });
    }
  }

  private failWaiting(name: LibraryError): void {
    for (const id of this.queue.splice(0)) {
      this.failed++;
      this.setFate(id, { kind: 'library', name });
    }
  }

  private refuse(id: number, name: LibraryError): false {
    this.refused++;
    this.setFate(id, { kind: 'library', name });
    return false;
  }

  private observe(ms: number): void {
    this.samples.push(ms);
    if (this.samples.length > TIMING.tracker.window) this.samples.shift();
  }

  private markStale(id: number): void {
    if (this.task(id).body.kind === 'controlled') this.stale.push(id);
  }

  private setFate(id: number, fate: ExpectedFate): void {
    const task = this.task(id);
    if (task.fate !== undefined) throw new Error(`model: task ${id} already has a fate`);
    task.fate = fate;
  }

  private task(id: number): ModelTask {
    const task = this.tasks[id];
    if (task === undefined) throw new Error(`model: no task ${id}`);
    return task;
  }
}
