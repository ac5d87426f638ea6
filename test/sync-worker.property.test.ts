import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QueueOverflowError, type SyncTask } from '../src/index.js';
import { settled } from './support/tasks.js';
import { simulatedWorker } from './support/worker.js';

type Command =
  | { op: 'enqueue'; body: 'async' | 'sync' | 'throw' | 'nonError'; burst: number }
  | { op: 'settle'; ok: boolean }
  | { op: 'advance'; ms: number }
  | { op: 'trip' }
  | { op: 'reset' }
  | { op: 'shutdown'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('enqueue' as const),
      body: fc.constantFrom('async', 'sync', 'throw', 'nonError') as fc.Arbitrary<'async'>,
      // A burst behind a pending task is what fills the queue.
      burst: fc.integer({ min: 1, max: 6 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('settle' as const), ok: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 2_500 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'trip' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'reset' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('shutdown' as const),
      ms: fc.integer({ min: 0, max: 3_000 }),
    }),
  },
);

const RUNS = Number(process.env.FC_RUNS ?? 1_000);

describe('SyncWorker under random commands (property)', () => {
  it('every task has exactly one fate, starts stay in FIFO order, and the counters add up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(command, { maxLength: 60 }),
        async (maxQueue, commands) => {
          const { worker, clock } = simulatedWorker({
            maxQueue,
            breaker: { failureThreshold: 2, probeIntervalMs: 1_000 },
            latencyTracker: { defaultMs: 1_000, floorMs: 0, ceilingMs: 2_000, warmupSamples: 3 },
          });
          const fates: string[][] = [];
          const started: number[] = [];
          const pending: { resolve(v: unknown): void; reject(e: unknown): void }[] = [];
          let overflowFates = 0;

          const makeTask = (id: number, body: Command & { op: 'enqueue' }): SyncTask => ({
            name: String(id),
            run: () => {
              started.push(id);
              if (body.body === 'sync') return id;
              if (body.body === 'throw') throw new Error(`task ${id}`);
              if (body.body === 'nonError') return Promise.reject(id);
              return new Promise((resolve, reject) => pending.push({ resolve, reject }));
            },
            onSuccess: () => fates[id]?.push('success'),
            onFailure: (error) => {
              if (error instanceof QueueOverflowError) overflowFates++;
              fates[id]?.push(error.name);
            },
          });

          for (const c of commands) {
            if (c.op === 'enqueue') {
              for (let i = 0; i < c.burst; i++) {
                const id = fates.length;
                fates.push([]);
                worker.enqueue(makeTask(id, c));
              }
            } else if (c.op === 'settle') {
              const p = pending.pop();
              if (c.ok) p?.resolve('ok');
              else p?.reject(new Error('remote'));
            } else if (c.op === 'advance') clock.increment(c.ms);
            else if (c.op === 'trip') for (let i = 0; i < 2; i++) worker.breaker?.recordFailure();
            else if (c.op === 'reset') worker.breaker?.reset();
            else void worker.shutdown({ timeoutMs: c.ms });
            await settled();
            expect(worker.size).toBeLessThanOrEqual(maxQueue);
            expect(worker.dropped).toBe(overflowFates);
            for (const f of fates) expect(f.length).toBeLessThanOrEqual(1);
          }

          // End every story: shut down, pass the deadline, let late outcomes arrive.
          const done = worker.shutdown({ timeoutMs: 0 });
          clock.increment(10_000);
          await done;
          for (const p of pending) p.resolve('late');
          await settled();

          for (const [id, f] of fates.entries()) expect(f, `fates of task ${id}`).toHaveLength(1);
          expect(started).toEqual([...started].sort((a, b) => a - b));
          const s = worker.stats();
          expect(s.completed + s.failed + s.dropped + s.refused).toBe(fates.length);
          expect(s.completed).toBe(fates.filter((f) => f[0] === 'success').length);
          expect(s.queued + s.running).toBe(0);
          expect(worker.isRunning).toBe(false);
        },
      ),
      { seed: 424242, numRuns: RUNS },
    );
  });
});
