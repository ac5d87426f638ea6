/**
 * The backlog projection's generated paths, driven through a real `SyncWorker` whose memory
 * backlog holds each group commit until the test releases or refuses it, with `maxQueue` 2
 * (two records in memory) and a handler whose runs the test settles.
 *
 * Each event becomes the stimulus that makes `DurableQueue` send it:
 * - BATCH_STARTED: durable tasks enqueued (their commit is then held);
 * - BATCH_COMMITTED / BATCH_FAILED: the held commit resolves / rejects;
 * - SPILLED: `requeueDeadLetters()` admits three dead letters with room for two at most: the
 *   last is kept only in the store. A commit landing on a full cache would spill too, but in the
 *   same call as BATCH_COMMITTED (two steps in one), so the driver never lets one do that;
 * - CAUGHT_UP: runs are delivered until the keys have read back what the store kept;
 * - CLOSE: `shutdown()`, past its deadline if a run is held.
 * The dead letters come from an earlier worker on the same store, whose handler threw
 * `NonRetryableError`; it has released the store before this worker opens it.
 */
import { expect } from 'vitest';
import { type EventObject, type InspectionEvent, SimulatedClock, type SnapshotFrom } from 'xstate';
import { backlogMachine } from '../../machines/projections/backlog.machine.js';
import { BacklogFullError, type BacklogStore, memoryBacklog, SyncWorker } from '../../src/index.js';
import { describeRuntimePaths, type RuntimeStep } from '../support/runtime-coverage.js';
import { edgeCoveringPaths } from '../support/transition-coverage.js';
import {
  buryDeadLetters,
  deliverKept,
  flushOutcome,
  type HeldCommit,
  holdingStore,
  push,
  quiet,
} from './durable-world.js';

type Step = RuntimeStep<typeof backlogMachine>;
type Snapshot = SnapshotFrom<typeof backlogMachine>;

/** Records held in memory; a sample batch fills it exactly. */
const MAX_QUEUE = 2;
const BATCH_SIZE = MAX_QUEUE;
/** The dead letters of key `d`, oldest first, that SPILLED requeues: one more than memory holds. */
const DEAD = ['d0', 'd1', 'd2'];
const SHUTDOWN_MS = 100;
/** How long the worker refuses durable tasks after the store refused a commit (documented). */
const REFUSE_MS = 1_000;

/** What a `flush()` promise did, and what it should have done by now. */
type Flush = { expected: 'pending' | 'resolved' | 'rejected'; actual: { readonly now: string } };

/**
 * The driver's own counts: tasks admitted to the queue (committed or requeued) and not yet
 * delivered, tasks being written, delivered, lost (a refused commit or enqueue), refused.
 */
const noCounts = () => ({ kept: 0, writing: 0, delivered: 0, lost: 0, refused: 0 });

interface World {
  worker: SyncWorker;
  clock: SimulatedClock;
  /** The memory store under the holding wrapper. */
  store: BacklogStore;
  commits: HeldCommit[];
  /** Handler runs, in start order, each settled by the driver. */
  runs: { key: string; payload: string; done: boolean; resolve(): void }[];
  /** Events the backlog actor received since the step began. */
  received: EventObject[];
  /** Per key, the payloads the queue was given (enqueued or requeued), in order. */
  accepted: Map<string, string[]>;
  /** Per key, the payloads `taskSucceeded` reported, in order. */
  delivered: Map<string, string[]>;
  flushes: Flush[];
  /** Errors `taskFailed` reported. */
  failures: Error[];
  expected: ReturnType<typeof noCounts>;
  deadLeft: number;
  nextTask: number;
  closed: boolean;
}

/**
 * The paths this driver can make `SyncWorker` follow. It closes the store only
 * after a commit in flight ends. And a key reads back no record beyond a
 * commit still in flight (its records may be readable already, and are
 * admitted when it ends); the records this driver keeps only in the store are
 * requeued dead letters, whose seqs come after that commit, so the key cannot
 * catch up during one. Each rule leaves out a sample whose transition is still
 * taken with `writes` idle.
 */
function runtimeCanSend(snapshot: Snapshot, event: { type: string }): boolean {
  const writesIdle = snapshot.matches({ open: { writes: 'idle' } });
  return (event.type !== 'CLOSE' && event.type !== 'CAUGHT_UP') || writesIdle;
}

const paths = edgeCoveringPaths(backlogMachine, {
  samples: { BATCH_STARTED: [{ type: 'BATCH_STARTED', size: BATCH_SIZE }] },
  allowEvent: runtimeCanSend,
});

