import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import {
  type BacklogStore,
  CircuitBreaker,
  type DurableBatchContext,
  type DurableTask,
  type DurableTaskInput,
  memoryBacklog,
  NonRetryableError,
  SyncWorker,
  type SyncWorkerOptions,
} from '../../src/index.js';
import { advance } from '../support/durable.js';
import { settled } from '../support/tasks.js';

/** One call of the batch handler, as the remote saw it. */
interface BatchCall {
  payloads: unknown[];
  ids: readonly string[];
  attempts: readonly number[];
  key: string;
}

/**
 * A worker whose `write` handler takes batches of up to `maxSize`; `respond`
 * decides each call (return, throw, or a promise the test holds).
 */
function batchWorker(
  maxSize: number,
  respond: (call: BatchCall) => unknown = () => 'ok',
  options: SyncWorkerOptions = {},
) {
  const clock = new SimulatedClock();
  const calls: BatchCall[] = [];
  const delivered: unknown[] = [];
  const deadLetters: { task: DurableTask; error: Error }[] = [];
  const backlog = options.backlog ?? memoryBacklog();
  const worker = new SyncWorker({
    clock,
    backlog,
    handlers: {
      write: {
        batch: { maxSize },
        run: async (payloads: unknown[], context: DurableBatchContext) => {
          const call = { payloads, ids: context.ids, attempts: context.attempts, key: context.key };
          calls.push(call);
          const result = await respond(call);
          delivered.push(...payloads);
          return result;
        },
      },
      single: async () => 'one',
    },
    retry: { baseMs: 100, maxMs: 1_000 },
    onDeadLetter: (task, error) => deadLetters.push({ task, error }),
    ...options,
  });
  return { worker, clock, calls, delivered, deadLetters, backlog };
}

/**
 * A memory backlog that keeps `tasks`, as an earlier life left them: its
 * worker accepted them, and was shut down before any delivery ended.
 */
async function keptBacklog(
  tasks: readonly { handler: string; payload: unknown; key?: string }[],
): Promise<BacklogStore> {
  const backlog = memoryBacklog();
  const never = () => new Promise(() => {});
  const first = new SyncWorker({
    backlog,
    handlers: { write: never, single: never },
    breaker: false,
  });
  for (const task of tasks) first.enqueue(task as DurableTaskInput<unknown, 'write' | 'single'>);
  await first.flush();
  await first.shutdown({ timeoutMs: 0 });
  return backlog;
}

