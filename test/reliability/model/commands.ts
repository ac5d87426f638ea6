/**
 * The commands of the model-based test, and the real system they drive: a
 * SyncWorker on a SimulatedClock running closure tasks that record every
 * callback. Each command changes the model and the real worker the same way,
 * lets the worker come to rest, then lets the model come to rest (it asks the
 * real worker's starts and fates where it has a choice, see `Choices`), then
 * checks every invariant (`checkInvariants`).
 *
 * The tasks watch the worker from inside: each `run` notes that its task is in
 * flight until the worker tells the task's fate, and a start while another task
 * of the same key is in flight, or while `concurrency` tasks are, is a
 * violation the invariants report.
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { expect } from 'vitest';
import type { SimulatedClock } from 'xstate';
import {
  BreakerOpenError,
  type BreakerState,
  QueueOverflowError,
  type SyncWorker,
  TaskTimeoutError,
  WorkerShutdownError,
} from '../../../src/index.js';
import { type Fate, recordingLogger, settled } from '../../support/tasks.js';
import { simulatedWorker } from '../../support/worker.js';
import {
  type Body,
  type ExpectedFate,
  NO_KEY,
  type Thrown,
  TIMING,
  WorkerModel,
} from './worker-model.js';

/** One real task: its callbacks, and how the test settles it if it is controlled. */
interface RealTask {
  fates: Fate[];
  /** Where each fate came among all fates the worker told. */
  fateAt: number[];
  settle?: { resolve(value: unknown): void; reject(error: unknown): void };
}

/** A task start as the task itself saw it. */
interface Start {
  id: number;
  /** The breaker's state when `run` was called (after the worker took its permit). */
  breaker: BreakerState;
  /** How many breaker state changes had happened by then: one half-open spell has one value. */
  breakerChanges: number;
}

export interface Real {
  worker: SyncWorker;
  clock: SimulatedClock;
  concurrency: number;
  tasks: RealTask[];
  starts: Start[];
  /** Fates told so far, all tasks together. */
  fatesTold: number;
  /** The tasks in flight as they see it (from `run` until their fate), by id, with their key. */
  inFlight: Map<number, string>;
  /** Starts that broke "at most one per key" or "at most `concurrency`", as the tasks saw them. */
  violations: string[];
  /** `onIdle()` calls by number, and whether each has resolved. */
  idle: Map<number, boolean>;
  breakerChanges: number;
  shutdown: Promise<void> | undefined;
  shutdownResolved: boolean;
  logLines: { level: string; message: string }[];
}

export type ModelCommand = fc.AsyncCommand<WorkerModel, Real>;

/** A fresh model and real worker with the same settings. */
export function createWorld(maxQueue: number, failureThreshold: number, concurrency: number) {
  const { logger, lines } = recordingLogger();
  const { worker, clock } = simulatedWorker({
    maxQueue,
    concurrency,
    logger,
    breaker: {
      failureThreshold,
      probeIntervalMs: TIMING.probeIntervalMs,
      probeTimeoutMs: TIMING.probeTimeoutMs,
    },
    latencyTracker: { ...TIMING.tracker },
    idleAfterMs: TIMING.idleAfterMs,
  });
  const real: Real = {
    worker,
    clock,
    concurrency,
    tasks: [],
    starts: [],
    fatesTold: 0,
    inFlight: new Map(),
    violations: [],
    idle: new Map(),
    breakerChanges: 0,
    shutdown: undefined,
    shutdownResolved: false,
    logLines: lines,
  };
  worker.on('breakerStateChange', () => real.breakerChanges++);
  const model = new WorkerModel(maxQueue, failureThreshold, concurrency, {
    started: (index) => real.starts[index]?.id,
    fateOrder: (id) => real.tasks[id]?.fateAt[0] ?? Number.POSITIVE_INFINITY,
  });
  return { model, real };
}

// --- thrown values ---------------------------------------------------------

export type ThrownKind = 'Error' | 'string' | 'undefined' | 'null' | 'object';

/** A fresh value to throw; an Error or object is compared by identity. */
export function makeThrown(kind: ThrownKind): Thrown {
  switch (kind) {
    case 'Error':
      return { label: 'Error', value: new Error('remote failed') };
    case 'string':
      return { label: '"oops"', value: 'oops' };
    case 'undefined':
      return { label: 'undefined', value: undefined };
    case 'null':
      return { label: 'null', value: null };
    case 'object':
      return { label: '{code:503}', value: { code: 503 } };
  }
}

