import { describe, expect, it } from 'vitest';
import { type AnyActorRef, SimulatedClock } from 'xstate';
import {
  BacklogFullError,
  type BacklogRecord,
  CircuitBreaker,
  memoryBacklog,
  type SyncWorkerEvents,
  WorkerShutdownError,
} from '../../src/index.js';
import { advance, durableWorker, failingStore } from '../support/durable.js';
import { settled } from '../support/tasks.js';

const hooks = { onCorrupt() {}, onWriteError() {} };

function record(seq: number, key: string, payload: string): BacklogRecord {
  return { seq, id: `id-${seq}`, key, handler: 'write', payload, attempts: 0, enqueuedAt: 0 };
}

function backlogState(actor: { system: { get(id: string): AnyActorRef | undefined } }) {
  return actor.system.get('backlog')?.getSnapshot().value;
}

describe('durable tasks behind an open breaker', () => {
  it('keeps tasks while the breaker is open, probes with the oldest, then drains in order', async () => {
    const { worker, clock, remote } = durableWorker({
      breaker: { failureThreshold: 1, probeIntervalMs: 1_000 },
    });
    let down = true;
    remote.answer(() => {
      if (down) throw new Error('connection refused');
    });
    worker.enqueue({ handler: 'write', payload: 'a1', key: 'a' });
    await settled();
    expect(worker.breaker?.state).toBe('open');
    // While open, durable tasks are accepted and kept, and nothing runs.
    expect(worker.enqueue({ handler: 'write', payload: 'b1', key: 'b' })).toBe(true);
    expect(worker.enqueue({ handler: 'write', payload: 'a2', key: 'a' })).toBe(true);
    await settled();
    expect(remote.calls).toHaveLength(1);
    expect(worker.state).toBe('blocked');
    expect(worker.stats().backlog).toBe(3);
    down = false;
    await advance(clock, 1_000); // half-open: the probe is the oldest kept task, a1
    await worker.onIdle();
    expect(remote.delivered.map((c) => c.payload)).toEqual(['a1', 'b1', 'a2']);
    expect(worker.breaker?.state).toBe('closed');
  });

  it('does not spend attempts while waiting behind the open breaker', async () => {
    const { worker, clock, remote } = durableWorker({
      breaker: { failureThreshold: 1, probeIntervalMs: 5_000 },
      retry: { maxAttempts: 2, baseMs: 10, maxMs: 10 },
    });
    let down = true;
    remote.answer(() => {
      if (down) throw new Error('down');
    });
    worker.enqueue({ handler: 'write', payload: 'x' });
    await settled();
    for (let i = 0; i < 4; i++) await advance(clock, 1_000); // retries fall due, but the breaker is open
    expect(remote.calls).toHaveLength(1);
    down = false;
    await advance(clock, 1_000);
    await worker.onIdle();
    expect(remote.delivered.map((c) => c.attempt)).toEqual([2]);
  });

  it('an outage longer than maxAttempts probes buries nothing: failed probes are the remote’s failures', async () => {
    const { worker, clock, remote, deadLetters, backlog } = durableWorker({
      breaker: { failureThreshold: 2, probeIntervalMs: 1_000 },
      retry: { maxAttempts: 2, baseMs: 10, maxMs: 10 },
    });
    let down = true;
    remote.answer(() => {
      if (down) throw new Error('connection refused');
    });
    for (const payload of ['k1', 'k2', 'k3'])
      worker.enqueue({ handler: 'write', payload, key: 'k' });
    await settled();
    await advance(clock, 10); // the retry: the second failure trips the breaker
    expect(worker.breaker?.state).toBe('open');
    for (let probe = 0; probe < 6; probe++) await advance(clock, 1_000);
    expect(remote.calls.length).toBeGreaterThan(2 + 5); // probes ran, all with k1
    expect(new Set(remote.calls.map((c) => c.payload))).toEqual(new Set(['k1']));
    expect(deadLetters).toEqual([]);
    // The store says which failures were the remote's, so a restart would not bury k1 either.
    const kept = backlog.list()[0];
    expect(kept?.attempts).toBe(remote.calls.length);
    expect(kept?.remoteFailures).toBe(remote.calls.length - 1);
    down = false;
    await advance(clock, 1_000);
    await worker.onIdle();
    expect(remote.deliveredOf('k')).toEqual(['k1', 'k2', 'k3']);
    expect(deadLetters).toEqual([]);
  });

  it('a task failing on its own, with the breaker closed, still uses up its attempts', async () => {
    const { worker, clock, remote, deadLetters } = durableWorker({
      breaker: { failureThreshold: 10, probeIntervalMs: 1_000 },
      retry: { maxAttempts: 3, baseMs: 10, maxMs: 10 },
    });
    remote.answer((call) => {
      if (call.payload === 'poison') throw new Error('HTTP 500');
    });
    worker.enqueue({ handler: 'write', payload: 'poison', key: 'p' });
    worker.enqueue({ handler: 'write', payload: 'fine', key: 'f' });
    for (let i = 0; i < 5; i++) await advance(clock, 10);
    await worker.onIdle();
    expect(deadLetters.map((d) => [d.task.payload, d.task.attempts])).toEqual([['poison', 3]]);
    expect(remote.deliveredOf('f')).toEqual(['fine']);
  });

  it('probes with the oldest kept task, not the next key in turn', async () => {
    const store = memoryBacklog();
    store.open(hooks);
    // Key "a" is first in the rotation but its task is newer than key "z"'s.
    await store.append([record(2, 'a', 'a-new'), record(1, 'z', 'z-old')]);
    await store.close();
    const clock = new SimulatedClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, probeIntervalMs: 1_000, clock });
    breaker.recordFailure();
    const { worker, remote } = durableWorker({ breaker, clock }, store);
    await settled();
    expect(worker.state).toBe('blocked');
    expect(remote.calls).toEqual([]);
    await advance(clock, 1_000);
    await worker.onIdle();
    expect(remote.delivered.map((c) => c.payload)).toEqual(['z-old', 'a-new']);
  });
});

