import { describe, expect, it } from 'vitest';
import { NonRetryableError, type SyncWorkerEvents, TaskTimeoutError } from '../../src/index.js';
import { advance, durableWorker } from '../support/durable.js';
import { settled } from '../support/tasks.js';

describe('durable tasks: retries', () => {
  it('retries a failed run with backoff, persisting attempts and the last error, then delivers', async () => {
    const { worker, clock, remote, backlog } = durableWorker({ breaker: false });
    const retried: SyncWorkerEvents['taskRetried'][] = [];
    worker.on('taskRetried', (event) => retried.push(event));
    remote.answer(({ attempt }) => {
      if (attempt < 3) throw new Error(`503 on try ${attempt}`);
      return 'ok';
    });
    worker.enqueue({ handler: 'write', payload: 'm', id: 'm1' });
    await settled();
    expect(remote.calls).toHaveLength(1);
    expect(worker.state).toBe('backoff');
    expect(backlog.list()[0]).toMatchObject({ id: 'm1', attempts: 1, lastError: '503 on try 1' });
    await advance(clock, 1_000); // maxMs: every backoff is shorter
    await advance(clock, 1_000);
    await worker.onIdle();
    expect(remote.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(remote.delivered).toHaveLength(1);
    expect(retried.map((r) => [r.attempt, r.error.message])).toEqual([
      [1, '503 on try 1'],
      [2, '503 on try 2'],
    ]);
    for (const r of retried) expect(r.delayMs).toBeLessThan(1_000);
    expect(worker.stats()).toMatchObject({ retried: 2, completed: 1, failed: 0, backlog: 0 });
  });

  it("holds a key's later tasks behind its retrying head while other keys proceed", async () => {
    const { worker, clock, remote } = durableWorker({ breaker: false });
    remote.answer(({ payload, attempt }) => {
      if (payload === 'a1' && attempt === 1) throw new Error('flaky');
    });
    for (const [key, payload] of [
      ['a', 'a1'],
      ['a', 'a2'],
      ['b', 'b1'],
      ['b', 'b2'],
    ] as const) {
      worker.enqueue({ handler: 'write', payload, key });
    }
    await settled();
    await settled();
    expect(remote.deliveredOf('b')).toEqual(['b1', 'b2']);
    expect(remote.deliveredOf('a')).toEqual([]);
    await advance(clock, 1_000);
    await worker.onIdle();
    expect(remote.deliveredOf('a')).toEqual(['a1', 'a2']);
  });

  it('retries a run that timed out: a TaskTimeoutError is retryable', async () => {
    const { worker, clock, remote } = durableWorker({
      breaker: false,
      latencyTracker: { defaultMs: 50 },
    });
    remote.answer(({ attempt }) => (attempt === 1 ? new Promise(() => {}) : 'ok'));
    const retried: Error[] = [];
    worker.on('taskRetried', ({ error }) => retried.push(error));
    worker.enqueue({ handler: 'write', payload: 1 });
    await settled();
    await advance(clock, 50);
    expect(retried[0]).toBeInstanceOf(TaskTimeoutError);
    await advance(clock, 1_000);
    await worker.onIdle();
    expect(remote.delivered.map((c) => c.attempt)).toEqual([2]);
    expect(worker.stats()).toMatchObject({ timedOut: 1, retried: 1, completed: 1 });
  });
});

describe('durable tasks: dead letters', () => {
  it('buries a task whose handler throws NonRetryableError at once: one taskFailed, one onDeadLetter', async () => {
    const { worker, remote, backlog, deadLetters } = durableWorker({ breaker: false });
    const failed: SyncWorkerEvents['taskFailed'][] = [];
    worker.on('taskFailed', (event) => failed.push(event));
    remote.answer(() => {
      throw new NonRetryableError('400 bad request');
    });
    worker.enqueue({ handler: 'write', payload: 'bad', key: 'k', id: 'x1' });
    worker.enqueue({ handler: 'write', payload: 'next', key: 'k' });
    await worker.onIdle();
    expect(remote.calls.map((c) => c.payload)).toEqual(['bad', 'next']); // the dead one does not block its key
    expect(failed).toHaveLength(2);
    expect(deadLetters).toHaveLength(2);
    expect(deadLetters[0]?.task).toMatchObject({
      id: 'x1',
      attempts: 1,
      reason: '400 bad request',
    });
    expect(deadLetters[0]?.error).toBeInstanceOf(NonRetryableError);
    expect(backlog.deadLetters().map((d) => d.id)[0]).toBe('x1');
    expect(worker.stats()).toMatchObject({ deadLettered: 2, failed: 2, retried: 0, backlog: 0 });
  });

  it('buries a task that used its attempts, after exactly maxAttempts runs', async () => {
    const { worker, clock, remote, deadLetters } = durableWorker({
      breaker: false,
      retry: { maxAttempts: 3, baseMs: 10, maxMs: 10 },
    });
    remote.answer(() => {
      throw new Error('still down');
    });
    worker.enqueue({ handler: 'write', payload: 1 });
    await settled();
    await advance(clock, 10);
    await advance(clock, 10);
    await worker.onIdle();
    expect(remote.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]?.task.attempts).toBe(3);
  });

  it('honours isRetryable, and keeps the task when the predicate throws', async () => {
    const { worker, clock, remote, deadLetters } = durableWorker({
      breaker: false,
      retry: {
        isRetryable: (error) => {
          if (error.message === 'odd') throw new Error('predicate bug');
          return error.message !== 'fatal';
        },
      },
    });
    remote.answer(({ attempt }) => {
      throw new Error(attempt === 1 ? 'odd' : 'fatal');
    });
    worker.enqueue({ handler: 'write', payload: 1 });
    await settled();
    expect(deadLetters).toHaveLength(0);
    await advance(clock, 1_000);
    await worker.onIdle();
    expect(deadLetters).toHaveLength(1);
    expect(remote.calls).toHaveLength(2);
  });

  it('requeueDeadLetters() gives dead letters a new life: same id, fresh attempts, delivered', async () => {
    const { worker, remote, backlog } = durableWorker({ breaker: false });
    let healthy = false;
    remote.answer(() => {
      if (!healthy) throw new NonRetryableError('rejected');
    });
    worker.enqueue({ handler: 'write', payload: 'p', id: 'same' });
    await worker.onIdle();
    expect(backlog.deadLetters()).toHaveLength(1);
    healthy = true;
    await expect(worker.requeueDeadLetters()).resolves.toBe(1);
    await worker.onIdle();
    expect(remote.delivered).toEqual([{ payload: 'p', id: 'same', key: 'default', attempt: 1 }]);
    expect(backlog.deadLetters()).toHaveLength(0);
  });
});
