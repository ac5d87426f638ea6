/**
 * 10. Opening a big backlog: how long a new worker takes to open an lmdb
 * store holding many kept tasks over many keys until its first task runs,
 * and the heap it then holds. The store is built once, untimed, and cached
 * in the temp directory under a name made of its parameters. Targets (1M
 * tasks over 100k keys): open ≤ 300 ms, heap ≤ 16 MiB. It also times
 * `health()` there, its first call and the one after (no target).
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { type BacklogRecord, SyncWorker } from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { heapAfterGc, quick, runCase, type Subject, stats } from '../lib/harness.js';

const TASKS = quick ? 100_000 : 1_000_000;
const KEYS = quick ? 10_000 : 100_000;
const BATCH = 50_000;
const MiB = 1024 * 1024;
const payload = {
  role: 'user',
  text: 'a chat message of a typical length, about eighty characters long.',
};
const hooks = { onCorrupt() {}, onWriteError() {} };

/**
 * The cached store's directory: built by an earlier run with the same
 * parameters (its `complete` file says the build finished), or built now
 * through the store's own append. Seqs interleave the keys as tasks
 * arriving for all of them would (key k holds k, k + KEYS, k + 2·KEYS, …),
 * but the records are appended in the store's key order, so LMDB fills its
 * pages in order: a compact file, built in seconds.
 */
async function cachedStore(): Promise<string> {
  const path = join(tmpdir(), `xsw-bench-open-${TASKS}-tasks-${KEYS}-keys-v2`);
  const complete = join(path, 'complete');
  if (existsSync(complete)) return path;
  rmSync(path, { recursive: true, force: true });
  const store = lmdbBacklog({ path });
  store.open(hooks);
  const text = JSON.stringify(payload);
  const perKey = TASKS / KEYS;
  let records: BacklogRecord[] = [];
  for (let k = 0; k < KEYS; k++) {
    const key = `tenant-${k.toString().padStart(6, '0')}`;
    for (let j = 0; j < perKey; j++) {
      const seq = j * KEYS + k + 1;
      records.push({
        seq,
        id: `t${seq}`,
        key,
        handler: 'write',
        payload,
        attempts: 0,
        enqueuedAt: seq,
      });
    }
    if (records.length >= BATCH || k === KEYS - 1) {
      await store.append(
        records,
        records.map(() => text),
      );
      records = [];
    }
  }
  await store.close();
  writeFileSync(complete, `${TASKS} tasks over ${KEYS} keys\n`);
  return path;
}

/**
 * A worker on the store, and when its first task began. The handler's
 * promise never settles: the first task stays in flight until shutdown
 * abandons it (it stays first in its key), so every sample finds the same
 * store, nothing delivered, buried or retried.
 */
function openWorker(path: string): { worker: SyncWorker; firstRun: Promise<number> } {
  let ran: (at: number) => void = () => {};
  const firstRun = new Promise<number>((resolve) => {
    ran = resolve;
  });
  const worker = new SyncWorker({
    backlog: lmdbBacklog({ path }),
    handlers: {
      write: () => {
        ran(performance.now());
        return new Promise<never>(() => {});
      },
    },
  });
  return { worker, firstRun };
}

/** Ends a sample's worker, untimed, abandoning its first task. */
function close(worker: SyncWorker): Promise<void> {
  return worker.shutdown({ timeoutMs: 100 });
}

function workerOpen(path: string, pending: { count: number }): Subject {
  return {
    name: 'SyncWorker open until the first task runs',
    role: 'subject',
    note: `new SyncWorker on an lmdbBacklog holding ${TASKS} tasks over ${KEYS} keys, timed until its handler is first called`,
    async sample() {
      const t0 = performance.now();
      const { worker, firstRun } = openWorker(path);
      const ms = (await firstRun) - t0;
      pending.count = worker.stats().backlog;
      await close(worker);
      return ms;
    },
  };
}

function rawOpen(path: string): Subject {
  return {
    name: 'raw lmdb open + first record read',
    role: 'baseline',
    note: 'lmdb open() of the same file, its tasks database, one getRange record decoded',
    async sample() {
      const t0 = performance.now();
      const root = open({ path: join(path, 'backlog.mdb'), readOnly: true, maxDbs: 4 });
      const tasks = root.openDB<string, [string, number]>({ name: 'tasks', encoding: 'string' });
      for (const { value } of tasks.getRange({ limit: 1 })) JSON.parse(value);
      const ms = performance.now() - t0;
      await root.close();
      return ms;
    },
  };
}

/** What each `health()` call answered, by subject: the first and a later call must agree. */
const verdicts = new Map<string, Set<string>>();