describe('durable tasks at shutdown and restart', () => {
  it('shutdown with the breaker open resolves at once and leaves the tasks in the store', async () => {
    const { worker, remote, backlog } = durableWorker({
      breaker: { failureThreshold: 1, probeIntervalMs: 60_000 },
    });
    remote.answer(() => {
      throw new Error('down');
    });
    worker.enqueue({ handler: 'write', payload: 1, key: 'k' });
    await settled();
    worker.enqueue({ handler: 'write', payload: 2, key: 'k' });
    await worker.shutdown({ timeoutMs: 10_000 });
    expect(worker.state).toBe('shutdown');
    // Reopened by the next worker, the store has both, in order. Its breaker resumes the
    // outage the store remembers, so the tasks wait for its probe.
    const next = durableWorker({}, backlog);
    expect(next.worker.breaker?.state).toBe('open');
    await advance(next.clock, 60_000);
    await next.worker.onIdle();
    expect(next.remote.delivered.map((c) => c.payload)).toEqual([1, 2]);
    expect(next.remote.delivered[0]?.attempt).toBe(2); // the attempt count was kept
  });

  it('at the deadline aborts a running durable task and keeps it for the next start', async () => {
    const { worker, clock, remote, backlog } = durableWorker();
    let aborted: unknown;
    remote.answer((_call, { signal }) => {
      signal.addEventListener('abort', () => {
        aborted = signal.reason;
      });
      return new Promise(() => {});
    });
    const failed: unknown[] = [];
    worker.on('taskFailed', (event) => failed.push(event));
    worker.enqueue({ handler: 'write', payload: 'slow' });
    await settled();
    const done = worker.shutdown({ timeoutMs: 100 });
    await advance(clock, 100);
    await done;
    expect(aborted).toBeInstanceOf(WorkerShutdownError);
    expect(failed).toEqual([]); // kept, not failed
    expect(backlog.list().map((r) => r.payload)).toEqual(['slow']);
  });

  it('refuses durable tasks once shutdown has begun: false and a taskFailed event', async () => {
    const { worker } = durableWorker();
    const failed: SyncWorkerEvents['taskFailed'][] = [];
    worker.on('taskFailed', (event) => failed.push(event));
    void worker.shutdown();
    expect(worker.enqueue({ handler: 'write', payload: 1, id: 'late' })).toBe(false);
    expect(failed[0]?.error).toBeInstanceOf(WorkerShutdownError);
    expect(failed[0]?.task).toMatchObject({ id: 'late', handler: 'write' });
  });

  it('a second worker cannot own a store that is already owned', () => {
    const { backlog } = durableWorker();
    expect(() => durableWorker({}, backlog)).toThrow(/locked/);
  });

  it('a record whose handler is no longer registered goes to the dead letters', async () => {
    const store = memoryBacklog();
    store.open(hooks);
    await store.append([{ ...record(1, 'k', 'old'), handler: 'retired' }, record(2, 'k', 'new')]);
    await store.close();
    const { worker, remote, deadLetters } = durableWorker({}, store);
    await worker.onIdle();
    expect(deadLetters[0]?.error.message).toMatch(/no handler is registered as "retired"/);
    expect(remote.delivered.map((c) => c.payload)).toEqual(['new']);
  });
});