const thrownKind = fc.constantFrom<ThrownKind>('Error', 'string', 'undefined', 'null', 'object');

function describeBody(body: Body): string {
  return body.kind === 'throw' ? `throw ${body.thrown.label}` : body.kind;
}

// --- the real side of a task -----------------------------------------------

/** A never-settling thenable that is not a Promise. */
const neverSettles: PromiseLike<never> = {
  // biome-ignore lint/suspicious/noThenProperty: a thenable that never calls back, on purpose
  then: () => neverSettles as never,
};

function enqueueReal(
  r: Real,
  id: number,
  body: Body,
  name: string,
  key: string | undefined,
): boolean {
  const real: RealTask = { fates: [], fateAt: [] };
  const lane = key ?? NO_KEY;
  const fate = (f: Fate) => {
    real.fates.push(f);
    real.fateAt.push(r.fatesTold++);
    r.inFlight.delete(id); // told: the worker is done with this task
  };
  const run = () => {
    const breaker = r.worker.breaker?.state ?? 'closed';
    r.starts.push({ id, breaker, breakerChanges: r.breakerChanges });
    for (const [other, otherLane] of r.inFlight) {
      if (otherLane === lane) {
        r.violations.push(`task ${id} started while task ${other} of key ${lane} was in flight`);
      }
    }
    r.inFlight.set(id, lane);
    if (r.inFlight.size > r.concurrency) {
      r.violations.push(
        `task ${id} started with ${r.inFlight.size - 1} others in flight: ${[...r.inFlight.keys()].join(', ')} (concurrency ${r.concurrency})`,
      );
    }
    switch (body.kind) {
      case 'sync':
        return id;
      case 'throw':
        throw body.thrown.value;
      case 'hang':
        return neverSettles;
      case 'controlled':
        return new Promise((resolve, reject) => {
          real.settle = { resolve, reject };
        });
    }
  };
  r.tasks[id] = real;
  return r.worker.enqueue({
    name,
    run,
    ...(key === undefined ? {} : { key }),
    onSuccess: (value) => fate({ kind: 'success', value }),
    onFailure: (error) => fate({ kind: 'failure', error }),
  });
}

// --- time ------------------------------------------------------------------

/**
 * Advances model and clock by `ms`, stopping at every timer the model knows of,
 * with the worker's promise callbacks run between two steps, as they would in
 * real time. The invariants are checked at every stop, too.
 */
export async function advanceStepwise(
  m: WorkerModel,
  r: Real,
  ms: number,
  label: string,
): Promise<void> {
  const target = m.now + ms;
  for (let next = m.nextDue(); next !== undefined && next <= target; next = m.nextDue()) {
    r.clock.increment(next - r.clock.now());
    await settled();
    checkTasksView(r, `${label}, at ${next} ms`);
    m.fireDue(next);
    checkInvariants(m, r, `${label}, at ${next} ms`);
  }
  r.clock.increment(target - r.clock.now());
  await settled();
  m.fireDue(target);
}

// --- invariants ------------------------------------------------------------

const LIBRARY_ERRORS = {
  TaskTimeoutError,
  BreakerOpenError,
  QueueOverflowError,
  WorkerShutdownError,
} as const;

/**
 * Fails the run with what was seen and what was expected. The checks run
 * after every command of thousands of runs, so they are plain comparisons;
 * vitest's `expect` is only for reporting.
 */
function ensure(ok: boolean, label: string, actual?: unknown, expected?: unknown): void {
  if (ok) return;
  throw new Error(
    `${label}\n  actual:   ${inspect(actual, { depth: 4 })}\n  expected: ${inspect(expected, { depth: 4 })}`,
  );
}

function fateMatches(actual: Fate, expected: ExpectedFate): boolean {
  if (expected.kind === 'success')
    return actual.kind === 'success' && Object.is(actual.value, expected.value);
  if (actual.kind !== 'failure') return false;
  const error = actual.error;
  if (expected.kind === 'library') {
    if (!(error instanceof LIBRARY_ERRORS[expected.name])) return false;
    return (
      expected.timeoutMs === undefined ||
      (error as TaskTimeoutError).timeoutMs === expected.timeoutMs
    );
  }
  // An Error fails its task as itself; anything else as an Error whose cause is the very value.
  if (expected.thrown instanceof Error) return error === expected.thrown;
  return (
    error instanceof Error &&
    Object.hasOwn(error, 'cause') &&
    Object.is(error.cause, expected.thrown)
  );
}

