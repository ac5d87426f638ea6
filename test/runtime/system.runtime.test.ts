/**
 * The system machine's generated paths (those of `test/generated/system.transitions.test.ts`),
 * driven through `new SyncWorker({...})`: one path set per input, each built by the options
 * that give that input (an owned, external or no breaker; the same for the latency tracker;
 * a memory backlog with handlers, or none).
 *
 * The root's `connecting` transitions are eventless: they happen in the constructor, where the
 * recorder hears them. Its one event, `xstate.done.actor.worker`, comes from `shutdown()`:
 * before it the step makes the worker use every collaborator it has (a task that succeeds
 * feeds the tracker, one that fails opens a breaker of threshold 1, a durable task is kept
 * or delivered), so the checks see which instances the worker really used.
 */
import { expect } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { Provision, SystemInput } from '../../machines/system.machine.js';
import { systemMachine } from '../../machines/system.machine.js';
import {
  type BacklogStore,
  CircuitBreaker,
  DEFAULT_TASK_TIMEOUT_MS,
  LatencyTracker,
  memoryBacklog,
  SyncWorker,
  type SyncWorkerOptions,
} from '../../src/index.js';
import { describeRuntimePathSets, type RuntimePathSet } from '../support/runtime-coverage.js';
import { recordingTask, settled } from '../support/tasks.js';
import { edgeCoveringPaths } from '../support/transition-coverage.js';
import { deliverKept } from './durable-world.js';

type Input = { breaker: Provision; tracker: Provision; backlog: 'owned' | 'none' };

/** Threshold 1: the one failing task of a step opens whichever breaker the worker uses. */
const BREAKER_OPTIONS = { failureThreshold: 1, probeIntervalMs: 60_000, probeTimeoutMs: 500 };
/** Distinct cold timeouts, so `stats().timeoutMs` tells which tracker the worker asks. */
const OWNED_TRACKER_MS = 700;
const EXTERNAL_TRACKER_MS = 800;

interface World {
  input: Input;
  clock: SimulatedClock;
  worker: SyncWorker;
  /** The instances given to the worker, when external. */
  breaker: CircuitBreaker | undefined;
  tracker: LatencyTracker | undefined;
  store: BacklogStore | undefined;
  /** What the worker reported at construction, to compare with later. */
  connected: { breaker: CircuitBreaker | undefined; tracker: LatencyTracker | undefined };
  /** The root's children at construction. */
  children: Record<string, unknown>;
  /** Durable payloads the worker delivered, in order. */
  delivered: unknown[];
  /** Every closure task the step enqueued, with the fates it heard. */
  closures: ReturnType<typeof recordingTask>[];
  shutDown: boolean;
}

/** The machine's input for a set of options, as `SyncWorker` derives it. */
function systemInput(input: Input): SystemInput {
  const { tracker, backlog } = input;
  return input.breaker === 'owned'
    ? { breaker: 'owned', breakerInput: BREAKER_OPTIONS, tracker, backlog }
    : { breaker: input.breaker, tracker, backlog };
}

function options(
  world: Omit<World, 'worker' | 'connected' | 'children'>,
  inspect: SyncWorkerOptions['inspect'],
) {
  const { input, store } = world;
  const durable: SyncWorkerOptions =
    store === undefined
      ? {}
      : { backlog: store, handlers: { write: (payload) => void world.delivered.push(payload) } };
  return {
    clock: world.clock,
    inspect,
    idleAfterMs: 0,
    breaker: input.breaker === 'owned' ? BREAKER_OPTIONS : (world.breaker ?? false),
    latencyTracker:
      input.tracker === 'owned' ? { defaultMs: OWNED_TRACKER_MS } : (world.tracker ?? false),
    ...durable,
  } satisfies SyncWorkerOptions;
}

function setUp(input: Input, inspect: SyncWorkerOptions['inspect']): World {
  const clock = new SimulatedClock();
  const partial = {
    input,
    clock,
    breaker:
      input.breaker === 'external'
        ? new CircuitBreaker({ ...BREAKER_OPTIONS, clock, inspect })
        : undefined,
    tracker:
      input.tracker === 'external'
        ? new LatencyTracker({ defaultMs: EXTERNAL_TRACKER_MS, inspect })
        : undefined,
    store: input.backlog === 'owned' ? memoryBacklog() : undefined,
    delivered: [],
    closures: [],
    shutDown: false,
  };
  const worker = new SyncWorker(options(partial, inspect));
  const world = {
    ...partial,
    worker,
    connected: { breaker: worker.breaker, tracker: worker.latencyTracker },
    children: { ...worker.actor.getSnapshot().children },
  };
  expectConnected(world, 'construction');
  expect(worker.state, 'state after construction').toBe('idle');
  expect(worker.stats().breakerState, 'breakerState after construction').toBe(
    input.breaker === 'none' ? 'none' : 'closed',
  );
  return world;
}