describe('durable tasks beyond memory', () => {
  it('holds at most maxQueue tasks in memory; the rest replay from the store, in order', async () => {
    const { worker, remote, clock } = durableWorker({
      maxQueue: 2,
      breaker: { failureThreshold: 1, probeIntervalMs: 1_000 },
    });
    let down = true;
    remote.answer(() => {
      if (down) throw new Error('down');
    });
    worker.enqueue({ handler: 'write', payload: 0, key: 'k' });
    await settled();
    for (let i = 1; i <= 20; i++)
      worker.enqueue({ handler: 'write', payload: i, key: i % 2 ? 'k' : 'j' });
    await worker.flush();
    expect(backlogState(worker.actor)).toEqual({ open: { writes: 'idle', reads: 'replaying' } });
    expect(worker.stats()).toMatchObject({ backlog: 21, queued: 0, dropped: 0 });
    // maxQueue (2) in memory, plus key j's head read back (a read takes at least one); 18 only in the store.
    expect(worker.stats().backlogInMemory).toBe(3);
    down = false;
    await advance(clock, 1_000);
    await worker.onIdle();
    expect(remote.deliveredOf('k')).toEqual([0, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    expect(remote.deliveredOf('j')).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(backlogState(worker.actor)).toEqual({ open: { writes: 'idle', reads: 'live' } });
  });
});

describe('durable tasks the store cannot keep', () => {
  it('fails them visibly: one taskFailed with BacklogFullError each, and flush() rejects', async () => {
    const { worker, remote } = durableWorker({}, failingStore(memoryBacklog()));
    const failed: SyncWorkerEvents['taskFailed'][] = [];
    worker.on('taskFailed', (event) => failed.push(event));
    worker.enqueue({ handler: 'write', payload: 1 });
    worker.enqueue({ handler: 'write', payload: 2 });
    await expect(worker.flush()).rejects.toBeInstanceOf(BacklogFullError);
    await worker.onIdle();
    expect(failed.map((f) => f.error)).toEqual([
      expect.any(BacklogFullError),
      expect.any(BacklogFullError),
    ]);
    expect(failed[0]?.error.message).toMatch(/could not keep 2 task\(s\): MDB_MAP_FULL/);
    expect(remote.calls).toEqual([]);
    expect(worker.stats()).toMatchObject({ backlog: 0, failed: 2 });
  });
});

describe('durable tasks while the store is refusing', () => {
  it('refuses new durable tasks with false for a while after a failed commit, then tries again', async () => {
    let refusing = true;
    const inner = memoryBacklog();
    const store = Object.assign(Object.create(inner), {
      append: (records: BacklogRecord[]) =>
        refusing
          ? Promise.reject(new Error('ENOSPC: no space left on device'))
          : inner.append(records),
    });
    const { worker, clock, remote } = durableWorker({}, store);
    const failed: SyncWorkerEvents['taskFailed'][] = [];
    worker.on('taskFailed', (event) => failed.push(event));
    expect(worker.enqueue({ handler: 'write', payload: 'lost-1' })).toBe(true);
    await settled();
    expect(failed).toHaveLength(1);
    // Known to be refusing: say so at once instead of accepting.
    expect(worker.enqueue({ handler: 'write', payload: 'refused' })).toBe(false);
    expect(failed[1]?.error).toBeInstanceOf(BacklogFullError);
    expect(failed[1]?.task).toMatchObject({ payload: 'refused' });
    refusing = false;
    await advance(clock, 1_000);
    expect(worker.enqueue({ handler: 'write', payload: 'kept' })).toBe(true);
    await worker.onIdle();
    expect(remote.delivered.map((c) => c.payload)).toEqual(['kept']);
    expect(worker.stats()).toMatchObject({ refused: 1, failed: 1, completed: 1 });
  });
});