async function setUp(inspect: (event: InspectionEvent) => void): Promise<World> {
  const store = memoryBacklog();
  await buryDeadLetters(store, 'd', DEAD);
  const clock = new SimulatedClock();
  const held = holdingStore(store);
  const world = {
    clock,
    store,
    commits: held.commits,
    runs: [],
    received: [],
    accepted: new Map(),
    delivered: new Map(),
    flushes: [],
    failures: [],
    expected: noCounts(),
    deadLeft: DEAD.length,
    nextTask: 0,
    closed: false,
  } as Omit<World, 'worker'> as World;
  const handler = (payload: unknown, { key }: { key: string }) =>
    new Promise<void>((resolve) =>
      world.runs.push({ key, payload: String(payload), done: false, resolve }),
    );
  world.worker = new SyncWorker({
    clock,
    maxQueue: MAX_QUEUE,
    breaker: false,
    latencyTracker: false,
    idleAfterMs: 0,
    backlog: held.store,
    handlers: { write: handler },
    inspect: (event) => {
      inspect(event);
      const target = (event.actorRef as { logic?: { id?: unknown } }).logic?.id;
      if (event.type === '@xstate.event' && target === 'backlog') world.received.push(event.event);
    },
  });
  world.worker.on('taskSucceeded', ({ task }) => {
    if ('handler' in task) push(world.delivered, task.key, String(task.payload));
  });
  world.worker.on('taskFailed', ({ error }) => world.failures.push(error));
  return world;
}

/** Delivers the runs in flight, one by one, while `more()` says so. */
async function deliver(world: World, more: () => boolean): Promise<void> {
  for (let run = world.runs.find((r) => !r.done); run !== undefined && more(); ) {
    run.done = true;
    run.resolve();
    world.expected.kept--;
    world.expected.delivered++;
    await quiet();
    run = world.runs.find((r) => !r.done);
  }
}

function heldCommit(world: World): HeldCommit {
  const commit = world.commits.find((c) => !c.settled);
  if (commit === undefined) throw new Error('no group commit is in flight');
  return commit;
}

/** Enqueues the next durable task of key `k`; returns whether it was accepted. */
function enqueue(world: World): boolean {
  const payload = `k${world.nextTask++}`;
  const accepted = world.worker.enqueue({ handler: 'write', payload, key: 'k' });
  if (accepted) push(world.accepted, 'k', payload);
  return accepted;
}

async function batchStarted(world: World, size: number, before: Snapshot): Promise<void> {
  // Empty memory first, so this commit lands without spilling (SPILLED has its own step).
  if (before.matches({ open: { reads: 'live' } })) await deliver(world, () => true);
  for (let i = 0; i < size; i++) expect(enqueue(world), 'a durable task accepted').toBe(true);
  world.expected.writing += size;
  world.flushes.push({ expected: 'pending', actual: flushOutcome(world.worker.flush()) });
  await quiet();
  expect(heldCommit(world).records, 'the commit holds the batch').toHaveLength(size);
}

async function commitEnded(world: World, kept: boolean): Promise<void> {
  const commit = heldCommit(world);
  const size = commit.records.length;
  world.expected.writing -= size;
  // flush() waits for the commit of the tasks accepted before it: this one.
  const flush = world.flushes.find((f) => f.expected === 'pending');
  if (flush !== undefined) flush.expected = kept ? 'resolved' : 'rejected';
  if (kept) {
    world.expected.kept += size;
    commit.release();
    await quiet();
    return;
  }
  world.expected.lost += size;
  // Not kept: they never run, and the next worker will not find them.
  const lost = new Set(commit.records.map((record) => record.payload));
  const left = (world.accepted.get('k') ?? []).filter((payload) => !lost.has(payload));
  world.accepted.set('k', left);
  commit.refuse(new Error('MDB_MAP_FULL: Environment mapsize limit reached'));
  await quiet();
  // Refused for a while on the worker's clock, then accepted again (not enqueued here).
  world.clock.increment(REFUSE_MS - 1);
  expect(enqueue(world), `a durable task ${REFUSE_MS - 1} ms after the refusal`).toBe(false);
  world.expected.lost++;
  world.expected.refused++;
  world.clock.increment(1);
}

async function spilled(world: World): Promise<void> {
  expect(world.deadLeft, 'dead letters left to requeue').toBe(DEAD.length);
  expect(await world.worker.requeueDeadLetters(), 'dead letters requeued').toBe(DEAD.length);
  for (const payload of DEAD) push(world.accepted, 'd', payload);
  world.expected.kept += DEAD.length;
  world.deadLeft = 0;
  await quiet();
}