/**
 * The breaker and tracker in use are the given instances, the worker's own (the root's
 * children while it runs; stopped with it), or none; the backlog is a child iff owned.
 */
function expectConnected(world: World, label: string): void {
  const { input, worker } = world;
  const root = worker.actor.getSnapshot();
  // A stopped root lists no children: compare with those it had at construction.
  const children = root.status === 'active' ? root.children : world.children;
  expect(worker.breaker, `breaker at ${label}`).toBe(
    input.breaker === 'owned' ? world.connected.breaker : world.breaker,
  );
  expect(worker.latencyTracker, `tracker at ${label}`).toBe(
    input.tracker === 'owned' ? world.connected.tracker : world.tracker,
  );
  expect(worker.breaker?.actor, `breaker's actor at ${label}`).toBe(
    input.breaker === 'owned' ? children.breaker : world.breaker?.actor,
  );
  expect(worker.latencyTracker?.actor, `tracker's actor at ${label}`).toBe(
    input.tracker === 'owned' ? children.tracker : world.tracker?.actor,
  );
  expect(Object.keys(children).sort(), `the root's children at ${label}`).toEqual(
    ownedChildren(input),
  );
  // The worker's own stop with the root; yours keep running.
  const status = root.status === 'active' ? 'active' : 'stopped';
  const ownStatus = (owned: boolean, actor: { getSnapshot(): { status: string } } | undefined) =>
    actor === undefined ? undefined : owned ? status : 'active';
  expect(worker.breaker?.actor.getSnapshot().status, `breaker status at ${label}`).toBe(
    ownStatus(input.breaker === 'owned', worker.breaker?.actor),
  );
  expect(worker.latencyTracker?.actor.getSnapshot().status, `tracker status at ${label}`).toBe(
    ownStatus(input.tracker === 'owned', worker.latencyTracker?.actor),
  );
}

function ownedChildren(input: Input): string[] {
  const owned = [
    'worker',
    input.breaker === 'owned' ? 'breaker' : '',
    input.tracker === 'owned' ? 'tracker' : '',
    input.backlog === 'owned' ? 'backlog' : '',
  ];
  return owned.filter((id) => id !== '').sort();
}

function expectedTimeoutMs({ input }: World): number {
  if (input.tracker === 'none') return DEFAULT_TASK_TIMEOUT_MS;
  return input.tracker === 'owned' ? OWNED_TRACKER_MS : EXTERNAL_TRACKER_MS;
}

function durableTask(payload: string) {
  return { handler: 'write', payload, key: 'k' };
}

/** Uses every collaborator the worker has, then shuts it down and waits until it is done. */
async function useThenShutDown(world: World): Promise<void> {
  const { worker, input } = world;
  expect(worker.stats().timeoutMs, 'timeoutMs before any sample').toBe(expectedTimeoutMs(world));
  const ok = recordingTask(() => 'ok', 'ok');
  world.closures.push(ok);
  expect(worker.enqueue(ok.task)).toBe(true);
  await settled();
  expect(ok.fates, 'fate of the succeeding task').toEqual([{ kind: 'success', value: 'ok' }]);
  // Its run was the tracker's one sample (0 ms on the simulated clock).
  expect(worker.latencyTracker?.sampleCount, 'samples of the tracker in use').toBe(
    input.tracker === 'none' ? undefined : 1,
  );
  const failing = recordingTask(() => Promise.reject(new Error('remote down')), 'failing');
  world.closures.push(failing);
  expect(worker.enqueue(failing.task)).toBe(true);
  await settled();
  expect(
    failing.fates.map((fate) => fate.kind),
    'fate of the failing task',
  ).toEqual(['failure']);
  expect(worker.stats().breakerState, 'breakerState after a failure').toBe(
    input.breaker === 'none' ? 'none' : 'open',
  );
  if (world.store === undefined) {
    expect(() => worker.enqueue(durableTask('d1')), 'a durable task without a backlog').toThrow(
      TypeError,
    );
  } else {
    // Kept behind an open breaker; delivered at once without one.
    expect(worker.enqueue(durableTask('d1')), 'a durable task with a backlog').toBe(true);
    await worker.flush();
    if (input.breaker === 'none') await worker.onIdle();
    else await settled(); // kept: onIdle() would wait for the breaker
    expect(world.delivered).toEqual(input.breaker === 'none' ? ['d1'] : []);
    expect(worker.state).toBe(input.breaker === 'none' ? 'idle' : 'blocked');
  }
  await worker.shutdown();
  world.shutDown = true;
}

