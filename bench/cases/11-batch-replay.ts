/**
 * 8. Batched replay: the time to drain 10,000 durable tasks kept in an lmdb
 * backlog over 20 keys, to a simulated remote whose every call takes 20 ms
 * whatever its size. A batch handler (`{ batch: { maxSize: 100 }, run }`) at
 * concurrency 1 and 8, against a plain handler (one task per call) at
 * concurrency 1, measured on 1,000 tasks and scaled to 10,000 (×10), since
 * one by one takes 20 ms per task. Baseline: 8 bare lanes sending the same
 * batches of 100 back to back, with no worker and no store.
 *
 * The store is filled (untimed) by a worker whose breaker is held open, as
 * in case 6, and shut down; what is timed is a new worker opening it and
 * delivering everything until `onIdle()`. Checks: every task delivered
 * exactly once, in its key's order, with never two calls of one key in
 * flight. Target: batches of 100 at concurrency 8 at least 50× faster than
 * one by one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CircuitBreaker,
  type DurableBatchContext,
  type DurableContext,
  SyncWorker,
} from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { quick, runCase, type Subject } from '../lib/harness.js';

const N = quick ? 2_000 : 10_000;
/** One by one is measured on this many tasks and scaled to N. */
const SINGLE_N = quick ? 100 : 1_000;
const KEYS = 20;
const BATCH = 100;
const CALL_MS = 20;
const ROUNDS = quick ? 1 : 3;
const dirs: string[] = [];

type Payload = {
  n: number;
  /** The task's place in its key: 0, 1, 2, … */
  i: number;
  text: string;
};

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'xsw-bench-'));
  dirs.push(dir);
  return dir;
}

/** Fills a fresh store with `n` tasks over KEYS keys, kept behind an open breaker (untimed); returns its path. */
async function filledStore(n: number): Promise<string> {
  const path = tempDir();
  const breaker = new CircuitBreaker({ failureThreshold: 1, probeIntervalMs: 3_600_000 });
  breaker.recordFailure();
  const worker = new SyncWorker({
    backlog: lmdbBacklog({ path }),
    handlers: { write: () => {} },
    breaker,
    maxQueue: 1024,
  });
  for (let m = 0; m < n; m++) {
    const payload: Payload = {
      n: m,
      i: Math.floor(m / KEYS),
      text: 'a chat message of a typical length, about eighty characters long.',
    };
    worker.enqueue({ handler: 'write', payload, key: `s${m % KEYS}` });
  }
  await worker.flush();
  await worker.shutdown();
  return path;
}

/** What the remote saw over every sample of one row. */
class DeliveryLog {
  calls = 0;
  deliveries = 0;
  /** Deliveries of a task already delivered in the same sample. */
  repeated = 0;
  /** Tasks that arrived out of their key's order. */
  outOfOrder = 0;
  /** Calls that began while another call of their key was in flight. */
  overlapping = 0;
  /** Samples that did not deliver every task. */
  incomplete = 0;
  badStats = '';
  private delivered = new Uint8Array(0);
  private nextI = new Map<string, number>();
  private inFlight = new Set<string>();

  /** A new sample of `n` tasks begins. */
  reset(n: number): void {
    this.delivered = new Uint8Array(n);
    this.nextI.clear();
    this.inFlight.clear();
  }

  /** A sample ended: every task must have arrived once. */
  finish(): void {
    if (!this.delivered.every((count) => count === 1)) this.incomplete++;
  }

  begin(key: string, payloads: readonly Payload[]): void {
    this.calls++;
    if (this.inFlight.has(key)) this.overlapping++;
    this.inFlight.add(key);
    let next = this.nextI.get(key) ?? 0;
    for (const p of payloads) {
      this.deliveries++;
      if (this.delivered[p.n] !== 0) this.repeated++;
      this.delivered[p.n] = 1;
      if (p.i !== next) this.outOfOrder++;
      next = p.i + 1;
    }
    this.nextI.set(key, next);
  }

  end(key: string): void {
    this.inFlight.delete(key);
  }
}

/** The remote: one call of `payloads` takes CALL_MS, whatever their number. */
function send(log: DeliveryLog, key: string, payloads: readonly Payload[]): Promise<void> {
  log.begin(key, payloads);
  return new Promise<void>((resolve) => {
    setTimeout(() => {
      log.end(key);
      resolve();
    }, CALL_MS);
  });
}

/** A new worker on a filled store of `n` tasks, timed until it has delivered them all. */
async function replay(
  log: DeliveryLog,
  n: number,
  concurrency: number,
  batched: boolean,
): Promise<number> {
  const path = await filledStore(n);
  log.reset(n);
  const write = batched
    ? {
        batch: { maxSize: BATCH },
        run: (payloads: Payload[], context: DurableBatchContext) =>
          send(log, context.key, payloads),
      }
    : (payload: Payload, context: DurableContext) => send(log, context.key, [payload]);
  const t0 = performance.now();
  const worker = new SyncWorker({
    backlog: lmdbBacklog({ path }),
    concurrency,
    handlers: { write },
  });
  await worker.onIdle();
  const seconds = (performance.now() - t0) / 1000;
  const s = worker.stats();
  await worker.shutdown();
  rmSync(path, { recursive: true, force: true });
  log.finish();
  if (s.completed !== n || s.failed + s.retried + s.timedOut + s.backlog > 0) {
    log.badStats = `completed ${s.completed} of ${n}, failed ${s.failed}, retried ${s.retried}, timed out ${s.timedOut}, left ${s.backlog}`;
  }
  return seconds;
}

