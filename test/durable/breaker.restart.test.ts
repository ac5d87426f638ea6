/**
 * The worker's own breaker across restarts. With a backlog, the breaker's state (when it
 * opened, by the wall clock, and the failure streak) is kept in the store at each state
 * change, and the next worker on the store resumes it: still `open` for what is left of
 * `probeIntervalMs`, on its own clock, or `half_open` at once when that is over.
 *
 * The wall clock is vitest's fake `Date` (nothing else is faked): a restart "later" is a
 * `setSystemTime` between two workers. Each worker's own timers run on a SimulatedClock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import {
  type BacklogStore,
  type BreakerSnapshot,
  CircuitBreaker,
  memoryBacklog,
  SyncWorker,
} from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { advance, durableWorker } from '../support/durable.js';
import { recordingLogger, settled } from '../support/tasks.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('xsw-breaker-restart-');
const T = 1_800_000_000_000;
const INTERVAL = 10_000;
const breaker = { failureThreshold: 1, probeIntervalMs: INTERVAL };

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'], now: T });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A first life that hits an outage at `T` and stops with its breaker open and one task kept. */
async function outageThenStop(store: BacklogStore): Promise<void> {
  const { worker, remote } = durableWorker({ breaker }, store);
  remote.answer(() => {
    throw new Error('connection refused');
  });
  worker.enqueue({ handler: 'write', payload: 'kept', key: 'k' });
  await worker.flush();
  await settled();
  expect(worker.breaker?.state).toBe('open');
  await worker.shutdown();
}

/** The next life on `store`, `elapsedMs` of wall time after the outage began. */
function restartAfter(elapsedMs: number, store: BacklogStore) {
  vi.setSystemTime(T + elapsedMs);
  return durableWorker({ breaker }, store);
}

const stores: [string, () => BacklogStore][] = [
  ['memoryBacklog', () => memoryBacklog()],
  ['lmdbBacklog', () => lmdbBacklog({ path: tempDir() })],
];

/** The same store again: a memory store is the same object; an lmdb one is reopened by path. */
function reopen(store: BacklogStore): BacklogStore {
  return store.location === 'memory' ? store : lmdbBacklog({ path: store.location });
}

describe.each(stores)('a restart during an outage, %s', (_, makeStore) => {
  it('starts open, with what is left of the interval on the new clock, then probes', async () => {
    const store = makeStore();
    await outageThenStop(store);

    const { worker, clock, remote } = restartAfter(4_000, reopen(store));
    expect(worker.breaker?.state).toBe('open');
    expect(worker.breaker?.toJSON()).toEqual({
      state: 'open',
      consecutiveFailures: 1,
      openedAt: T,
    });
    await advance(clock, INTERVAL - 4_000 - 1);
    expect(worker.breaker?.state).toBe('open');
    expect(remote.calls).toEqual([]); // the first task did not hit a remote known to be down
    await advance(clock, 1);
    await worker.onIdle();
    expect(remote.delivered.map((c) => c.payload)).toEqual(['kept']);
    expect(worker.breaker?.state).toBe('closed');
    await worker.shutdown();
  });

  it('starts half_open, its probe at once, when the interval ran out meanwhile', async () => {
    const store = makeStore();
    await outageThenStop(store);

    const { worker, remote } = restartAfter(INTERVAL + 5_000, reopen(store));
    expect(worker.breaker?.state).toBe('half_open');
    await worker.onIdle(); // no clock moved: the probe went at once
    expect(remote.delivered.map((c) => c.payload)).toEqual(['kept']);
    expect(worker.breaker?.state).toBe('closed');
    await worker.shutdown();
  });

  it('a wall clock that went back is clamped: open for one interval, no longer', async () => {
    const store = makeStore();
    await outageThenStop(store);

    const { worker, clock } = restartAfter(-3 * INTERVAL, reopen(store));
    expect(worker.breaker?.state).toBe('open');
    await advance(clock, INTERVAL - 1);
    expect(worker.breaker?.state).toBe('open');
    await advance(clock, 1);
    expect(worker.breaker?.state).not.toBe('open');
    await worker.shutdown();
  });

  it('a breaker that closed before the stop starts closed', async () => {
    const store = makeStore();
    const first = durableWorker({ breaker }, store);
    let down = true;
    first.remote.answer(() => {
      if (down) throw new Error('connection refused');
    });
    first.worker.enqueue({ handler: 'write', payload: 'one', key: 'k' });
    await first.worker.flush();
    await settled();
    down = false;
    await advance(first.clock, INTERVAL);
    await first.worker.onIdle();
    expect(first.worker.breaker?.state).toBe('closed');
    await first.worker.shutdown();

    const { worker } = restartAfter(1_000, reopen(store));
    expect(worker.breaker?.state).toBe('closed');
    await worker.shutdown();
  });
});