/** The worker's successful runs, each a sample of its tracker: the closure task, and the durable one unless kept. */
function succeededRuns(world: World): number {
  return 1 + (world.store !== undefined && keptAfterShutdown(world) === 0 ? 1 : 0);
}

/** A durable task kept by the worker is still kept, and nothing else was. */
function keptAfterShutdown({ input, store }: World): number {
  return store === undefined || input.breaker === 'none' ? 0 : 1;
}

async function check(world: World, label: string): Promise<void> {
  const { worker, input, store } = world;
  // The runtime stopped the root after releasing the store.
  expect(worker.actor.getSnapshot().status, `root status after ${label}`).toBe('stopped');
  expectConnected(world, label);
  expect(worker.state, `state after ${label}`).toBe('shutdown');
  expect(worker.isRunning, `isRunning after ${label}`).toBe(false);
  const stats = worker.stats();
  expect(stats.drain, `drain after ${label}`).toBe('done');
  // A breaker's state outlives the worker: the failure opened it.
  expect(stats.breakerState, `breakerState after ${label}`).toBe(
    input.breaker === 'none' ? 'none' : 'open',
  );
  expect(stats.timeoutMs, `timeoutMs after ${label}`).toBe(
    worker.latencyTracker?.timeout() ?? DEFAULT_TASK_TIMEOUT_MS,
  );
  expect(stats.backlog, `backlog after ${label}`).toBe(keptAfterShutdown(world));
  expect(worker.latencyTracker?.sampleCount, `samples after ${label}`).toBe(
    input.tracker === 'none' ? undefined : succeededRuns(world),
  );
  for (const { fates } of world.closures) expect(fates, 'fates of one task').toHaveLength(1);
  if (store === undefined) {
    expect(() => worker.enqueue(durableTask('d2'))).toThrow(TypeError);
  } else {
    expect(worker.enqueue(durableTask('d2')), `a durable task after ${label}`).toBe(false);
    await reopen(world, store);
  }
  // Given instances are the user's: the worker leaves them working.
  world.breaker?.reset();
  expect(world.breaker?.state).toBe(input.breaker === 'external' ? 'closed' : undefined);
  world.tracker?.observe(3);
  expect(world.tracker?.sampleCount).toBe(
    input.tracker === 'external' ? succeededRuns(world) + 1 : undefined,
  );
}

/** The store was released: a new worker opens it, and delivers what was kept (once). */
async function reopen(world: World, store: BacklogStore): Promise<void> {
  expect(store.stats().pending, 'kept in the store').toBe(keptAfterShutdown(world));
  const later = await deliverKept(store);
  expect([...world.delivered, ...(later.get('k') ?? [])], 'delivered by either worker').toEqual([
    'd1',
  ]);
}

const provisions: Provision[] = ['owned', 'external', 'none'];
const inputs: Input[] = provisions.flatMap((breaker) =>
  provisions.flatMap((tracker) =>
    (['owned', 'none'] as const).map((backlog) => ({ breaker, tracker, backlog })),
  ),
);

const sets: RuntimePathSet<typeof systemMachine>[] = inputs.map((input) => ({
  label: `breaker ${input.breaker}, tracker ${input.tracker}, backlog ${input.backlog}`,
  paths: edgeCoveringPaths(systemMachine, { input: systemInput(input) }),
  driver: {
    setUp: (inspect) => setUp(input, inspect),
    async step(world: World, { event }) {
      if (event.type !== 'xstate.done.actor.worker') {
        throw new Error(`no stimulus for ${event.type}`);
      }
      await useThenShutDown(world);
    },
    check: (world: World, _step, label) => check(world, label),
    async tearDown(world: World) {
      if (!world.shutDown) {
        const done = world.worker.shutdown({ timeoutMs: 0 });
        world.clock.increment(1); // the deadline is on the simulated clock
        await done;
      }
      world.breaker?.dispose();
      world.tracker?.dispose();
    },
  },
}));

describeRuntimePathSets('system', systemMachine, sets);