const isFailureWith = (f: Fate | undefined, ErrorClass: new () => Error) =>
  f?.kind === 'failure' && f.error instanceof ErrorClass;

/**
 * What the tasks saw from inside: no start while a task of the same key, or
 * `concurrency` tasks, were in flight. Checked as soon as the real worker is
 * at rest, before the model asks it anything.
 */
function checkTasksView(r: Real, at: string): void {
  ensure(r.violations.length === 0, `${at}: ${r.violations[0]}`, r.violations);
}

/** Every invariant, checked after each command and at the end. */
export function checkInvariants(m: WorkerModel, r: Real, after: string): void {
  const w = r.worker;
  const at = `after ${after}`;

  // At most one task in flight per key, at most `concurrency` in all, as the tasks saw it;
  // and the tasks in flight are the model's.
  checkTasksView(r, at);
  const inFlight = [...r.inFlight.keys()].sort((a, b) => a - b);
  const running = m.running.map((run) => run.id).sort((a, b) => a - b);
  ensure(
    inFlight.length === running.length && inFlight.every((id, i) => id === running[i]),
    `${at}: the tasks in flight`,
    inFlight,
    running,
  );

  // Exactly one fate per task, and the one the model expects; none yet for live tasks.
  ensure(r.tasks.length === m.tasks.length, `${at}: tasks`, r.tasks.length, m.tasks.length);
  let successes = 0;
  let failures = 0;
  let overflows = 0;
  let timeouts = 0;
  for (const task of m.tasks) {
    const fates = r.tasks[task.id]?.fates ?? [];
    const label = `${at}: fates of task ${task.id} (${describeBody(task.body)})`;
    const expected = task.fate === undefined ? [] : [task.fate];
    const first = fates[0];
    const ok =
      fates.length === expected.length &&
      (task.fate === undefined || (first !== undefined && fateMatches(first, task.fate)));
    ensure(ok, label, fates, expected);
    if (first?.kind === 'success') successes++;
    if (first?.kind === 'failure') failures++;
    if (isFailureWith(first, QueueOverflowError)) overflows++;
    if (isFailureWith(first, TaskTimeoutError)) timeouts++;
  }

  // Per-key FIFO: each key's tasks start in enqueue order; and exactly those the model started.
  const startIds = r.starts.map((s) => s.id);
  const lastStartOf = new Map<string, number>();
  for (const id of startIds) {
    const lane = m.task(id).lane;
    const previous = lastStartOf.get(lane) ?? -1;
    ensure(
      id > previous,
      `${at}: key ${lane}: task ${id} started after task ${previous}`,
      startIds,
    );
    lastStartOf.set(lane, id);
  }
  ensure(
    startIds.length === m.starts.length && startIds.every((id, i) => id === m.starts[i]),
    `${at}: started tasks`,
    startIds,
    m.starts,
  );

  // No task starts while the breaker is open; one per half-open spell: the probe.
  const openStarts = r.starts.filter((s) => s.breaker === 'open');
  ensure(openStarts.length === 0, `${at}: tasks started while the breaker was open`, openStarts);
  const probes = r.starts.filter((s) => s.breaker === 'half_open').map((s) => s.breakerChanges);
  ensure(
    new Set(probes).size === probes.length,
    `${at}: more than one start in a half-open spell`,
    r.starts,
  );

  // The queue bound, and drops counted once each.
  ensure(w.size <= m.maxQueue, `${at}: size ≤ maxQueue`, w.size, m.maxQueue);
  ensure(w.dropped === m.dropped, `${at}: dropped`, w.dropped, m.dropped);
  ensure(
    overflows === w.dropped,
    `${at}: QueueOverflowError fates = dropped`,
    overflows,
    w.dropped,
  );

  // The breaker equals the model's.
  ensure(w.breaker?.state === m.breaker, `${at}: breaker state`, w.breaker?.state, m.breaker);
  const streak = w.breaker?.consecutiveFailures;
  ensure(streak === m.failures, `${at}: breaker failure streak`, streak, m.failures);

  // stats() equals the model (fields added for durable tasks are not the
  // closure model's business) and accounts for every task exactly once.
  const s = w.stats();
  const expected = m.stats();
  for (const k of Object.keys(expected) as (keyof typeof expected)[]) {
    ensure(s[k] === expected[k], `${at}: stats().${k}`, s, expected);
  }
  const accounted = s.completed + s.failed + s.dropped + s.refused + s.queued + s.running;
  ensure(accounted === m.tasks.length, `${at}: stats() accounts for every task`, s, m.tasks.length);
  ensure(successes === s.completed, `${at}: successes = completed`, successes, s.completed);
  const failed = s.failed + s.dropped + s.refused;
  ensure(failures === failed, `${at}: failures = failed + dropped + refused`, failures, failed);
  ensure(timeouts === s.timedOut, `${at}: TaskTimeoutError fates = timedOut`, timeouts, s.timedOut);
  ensure(w.size === s.queued && w.state === s.state, `${at}: size/state agree with stats()`, s);

  ensure(w.isRunning === m.isRunning, `${at}: isRunning`, w.isRunning, m.isRunning);
  // onIdle() resolves once nothing waits or runs, and not before.
  for (const [no, resolved] of m.idleWaiters) {
    const real = r.idle.get(no);
    ensure(real === resolved, `${at}: onIdle() call ${no} resolved`, real, resolved);
  }
  ensure(
    r.shutdownResolved === m.finished,
    `${at}: shutdown() resolved`,
    r.shutdownResolved,
    m.finished,
  );
  // Nothing the tasks did is a callback error; breaker changes are logged at warn/info.
  const errors = r.logLines.filter((l) => l.level === 'error');
  ensure(errors.length === 0, `${at}: errors logged`, errors);
}