describe('what is kept, and when', () => {
  it('is written at each state change, never per task', async () => {
    const inner = memoryBacklog();
    const saved: BreakerSnapshot[] = [];
    const store = Object.assign(Object.create(inner) as BacklogStore, {
      saveBreaker(state: BreakerSnapshot) {
        saved.push(state);
        inner.saveBreaker?.(state);
      },
    });
    const { worker, clock, remote } = durableWorker(
      { breaker: { failureThreshold: 3, probeIntervalMs: INTERVAL } },
      store,
    );
    let down = false;
    remote.answer(() => {
      if (down) throw new Error('connection refused');
    });
    for (let i = 0; i < 20; i++) worker.enqueue({ handler: 'write', payload: i, key: `k${i}` });
    await worker.onIdle();
    expect(saved).toEqual([]); // twenty deliveries, no state change

    down = true;
    for (let i = 0; i < 3; i++) worker.enqueue({ handler: 'write', payload: i, key: `f${i}` });
    await worker.flush();
    await settled();
    await settled();
    expect(saved).toEqual([{ state: 'open', consecutiveFailures: 3, openedAt: T }]);

    down = false;
    await advance(clock, INTERVAL);
    await worker.onIdle();
    expect(saved.map((s) => s.state)).toEqual(['open', 'half_open', 'closed']);
    expect(saved.at(-1)).toEqual({ state: 'closed', consecutiveFailures: 0 });
    await worker.shutdown();
  });

  it('a breaker passed in is not kept: it may be shared, and is the caller’s to restore', async () => {
    const store = memoryBacklog();
    const external = new CircuitBreaker(breaker);
    const first = durableWorker({ breaker: external }, store);
    first.remote.answer(() => {
      throw new Error('connection refused');
    });
    first.worker.enqueue({ handler: 'write', payload: 'kept', key: 'k' });
    await first.worker.flush();
    await settled();
    expect(external.state).toBe('open');
    await first.worker.shutdown();
    external.dispose();

    const { worker } = restartAfter(1_000, store);
    expect(worker.breaker?.state).toBe('closed');
    await worker.shutdown();
  });

  it('a kept state that does not check out is logged and ignored: the breaker starts closed', async () => {
    const inner = memoryBacklog();
    const store = Object.assign(Object.create(inner) as BacklogStore, {
      open: (hooks: Parameters<BacklogStore['open']>[0]) => ({
        ...inner.open(hooks),
        breaker: { state: 'ajar', consecutiveFailures: 1 },
      }),
    });
    const { logger, lines } = recordingLogger();
    const { worker } = durableWorker({ logger }, store);
    expect(worker.breaker?.state).toBe('closed');
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: expect.stringMatching(
          /^SyncWorker: ignoring the breaker state kept in backlog memory: .*initialState\.state must be one of closed, open, half_open$/,
        ),
      }),
    );
    await worker.shutdown();
  });

  it('without a backlog, breaker.initialState resumes the worker’s own breaker', async () => {
    const clock = new SimulatedClock();
    const initialState = { state: 'open', consecutiveFailures: 1, openedAt: T - 2_500 } as const;
    const worker = new SyncWorker({ clock, breaker: { ...breaker, initialState } });
    expect(worker.breaker?.state).toBe('open');
    expect(worker.enqueue({ run: () => 'never', onFailure() {} })).toBe(false);
    clock.increment(INTERVAL - 2_500 - 1);
    expect(worker.breaker?.state).toBe('open');
    clock.increment(1);
    expect(worker.breaker?.state).toBe('half_open');
    await worker.shutdown();
  });
});
