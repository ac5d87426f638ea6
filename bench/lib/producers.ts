/**
 * The producer-path peers shared by cases 1a and 1b. Each is kept busy (its
 * one slot held by a job that does not finish), then a sample times `n`
 * submissions of the same pre-built job. After the timed part, the busy job
 * is released and the queue drained (not timed), and every submitted job
 * must have run.
 */
import fastq from 'fastq';
import PQueue from 'p-queue';
import type { CaseContext, Subject } from './harness.js';

export interface ProducerSubject extends Subject {
  /** Checks that every submitted job ran; call after measuring. */
  verify(ctx: CaseContext): void;
}

/** `array.push` of the same object; the array is emptied after each sample. */
export function arrayPush(n: number): ProducerSubject {
  const task = { run: () => {} };
  const array: unknown[] = [];
  let pushed = 0;
  let seen = 0;
  return {
    name: 'array.push',
    role: 'baseline',
    note: `push onto a plain array, emptied (length = 0) after every ${n} pushes`,
    sample() {
      const t0 = performance.now();
      for (let k = 0; k < n; k++) array.push(task);
      const t1 = performance.now();
      pushed += n;
      seen += array.length;
      array.length = 0;
      return ((t1 - t0) * 1e6) / n;
    },
    verify(ctx) {
      ctx.check('array.push: every push landed', seen === pushed, `${seen} of ${pushed}`);
    },
  };
}

/** fastq, callback API, concurrency 1: `queue.push(job)`. */
export function fastqPush(n: number): ProducerSubject {
  let ran = 0;
  let pushed = 0;
  let release: (() => void) | undefined;
  const hang = () => {};
  const job = () => {
    ran++;
  };
  // Jobs finish on the next tick, so draining does not recurse through fastq's callbacks.
  const queue = fastq((item: () => void, done: fastq.done) => {
    if (item === hang) {
      release = () => done(null);
      return;
    }
    item();
    process.nextTick(done, null);
  }, 1);
  return {
    name: 'fastq.push',
    role: 'peer',
    note: 'fastq(worker, 1), callback API; busy with a job that has not called back',
    async sample() {
      queue.push(hang);
      if (queue.running() !== 1 || queue.length() !== 0) throw new Error('fastq is not busy');
      const t0 = performance.now();
      for (let k = 0; k < n; k++) queue.push(job);
      const t1 = performance.now();
      pushed += n;
      const drained = new Promise<void>((resolve) => {
        queue.drain = resolve;
      });
      release?.();
      await drained;
      queue.drain = () => {};
      return ((t1 - t0) * 1e6) / n;
    },
    verify(ctx) {
      ctx.check('fastq: every pushed job ran', ran === pushed, `${ran} of ${pushed}`);
    },
  };
}

/** p-queue, concurrency 1: `queue.add(job)` (its promise is not awaited). */
export function pQueueAdd(n: number): ProducerSubject {
  let ran = 0;
  let added = 0;
  let release: (() => void) | undefined;
  const hang = () =>
    new Promise<void>((resolve) => {
      release = resolve;
    });
  const job = () => {
    ran++;
  };
  const queue = new PQueue({ concurrency: 1 });
  return {
    name: 'p-queue.add',
    role: 'peer',
    note: 'new PQueue({ concurrency: 1 }); busy with a pending job; the promise add returns is dropped',
    async sample() {
      void queue.add(hang);
      await Promise.resolve();
      if (queue.pending !== 1 || queue.size !== 0) throw new Error('p-queue is not busy');
      const t0 = performance.now();
      for (let k = 0; k < n; k++) void queue.add(job);
      const t1 = performance.now();
      added += n;
      release?.();
      await queue.onIdle();
      return ((t1 - t0) * 1e6) / n;
    },
    verify(ctx) {
      ctx.check('p-queue: every added job ran', ran === added, `${ran} of ${added}`);
    },
  };
}
