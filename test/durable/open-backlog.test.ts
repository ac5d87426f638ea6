import { describe, expect, it } from 'vitest';
import { compareKeys } from '../../src/backlog/keys.js';
import { type BacklogRecord, type BacklogStore, memoryBacklog } from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { advance, durableWorker } from '../support/durable.js';
import { settled } from '../support/tasks.js';
import { tempDirs } from '../support/temp-dirs.js';

const hooks = { onCorrupt() {}, onWriteError() {} };
const tempDir = tempDirs('xsw-open-');

function record(seq: number, key: string): BacklogRecord {
  const payload = `${key}${seq}`;
  return { seq, id: `id-${seq}`, key, handler: 'write', payload, attempts: 0, enqueuedAt: seq };
}

/** A store left by an earlier life: `records` kept, then closed. */
async function leftBehind(store: BacklogStore, records: BacklogRecord[]): Promise<BacklogStore> {
  store.open(hooks);
  await store.append(records);
  await store.close();
  return store;
}

/** The store, counting the calls made to it by name. */
function counting(inner: BacklogStore): { store: BacklogStore; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  return { store, calls };
}

/** A remote whose every call waits for the test: `release()` lets the oldest one succeed. */
function gated(remote: ReturnType<typeof durableWorker>['remote']) {
  const gates: (() => void)[] = [];
  remote.answer(() => new Promise<void>((resolve) => gates.push(resolve)));
  return {
    async release(): Promise<void> {
      gates.shift()?.();
      await settled();
    },
    get waiting(): number {
      return gates.length;
    },
  };
}

describe('opening a backlog left by an earlier life', () => {
  it('reads no record and visits no key to open, however many it holds', async () => {
    const kept = Array.from({ length: 300 }, (_, i) => record(i + 1, `k${i % 100}`));
    const { store, calls } = counting(await leftBehind(memoryBacklog(), kept));
    const { worker, remote } = durableWorker({ breaker: false }, store);
    // The constructor opened the store; the keys are walked only as their turns come.
    const atOpen = Object.fromEntries(calls);
    expect(atOpen.open).toBe(1);
    expect(atOpen).not.toHaveProperty('read');
    expect(atOpen).not.toHaveProperty('keyAfter');
    expect(atOpen).not.toHaveProperty('firstSeq');
    expect(atOpen).not.toHaveProperty('stats');
    expect(atOpen).not.toHaveProperty('list');
    expect(worker.stats().backlog).toBe(300);
    await worker.onIdle();
    expect(remote.delivered).toHaveLength(300);
    await worker.shutdown();
  });

  it('restored keys take their first turns in key order, before a key that joined after the open', async () => {
    // Seqs interleave the keys; the earlier life wrote b first.
    const kept = [record(1, 'b'), record(2, 'a'), record(3, 'c'), record(4, 'b'), record(5, 'a')];
    const { worker, remote } = durableWorker(
      { breaker: false },
      await leftBehind(memoryBacklog(), kept),
    );
    const gate = gated(remote);
    await settled(); // a2 runs: a is the first key
    // A new key that sorts before every restored one still waits behind them all.
    worker.enqueue({ handler: 'write', payload: '0new', key: '0' });
    await worker.flush();
    while (gate.waiting > 0) await gate.release();
    await worker.onIdle();
    expect(remote.delivered.map((c) => c.payload)).toEqual(['a2', 'b1', 'c3', '0new', 'a5', 'b4']);
    await worker.shutdown();
  });

  it('a task enqueued for a restored key not yet visited runs after that key’s kept ones', async () => {
    const kept = [record(1, 'a'), record(2, 'z'), record(3, 'z')];
    const { worker, remote } = durableWorker(
      { breaker: false },
      await leftBehind(memoryBacklog(), kept),
    );
    const gate = gated(remote);
    await settled(); // a1 runs; z waits for its first turn
    worker.enqueue({ handler: 'write', payload: 'z-new', key: 'z' });
    await worker.flush();
    while (gate.waiting > 0) await gate.release();
    await worker.onIdle();
    expect(remote.deliveredOf('z')).toEqual(['z2', 'z3', 'z-new']);
    expect(worker.stats().backlog).toBe(0);
    await worker.shutdown();
  });

  it('holds about maxQueue records in memory, not one per key, while it walks many keys', async () => {
    const maxQueue = 8;
    const kept = Array.from({ length: 600 }, (_, i) =>
      record(i + 1, `k${String(i % 300).padStart(3, '0')}`),
    );
    const { worker, remote } = durableWorker(
      { breaker: false, maxQueue },
      await leftBehind(memoryBacklog(), kept),
    );
    let most = 0;
    remote.answer(() => {
      most = Math.max(most, worker.stats().backlogInMemory);
    });
    await worker.onIdle();
    expect(remote.delivered).toHaveLength(600);
    // The one more is the head a lane reads at its turn when memory is full: it runs at once.
    expect(most).toBeLessThanOrEqual(maxQueue + 1);
    expect(most).toBeGreaterThan(0);
    await worker.shutdown();
  });

  it('a half-open probe replays the oldest task, also when its key has not had its first turn', async () => {
    // z holds the oldest task but comes last in key order.
    const kept = [record(5, 'a'), record(6, 'b'), record(1, 'z')];
    const { worker, remote, clock } = durableWorker(
      { breaker: { failureThreshold: 1, probeIntervalMs: 1_000 } },
      await leftBehind(memoryBacklog(), kept),
    );
    worker.breaker?.recordFailure(); // open: the first run after the interval is a probe
    await settled();
    expect(remote.calls).toHaveLength(0);
    await advance(clock, 1_000);
    await worker.onIdle();
    expect(remote.delivered.map((c) => c.payload)).toEqual(['z1', 'a5', 'b6']);
    await worker.shutdown();
  });
});

describe('walking the keys of an lmdb store', () => {
  it('keyAfter walks keys in code point order, as compareKeys sorts them', async () => {
    // U+FFFF sorts before U+10000 by code point, after it by UTF-16 code unit.
    const keys = ['b', 'a', '\u{10000}', '\uffff', 'a\u0000', 'ab', 'A', 'é'];
    const store = await leftBehind(
      lmdbBacklog({ path: tempDir() }),
      keys.map((key, i) => record(i + 1, key)),
    );
    store.open(hooks);
    const walked: string[] = [];
    for (let key = store.keyAfter(undefined); key !== undefined; key = store.keyAfter(key)) {
      walked.push(key);
    }
    await store.close();
    expect(walked).toEqual([...keys].sort(compareKeys));
    expect(walked).not.toEqual([...keys].sort());
  });

  it('opens with the next seq kept by its commits, and finds it without that summary too', async () => {
    const path = tempDir();
    const store = lmdbBacklog({ path });
    store.open(hooks);
    await store.append([record(7, 'a'), record(9, 'b'), record(11, 'c')]);
    store.bury({ ...record(11, 'c'), deadAt: 1, reason: 'x' });
    await store.flush();
    await store.close();
    expect(store.open(hooks)).toMatchObject({ nextSeq: 12, pending: 2, deadLetters: 1 });
    await store.close();
    // A store written before the summary existed: the open jumps from key to key instead.
    const { open } = await import('lmdb');
    const root = open({ path: `${path}/backlog.mdb`, maxDbs: 4 });
    await root.openDB<string, string>({ name: 'meta', encoding: 'string' }).remove('nextSeq');
    await root.close();
    expect(store.open(hooks)).toMatchObject({ nextSeq: 12, pending: 2, deadLetters: 1 });
    await store.close();
  });
});