describe('batched delivery of durable tasks', () => {
  it('hands up to maxSize waiting tasks of one key to one call, in order, with their ids and attempts', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let first = true;
    const { worker, calls } = batchWorker(3, async () => {
      if (first) {
        first = false;
        await gate;
      }
    });
    worker.enqueue({ handler: 'write', payload: 'a0', key: 'a', id: 'a0' });
    await worker.flush();
    await settled();
    for (let i = 1; i <= 5; i++) {
      worker.enqueue({ handler: 'write', payload: `a${i}`, key: 'a', id: `a${i}` });
    }
    await worker.flush();
    release();
    await worker.onIdle();
    expect(calls.map((c) => c.payloads)).toEqual([['a0'], ['a1', 'a2', 'a3'], ['a4', 'a5']]);
    expect(calls[1]?.ids).toEqual(['a1', 'a2', 'a3']);
    expect(calls[1]?.attempts).toEqual([1, 1, 1]);
    expect(calls[1]?.key).toBe('a');
    expect(worker.stats()).toMatchObject({ completed: 6, backlog: 0, running: 0 });
  });

  it('batches only consecutive tasks of the same handler', async () => {
    const backlog = await keptBacklog([
      { handler: 'write', payload: 'a1', key: 'a' },
      { handler: 'write', payload: 'a2', key: 'a' },
      { handler: 'single', payload: 'a3', key: 'a' },
      { handler: 'write', payload: 'a4', key: 'a' },
    ]);
    const seen: unknown[] = [];
    const worker = new SyncWorker({
      backlog,
      handlers: {
        write: { batch: { maxSize: 10 }, run: async (payloads: unknown[]) => seen.push(payloads) },
        single: async (payload: unknown) => seen.push(payload),
      },
    });
    await worker.onIdle();
    expect(seen).toEqual([['a1', 'a2'], 'a3', ['a4']]);
    await worker.shutdown();
  });

  it('retries a failed batch whole, from the head, using one attempt of each task and telling the breaker once per call', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 5 });
    let failuresSeen = 0;
    const backlog = await keptBacklog(
      ['a1', 'a2', 'a3'].map((payload) => ({ handler: 'write', payload, key: 'a' })),
    );
    const { worker, calls, clock } = batchWorker(
      10,
      () => {
        if (calls.length === 1) {
          throw new Error('503');
        }
        failuresSeen = breaker.consecutiveFailures;
      },
      { backlog, breaker },
    );
    await settled();
    expect(calls).toHaveLength(1);
    expect(breaker.consecutiveFailures).toBe(1);
    expect(worker.state).toBe('backoff');
    await advance(clock, 1_000);
    await worker.onIdle();
    expect(calls.map((c) => [c.payloads, c.attempts])).toEqual([
      [
        ['a1', 'a2', 'a3'],
        [1, 1, 1],
      ],
      [
        ['a1', 'a2', 'a3'],
        [2, 2, 2],
      ],
    ]);
    expect(failuresSeen).toBe(1);
    expect(breaker.consecutiveFailures).toBe(0);
    expect(worker.stats()).toMatchObject({ completed: 3, retried: 3, failed: 0 });
  });

  it('splits a batch that failed for its data: the bad task goes to the dead letters, the rest are delivered in order, and the breaker hears one outcome', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 });
    const payloads = ['p0', 'p1', 'p2', 'p3', 'p4', 'bad', 'p6', 'p7'];
    const backlog = await keptBacklog(
      payloads.map((payload) => ({ handler: 'write', payload, key: 'a' })),
    );
    const { worker, calls, delivered, deadLetters } = batchWorker(
      10,
      ({ payloads: batch }) => {
        if (batch.includes('bad')) throw new NonRetryableError('422: bad payload');
      },
      { backlog, breaker },
    );
    await worker.onIdle();
    expect(delivered).toEqual(payloads.filter((p) => p !== 'bad'));
    expect(deadLetters.map((d) => d.task.payload)).toEqual(['bad']);
    expect(deadLetters[0]?.error).toBeInstanceOf(NonRetryableError);
    // Halves, in order: 8 fails; 4 good; 4 fails; 2 fails; 1 good, 1 bad alone; 2 good.
    expect(calls.map((c) => c.payloads.length)).toEqual([8, 4, 4, 2, 1, 1, 2]);
    // The first call's failure was the one outcome; the split told the breaker nothing more.
    expect(breaker.consecutiveFailures).toBe(1);
    expect(breaker.state).toBe('closed');
    expect(worker.stats()).toMatchObject({ completed: 7, deadLettered: 1, backlog: 0 });
  });

  it('runs batches of different keys side by side, one per key', async () => {
    const holds: (() => void)[] = [];
    const backlog = await keptBacklog(
      ['a1', 'a2', 'b1', 'b2', 'c1'].map((payload) => ({
        handler: 'write',
        payload,
        key: payload[0],
      })),
    );
    const { worker, calls } = batchWorker(
      10,
      () => new Promise<void>((resolve) => holds.push(resolve)),
      { backlog, concurrency: 2 },
    );
    await settled();
    expect(calls.map((c) => c.payloads)).toEqual([
      ['a1', 'a2'],
      ['b1', 'b2'],
    ]);
    expect(worker.stats().running).toBe(2);
    holds[0]?.();
    await settled();
    await settled();
    expect(calls.map((c) => c.payloads)).toEqual([['a1', 'a2'], ['b1', 'b2'], ['c1']]);
    for (const hold of holds) hold();
    await worker.onIdle();
    expect(worker.stats().completed).toBe(5);
  });

  it('holds at most maxQueue + concurrency × maxSize durable tasks in memory while replaying', async () => {
    const tasks = [];
    for (let i = 0; i < 400; i++) tasks.push({ handler: 'write', payload: i, key: `k${i % 4}` });
    const backlog = await keptBacklog(tasks);
    let most = 0;
    const worker: SyncWorker = new SyncWorker({
      backlog,
      maxQueue: 8,
      concurrency: 2,
      handlers: {
        write: {
          batch: { maxSize: 30 },
          run: async () => {
            most = Math.max(most, worker.stats().backlogInMemory);
          },
        },
      },
    });
    await worker.onIdle();
    expect(worker.stats().completed).toBe(400);
    expect(most).toBeGreaterThan(8);
    expect(most).toBeLessThanOrEqual(8 + 2 * 30);
    await worker.shutdown();
  });

  it('replays a key with 500 kept tasks in 5 calls of 100', async () => {
    const tasks = Array.from({ length: 500 }, (_, i) => ({
      handler: 'write',
      payload: i,
      key: 'k',
    }));
    const backlog = await keptBacklog(tasks);
    const calls: number[][] = [];
    const second = new SyncWorker({
      backlog,
      handlers: {
        write: { batch: { maxSize: 100 }, run: async (payloads: number[]) => calls.push(payloads) },
      },
    });
    await second.onIdle();
    expect(calls.map((c) => c.length)).toEqual([100, 100, 100, 100, 100]);
    expect(calls.flat()).toEqual(Array.from({ length: 500 }, (_, i) => i));
    await second.shutdown();
  });
});

describe('the lifecycle with several runs in flight', () => {
  it('stays draining while a key backs off beside a run in flight, and shows backoff only once nothing is in flight', async () => {
    let releaseB!: () => void;
    let callsOfA = 0;
    const backlog = await keptBacklog([
      { handler: 'write', payload: 'a1', key: 'a' },
      { handler: 'write', payload: 'b1', key: 'b' },
    ]);
    const { worker, clock, delivered } = batchWorker(
      10,
      ({ key }) => {
        if (key === 'a' && ++callsOfA === 1) throw new Error('503');
        if (key === 'b') {
          return new Promise<void>((resolve) => {
            releaseB = resolve;
          });
        }
      },
      { backlog, concurrency: 2, breaker: false },
    );
    await settled();
    await settled();
    expect(worker.stats().running).toBe(1); // b1; a1 failed and backs off
    expect(worker.state).toBe('draining');
    releaseB();
    await settled();
    expect(worker.stats().running).toBe(0);
    expect(worker.state).toBe('backoff');
    await advance(clock, 1_000);
    await worker.onIdle();
    expect(delivered).toEqual(['b1', 'a1']);
  });
});
