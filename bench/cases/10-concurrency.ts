/**
 * 7. Concurrency across keys: tasks per second against a simulated remote
 * whose calls take a mean latency (5 ms, then 50 ms) with ±50% uniform
 * jitter, over 100 ordering keys, at concurrency 1, 4, 16 and 64. The limit
 * is `min(concurrency, keys) / mean latency`.
 *
 * Peers in the same run: p-queue at the same concurrency (no per-key order),
 * and `concurrency` bare lanes calling the remote back to back (no queue, no
 * order: what the remote and the timers allow). Every subject meets the same
 * remote: each task's latency is fixed per table (spread evenly over mean
 * ±50%, in a seeded random order), and the tasks' keys are a seeded shuffle
 * of an even spread. Samples are long, so they are taken with
 * `ctx.sampleRounds` (exact counts) rather than mitata.
 *
 * Per-key order: a task counts as a violation when it starts while another
 * task of its key is in flight, or while an earlier task of its key has not
 * started. The worker's count must be 0 (a check); p-queue's is reported.
 * Target: at least 90% of the limit at concurrency 16 with a 5 ms mean.
 */
import PQueue from 'p-queue';
import { type SyncTask, SyncWorker } from '../../src/index.js';
import { mulberry32 } from '../../test/support/random.js';
import { type CaseContext, quick, runCase, type Subject } from '../lib/harness.js';

const KEYS = 100;
const KEY_NAMES = Array.from({ length: KEYS }, (_, k) => `key-${k}`);
const CONCURRENCIES = [1, 4, 16, 64];
/** How long one sample should take at the limit, per mean latency (ms). */
const SAMPLE_MS: Record<number, number> = quick ? { 5: 150, 50: 200 } : { 5: 500, 50: 500 };
const OPTIONS = { warmup: 0, rounds: quick ? 1 : 3 };

/** One table's tasks: each one's key, its place in its key, and the latency of its call. */
interface Workload {
  n: number;
  meanMs: number;
  key: Uint8Array;
  /** The task's position among its key's tasks (0 first). */
  posInKey: Int32Array;
  /** Where each key's positions start in a flat array of `n`. */
  keyOffset: Int32Array;
  delayMs: Float64Array;
}

function workload(n: number, meanMs: number, seed: number): Workload {
  const random = mulberry32(seed); // seeded, so every run meets the same remote
  // An even spread (counts differ by at most one), shuffled: a key's tasks may follow one another.
  const key = new Uint8Array(n);
  for (let i = 0; i < n; i++) key[i] = i % KEYS;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = key[i] as number;
    key[i] = key[j] as number;
    key[j] = t;
  }
  const count = new Int32Array(KEYS);
  const posInKey = new Int32Array(n);
  for (let i = 0; i < n; i++) posInKey[i] = (count[key[i] as number] as number)++;
  const keyOffset = new Int32Array(KEYS);
  for (let k = 1; k < KEYS; k++) {
    keyOffset[k] = (keyOffset[k - 1] as number) + (count[k - 1] as number);
  }
  // Latencies evenly spread over mean ±50% (one per stratum of n), in a seeded random order:
  // uniform jitter whose mean is the nominal one even for a few tasks.
  const delayMs = new Float64Array(n);
  for (let i = 0; i < n; i++) delayMs[i] = meanMs * (0.5 + (i + 0.5) / n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = delayMs[i] as number;
    delayMs[i] = delayMs[j] as number;
    delayMs[j] = t;
  }
  return { n, meanMs, key, posInKey, keyOffset, delayMs };
}

/** What one sample saw at the remote: order violations, runs, the calls' real latency. */
class RemoteLog {
  private readonly inFlight = new Int32Array(KEYS);
  /** Per key, the position of its oldest task not started yet. */
  private readonly nextPos = new Int32Array(KEYS);
  private readonly started: Uint8Array;
  private running = 0;
  violations = 0;
  duplicates = 0;
  starts = 0;
  ends = 0;
  maxRunning = 0;
  latencySumMs = 0;

  constructor(private readonly w: Workload) {
    this.started = new Uint8Array(w.n);
  }

  start(i: number): void {
    const w = this.w;
    const k = w.key[i] as number;
    const offset = w.keyOffset[k] as number;
    const pos = w.posInKey[i] as number;
    this.starts++;
    if (this.started[offset + pos] === 1) {
      this.duplicates++;
      return;
    }
    this.started[offset + pos] = 1;
    // In flight beside another of its key, or ahead of an earlier one of its key.
    if ((this.inFlight[k] as number) > 0 || pos !== this.nextPos[k]) this.violations++;
    this.inFlight[k] = (this.inFlight[k] as number) + 1;
    const keyCount = k + 1 < KEYS ? (w.keyOffset[k + 1] as number) - offset : w.n - offset;
    let next = this.nextPos[k] as number;
    while (next < keyCount && this.started[offset + next] === 1) next++;
    this.nextPos[k] = next;
    if (++this.running > this.maxRunning) this.maxRunning = this.running;
  }