// --- commands --------------------------------------------------------------

abstract class Step implements ModelCommand {
  abstract check(m: Readonly<WorkerModel>): boolean;
  protected abstract apply(m: WorkerModel, r: Real): void | Promise<void>;
  abstract toString(): string;

  async run(m: WorkerModel, r: Real): Promise<void> {
    await this.apply(m, r);
    // The real worker first, so that the model can ask it what it chose.
    await settled();
    checkTasksView(r, `after ${this}`);
    m.settle();
    checkInvariants(m, r, this.toString());
  }
}

/** A task's name: its id, with a key label when it has one. */
function taskName(key: string | undefined, id: number): string {
  return key === undefined ? `task ${id}` : `${key}:${id}`;
}

/** Enqueues one closure task, with a key or without. */
export class Enqueue extends Step {
  constructor(
    readonly body: Body,
    readonly key: string | undefined,
  ) {
    super();
  }
  check() {
    return true;
  }
  apply(m: WorkerModel, r: Real) {
    enqueueBoth(m, r, this.body, this.key);
  }
  toString() {
    return `enqueue(${describeBody(this.body)}${this.key === undefined ? '' : `, key ${this.key}`})`;
  }
}

/** Enqueues a task in the model and in the real worker; both must answer alike. */
function enqueueBoth(m: WorkerModel, r: Real, body: Body, key: string | undefined): void {
  const id = m.tasks.length;
  const name = taskName(key, id);
  const expected = m.enqueue(body, name, key);
  expect(enqueueReal(r, id, body, name, key), `enqueue() of task ${id}`).toBe(expected);
}

/**
 * Enqueues `maxQueue + extra` tasks in one synchronous burst, keys in turn:
 * the queue overflows, and the oldest waiting task of all keys is dropped.
 */
export class Overflow extends Step {
  constructor(
    readonly extra: number,
    readonly body: Body,
    readonly keys: readonly (string | undefined)[],
  ) {
    super();
  }
  check() {
    return true;
  }
  apply(m: WorkerModel, r: Real) {
    for (let i = 0; i < m.maxQueue + this.extra; i++) {
      enqueueBoth(m, r, this.body, this.keys[i % this.keys.length]);
    }
  }
  toString() {
    const keys = this.keys.map((k) => k ?? '-').join('/');
    return `overflow(maxQueue+${this.extra} × ${describeBody(this.body)}, keys ${keys})`;
  }
}

/** The `pick`-th running controlled task (modulo how many there are), in start order. */
function pickRunning(m: Readonly<WorkerModel>, pick: number): number {
  const ids = m.controlledRunning();
  return ids[pick % ids.length] as number;
}

/** A running (controlled) task resolves. */
export class Complete extends Step {
  constructor(readonly pick = 0) {
    super();
  }
  check(m: Readonly<WorkerModel>) {
    return m.controlledRunning().length > 0;
  }
  apply(m: WorkerModel, r: Real) {
    const id = pickRunning(m, this.pick);
    const value = `done ${id}`;
    m.settleRunning(id, true, value);
    r.tasks[id]?.settle?.resolve(value);
  }
  toString() {
    return this.pick === 0 ? 'complete' : `complete(#${this.pick})`;
  }
}

