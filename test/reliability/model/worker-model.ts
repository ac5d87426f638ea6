/**
 * A small executable model of a SyncWorker that runs closure tasks, with its own
 * breaker and latency tracker, on a simulated clock. The model-based property
 * test (`sync-worker.model.test.ts`) runs the same commands against it and
 * against a real worker and compares them after every command.
 *
 * The model states the documented behaviour, not the implementation:
 * - at most `concurrency` tasks run at once, and at most one per ordering key
 *   (a task's `key`; tasks without one share a key): each key runs its tasks
 *   one at a time, in enqueue order, and a key whose oldest waiting task cannot
 *   start holds back the rest of that key only;
 * - the worker starts tasks whenever it can: after every command and timer,
 *   either `concurrency` tasks run or no key with nothing in flight has a task
 *   waiting (or the breaker refuses the next one);
 * - a full queue drops the oldest waiting task of all keys (a worker with nothing
 *   running sets a burst's first task apart to run, so it never waits);
 * - the breaker opens after `failureThreshold` consecutive failures, turns half-open
 *   after `probeIntervalMs`, and in half-open hands out one permit: one task
 *   probes, and the other keys wait for its outcome; an unreported permit counts
 *   as a failed probe after its timeout (the task timeout for the worker's own
 *   probe, `probeTimeoutMs` for anyone else's);
 * - an outcome whose task began before the breaker last changed (state, or the
 *   half-open permit) is not reported to it;
 * - when the breaker opens, the waiting tasks fail with BreakerOpenError;
 * - the timeout is `clamp(headroom × p95, floor, ceiling)` once warm, read
 *   when each task starts; a success feeds its latency, a timeout feeds its
 *   timeout (a censored sample);
 * - shutdown drains until its deadline, then fails the running and waiting
 *   tasks with WorkerShutdownError; afterwards the breaker is frozen;
 * - `onIdle()` resolves once nothing waits or runs;
 * - after the queue empties the worker stays `draining` for `idleAfterMs`,
 *   then goes `idle`, unless work arrives first.
 *
 * - keys take turns (round robin): a key with a task waiting and nothing in
 *   flight joins the rotation at the back, and the key at the front starts its
 *   oldest task; the task set apart is its key's turn; a key whose waiting
 *   tasks were all dropped keeps its place until the rotation passes it;
 *
 * Where the documented behaviour leaves a choice, the model asks the real
 * worker what it chose (`Choices`) and holds the choice against the rules:
 * - which task starts: it must be the oldest waiting task of a key with
 *   nothing in flight (the task set apart, if any, first), and its key the
 *   one whose turn it is, so in fact the rules leave no choice here: the
 *   model names the task it expects when the worker starts another;
 * - which of several runs whose deadlines fall at the same instant times out
 *   first (the order matters: each timeout is followed by a look for the next
 *   task, and feeds the latency window in turn).
 * Everything else (which task is dropped, each fate, the breaker, the
 * timeouts, the lifecycle) follows from the model's own state.
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
 * Time: the model knows every pending timer (task deadlines, probe interval,
 * probe permit, shutdown deadline). The timings below are chosen so that no two
 * kinds of them can fall due at the same instant except a worker probe's
 * deadline and its permit timeout, which are the same event seen twice: all
 * times the test drives are multiples of 10 ms, task timeouts too, the probe
 * interval ends at ≡ 2 or 7 (mod 10), an external permit at ≡ 5 and a shutdown
 * deadline at ≡ 4. Deadlines of runs that started together tie, and their
 * order is one of the choices above. (Going idle after the linger commutes
 * with every other event, so it may tie.) `fireDue` asserts that, so a change
 * of timings cannot silently make the model ambiguous.
 */
import type { BreakerState, SyncWorkerStats, WorkerState } from '../../../src/index.js';
import { LifecycleModel } from './lifecycle-model.js';

/** The worker's settings in every model run; `maxQueue`, the threshold and `concurrency` vary per run. */
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

/** The ordering key of closure tasks enqueued without one (they share it). */
export const NO_KEY = '(no key)';

export interface ModelTask {
  id: number;
  name: string;
  /** The task's `key`, or {@link NO_KEY}. */
  lane: string;
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

/**
 * What the model asks the real worker where the documented behaviour leaves
 * a choice (see the header). The model holds every answer against the rules.
 */
export interface Choices {
  /** The id of the task the real worker started `index`-th (0-based), if it started that many. */
  started(index: number): number | undefined;
  /** Where the task's fate came among all fates the real worker told; Infinity if it has none. */
  fateOrder(id: number): number;
}

type DueKind = 'deadline' | 'probeTimeout' | 'probeInterval' | 'shutdown' | 'idle';
/** When timers fall due together, they fire in this order (deadlines among themselves: a choice). */
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
  /** The run whose deadline it is. */
  id?: number;
}

