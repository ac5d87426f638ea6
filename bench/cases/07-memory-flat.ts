/**
 * 4b. The heap stays flat (±10%) across 10M enqueues with overflow: a busy
 * worker with a full queue, each enqueue a fresh task that drops the oldest.
 */
import { QueueOverflowError, SyncWorker } from '../../src/index.js';
import { heapAfterGc, quick, runCase, stats } from '../lib/harness.js';

const TOTAL = quick ? 1_000_000 : 10_000_000;
const CHECKPOINTS = 10;
const WARM = 200_000;
const MAX_QUEUE = 64;

/**
 * A fresh closure per task. Made by a function that returns it, because tsx
 * (esbuild keepNames) wraps an arrow written as `{ run: () => n }` in a
 * `__name()` call, an Object.defineProperty per task costing about 0.5 µs,
 * which compiled JavaScript does not pay.
 */
function returning(n: number): () => number {
  return () => n;
}

await runCase(
  { id: 'memory-flat', title: '4b. Memory: heap across enqueues with overflow' },
  async (ctx) => {
    let failures = 0;
    let wrong = 0;
    const onFailure = (error: Error) => {
      if (error instanceof QueueOverflowError) failures++;
      else wrong++;
    };
    const worker = new SyncWorker();
    worker.enqueue({ run: () => new Promise<void>(() => {}) });
    await Promise.resolve();
    const enqueueFresh = (count: number) => {
      for (let k = 0; k < count; k++) {
        // A fresh task (and closure) per call, as a user would make, so a retained task would show.
        worker.enqueue({ run: returning(k), onFailure });
      }
    };
    // Warm-up: fill the queue and run the path until it is optimised.
    enqueueFresh(MAX_QUEUE + WARM);
    const heapKiB: number[] = [heapAfterGc() / 1024];
    const nsPerEnqueue: number[] = [];
    const step = TOTAL / CHECKPOINTS;
    for (let c = 0; c < CHECKPOINTS; c++) {
      const t0 = performance.now();
      enqueueFresh(step);
      nsPerEnqueue.push(((performance.now() - t0) * 1e6) / step);
      heapKiB.push(heapAfterGc() / 1024);
    }
    const base = heapKiB[0] as number;
    const deviations = heapKiB.map((h) => ((h - base) / base) * 100);
    const maxDeviation = Math.max(...deviations.map(Math.abs));
    ctx.series['heap after GC, KiB (before, then every 1/10 of the enqueues)'] = heapKiB;
    ctx.series['deviation from the first point, %'] = deviations;
    ctx.addGroup(
      {
        id: 'flat-heap',
        title: `Heap used after GC at ${CHECKPOINTS + 1} checkpoints across ${TOTAL.toLocaleString('en-US')} enqueues`,
        unit: 'KiB',
        quantity: 'memory',
        note: `new SyncWorker() (maxQueue ${MAX_QUEUE}) busy with a task that never settles and a full queue; each enqueue is a fresh task object with its own closure, drops the oldest and calls its onFailure. Whole-process heap, so tsx, xstate and the harness are in it.`,
      },
      [{ name: 'SyncWorker, heap used', role: 'subject', stats: stats(heapKiB) }],
    );
    ctx.addGroup(
      {
        id: 'flat-time',
        title: 'Time per overflowing enqueue with a fresh task, per tenth of the run',
        unit: 'ns/op',
        quantity: 'time',
      },
      [
        {
          name: 'SyncWorker.enqueue (fresh task, overflow)',
          role: 'subject',
          stats: stats(nsPerEnqueue),
        },
      ],
    );
    // Every enqueue after the first MAX_QUEUE (which filled the queue) dropped one task.
    const expectedDrops = WARM + TOTAL;
    ctx.check(
      'every enqueue on the full queue dropped one task, whose onFailure got a QueueOverflowError',
      failures === expectedDrops &&
        wrong === 0 &&
        worker.size === MAX_QUEUE &&
        worker.dropped === failures,
      `${failures} drops for ${expectedDrops} enqueues on a full queue (${worker.dropped} counted by the worker), ${wrong} other errors`,
    );
    ctx.target(
      '4-flat',
      `4. heap flat across ${TOTAL.toLocaleString('en-US')} overflowing enqueues: max deviation ≤ 10%`,
      maxDeviation,
      '<=',
      10,
      '%',
    );
    ctx.note(
      `heap grew by ${((((heapKiB.at(-1) as number) - base) * 1024) / TOTAL).toFixed(4)} bytes per enqueue from first to last checkpoint`,
    );
  },
);