  end(i: number, latencyMs: number): void {
    const k = this.w.key[i] as number;
    this.inFlight[k] = (this.inFlight[k] as number) - 1;
    this.running--;
    this.ends++;
    this.latencySumMs += latencyMs;
  }
}

/** The simulated remote: call `i` takes its fixed latency, on a setTimeout. */
function call(w: Workload, log: RemoteLog, i: number): Promise<void> {
  log.start(i);
  const t0 = performance.now();
  return new Promise<void>((resolve) => {
    setTimeout(() => {
      log.end(i, performance.now() - t0);
      resolve();
    }, w.delayMs[i]);
  });
}

/** What a subject saw over all its samples. */
interface Tally {
  samples: number;
  tasks: number;
  starts: number;
  ends: number;
  duplicates: number;
  violations: number;
  maxRunning: number;
  latencySumMs: number;
  /** SyncWorker only: the stats that must stay zero, and the fates told. */
  succeeded: number;
  badStats: string;
}

const tallies = new Map<string, Tally>();

function tally(name: string, w: Workload, log: RemoteLog): Tally {
  const t = tallies.get(name) ?? {
    samples: 0,
    tasks: 0,
    starts: 0,
    ends: 0,
    duplicates: 0,
    violations: 0,
    maxRunning: 0,
    latencySumMs: 0,
    succeeded: 0,
    badStats: '',
  };
  t.samples++;
  t.tasks += w.n;
  t.starts += log.starts;
  t.ends += log.ends;
  t.duplicates += log.duplicates;
  t.violations += log.violations;
  t.maxRunning = Math.max(t.maxRunning, log.maxRunning);
  t.latencySumMs += log.latencySumMs;
  tallies.set(name, t);
  return t;
}

/** A closure task of key `k` calling the remote for task `i`; built before timing. */
function closureTask(w: Workload, log: RemoteLog, i: number, done: () => void): SyncTask {
  return {
    key: KEY_NAMES[w.key[i] as number] as string,
    run: () => call(w, log, i),
    onSuccess: done,
  };
}

function syncWorker(w: Workload, c: number, table: string): Subject {
  return {
    name: 'SyncWorker',
    role: 'subject',
    note: `new SyncWorker({ concurrency: ${c}, maxQueue: ${w.n} }), defaults otherwise (breaker, latency tracker, enforced timeout); each task { key, run, onSuccess }; all enqueued, then await worker.onIdle()`,
    async sample() {
      const log = new RemoteLog(w);
      let succeeded = 0;
      const done = () => {
        succeeded++;
      };
      const tasks = Array.from({ length: w.n }, (_, i) => closureTask(w, log, i, done));
      const worker = new SyncWorker({ concurrency: c, maxQueue: w.n });
      const t0 = performance.now();
      for (const task of tasks) worker.enqueue(task);
      await worker.onIdle();
      const t1 = performance.now();
      const s = worker.stats();
      await worker.shutdown();
      const t = tally(`${table}: SyncWorker`, w, log);
      t.succeeded += succeeded;
      if (s.dropped + s.failed + s.timedOut + s.refused > 0 || s.completed !== w.n) {
        t.badStats = `completed ${s.completed} of ${w.n}, dropped ${s.dropped}, failed ${s.failed}, timed out ${s.timedOut}, refused ${s.refused}`;
      }
      return w.n / ((t1 - t0) / 1000);
    },
  };
}

function pQueue(w: Workload, c: number, table: string): Subject {
  return {
    name: 'p-queue',
    role: 'peer',
    note: `new PQueue({ concurrency: ${c} }); add(job) per task (promises dropped), then await queue.onIdle(); no per-key order`,
    async sample() {
      const log = new RemoteLog(w);
      const jobs = Array.from({ length: w.n }, (_, i) => () => call(w, log, i));
      const queue = new PQueue({ concurrency: c });
      const t0 = performance.now();
      for (const job of jobs) void queue.add(job);
      await queue.onIdle();
      const t1 = performance.now();
      tally(`${table}: p-queue`, w, log);
      return w.n / ((t1 - t0) / 1000);
    },
  };
}

