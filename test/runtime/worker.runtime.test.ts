/**
 * The worker lifecycle's generated paths, driven through a real `SyncWorker`
 * by its public API alone: enqueueing closure and durable tasks, settling the
 * promises their code returned, advancing a `SimulatedClock`, a shared
 * `CircuitBreaker` whose other caller fails, succeeds or holds the half-open
 * permit, and `shutdown()`.
 *
 * Each machine event becomes the stimulus that makes the runtime send it:
 * - WORK_QUEUED: a durable task enqueued into an idle worker (it starts);
 * - NOTHING_RUNNABLE: every run in flight settles (durable ones failing
 *   retryably once for `retryPending`), then the linger passes;
 * - PERMIT_DENIED: the breaker is made half-open with its permit held by the
 *   other caller (a closure task waits), or open with durable tasks kept;
 * - BREAKER_CHANGED: the other caller's probe succeeds;
 * - WORK_READY: the clock passes a retry backoff;
 * - SHUTDOWN: `shutdown()`, after settling what runs for `nothingToDrain`,
 *   or with two spare durable tasks enqueued first so a stopping worker has
 *   kept work to block on; the deadline: the clock passes it.
 */
import { expect } from 'vitest';
import { SimulatedClock, type SnapshotFrom } from 'xstate';
import { workerMachine } from '../../machines/worker.machine.js';
import {
  CircuitBreaker,
  type DurableContext,
  memoryBacklog,
  SyncWorker,
  type WorkerState,
} from '../../src/index.js';
import {
  runtimeCanSend,
  shutdownDeadlineMs,
  workerRuntimePaths,
} from '../generated/worker.paths.js';
import { describeRuntimePaths, type RuntimeStep } from '../support/runtime-coverage.js';
import { settled } from '../support/tasks.js';

type Step = RuntimeStep<typeof workerMachine>;
type Snapshot = SnapshotFrom<typeof workerMachine>;

const IDLE_AFTER_MS = 5;
const RETRY_MS = 10;
const PROBE_INTERVAL_MS = 1_000;
const FAILURE_THRESHOLD = 3;

/** An error the handler throws to be retried; it does not count against the breaker. */
class Flaky extends Error {}

/** One call of a task's code, settled by the driver. */
interface Call {
  kind: 'closure' | 'durable';
  /** The durable task's key, or the closure's label. */
  key: string;
  resolve(): void;
  reject(error: Error): void;
  done: boolean;
}

interface World {
  worker: SyncWorker;
  breaker: CircuitBreaker;
  clock: SimulatedClock;
  /** Every call of task code, in start order. */
  calls: Call[];
  /** Fates each closure task heard, by label. */
  closureFates: Map<string, string[]>;
  /** Expectations kept by the driver from its own actions. */
  expected: { completed: number; retried: number; durableEnqueued: number; delivered: number };
  /** Retryable failures the driver gave, by key. */
  retries: Map<string, number>;
  nextKey: number;
}

/** The public state a model snapshot stands for. */
function publicState(snapshot: Snapshot): WorkerState {
  if (snapshot.value === 'shutdown') return 'shutdown';
  if (snapshot.matches({ active: { admission: 'closed' } })) return 'stopping';
  const drain = (snapshot.value as { active: { drain: string } }).active.drain;
  return (drain === 'running' ? 'draining' : drain) as WorkerState;
}

function drainOf(snapshot: Snapshot): string {
  if (snapshot.value === 'shutdown') return 'done';
  return (snapshot.value as { active: { drain: string } }).active.drain;
}

