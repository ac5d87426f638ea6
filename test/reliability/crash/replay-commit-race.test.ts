/**
 * A bug the crash loop found (crash-loop.test.ts, as duplicates and per-key
 * disorder within one life, with no kill in between).
 *
 * lmdb makes a group commit's records visible to reads as soon as its write
 * transaction commits, and `lmdbBacklog.append` resolves only later, once
 * `db.flushed` does. When a key being replayed from the store reads back
 * (`DurableQueue.readBack`) inside that window, it takes the new records of
 * the commit in flight along with the old ones, delivers them all, runs dry
 * and is retired: `retire` deletes the lane, and with it the lane's
 * `cursor`. When the commit then resolves, `committed → admit` makes a fresh
 * lane (cursor 0), so its `record.seq <= lane.cursor` guard, meant for
 * exactly this race, no longer holds: the same records are cached again and
 * delivered a second time, after later ones of their key, in the same
 * process, and `pending` (`stats().backlog`) drops below zero.
 *
 * Any key that reads back from the store can hit it: after a restart (a
 * key replayed from the backlog), and without one, when a key holds more
 * than `maxQueue` tasks and the rest wait in the store (the second test).
 *
 * The store here is `memoryBacklog()` behind a gate that reproduces lmdb's
 * window deterministically: `append` writes at once (visible to `read`) and
 * resolves only when the test says. In the crash loop, with the real lmdb
 * store, it shows now and then (its report counts `withinLife` duplicates),
 * in an `enqueue` life that opens a store with a backlog.
 *
 * First fixed in DurableQueue by keeping the cursor of a lane that ran dry
 * while a commit was in flight (these tests were written as `it.fails`
 * against the unfixed code). Now a read-back takes no record of a commit
 * that has not resolved (`DurableQueue.readableThrough`): a task runs only
 * once durable, and these tests release the commit while key k waits at it.
 */
import { describe, expect, it } from 'vitest';
import {
  type BacklogRecord,
  type BacklogStore,
  CircuitBreaker,
  memoryBacklog,
  SyncWorker,
} from '../../../src/index.js';
import { settled } from '../../support/tasks.js';

/**
 * A store whose appends are visible to reads at once but resolve (are
 * "durable") only on `release()`, as lmdb's do between the commit of the
 * write transaction and `db.flushed`.
 */
function visibleBeforeDurable(inner: BacklogStore) {
  const gates: (() => void)[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let appends = 0;
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'append') {
        return (records: readonly BacklogRecord[]) =>
          target.append(records).then(() => {
            appends++;
            for (const w of waiters.filter((w) => w.count <= appends)) w.resolve();
            return new Promise<void>((resolve) => gates.push(resolve));
          });
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    store,
    /** Resolves once `count` appends in all have been written (and not yet released). */
    appended: (count: number) =>
      new Promise<void>((resolve) => {
        if (appends >= count) resolve();
        else waiters.push({ count, resolve });
      }),
    /** Resolves the appends written so far. */
    release: () => {
      for (const open of gates.splice(0)) open();
    },
  };
}

/** A promise and its resolve. */
function signal() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('replay racing a group commit (found by the crash loop)', () => {
  it('a record read back before its commit resolves is delivered once, in order', async () => {
    const inner = memoryBacklog();

    // A first life keeps one task in each of keys a and k: the remote is down. Its breaker is
    // one of its own making, which the store does not keep, so the next life starts closed.
    const outage = new CircuitBreaker({ failureThreshold: 1, probeIntervalMs: 3_600_000 });
    const first = new SyncWorker({
      backlog: inner,
      handlers: {
        write: () => {
          throw new Error('connection refused');
        },
      },
      breaker: outage,
    });
    first.enqueue({ handler: 'write', payload: {}, key: 'a', id: 'a-0' });
    first.enqueue({ handler: 'write', payload: {}, key: 'k', id: 'k-0' });
    await first.flush();
    await first.shutdown();
    outage.dispose();

    // The next life replays them, with the remote up. a-0 goes first and is held.
    const gated = visibleBeforeDurable(inner);
    const delivered: string[] = [];
    const holdA = signal();
    const k0Delivered = signal();
    const second = new SyncWorker({
      backlog: gated.store,
      handlers: {
        write: async (_payload: unknown, { id }) => {
          if (id === 'a-0') await holdA.promise;
          delivered.push(id);
          if (id === 'k-0') k0Delivered.resolve();
        },
      },
    });
    // New tasks of key k: their commit is written (visible) but not yet resolved.
    second.enqueue({ handler: 'write', payload: {}, key: 'k', id: 'k-1' });
    second.enqueue({ handler: 'write', payload: {}, key: 'k', id: 'k-2' });
    await gated.appended(1);
    // Key k reads back k-0 and delivers it, then reads again: k-1 and k-2 are readable.
    holdA.resolve();
    await k0Delivered.promise;
    await settled();
    // The commit resolves.
    gated.release();
    await second.onIdle();
    const backlog = second.stats().backlog;
    await second.shutdown();

    // Fails: ['a-0', 'k-0', 'k-1', 'k-2', 'k-1', 'k-2'], and a backlog of -2.
    expect({ delivered, backlog }).toEqual({
      delivered: ['a-0', 'k-0', 'k-1', 'k-2'],
      backlog: 0,
    });
  });

  it('the same race without a restart: a key with more than maxQueue tasks', async () => {
    // Beyond maxQueue, a key's tasks stay in the store and are read back: the same window.
    const gated = visibleBeforeDurable(memoryBacklog());
    const delivered: string[] = [];
    const holdFirst = signal();
    const firstCommitDelivered = signal();
    const worker = new SyncWorker({
      backlog: gated.store,
      maxQueue: 2,
      handlers: {
        write: async (_payload: unknown, { id }) => {
          if (id === 'k-0') await holdFirst.promise;
          delivered.push(id);
          if (id === 'k-3') firstCommitDelivered.resolve();
        },
      },
    });
    const enqueue = (from: number, to: number) => {
      for (let i = from; i <= to; i++) {
        worker.enqueue({ handler: 'write', payload: {}, key: 'k', id: `k-${i}` });
      }
    };
    enqueue(0, 3); // k-0 and k-1 in memory, k-2 and k-3 only in the store
    await gated.appended(1);
    gated.release();
    await worker.flush();
    enqueue(4, 5);
    await gated.appended(2); // visible, not yet resolved
    holdFirst.resolve();
    await firstCommitDelivered.promise; // read back k-2 and k-3 from the store and delivered
    await settled(); // key k reads again: k-4 and k-5 are readable
    gated.release();
    await worker.onIdle();
    const backlog = worker.stats().backlog;
    await worker.shutdown();

    // Fails: k-4 and k-5 are delivered twice, and the backlog is -2.
    expect({ delivered, backlog }).toEqual({
      delivered: ['k-0', 'k-1', 'k-2', 'k-3', 'k-4', 'k-5'],
      backlog: 0,
    });
  });
});
