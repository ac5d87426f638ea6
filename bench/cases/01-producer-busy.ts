/**
 * 1a. Producer path, busy: `enqueue` while the worker runs a task that has not
 * finished, with room in the queue. Target: at most 3× a plain `array.push`.
 */
import { SyncWorker } from '../../src/index.js';
import { quick, runCase } from '../lib/harness.js';
import { arrayPush, fastqPush, type ProducerSubject, pQueueAdd } from '../lib/producers.js';

/** Submissions timed per sample; also the worker's maxQueue, so every one finds room. */
const N = 4096;

function workerEnqueue(): ProducerSubject {
  let ran = 0;
  let enqueued = 0;
  let release: (() => void) | undefined;
  const worker = new SyncWorker({ maxQueue: N });
  const hang = {
    run: () =>
      new Promise<void>((resolve) => {
        release = resolve;
      }),
  };
  const task = {
    run: () => {
      ran++;
    },
  };
  return {
    name: 'SyncWorker.enqueue',
    role: 'subject',
    note: `new SyncWorker({ maxQueue: ${N} }) with its own breaker and tracker; a running task that has not settled; ${N} enqueues of the same task per sample, then the task is released and the queue drains (not timed)`,
    async sample() {
      worker.enqueue(hang);
      await Promise.resolve(); // the worker starts it in a microtask
      if (worker.stats().running !== 1 || worker.size !== 0) throw new Error('worker is not busy');
      const t0 = performance.now();
      for (let k = 0; k < N; k++) worker.enqueue(task);
      const t1 = performance.now();
      enqueued += N;
      release?.();
      await worker.onIdle();
      return ((t1 - t0) * 1e6) / N;
    },
    verify(ctx) {
      const s = worker.stats();
      ctx.check(
        'SyncWorker: every enqueued task ran, none dropped or failed',
        ran === enqueued && s.dropped === 0 && s.failed === 0 && s.refused === 0,
        `${ran} of ${enqueued} ran; dropped ${s.dropped}, failed ${s.failed}, refused ${s.refused}`,
      );
    },
  };
}

await runCase(
  { id: 'producer-busy', title: '1a. Producer path, busy (room in the queue)' },
  async (ctx) => {
    const subjects = [workerEnqueue(), arrayPush(N), fastqPush(N), pQueueAdd(N)];
    await ctx.compare(
      {
        id: 'busy',
        title: 'One submission while the consumer is busy',
        unit: 'ns/op',
        quantity: 'time',
        note: `Each sample times ${N} submissions of one pre-built task in a loop (performance.now around the loop) and divides. Every queue is kept busy by a first task that has not finished; between samples it is released and the queue drained, untimed.`,
      },
      subjects,
      quick
        ? { warmup: 20, rounds: 2, samplesPerRound: 12, minRoundMs: 30 }
        : { warmup: 200, rounds: 5, samplesPerRound: 30, minRoundMs: 400 },
    );
    for (const subject of subjects) subject.verify(ctx);
    const worker = ctx.median('busy', 'SyncWorker.enqueue');
    ctx.target(
      '1a',
      '1a. enqueue (busy, room) ≤ 3× array.push',
      worker / ctx.median('busy', 'array.push'),
      '<=',
      3,
    );
  },
);