/**
 * `health()` on a worker open and running its first task: its first call,
 * which reads the head of every key still waiting for its first turn, or the
 * call after it, which answers from those heads.
 */
function healthCall(path: string, which: 'first' | 'later'): Subject {
  const name = which === 'first' ? 'health(), first call' : 'health(), the call after';
  return {
    name,
    role: which === 'first' ? 'subject' : 'detail',
    note:
      which === 'first'
        ? `one worker.health() on a worker open on the ${KEYS}-key store, its first task in flight`
        : 'the next worker.health() on the same worker',
    async sample() {
      const { worker, firstRun } = openWorker(path);
      await firstRun;
      if (which === 'later') worker.health();
      const t0 = performance.now();
      const health = worker.health();
      const ms = performance.now() - t0;
      const seen = verdicts.get(name) ?? new Set<string>();
      seen.add(JSON.stringify(health.reasons.map((r) => r.kind)));
      verdicts.set(name, seen);
      await close(worker);
      return ms;
    },
  };
}

/** The heap after a full GC, once the last sample's closed store has had a turn to let go of what it held. */
async function settledHeap(): Promise<number> {
  await new Promise((resolve) => setImmediate(resolve));
  return heapAfterGc();
}

/** The heap a worker holds once open and running its first task, in MiB, after a full GC. */
async function heapSample(path: string): Promise<number> {
  const before = await settledHeap();
  const { worker, firstRun } = openWorker(path);
  await firstRun;
  const held = heapAfterGc() - before;
  await close(worker);
  return held / MiB;
}

/** The same for a worker on an empty store: what any worker holds. */
async function emptyHeapSample(): Promise<number> {
  const path = join(tmpdir(), `xsw-bench-open-empty-${process.pid}`);
  try {
    const before = await settledHeap();
    const worker = new SyncWorker({ backlog: lmdbBacklog({ path }), handlers: { write() {} } });
    const held = heapAfterGc() - before;
    await worker.shutdown();
    return held / MiB;
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

await runCase({ id: 'open', title: '10. Opening a big backlog (lmdb)' }, async (ctx) => {
  const path = await cachedStore();
  const pending = { count: 0 };
  await ctx.sampleRounds(
    { id: 'open', title: 'Open until the first task runs', unit: 'ms', quantity: 'time' },
    [workerOpen(path, pending), rawOpen(path)],
    quick ? { warmup: 0, rounds: 2 } : { warmup: 1, rounds: 5 },
  );
  ctx.check(
    'every kept task is counted pending',
    pending.count === TASKS,
    `${pending.count} of ${TASKS}`,
  );
  await ctx.sampleRounds(
    { id: 'health', title: 'health() once open', unit: 'ms', quantity: 'time' },
    [healthCall(path, 'first'), healthCall(path, 'later')],
    quick ? { warmup: 0, rounds: 1 } : { warmup: 1, rounds: 3 },
  );
  const answers = [...verdicts.values()].flatMap((seen) => [...seen]);
  ctx.check(
    'health() gives one verdict, first call or later: the oldest task is stale',
    new Set(answers).size === 1 && answers[0] === JSON.stringify(['backlogStale']),
    answers.join(' / '),
  );
  const heap: number[] = [];
  const empty: number[] = [];
  await emptyHeapSample(); // warm-up: the code every worker runs, compiled once
  for (let i = 0; i < (quick ? 1 : 3); i++) {
    heap.push(await heapSample(path));
    empty.push(await emptyHeapSample());
  }
  ctx.addGroup({ id: 'heap', title: 'Heap held once open', unit: 'MiB', quantity: 'memory' }, [
    {
      name: 'SyncWorker open until the first task runs',
      role: 'subject',
      note: 'heap in use after a full GC, minus before the worker was made, while it runs its first task',
      stats: stats(heap),
    },
    {
      name: 'SyncWorker open on an empty store',
      role: 'baseline',
      note: 'the same, for a worker on a new lmdbBacklog with nothing kept',
      stats: stats(empty),
    },
  ]);
  ctx.target(
    '10a',
    `10. ${TASKS} tasks over ${KEYS} keys open in ≤ 300 ms`,
    ctx.median('open', 'SyncWorker open until the first task runs'),
    '<=',
    300,
    ' ms',
  );
  ctx.target(
    '10b',
    `10. ${TASKS} tasks over ${KEYS} keys hold ≤ 16 MiB of heap once open`,
    ctx.median('heap', 'SyncWorker open until the first task runs'),
    '<=',
    16,
    ' MiB',
  );
});