interface Running {
  id: number;
  lane: string;
  startedAt: number;
  timeoutMs: number;
  /** The breaker epoch when the task was admitted: its outcome is reported only if unchanged. */
  epoch: number;
  /** It holds the worker's half-open probe permit. */
  probe: boolean;
}

export class WorkerModel {
  now = 0;
  readonly tasks: ModelTask[] = [];
  /** Ids of started tasks, in start order. */
  readonly starts: number[] = [];
  /** Controlled tasks that already have their fate but whose promise the test has not settled. */
  readonly stale: number[] = [];
  /** Most tasks that ran at once so far (for the test's coverage). */
  peakRunning = 0;
  /** Starts where more than one key could have gone (for the test's coverage). */
  choicesMade = 0;

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
  /** Tasks waiting, in enqueue order across all keys (the one set apart not included). */
  readonly waiting: number[] = [];
  /** The task an idle worker set apart to run next: it goes first and is not counted against `maxQueue`. */
  next: number | undefined;
  /** The runs in flight, in start order. */
  readonly running: Running[] = [];
  /** Keys with a task waiting and nothing in flight: since when (a turn number) each has been so. */
  private readonly readySince = new Map<string, number>();
  private turn = 0;
  /** `onIdle()` calls, by the test's number, and whether each must have resolved. */
  readonly idleWaiters = new Map<number, boolean>();
  /** The worker machine, stepped with `transition()`: the one source of the lifecycle state. */
  readonly lifecycle = new LifecycleModel(() => this.now, TIMING.idleAfterMs, {
    abandonRemaining: () => this.abandonRemaining(),
    release: () => this.resolveIdleIfIdle(),
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
    readonly concurrency: number,
    private readonly choices: Choices,
  ) {}

  // --- commands ----------------------------------------------------------

  /** Submits a task; returns what `enqueue` must return. */
  enqueue(body: Body, name: string, key: string | undefined): boolean {
    const id = this.tasks.length;
    this.tasks.push({ id, name, lane: key ?? NO_KEY, body });
    if (!this.lifecycle.admissionOpen) return this.refuse(id, 'WorkerShutdownError');
    if (this.breaker === 'open') return this.refuse(id, 'BreakerOpenError');
    this.started = true;
    // A worker with nothing running sets a burst's first task apart to run: the oldest
    // waiting task *after* it is the one dropped.
    const setApart =
      this.running.length === 0 &&
      this.lifecycle.drain !== 'blocked' &&
      this.next === undefined &&
      this.waiting.length === 0;
    let victim: number | undefined;
    if (setApart) this.next = id;
    else {
      if (this.waiting.length >= this.maxQueue) {
        victim = this.waiting.shift();
        this.refreshReady();
      }
      this.waiting.push(id);
      this.refreshReady();
    }
    this.lifecycle.workArrived();
    if (victim !== undefined) this.drop(victim);
    return true;
  }

  private drop(id: number): void {
    this.dropped++;
    this.setFate(id, { kind: 'library', name: 'QueueOverflowError' });
  }

  /** The running task `id`'s promise resolves (`ok`) or rejects with `thrown`. */
  settleRunning(id: number, ok: boolean, value: unknown): void {
    this.outcome(id, ok, value);
  }

  /** Idempotent: as in the worker, only the first call reaches the machine (its deadline stands). */
  shutdown(timeoutMs: number): void {
    if (!this.lifecycle.admissionOpen) return;
    const nothingToDrain =
      this.running.length === 0 && this.waitingCount === 0 && this.lifecycle.resting;
    this.lifecycle.shutdown(timeoutMs, nothingToDrain);
  }

  /** `onIdle()` was called as the test's `no`-th call. */
  onIdle(no: number): void {
    this.idleWaiters.set(no, false);
    this.resolveIdleIfIdle();
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
    for (const r of this.running) {
      due.push({ at: r.startedAt + r.timeoutMs, kind: 'deadline', id: r.id });
    }
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
   * How many separate events fall due within `ms` from now. A single coarse
   * clock jump over more than one would fire them all at the jump's end, in an
   * order the model does not claim to know. Deadlines that tie count as one
   * event (the order among them is learned), and a worker probe's deadline
   * and its permit timeout are one event seen twice.
   */
  eventsWithin(ms: number): number {
    // Going idle changes nothing any other event depends on: it may fire in any order.
    const due = this.dueEvents().filter((d) => d.at <= this.now + ms && d.kind !== 'idle');
    const instants = new Set(due.map((d) => d.at));
    let events = 0;
    for (const at of instants) {
      const group = due.filter((d) => d.at === at);
      events += this.isOneEvent(group) ? 1 : group.length;
    }
    return events;
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
      this.fire(first.kind === 'deadline' ? this.firstDeadline(due, first.at) : first);
      this.pump();
    }
  }

  /** Of the deadlines due at `at`, the one the real worker timed out first (a choice). */
  private firstDeadline(due: readonly Due[], at: number): Due {
    const tied = due.filter((d) => d.kind === 'deadline' && d.at === at);
    let first = tied[0] as Due;
    for (const d of tied) {
      if (this.choices.fateOrder(d.id as number) < this.choices.fateOrder(first.id as number)) {
        first = d;
      }
    }
    return first;
  }

  /** Whether timers due at one instant are one event: deadlines only, plus a worker probe's permit. */
  private isOneEvent(group: readonly Due[]): boolean {
    const probeRun = this.running.find((r) => r.probe);
    return group.every(
      (d) =>
        d.kind === 'deadline' ||
        (d.kind === 'probeTimeout' &&
          this.permitBy === 'worker' &&
          probeRun !== undefined &&
          group.some((g) => g.id === probeRun.id)),
    );
  }

  private assertNoAmbiguousTie(all: readonly Due[]): void {
    const due = all.filter((d) => d.kind !== 'idle');
    const first = due[0];
    if (first === undefined) return;
    const group = due.filter((d) => d.at === first.at);
    if (group.length < 2 || this.isOneEvent(group)) return;
    throw new Error(
      `model: timers fall due together at ${first.at} (${group.map((d) => `${d.kind}@${d.at}`).join(', ')}); change TIMING`,
    );
  }

  private fire(due: Due): void {
    switch (due.kind) {
      case 'deadline':
        this.timeOut(due.id as number);
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

  /** Tasks waiting, the one set apart included (`worker.size`). */
  get waitingCount(): number {
    return this.waiting.length + (this.next === undefined ? 0 : 1);
  }

  /** Nothing waits or runs: what `onIdle()` waits for. */
  get isIdle(): boolean {
    return this.running.length === 0 && this.waitingCount === 0;
  }

  /** The closure-task fields of `stats()`. */
  stats(): ClosureStats {
    return {
      queued: this.waitingCount,
      running: this.running.length,
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

  /** The running tasks the test settles by hand, in start order. */
  controlledRunning(): number[] {
    return this.running
      .filter((r) => this.tasks[r.id]?.body.kind === 'controlled')
      .map((r) => r.id);
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

  /** The oldest waiting task of each key with nothing in flight (the one set apart alone, if any). */
  private startable(): number[] {
    if (this.next !== undefined) return [this.next];
    const busy = new Set(this.running.map((r) => r.lane));
    const heads: number[] = [];
    for (const id of this.waiting) {
      const lane = this.task(id).lane;
      if (busy.has(lane)) continue;
      busy.add(lane);
      heads.push(id);
    }
    return heads;
  }

  /**
   * The rotation of keys (round robin): a key with a task waiting and nothing
   * in flight (the task set apart counts as in flight) joins it at the back;
   * a key leaves it when its task starts. A key whose waiting tasks were all
   * dropped keeps its place, and loses it when the rotation passes it with
   * nothing to run (see {@link frontOfTurns}).
   */
  private refreshReady(): void {
    const busy = new Set(this.running.map((r) => r.lane));
    if (this.next !== undefined) busy.add(this.task(this.next).lane);
    for (const lane of this.readySince.keys()) if (busy.has(lane)) this.readySince.delete(lane);
    for (const id of this.waiting) {
      const lane = this.task(id).lane;
      if (!busy.has(lane) && !this.readySince.has(lane)) this.readySince.set(lane, ++this.turn);
    }
  }

  /**
   * The key whose turn it is among the candidates' keys (the one longest in
   * the rotation); keys ahead of it with nothing waiting are passed, and
   * leave the rotation. With no candidates, every such key is passed.
   */
  private frontOfTurns(candidates: readonly number[]): string {
    const lanes = candidates.map((c) => this.task(c).lane);
    let front: string | undefined;
    for (const lane of lanes) {
      const since = this.readySince.get(lane) as number;
      if (front === undefined || since < (this.readySince.get(front) as number)) front = lane;
    }
    const limit =
      front === undefined ? Number.POSITIVE_INFINITY : (this.readySince.get(front) as number);
    const live = new Set(lanes);
    for (const [lane, since] of this.readySince) {
      if (since < limit && !live.has(lane)) this.readySince.delete(lane);
    }
    return front as string;
  }

  /** Starts tasks while the lifecycle's drain is `running`; tells it what stops the loop. */
  private pump(): void {
    this.refreshReady();
    while (this.running.length < this.concurrency && this.lifecycle.drain === 'running') {
      const candidates = this.startable();
      // Looking for a task passes the keys ahead in the rotation with nothing to run.
      if (this.next === undefined) this.frontOfTurns(candidates);
      if (candidates.length === 0) {
        // Runs in flight will end and look again; with none, the drain has nothing to do.
        if (this.running.length === 0) this.lifecycle.nothingRunnable(false);
        this.resolveIdleIfIdle();
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
          this.enforceBound();
          if (this.running.length === 0) this.lifecycle.permitDenied(this.waitingCount > 0);
          return;
        }
        this.allow('worker', timeoutMs);
      }
      const id = this.choose(candidates);
      if (id === this.next) this.next = undefined;
      else this.waiting.splice(this.waiting.indexOf(id), 1);
      this.begin(id, timeoutMs, this.permitBy === 'worker' && this.probing);
    }
  }

  /** Which of `candidates` starts: the real worker's choice, which must be one of them. */
  private choose(candidates: readonly number[]): number {
    const index = this.starts.length;
    const id = this.choices.started(index);
    const describe = (ids: readonly number[]) =>
      ids.map((c) => `${c} (key ${this.task(c).lane})`).join(', ');
    if (id === undefined) {
      throw new Error(
        `model: start #${index}: the worker started nothing, but ${this.running.length} of ${this.concurrency} run and ${describe(candidates)} could start`,
      );
    }
    if (!candidates.includes(id)) {
      const t = this.tasks[id];
      throw new Error(
        `model: start #${index}: the worker started task ${id}${t === undefined ? '' : ` (key ${t.lane}, ${t.fate === undefined ? 'no fate yet' : 'already had its fate'})`}; only the oldest waiting task of a key with nothing in flight may start: ${describe(candidates)} (running: ${describe(this.running.map((r) => r.id))})`,
      );
    }
    if (candidates.length > 1) {
      this.choicesMade++;
      const lane = this.task(id).lane;
      const front = this.frontOfTurns(candidates);
      if (lane !== front) {
        throw new Error(
          `model: start #${index}: round robin: key ${lane} (in turn since ${this.readySince.get(lane)}) went before key ${front} (since ${this.readySince.get(front)})`,
        );
      }
    }
    return id;
  }

  private enforceBound(): void {
    const next = this.next;
    if (next === undefined) return;
    this.next = undefined;
    if (this.waiting.length >= this.maxQueue) this.drop(next);
    else this.waiting.unshift(next);
    this.refreshReady();
  }

  private begin(id: number, timeoutMs: number, probe: boolean): void {
    this.starts.push(id);
    const lane = this.task(id).lane;
    this.running.push({ id, lane, startedAt: this.now, timeoutMs, epoch: this.epoch, probe });
    this.refreshReady();
    this.peakRunning = Math.max(this.peakRunning, this.running.length);
    const body = this.task(id).body;
    if (body.kind === 'sync') this.outcome(id, true, id);
    else if (body.kind === 'throw') this.outcome(id, false, body.thrown.value);
  }

  /** Takes run `id` out of the runs in flight. */
  private end(id: number): Running {
    const index = this.running.findIndex((r) => r.id === id);
    if (index < 0) throw new Error(`model: task ${id} is not running`);
    const run = this.running.splice(index, 1)[0] as Running;
    this.refreshReady();
    return run;
  }

  private outcome(id: number, ok: boolean, value: unknown): void {
    const r = this.end(id);
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

  private timeOut(id: number): void {
    const r = this.end(id);
    this.failed++;
    this.timedOut++;
    this.observe(r.timeoutMs); // censored: the call took at least this long
    if (r.epoch === this.epoch) this.breakerFailure();
    this.setFate(r.id, { kind: 'library', name: 'TaskTimeoutError', timeoutMs: r.timeoutMs });
    this.markStale(r.id);
  }

  /** The machine's `abandonRemaining`, at the shutdown deadline (its `release` follows). */
  private abandonRemaining(): void {
    for (const r of this.running.splice(0)) {
      this.failed++;
      this.setFate(r.id, { kind: 'library', name: 'WorkerShutdownError' });
      this.markStale(r.id);
    }
    this.failWaiting('WorkerShutdownError');
  }

  private failWaiting(name: LibraryError): void {
    const ids = this.next === undefined ? [] : [this.next];
    this.next = undefined;
    for (const id of [...ids, ...this.waiting.splice(0)]) {
      this.failed++;
      this.setFate(id, { kind: 'library', name });
    }
    this.readySince.clear();
  }

  /** Every `onIdle()` caller resolves once nothing waits or runs. */
  private resolveIdleIfIdle(): void {
    if (!this.isIdle && !this.finished) return;
    for (const no of this.idleWaiters.keys()) this.idleWaiters.set(no, true);
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

  task(id: number): ModelTask {
    const task = this.tasks[id];
    if (task === undefined) throw new Error(`model: no task ${id}`);
    return task;
  }
}