function bareLanes(w: Workload, c: number, table: string): Subject {
  return {
    name: `${c} bare lane${c === 1 ? '' : 's'}`,
    role: 'baseline',
    note: `${c} async loop${c === 1 ? '' : 's'} taking the next task and awaiting its call, no queue and no per-key order: what the remote and Node's timers allow`,
    async sample() {
      const log = new RemoteLog(w);
      let next = 0;
      const lane = async () => {
        while (next < w.n) await call(w, log, next++);
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: Math.min(c, w.n) }, lane));
      const t1 = performance.now();
      tally(`${table}: bare lanes`, w, log);
      return w.n / ((t1 - t0) / 1000);
    },
  };
}

/**
 * Tasks per second of the worker's policy with no overhead and exact timers:
 * round robin over the keys that have a task waiting and none in flight,
 * simulated on the table's latencies. What per-key order itself costs: near
 * the end, the keys still holding tasks run them one after another.
 */
function roundRobinIdeal(w: Workload, c: number): number {
  const queues: number[][] = Array.from({ length: KEYS }, () => []);
  for (let i = 0; i < w.n; i++) queues[w.key[i] as number]?.push(i);
  const heads = new Int32Array(KEYS);
  // Keys in order of their first task, as they arrive.
  const rotation = [...new Set(w.key)];
  const running: { end: number; key: number }[] = [];
  let now = 0;
  while (rotation.length > 0 || running.length > 0) {
    while (running.length < c && rotation.length > 0) {
      const k = rotation.shift() as number;
      const i = (queues[k] as number[])[heads[k] as number] as number;
      heads[k] = (heads[k] as number) + 1;
      running.push({ end: now + (w.delayMs[i] as number), key: k });
    }
    let first = 0;
    for (let j = 1; j < running.length; j++) {
      if ((running[j] as { end: number }).end < (running[first] as { end: number }).end) first = j;
    }
    const done = running.splice(first, 1)[0] as { end: number; key: number };
    now = done.end;
    if ((heads[done.key] as number) < (queues[done.key] as number[]).length)
      rotation.push(done.key);
  }
  return w.n / (now / 1000);
}

const limitOf = (c: number, meanMs: number) => Math.min(c, KEYS) / (meanMs / 1000);

/** Tasks per table: the limit times the sample's length, and at least four per run slot. */
function tasksFor(c: number, meanMs: number): number {
  const n = Math.round((limitOf(c, meanMs) * (SAMPLE_MS[meanMs] as number)) / 1000);
  return Math.max(n, 4 * Math.min(c, KEYS));
}

interface Measured {
  table: string;
  meanMs: number;
  c: number;
  n: number;
  limit: number;
  worker: number;
  pQueue: number;
  bare: number;
  /** {@link roundRobinIdeal} on the table's latencies. */
  ordered: number;
}

async function table(ctx: CaseContext, meanMs: number, c: number): Promise<Measured> {
  const n = tasksFor(c, meanMs);
  const w = workload(n, meanMs, 12 + c * 1000 + meanMs);
  const limit = limitOf(c, meanMs);
  const id = `c${c}-${meanMs}ms`;
  const table = `${meanMs} ms, concurrency ${c}`;
  const subject = syncWorker(w, c, table);
  const bare = bareLanes(w, c, table);
  await ctx.sampleRounds(
    {
      id,
      title: `${meanMs} ms ±50% per call, concurrency ${c}, ${KEYS} keys: ${n.toLocaleString('en-US')} tasks (limit ${limit.toLocaleString('en-US')} tasks/s)`,
      unit: 'tasks/s',
      quantity: 'throughput',
      note: `One sample: ${n.toLocaleString('en-US')} tasks enqueued at once over ${KEYS} keys (a seeded shuffle of an even spread), timed until idle. Each task's latency is fixed for the table (spread evenly over ${meanMs / 2}–${(meanMs * 3) / 2} ms, in a seeded random order), so every subject and sample meets the same remote.`,
    },
    [subject, pQueue(w, c, table), bare],
    OPTIONS,
  );
  return {
    table,
    meanMs,
    c,
    n,
    limit,
    worker: ctx.median(id, subject.name),
    pQueue: ctx.median(id, 'p-queue'),
    bare: ctx.median(id, bare.name),
    ordered: roundRobinIdeal(w, c),
  };
}

/** An untimed pass of every subject, so the first table does not pay for the JIT. */
async function warmUp(): Promise<void> {
  const w = workload(quick ? 200 : 800, 5, 1);
  for (const subject of [syncWorker(w, 16, 'warm-up'), pQueue(w, 16, 'warm-up')]) {
    await subject.sample();
  }
  tallies.clear();
}

const pct = (value: number) => `${value.toFixed(value >= 99.5 ? 0 : 1)}%`;