/** A running (controlled) task rejects, with an Error or a non-Error. */
export class Fail extends Step {
  constructor(
    readonly thrown: Thrown,
    readonly pick = 0,
  ) {
    super();
  }
  check(m: Readonly<WorkerModel>) {
    return m.controlledRunning().length > 0;
  }
  apply(m: WorkerModel, r: Real) {
    const id = pickRunning(m, this.pick);
    m.settleRunning(id, false, this.thrown.value);
    r.tasks[id]?.settle?.reject(this.thrown.value);
  }
  toString() {
    return `fail(${this.thrown.label}${this.pick === 0 ? '' : `, #${this.pick}`})`;
  }
}

/** `onIdle()`: it must resolve once nothing waits or runs, and not before. */
export class AwaitIdle extends Step {
  check() {
    return true;
  }
  apply(m: WorkerModel, r: Real) {
    const no = r.idle.size;
    r.idle.set(no, false);
    void r.worker.onIdle().then(() => r.idle.set(no, true));
    m.onIdle(no);
  }
  toString() {
    return 'onIdle';
  }
}

/** A task that already timed out or met shutdown settles now: nothing may change. */
export class SettleLate extends Step {
  constructor(readonly ok: boolean) {
    super();
  }
  check(m: Readonly<WorkerModel>) {
    return m.stale.length > 0;
  }
  apply(m: WorkerModel, r: Real) {
    const id = m.stale.shift() as number;
    const settle = r.tasks[id]?.settle;
    if (this.ok) settle?.resolve('late');
    else settle?.reject(new Error('late'));
  }
  toString() {
    return `settleLate(${this.ok ? 'resolve' : 'reject'})`;
  }
}

/** Time passes: the clock stops at every timer due in between. */
export class Advance extends Step {
  constructor(readonly ms: number) {
    super();
  }
  check() {
    return true;
  }
  apply(m: WorkerModel, r: Real) {
    return advanceStepwise(m, r, this.ms, this.toString());
  }
  toString() {
    return `advance(${this.ms} ms)`;
  }
}

/**
 * One coarse `clock.increment`: every timer due in the jump fires at its end
 * (hours, for a suspended laptop). Only when at most one event falls due in it.
 */
export class Jump extends Step {
  constructor(readonly ms: number) {
    super();
  }
  check(m: Readonly<WorkerModel>) {
    return m.eventsWithin(this.ms) <= 1;
  }
  async apply(m: WorkerModel, r: Real) {
    r.clock.increment(this.ms);
    await settled();
    m.fireDue(m.now + this.ms);
  }
  toString() {
    return `jump(${this.ms >= 3_600_000 ? `${this.ms / 3_600_000} h` : `${this.ms} ms`})`;
  }
}

/** Someone reports `failureThreshold` failures to the worker's breaker. */
export class Trip extends Step {
  check() {
    return true;
  }
  apply(m: WorkerModel, r: Real) {
    for (let i = 0; i < m.failureThreshold; i++) {
      m.breakerFailure();
      r.worker.breaker?.recordFailure();
    }
  }
  toString() {
    return 'trip';
  }
}

/** Someone reports one outcome to the breaker (ends an outside probe, or a streak). */
export class Report extends Step {
  constructor(readonly ok: boolean) {
    super();
  }
  check() {
    return true;
  }
  apply(m: WorkerModel, r: Real) {
    if (this.ok) {
      m.breakerSuccess();
      r.worker.breaker?.recordSuccess();
    } else {
      m.breakerFailure();
      r.worker.breaker?.recordFailure();
    }
  }
  toString() {
    return `report(${this.ok ? 'success' : 'failure'})`;
  }
}

export class Reset extends Step {
  check() {
    return true;
  }
  apply(m: WorkerModel, r: Real) {
    m.breakerReset();
    r.worker.breaker?.reset();
  }
  toString() {
    return 'reset';
  }
}

/** Someone else asks the breaker: in half-open this takes the one probe permit. */
export class Probe extends Step {
  check(m: Readonly<WorkerModel>) {
    return !m.finished;
  }
  apply(m: WorkerModel, r: Real) {
    const expected = m.allow('external', TIMING.probeTimeoutMs);
    expect(r.worker.breaker?.allow(), 'breaker.allow()').toBe(expected);
  }
  toString() {
    return 'probe';
  }
}