function setUp(inspect: (event: import('xstate').InspectionEvent) => void): World {
  const clock = new SimulatedClock();
  const breaker = new CircuitBreaker({
    failureThreshold: FAILURE_THRESHOLD,
    probeIntervalMs: PROBE_INTERVAL_MS,
    clock,
  });
  const world: World = {
    worker: undefined as unknown as SyncWorker,
    breaker,
    clock,
    calls: [],
    closureFates: new Map(),
    expected: { completed: 0, retried: 0, durableEnqueued: 0, delivered: 0 },
    retries: new Map(),
    nextKey: 0,
  };
  world.worker = new SyncWorker({
    clock,
    breaker,
    inspect,
    idleAfterMs: IDLE_AFTER_MS,
    latencyTracker: false,
    backlog: memoryBacklog(),
    handlers: {
      write: (_payload: unknown, context: DurableContext) => call(world, 'durable', context.key),
    },
    retry: { baseMs: RETRY_MS, maxMs: RETRY_MS },
    countsAsFailure: (error) => !(error instanceof Flaky),
  });
  return world;
}

/** Starts a call of task code that the driver settles later. */
function call(world: World, kind: Call['kind'], key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const entry: Call = {
      kind,
      key,
      done: false,
      resolve: () => {
        entry.done = true;
        resolve();
      },
      reject: (error) => {
        entry.done = true;
        reject(error);
      },
    };
    world.calls.push(entry);
  });
}

function inFlight(world: World): Call | undefined {
  return world.calls.find((c) => !c.done);
}

function enqueueDurable(world: World): void {
  const key = `k${world.nextKey++}`;
  expect(world.worker.enqueue({ handler: 'write', payload: key, key })).toBe(true);
  world.expected.durableEnqueued++;
}

function enqueueClosure(world: World): void {
  const label = `c${world.nextKey++}`;
  const fates: string[] = [];
  world.closureFates.set(label, fates);
  const accepted = world.worker.enqueue({
    name: label,
    run: () => call(world, 'closure', label),
    onSuccess: () => fates.push('success'),
    onFailure: (error) => fates.push(error.name),
  });
  expect(accepted).toBe(true);
}

/** Lets commits, callbacks and the drain loop run. */
async function quiet(): Promise<void> {
  await settled();
  await settled();
}

/**
 * Settles every run until nothing is in flight. With `retryOne`, the first
 * durable run fails retryably (its key then waits out a backoff); every other
 * run succeeds.
 */
async function settleAll(world: World, retryOne: boolean): Promise<void> {
  let retry = retryOne;
  await quiet();
  for (let current = inFlight(world); current !== undefined; current = inFlight(world)) {
    if (retry && current.kind === 'durable') {
      retry = false;
      world.expected.retried++;
      world.retries.set(current.key, (world.retries.get(current.key) ?? 0) + 1);
      current.reject(new Flaky('try again'));
    } else {
      world.expected.completed++;
      if (current.kind === 'durable') world.expected.delivered++;
      current.resolve();
    }
    await quiet();
  }
  expect(retry, 'a durable run to fail retryably').toBe(false);
}

/** The other caller opens the breaker (its own failures) and, optionally, takes the half-open permit. */
function breakerRefuses(world: World, holdProbe: boolean): void {
  for (let i = 0; i < FAILURE_THRESHOLD; i++) world.breaker.recordFailure();
  expect(world.breaker.state).toBe('open');
  if (!holdProbe) return;
  world.clock.increment(PROBE_INTERVAL_MS);
  expect(world.breaker.allow()).toBe(true);
}

async function permitDenied(world: World, _step: Step, closureWaiting: boolean): Promise<void> {
  await quiet();
  breakerRefuses(world, closureWaiting);
  await quiet();
  if (closureWaiting) enqueueClosure(world);
  await settleAll(world, false);
}

async function shutdown(
  world: World,
  step: Step,
  event: { timeoutMs: number; nothingToDrain: boolean },
) {
  if (event.nothingToDrain) {
    if (drainOf(step.before) === 'running') await settleAll(world, false);
  } else {
    // Kept work for a stopping worker: it can then block on, or deliver, durable tasks.
    enqueueDurable(world);
    enqueueDurable(world);
    await quiet();
  }
  void world.worker.shutdown({ timeoutMs: event.timeoutMs });
  await quiet();
}

