/**
 * 1b. Producer path, overflowing: the queue is full, so every `enqueue` drops
 * the oldest waiting task and calls its `onFailure` with a QueueOverflowError.
 * Target: at least 15× faster than `p-queue.add` measured in the same run.
 */
import { QueueOverflowError, SyncWorker, SyncWorkerError } from '../../src/index.js';
import { quick, runCase } from '../lib/harness.js';
import { arrayPush, fastqPush, type ProducerSubject, pQueueAdd } from '../lib/producers.js';

/** Submissions timed per sample. */
const N = 4096;
/** The worker's default maxQueue. */
const MAX_QUEUE = 64;

function workerOverflow(): ProducerSubject {
  let failures = 0;
  let enqueued = 0;
  const worker = new SyncWorker();
  const hang = { run: () => new Promise<void>(() => {}) };
  const task = {
    run: () => {},
    onFailure: () => {
      failures++;
    },
  };
  let ready = false;
  return {
    name: 'SyncWorker.enqueue',
    role: 'subject',
    note: `new SyncWorker() (maxQueue ${MAX_QUEUE}, its own breaker and tracker); a running task that never settles and a full queue, so each enqueue drops the oldest waiting task and calls its onFailure (a counter) with its own QueueOverflowError`,
    async sample() {
      if (!ready) {
        worker.enqueue(hang);
        await Promise.resolve();
        for (let k = 0; k < MAX_QUEUE; k++) worker.enqueue(task);
        if (worker.stats().running !== 1 || worker.size !== MAX_QUEUE) {
          throw new Error('worker is not busy with a full queue');
        }
        ready = true;
      }
      const t0 = performance.now();
      for (let k = 0; k < N; k++) worker.enqueue(task);
      const t1 = performance.now();
      enqueued += N;
      return ((t1 - t0) * 1e6) / N;
    },
    verify(ctx) {
      ctx.check(
        'SyncWorker: every enqueue on a full queue dropped exactly one task and called its onFailure',
        failures === enqueued && worker.dropped === enqueued && worker.size === MAX_QUEUE,
        `${failures} onFailure calls, ${worker.dropped} dropped, for ${enqueued} enqueues`,
      );
    },
  };
}

/** Each dropped task gets its own error: a QueueOverflowError, not one shared instance. */
function checkDropErrors(ctx: Parameters<Parameters<typeof runCase>[1]>[0]): void {
  const worker = new SyncWorker({ maxQueue: 1 });
  const errors: Error[] = [];
  const onFailure = (error: Error) => errors.push(error);
  worker.enqueue({ run: () => new Promise<void>(() => {}) });
  for (let k = 0; k < 4; k++) worker.enqueue({ run: () => {}, onFailure });
  ctx.check(
    'each dropped task gets its own QueueOverflowError (a SyncWorkerError and an Error), not a shared instance',
    errors.length === 3 &&
      new Set(errors).size === 3 &&
      errors.every(
        (e) =>
          e instanceof QueueOverflowError &&
          e instanceof SyncWorkerError &&
          e instanceof Error &&
          e.name === 'QueueOverflowError' &&
          e.message.length > 0 &&
          typeof e.stack === 'string',
      ),
    `${errors.length} errors, ${new Set(errors).size} distinct`,
  );
}

await runCase(
  {
    id: 'producer-overflow',
    title: '1b. Producer path, overflowing (queue full: drop the oldest)',
  },
  async (ctx) => {
    checkDropErrors(ctx);
    const subjects = [workerOverflow(), pQueueAdd(N), fastqPush(N), arrayPush(N)];
    await ctx.compare(
      {
        id: 'overflow',
        title: 'One submission to a full queue',
        unit: 'ns/op',
        quantity: 'time',
        note: `Each sample times ${N} submissions in a loop. The worker's queue stays full, so each call also drops a task and calls its onFailure; the peers have no bounded drop-oldest mode, so they measure a plain submission to a busy queue (unbounded; released and drained between samples, untimed).`,
      },
      subjects,
      quick
        ? { warmup: 20, rounds: 2, samplesPerRound: 12, minRoundMs: 30 }
        : { warmup: 200, rounds: 5, samplesPerRound: 30, minRoundMs: 300 },
    );
    for (const subject of subjects) subject.verify(ctx);
    ctx.target(
      '1b',
      '1b. enqueue (overflowing) ≥ 15× faster than p-queue.add',
      ctx.median('overflow', 'p-queue.add') / ctx.median('overflow', 'SyncWorker.enqueue'),
      '>=',
      15,
    );
  },
);
