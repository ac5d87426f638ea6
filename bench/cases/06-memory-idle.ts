/**
 * 4a. Heap per idle worker system: `new SyncWorker()` with its own breaker,
 * tracker and their actors. N are created and kept; the heap in use after a
 * full GC, before and after, divided by N. Target: ≤ 16 KiB.
 */
import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import fastq from 'fastq';
import OpossumBreaker from 'opossum';
import PQueue from 'p-queue';
import { CircuitBreaker, LatencyTracker, SyncWorker } from '../../src/index.js';
import { heapAfterGc, quick, runCase, type Subject, stats } from '../lib/harness.js';
import type { Row } from '../lib/types.js';

const N = 1000;
const SAMPLES = quick ? 3 : 9;

interface Kind<T> extends Omit<Subject, 'sample'> {
  create: () => T;
  destroy: (instance: T) => void | Promise<void>;
}

function kind<T>(k: Kind<T>): Kind<unknown> {
  return k as Kind<unknown>;
}

/** KiB per instance: the heap after GC with N live instances, less the heap before, over N. */
async function perInstance(k: Kind<unknown>): Promise<number> {
  const live: unknown[] = new Array(N).fill(null);
  const before = heapAfterGc();
  for (let i = 0; i < N; i++) live[i] = k.create();
  const after = heapAfterGc();
  for (let i = 0; i < N; i++) await k.destroy(live[i]);
  live.fill(null);
  return (after - before) / N / 1024;
}

const noop = async () => {};

const kinds: Kind<unknown>[] = [
  kind({
    name: 'SyncWorker (idle)',
    role: 'subject',
    note: 'new SyncWorker(): the root actor, the lifecycle, breaker and tracker actors, the facades, the queue',
    create: () => new SyncWorker(),
    destroy: (w) => w.shutdown(),
  }),
  kind({
    name: 'p-queue',
    role: 'peer',
    note: 'new PQueue({ concurrency: 1 })',
    create: () => new PQueue({ concurrency: 1 }),
    destroy: () => {},
  }),
  kind({
    name: 'opossum',
    role: 'peer',
    note: 'new CircuitBreaker(fn) with defaults (its rolling stats window included)',
    create: () => new OpossumBreaker(noop),
    destroy: (b) => b.shutdown(),
  }),
  kind({
    name: 'cockatiel',
    role: 'peer',
    note: 'circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(3) })',
    create: () =>
      circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(3) }),
    destroy: () => {},
  }),
  kind({
    name: 'fastq',
    role: 'peer',
    note: 'fastq(worker, 1)',
    create: () => fastq((_task: unknown, done: fastq.done) => done(null), 1),
    destroy: () => {},
  }),
  kind({
    name: 'CircuitBreaker (standalone)',
    role: 'detail',
    note: 'new CircuitBreaker(): one part of the worker system, with its own actor',
    create: () => new CircuitBreaker(),
    destroy: (b) => b.dispose(),
  }),
  kind({
    name: 'LatencyTracker (standalone)',
    role: 'detail',
    note: 'new LatencyTracker(): one part of the worker system, with its own actor',
    create: () => new LatencyTracker(),
    destroy: (t) => t.dispose(),
  }),
];

await runCase({ id: 'memory-idle', title: '4a. Memory: heap per idle instance' }, async (ctx) => {
  const values: number[][] = kinds.map(() => []);
  // Warm-up: the first instances pay for code, hidden classes and caches that later ones share.
  for (const k of kinds) await perInstance(k);
  for (let s = 0; s < SAMPLES; s++) {
    for (const [i, k] of kinds.entries()) values[i]?.push(await perInstance(k));
  }
  const rows: Row[] = kinds.map((k, i) => ({
    name: k.name,
    role: k.role,
    stats: stats(values[i] ?? []),
    ...(k.note === undefined ? {} : { note: k.note }),
  }));
  ctx.addGroup(
    {
      id: 'idle',
      title: `Heap per idle instance (${N} live at once)`,
      unit: 'KiB',
      quantity: 'memory',
      note: `One sample: a full GC, heapUsed, create ${N} and keep them, a full GC, heapUsed; the difference over ${N}. ${SAMPLES} samples after one warm-up sample, kinds taking turns.`,
    },
    rows,
  );
  const mine = ctx.median('idle', 'SyncWorker (idle)');
  ctx.check(
    'memory: every sample measured a positive size',
    values.every((v) => v.every((x) => x > 0)),
  );
  ctx.target('4-idle', '4. heap per idle worker system ≤ 16 KiB', mine, '<=', 16, ' KiB');
});