async function step(world: World, s: Step): Promise<void> {
  const event = s.event;
  const open = s.before.matches({ active: { admission: 'open' } });
  expect(runtimeCanSend(s.before, event), 'a path the runtime can follow').toBe(true);
  switch (event.type) {
    case 'WORK_QUEUED':
      enqueueDurable(world);
      await quiet();
      expect(inFlight(world)?.kind).toBe('durable');
      return;
    case 'NOTHING_RUNNABLE':
      if (event.retryPending && open && !world.calls.some((c) => !c.done && c.kind === 'durable')) {
        enqueueDurable(world); // waits behind the run in flight, and then fails once
      }
      await settleAll(world, event.retryPending);
      if (open && !event.retryPending) world.clock.increment(IDLE_AFTER_MS);
      await quiet();
      return;
    case 'PERMIT_DENIED':
      await permitDenied(world, s, event.closureWaiting);
      return;
    case 'BREAKER_CHANGED':
      world.breaker.recordSuccess(); // the other caller's probe succeeded
      await quiet();
      return;
    case 'WORK_READY':
      world.clock.increment(RETRY_MS);
      await quiet();
      return;
    case 'SHUTDOWN':
      await shutdown(world, s, event);
      return;
    default:
      if (event.type.startsWith('xstate.after.shutdownDeadline')) {
        world.clock.increment(shutdownDeadlineMs(s.history));
        await quiet();
        // The run in flight was cut off: its late outcome would be ignored, so none is given.
        for (const c of world.calls) c.done = true;
        return;
      }
      throw new Error(`no stimulus for ${event.type}`);
  }
}

function check(world: World, s: Step, label: string): void {
  const { worker, expected } = world;
  expect(worker.state, `worker.state after ${label}`).toBe(publicState(s.after));
  const stats = worker.stats();
  expect(stats.drain, `stats().drain after ${label}`).toBe(drainOf(s.after));
  expect(stats.completed, `completed after ${label}`).toBe(expected.completed);
  expect(stats.retried, `retried after ${label}`).toBe(expected.retried);
  // Durable tasks are kept until delivered, whatever the lifecycle does.
  expect(stats.backlog, `backlog after ${label}`).toBe(
    expected.durableEnqueued - expected.delivered,
  );
  expect(stats.running, `running after ${label}`).toBe(inFlight(world) === undefined ? 0 : 1);
  // Which tasks started: each durable task (one per key here) once, plus once per retry,
  // and closure tasks in the order they were enqueued.
  const runs = new Map<string, number>();
  for (const c of world.calls) runs.set(c.key, (runs.get(c.key) ?? 0) + 1);
  for (const [key, count] of runs) {
    expect(count, `runs of ${key} after ${label}`).toBeLessThanOrEqual(
      1 + (world.retries.get(key) ?? 0),
    );
  }
  const closureStarts = world.calls.filter((c) => c.kind === 'closure').map((c) => c.key);
  const enqueued = [...world.closureFates.keys()];
  expect(closureStarts, `closure tasks started after ${label}`).toEqual(
    enqueued.filter((name) => closureStarts.includes(name)),
  );
  for (const fates of world.closureFates.values()) {
    expect(fates.length, `fates of one closure task after ${label}`).toBeLessThanOrEqual(1);
  }
  if (s.after.value === 'shutdown') {
    for (const fates of world.closureFates.values()) expect(fates).toHaveLength(1);
  }
}

describeRuntimePaths('worker', workerMachine, workerRuntimePaths, {
  setUp,
  step,
  check,
  tearDown: async (world) => {
    // The deadline is on the simulated clock: move it past, or shutdown never ends.
    const done = world.worker.shutdown({ timeoutMs: 0 });
    world.clock.increment(10_000); // past any deadline a path's own shutdown set
    await done;
    world.breaker.dispose();
  },
});
