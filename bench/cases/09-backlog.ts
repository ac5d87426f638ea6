/**
 * 6. Durable backlog: records per second persisted with group commit (enqueue
 * + flush through the worker), against a raw lmdb put loop and one fsync per
 * record; and replay throughput from a store to a no-op handler, against a raw
 * ordered read of the same records. Target: at least 200k records/s persisted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { CircuitBreaker, encodeRecord, SyncWorker } from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { quick, runCase, type Subject } from '../lib/harness.js';

const N = quick ? 2_000 : 10_000;
const FSYNC_N = quick ? 20 : 100;
const KEYS = 20;
const dirs: string[] = [];
const payload = {
  role: 'user',
  text: 'a chat message of a typical length, about eighty characters long.',
};

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'xsw-bench-'));
  dirs.push(dir);
  return dir;
}

/** A worker whose breaker stays open, so what is measured is keeping the tasks, not delivering them. */
function keepingWorker(path: string): SyncWorker {
  const breaker = new CircuitBreaker({ failureThreshold: 1, probeIntervalMs: 3_600_000 });
  breaker.recordFailure();
  return new SyncWorker({
    backlog: lmdbBacklog({ path }),
    handlers: { write: () => {} },
    breaker,
    maxQueue: 1024,
  });
}

function workerAppend(): Subject {
  const worker = keepingWorker(tempDir());
  let n = 0;
  return {
    name: 'SyncWorker durable enqueue + flush (lmdb)',
    role: 'subject',
    note: `${N} durable enqueues over ${KEYS} keys, then await flush(): validation, copy, group commit and fsync included`,
    async sample() {
      const t0 = performance.now();
      for (let i = 0; i < N; i++, n++)
        worker.enqueue({ handler: 'write', payload, key: `s${n % KEYS}` });
      await worker.flush();
      return N / ((performance.now() - t0) / 1000);
    },
  };
}

function rawPutLoop(): Subject {
  const db = open({ path: join(tempDir(), 'raw.mdb') }).openDB<string, [string, number]>({
    name: 't',
    encoding: 'string',
  });
  let n = 0;
  return {
    name: 'raw lmdb put loop + flushed',
    role: 'baseline',
    note: `${N} db.put of the same JSON record, then await the last put and db.flushed`,
    async sample() {
      const t0 = performance.now();
      let last: Promise<boolean> | undefined;
      for (let i = 0; i < N; i++, n++) {
        last = db.put(
          [`s${n % KEYS}`, n],
          encodeRecord({
            seq: n,
            id: `m${n}`,
            key: `s${n % KEYS}`,
            handler: 'write',
            payload,
            attempts: 0,
            enqueuedAt: Date.now(),
          }),
        );
      }
      await last;
      await db.flushed;
      return N / ((performance.now() - t0) / 1000);
    },
  };
}

function fsyncPerRecord(): Subject {
  const db = open({ path: join(tempDir(), 'sync.mdb') });
  let n = 0;
  return {
    name: 'lmdb, one fsync per record',
    role: 'baseline',
    note: `${FSYNC_N} records, each awaited until flushed before the next is written`,
    async sample() {
      const t0 = performance.now();
      for (let i = 0; i < FSYNC_N; i++, n++) {
        await db.put(
          n,
          encodeRecord({
            seq: n,
            id: `m${n}`,
            key: 'k',
            handler: 'write',
            payload,
            attempts: 0,
            enqueuedAt: 0,
          }),
        );
        await db.flushed;
      }
      return FSYNC_N / ((performance.now() - t0) / 1000);
    },
  };
}

/** Fills a fresh store with N kept tasks (untimed) and returns its path. */
async function filledStore(): Promise<string> {
  const path = tempDir();
  const worker = keepingWorker(path);
  for (let n = 0; n < N; n++) worker.enqueue({ handler: 'write', payload, key: `s${n % KEYS}` });
  await worker.flush();
  await worker.shutdown();
  return path;
}

function workerReplay(ran: { count: number }): Subject {
  return {
    name: 'SyncWorker replay to a no-op handler',
    role: 'subject',
    note: `a new worker opens a store holding ${N} tasks over ${KEYS} keys and delivers them all (opening, reading back, running, removing) until onIdle()`,
    async sample() {
      const path = await filledStore();
      const t0 = performance.now();
      const worker = new SyncWorker({
        backlog: lmdbBacklog({ path }),
        handlers: {
          write: () => {
            ran.count++;
          },
        },
        maxQueue: 1024,
      });
      await worker.onIdle();
      const seconds = (performance.now() - t0) / 1000;
      await worker.shutdown();
      rmSync(path, { recursive: true, force: true });
      return N / seconds;
    },
  };
}

function rawRead(): Subject {
  let path: string | undefined;
  return {
    name: 'raw lmdb ordered read + JSON.parse',
    role: 'baseline',
    note: `getRange over the same ${N} records, decoding each`,
    async sample() {
      path ??= await filledStore();
      const db = open({ path: join(path, 'backlog.mdb'), readOnly: true, maxDbs: 4 }).openDB<
        string,
        [string, number]
      >({ name: 'tasks', encoding: 'string' });
      const t0 = performance.now();
      let count = 0;
      for (const { value } of db.getRange()) if (JSON.parse(value)) count++;
      const seconds = (performance.now() - t0) / 1000;
      if (count !== N) throw new Error(`read ${count} of ${N}`);
      return N / seconds;
    },
  };
}

await runCase({ id: 'backlog', title: '6. Durable backlog (lmdb)' }, async (ctx) => {
  try {
    const options = quick
      ? { warmup: 1, rounds: 1, samplesPerRound: 3 }
      : { warmup: 3, rounds: 3, samplesPerRound: 5 };
    await ctx.compare(
      {
        id: 'append',
        title: 'Durable tasks persisted per second (group commit)',
        unit: 'records/s',
        quantity: 'throughput',
      },
      [workerAppend(), rawPutLoop(), fsyncPerRecord()],
      options,
    );
    ctx.target(
      '6a',
      '6. durable tasks persisted ≥ 200k records/s',
      ctx.median('append', 'SyncWorker durable enqueue + flush (lmdb)'),
      '>=',
      200_000,
      ' records/s',
    );
    const ran = { count: 0 };
    const replay = workerReplay(ran);
    await ctx.compare(
      {
        id: 'replay',
        title: 'Replay from the store to a no-op handler',
        unit: 'tasks/s',
        quantity: 'throughput',
      },
      [replay, rawRead()],
      quick
        ? { warmup: 0, rounds: 1, samplesPerRound: 2 }
        : { warmup: 1, rounds: 2, samplesPerRound: 3 },
    );
    ctx.check(
      'replay: every kept task was delivered',
      ran.count % N === 0 && ran.count > 0,
      `${ran.count} deliveries for batches of ${N}`,
    );
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
});