/** Shuts the worker down, past the deadline on its clock: a run held in flight is cut off and stays kept. */
async function close(world: World): Promise<void> {
  const done = world.worker.shutdown({ timeoutMs: SHUTDOWN_MS });
  await quiet();
  world.clock.increment(SHUTDOWN_MS);
  await done;
  for (const run of world.runs) run.done = true;
  world.closed = true;
}

async function step(world: World, { event, before }: Step): Promise<void> {
  world.received = [];
  switch (event.type) {
    case 'BATCH_STARTED':
      return batchStarted(world, event.size, before);
    case 'BATCH_COMMITTED':
      return commitEnded(world, true);
    case 'BATCH_FAILED':
      return commitEnded(world, false);
    case 'SPILLED':
      return spilled(world);
    case 'CAUGHT_UP':
      await deliver(world, () => world.worker.stats().replaying);
      expect(world.worker.stats().replaying, 'replaying after delivering').toBe(false);
      return;
    case 'CLOSE':
      return close(world);
  }
}

/** Per key, what ran and what was delivered are the accepted tasks, in order, each once. */
function expectKeyOrder(world: World, label: string): void {
  for (const [key, accepted] of world.accepted) {
    const started = world.runs.filter((r) => r.key === key).map((r) => r.payload);
    expect(started, `runs of key ${key} after ${label}`).toEqual(accepted.slice(0, started.length));
    const delivered = world.delivered.get(key) ?? [];
    expect(delivered, `delivered of key ${key} after ${label}`).toEqual(
      accepted.slice(0, delivered.length),
    );
  }
}

async function check(world: World, { event, after }: Step, label: string): Promise<void> {
  const { worker, expected } = world;
  // Exactly the step's event, payload included: no second step rode along with it.
  expect(world.received, `events the backlog actor received at ${label}`).toEqual([event]);
  const stats = worker.stats();
  const open = after.matches('open');
  expect(stats.persisting, `persisting after ${label}`).toBe(
    open && after.matches({ open: { writes: 'persisting' } }),
  );
  expect(stats.backlog, `backlog after ${label}`).toBe(expected.kept + expected.writing);
  if (open) {
    const replaying = after.matches({ open: { reads: 'replaying' } });
    expect(stats.replaying, `replaying after ${label}`).toBe(replaying);
    if (replaying) {
      expect(stats.backlogInMemory, `in memory after ${label}`).toBeGreaterThan(0);
      expect(stats.backlogInMemory, `in memory after ${label}`).toBeLessThanOrEqual(MAX_QUEUE);
      expect(stats.backlogInMemory, `in memory after ${label}`).toBeLessThan(expected.kept);
    } else {
      expect(stats.backlogInMemory, `in memory after ${label}`).toBe(expected.kept);
    }
  }
  // Each flush() resolves once its commit lands, rejects with a BacklogFullError if refused.
  const flushes = world.flushes;
  expect(
    flushes.map((f) => f.actual.now),
    `flush() after ${label}`,
  ).toEqual(flushes.map((f) => f.expected));
  expect(stats.completed, `completed after ${label}`).toBe(expected.delivered);
  const delivered = [...world.delivered.values()].reduce((sum, list) => sum + list.length, 0);
  expect(delivered, `taskSucceeded after ${label}`).toBe(expected.delivered);
  expect(stats.refused, `refused after ${label}`).toBe(expected.refused);
  expect(stats.deadLettered, `dead letters after ${label}`).toBe(0);
  expect(world.failures.length, `taskFailed after ${label}`).toBe(expected.lost);
  for (const error of world.failures) expect(error).toBeInstanceOf(BacklogFullError);
  expectKeyOrder(world, label);
  if (world.closed) await expectReleased(world, label);
}

/** The store was released with what was kept: a new worker opens it and delivers the rest in order. */
async function expectReleased(world: World, label: string): Promise<void> {
  expect(world.store.stats().pending, `kept in the store after ${label}`).toBe(world.expected.kept);
  const later = await deliverKept(world.store);
  for (const [key, accepted] of world.accepted) {
    const delivered = [...(world.delivered.get(key) ?? []), ...(later.get(key) ?? [])];
    expect(delivered, `delivered of key ${key} by either worker`).toEqual(accepted);
  }
}

describeRuntimePaths('backlog', backlogMachine, paths, {
  setUp,
  step,
  check,
  async tearDown(world) {
    if (world.closed) return;
    // A held commit would keep the store open: refuse it first.
    for (const commit of world.commits) if (!commit.settled) commit.refuse(new Error('teardown'));
    await close(world);
  },
});