function batched(concurrency: number, role: 'subject' | 'detail', log: DeliveryLog): Subject {
  return {
    name: `SyncWorker, batches of ${BATCH}, concurrency ${concurrency}`,
    role,
    note: `handlers: { write: { batch: { maxSize: ${BATCH} }, run } }, concurrency ${concurrency}, defaults otherwise (maxQueue 64: batches read past it from the store)`,
    sample: () => replay(log, N, concurrency, true),
  };
}

function oneByOne(log: DeliveryLog): Subject & { rounds: number } {
  const scale = N / SINGLE_N;
  return {
    name: `SyncWorker, one by one, concurrency 1 (${SINGLE_N.toLocaleString('en-US')} tasks, time ×${scale})`,
    role: 'detail',
    note: `handlers: { write: (payload, ctx) => … }, one task per call: ${SINGLE_N.toLocaleString('en-US')} tasks over ${KEYS} keys replayed, the time multiplied by ${scale} for ${N.toLocaleString('en-US')}; one sample (${((SINGLE_N * CALL_MS) / 1000).toFixed(0)} s)`,
    rounds: 1,
    sample: async () => scale * (await replay(log, SINGLE_N, 1, false)),
  };
}

function bareLanes(lanes: number, log: DeliveryLog): Subject {
  return {
    name: `${lanes} bare lanes, batches of ${BATCH}`,
    role: 'baseline',
    note: `the same ${N / BATCH} batches of ${BATCH} (each key's tasks in order), sent by ${lanes} async loops back to back: no worker, no store, no per-key order; the limit is ⌈${N / BATCH} / ${lanes}⌉ × ${CALL_MS} ms`,
    async sample() {
      const batches: { key: string; payloads: Payload[] }[] = [];
      for (let k = 0; k < KEYS; k++) {
        for (let from = 0; from < N / KEYS; from += BATCH) {
          const payloads: Payload[] = [];
          for (let i = from; i < Math.min(from + BATCH, N / KEYS); i++) {
            payloads.push({ n: i * KEYS + k, i, text: '' });
          }
          batches.push({ key: `s${k}`, payloads });
        }
      }
      log.reset(N);
      let next = 0;
      const lane = async () => {
        for (let b = batches[next++]; b !== undefined; b = batches[next++]) {
          await send(log, b.key, b.payloads);
        }
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: lanes }, lane));
      const seconds = (performance.now() - t0) / 1000;
      log.finish();
      return seconds;
    },
  };
}

await runCase({ id: 'batch-replay', title: '8. Batched replay (lmdb)' }, async (ctx) => {
  try {
    const logs = {
      c8: new DeliveryLog(),
      c1: new DeliveryLog(),
      single: new DeliveryLog(),
      bare: new DeliveryLog(),
    };
    const subject = batched(8, 'subject', logs.c8);
    const c1 = batched(1, 'detail', logs.c1);
    const single = oneByOne(logs.single);
    const bare = bareLanes(8, logs.bare);
    // Untimed: the first replay pays for the JIT and lmdb's first open.
    await subject.sample();
    await ctx.sampleRounds(
      {
        id: 'drain',
        title: `Time to drain ${N.toLocaleString('en-US')} kept tasks over ${KEYS} keys, ${CALL_MS} ms per remote call whatever its size`,
        unit: 's',
        quantity: 'time',
        note: `One sample: a store holding the tasks (filled untimed, breaker held open) is opened by a new worker, timed from its construction until onIdle(). One by one is measured on ${SINGLE_N.toLocaleString('en-US')} tasks and scaled ×${N / SINGLE_N}.`,
      },
      [subject, bare, c1, single],
      { warmup: 0, rounds: ROUNDS },
    );
    const fast = ctx.median('drain', subject.name);
    const slow = ctx.median('drain', single.name);
    ctx.target(
      '8',
      `8. replay, batches of ${BATCH} at concurrency 8: ≥ 50× faster than one by one`,
      slow / fast,
      '>=',
      50,
    );
    const c1Time = ctx.median('drain', c1.name);
    ctx.note(
      `Batches of ${BATCH} at concurrency 8: ${(slow / fast).toFixed(0)}× faster than one by one, ${(c1Time / fast).toFixed(1)}× faster than batches of ${BATCH} at concurrency 1; batches at concurrency 1: ${(slow / c1Time).toFixed(0)}× faster than one by one.`,
    );
    const size = (log: DeliveryLog) => (log.calls === 0 ? 0 : log.deliveries / log.calls);
    ctx.note(
      `Mean tasks per call: ${size(logs.c8).toFixed(1)} at concurrency 8, ${size(logs.c1).toFixed(1)} at concurrency 1 (at most ${BATCH}; ${N / KEYS} tasks per key).`,
    );
    for (const [name, log] of [
      [subject.name, logs.c8],
      [c1.name, logs.c1],
      [single.name, logs.single],
    ] as const) {
      ctx.check(
        `${name}: every task delivered exactly once, in its key's order, one call per key at a time`,
        log.incomplete + log.repeated + log.outOfOrder + log.overlapping === 0 &&
          log.badStats === '' &&
          log.deliveries > 0,
        `${log.deliveries.toLocaleString('en-US')} deliveries in ${log.calls.toLocaleString('en-US')} calls; ${log.incomplete} incomplete samples, ${log.repeated} repeated, ${log.outOfOrder} out of order, ${log.overlapping} overlapping${log.badStats === '' ? '' : `; ${log.badStats}`}`,
      );
    }
    ctx.check(
      `${bare.name}: every task sent once`,
      logs.bare.incomplete + logs.bare.repeated === 0 && logs.bare.deliveries > 0,
      `${logs.bare.deliveries.toLocaleString('en-US')} deliveries`,
    );
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
});