export class Shutdown extends Step {
  constructor(readonly timeoutMs: number) {
    super();
  }
  check() {
    return true;
  }
  apply(m: WorkerModel, r: Real) {
    m.shutdown(this.timeoutMs);
    const done = r.worker.shutdown({ timeoutMs: this.timeoutMs });
    if (r.shutdown === undefined) {
      r.shutdown = done;
      done.then(() => {
        r.shutdownResolved = true;
      });
    } else {
      expect(done, 'a second shutdown() returns the first promise').toBe(r.shutdown);
    }
  }
  toString() {
    return `shutdown(${this.timeoutMs} ms)`;
  }
}

// --- arbitraries -----------------------------------------------------------

/** A small set of keys, and no key (tasks without one share a key). */
const key = fc.constantFrom<string | undefined>('a', 'b', 'c', undefined);
const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Body>({ kind: 'controlled' }) },
  { weight: 2, arbitrary: fc.constant<Body>({ kind: 'sync' }) },
  { weight: 1, arbitrary: fc.constant<Body>({ kind: 'hang' }) },
  {
    weight: 1,
    arbitrary: thrownKind.map((k): Body => ({ kind: 'throw', thrown: makeThrown(k) })),
  },
);
/** Which running task a command settles: mostly the oldest. */
const pick = fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 2 }));
const ticks = (max: number) => fc.integer({ min: 1, max }).map((n) => n * TIMING.tick);

/** Repeats an arbitrary: fc.commands picks uniformly among its entries, so this is a weight. */
const weight = <T>(n: number, arbitrary: fc.Arbitrary<T>) =>
  Array.from({ length: n }, () => arbitrary);

/**
 * The command arbitraries, weighted. Shutdown is rare (it ends the interesting
 * part of a run); the breaker commands are frequent enough to reach half-open
 * probes, blocked workers and outcomes reported after the breaker moved on.
 */
export const COMMANDS: fc.Arbitrary<ModelCommand>[] = [
  ...weight(
    5,
    fc.tuple(body, key).map(([b, k]) => new Enqueue(b, k)),
  ),
  fc
    .tuple(
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom<Body>({ kind: 'controlled' }, { kind: 'sync' }),
      fc.array(key, { minLength: 1, maxLength: 3 }),
    )
    .map(([extra, b, keys]) => new Overflow(extra, b, keys)),
  ...weight(
    3,
    pick.map((p) => new Complete(p)),
  ),
  ...weight(
    3,
    fc.tuple(thrownKind, pick).map(([k, p]) => new Fail(makeThrown(k), p)),
  ),
  fc.constant(new AwaitIdle()),
  fc.boolean().map((ok) => new SettleLate(ok)),
  ...weight(
    3,
    ticks(250).map((ms) => new Advance(ms)),
  ),
  fc.oneof(ticks(400), fc.constantFrom(3 * 3_600_000, 24 * 3_600_000)).map((ms) => new Jump(ms)),
  ...weight(2, fc.constant(new Trip())),
  ...weight(
    2,
    fc.boolean().map((ok) => new Report(ok)),
  ),
  ...weight(2, fc.constant(new Reset())),
  ...weight(2, fc.constant(new Probe())),
  // One entry in three is a shutdown, the others an enqueue.
  fc.oneof(
    fc
      .constantFrom(TIMING.shutdownShortMs, TIMING.shutdownLongMs)
      .map((ms): ModelCommand => new Shutdown(ms)),
    ...weight(
      2,
      fc.tuple(body, key).map(([b, k]): ModelCommand => new Enqueue(b, k)),
    ),
  ),
];

/**
 * Ends every story: shutdown (if no command did) with the short deadline,
 * time up to and past the deadline, then the late settlement of every task
 * still holding a promise. Afterwards every task must have exactly one fate.
 */
export async function endOfStory(m: WorkerModel, r: Real): Promise<void> {
  await new Shutdown(TIMING.shutdownShortMs).run(m, r);
  await new Advance(TIMING.shutdownLongMs + TIMING.tick).run(m, r);
  expect(m.finished, 'the model finished after its shutdown deadline').toBe(true);
  await r.shutdown;
  while (m.stale.length > 0) await new SettleLate(m.stale.length % 2 === 0).run(m, r);
  for (const task of r.tasks) expect(task.fates).toHaveLength(1);
  expect(r.worker.isRunning).toBe(false);
  expect(r.worker.actor.getSnapshot().status).not.toBe('active');
}