await runCase({ id: 'concurrency', title: '7. Concurrency across keys' }, async (ctx) => {
  await warmUp();
  const results: Measured[] = [];
  for (const meanMs of [5, 50]) {
    for (const c of CONCURRENCIES) results.push(await table(ctx, meanMs, c));
  }

  const target = results.find((r) => r.meanMs === 5 && r.c === 16) as Measured;
  ctx.target(
    '7',
    '7. concurrency 16, 5 ms ±50%, 100 keys: ≥ 90% of min(concurrency, keys) / mean',
    (100 * target.worker) / target.limit,
    '>=',
    90,
    '%',
  );

  for (const meanMs of [5, 50]) {
    const rows = results.filter((r) => r.meanMs === meanMs);
    ctx.note(
      `${meanMs} ms: % of the limit min(c, ${KEYS}) / ${meanMs} ms (medians), SyncWorker / p-queue / bare lanes: ${rows
        .map(
          (r) =>
            `c=${r.c} ${pct((100 * r.worker) / r.limit)} / ${pct((100 * r.pQueue) / r.limit)} / ${pct((100 * r.bare) / r.limit)}`,
        )
        .join('; ')}`,
    );
  }
  ctx.note(
    `What per-key order itself costs: round robin over the keys with a task waiting and none in flight (the worker's policy), simulated with no overhead and exact timers on the same latencies, reaches ${results
      .map((r) => `${r.meanMs} ms c=${r.c} ${pct((100 * r.ordered) / r.limit)}`)
      .join(
        ', ',
      )} of the limit: near the end, the keys still holding tasks run them one after another.`,
  );
  const orderOf = (name: string) =>
    results
      .map((r) => {
        const t = tallies.get(`${r.table}: ${name}`) as Tally;
        return `${r.meanMs} ms c=${r.c} ${t.violations.toLocaleString('en-US')} of ${t.tasks.toLocaleString('en-US')} (${pct((100 * t.violations) / t.tasks)})`;
      })
      .join('; ');
  ctx.note(
    `Per-key order violations (a task started while another of its key was in flight, or before an earlier one of its key), over all samples. p-queue: ${orderOf('p-queue')}. SyncWorker: ${orderOf('SyncWorker')}.`,
  );
  const latency = (meanMs: number) => {
    const ts = [...tallies.entries()].filter(([name]) => name.startsWith(`${meanMs} ms,`));
    const sum = ts.reduce((s, [, t]) => s + t.latencySumMs, 0);
    const ends = ts.reduce((s, [, t]) => s + t.ends, 0);
    return (sum / ends).toFixed(2);
  };
  ctx.note(
    `The remote's calls as measured (start to timer callback), mean over all subjects: ${latency(5)} ms for the 5 ms tables, ${latency(50)} ms for the 50 ms ones. Node fires a timer on its loop's millisecond clock, so a call can end a little before its nominal latency; the bare lanes show what that allows.`,
  );

  for (const name of ['SyncWorker', 'p-queue', 'bare lanes']) {
    const rows = results.map((r) => ({ r, t: tallies.get(`${r.table}: ${name}`) as Tally }));
    const wrong = rows.filter(({ t }) => {
      const once = t.starts === t.tasks && t.ends === t.tasks && t.duplicates === 0;
      return !once || (name === 'SyncWorker' && (t.succeeded !== t.tasks || t.badStats !== ''));
    });
    const tasks = rows.reduce((sum, { t }) => sum + t.tasks, 0);
    const detail = wrong
      .map(
        ({ r, t }) =>
          `${r.table}: ${t.ends} calls ended of ${t.tasks}, ${t.duplicates} repeated, ${t.succeeded} onSuccess${t.badStats === '' ? '' : `, ${t.badStats}`}`,
      )
      .join('; ');
    ctx.check(
      `${name}: every task ran exactly once${name === 'SyncWorker' ? ' and succeeded; none dropped, failed or timed out' : ''}`,
      wrong.length === 0,
      detail === '' ? `${tasks.toLocaleString('en-US')} tasks in ${results.length} tables` : detail,
    );
  }
  const mine = results.map((r) => ({ r, t: tallies.get(`${r.table}: SyncWorker`) as Tally }));
  const violations = mine.reduce((s, { t }) => s + t.violations, 0);
  const overfull = mine.filter(({ r, t }) => t.maxRunning > r.c);
  ctx.check(
    'SyncWorker: per-key order kept (0 violations) and never more than concurrency in flight',
    violations === 0 && overfull.length === 0,
    `${violations} violations; most in flight: ${mine.map(({ r, t }) => `${r.meanMs} ms c=${r.c} ${t.maxRunning}`).join(', ')}`,
  );
});
