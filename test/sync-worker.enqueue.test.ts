import { describe, expect, it } from 'vitest';
import { BreakerOpenError, QueueOverflowError, type SyncTask } from '../src/index.js';
import { controlledTask, failureOf, recordingTask, settled } from './support/tasks.js';
import { simulatedWorker } from './support/worker.js';

describe('SyncWorker.enqueue', () => {
  it('returns true at once and never runs the task inside enqueue', async () => {
    const { worker } = simulatedWorker();
    const a = controlledTask();
    expect(worker.enqueue(a.task)).toBe(true);
    expect(a.hasStarted).toBe(false);
    expect(worker.size).toBe(1);
    await a.started;
    expect(worker.size).toBe(0);
    expect(worker.stats().running).toBe(1);
  });

  it('does not run even a synchronous task inside enqueue', async () => {
    const { worker } = simulatedWorker();
    let ran = false;
    worker.enqueue({ run: () => (ran = true) });
    expect(ran).toBe(false);
    await worker.onIdle();
    expect(ran).toBe(true);
  });

  it('starts lazily: isRunning turns true on the first enqueue', async () => {
    const { worker } = simulatedWorker();
    expect(worker.isRunning).toBe(false);
    worker.enqueue({ run: () => 1 });
    expect(worker.isRunning).toBe(true);
    await worker.onIdle();
  });

  it('runs tasks one at a time, in enqueue order', async () => {
    const { worker } = simulatedWorker();
    const a = controlledTask('a');
    const b = controlledTask('b');
    worker.enqueue(a.task);
    worker.enqueue(b.task);
    await a.started;
    await settled();
    expect(b.hasStarted).toBe(false);
    a.resolve('A');
    await b.started;
    b.resolve('B');
    await worker.onIdle();
    expect([a.fates, b.fates]).toEqual([
      [{ kind: 'success', value: 'A' }],
      [{ kind: 'success', value: 'B' }],
    ]);
  });

  describe('overflow', () => {
    it('drops the oldest waiting task, never the running one, and accepts the new one', async () => {
      const { worker } = simulatedWorker({ maxQueue: 2 });
      const running = controlledTask('running');
      worker.enqueue(running.task);
      await running.started;
      const b = recordingTask(() => 'b', 'b');
      const c = recordingTask(() => 'c', 'c');
      const d = recordingTask(() => 'd', 'd');
      worker.enqueue(b.task);
      worker.enqueue(c.task);
      expect(worker.enqueue(d.task)).toBe(true);
      // The victim hears synchronously, inside enqueue.
      expect(failureOf(b.fates)).toBeInstanceOf(QueueOverflowError);
      expect(worker.dropped).toBe(1);
      expect(worker.size).toBe(2);
      running.resolve('r');
      await worker.onIdle();
      expect(running.fates).toEqual([{ kind: 'success', value: 'r' }]);
      expect(b.fates).toHaveLength(1);
      expect(c.fates).toEqual([{ kind: 'success', value: 'c' }]);
      expect(d.fates).toEqual([{ kind: 'success', value: 'd' }]);
    });

    it('is safe when the dropped task re-enqueues itself from onFailure', async () => {
      const { worker } = simulatedWorker({ maxQueue: 1 });
      const running = controlledTask();
      worker.enqueue(running.task);
      await running.started;
      const order: string[] = [];
      let retried = false;
      const victim: SyncTask = {
        name: 'victim',
        run: () => order.push('victim'),
        onFailure: () => {
          // Re-entrant: the worker's state is already updated when this runs.
          expect(worker.size).toBe(1);
          if (!retried) {
            retried = true;
            worker.enqueue(victim);
          }
        },
      };
      const fresh = recordingTask(() => order.push('fresh'), 'fresh');
      worker.enqueue(victim);
      worker.enqueue(fresh.task); // drops victim, whose onFailure re-enqueues it, dropping fresh
      expect(worker.size).toBe(1);
      expect(worker.dropped).toBe(2);
      expect(failureOf(fresh.fates)).toBeInstanceOf(QueueOverflowError);
      running.resolve(undefined);
      await worker.onIdle();
      expect(order).toEqual(['victim']);
    });

    it('with maxQueue Infinity never drops', async () => {
      const { worker } = simulatedWorker({ maxQueue: Number.POSITIVE_INFINITY });
      const running = controlledTask();
      worker.enqueue(running.task);
      await running.started;
      for (let i = 0; i < 5_000; i++) worker.enqueue({ run: () => i });
      expect(worker.size).toBe(5_000);
      expect(worker.dropped).toBe(0);
      running.resolve(undefined);
      await worker.onIdle();
      expect(worker.stats().completed).toBe(5_001);
    });
  });

  describe('breaker', () => {
    it('refuses with false and a BreakerOpenError while the breaker is open', async () => {
      const { worker } = simulatedWorker({ breaker: { failureThreshold: 1 } });
      worker.breaker?.recordFailure();
      const t = recordingTask(() => 1);
      expect(worker.enqueue(t.task)).toBe(false);
      const error = failureOf(t.fates);
      expect(error).toBeInstanceOf(BreakerOpenError);
      expect(error?.message).toContain('circuit breaker open');
      expect(worker.stats().refused).toBe(1);
      expect(worker.isRunning).toBe(false);
    });

    it('is safe when a refused task enqueues again from onFailure', () => {
      const { worker } = simulatedWorker({ breaker: { failureThreshold: 1 } });
      worker.breaker?.recordFailure();
      const inner = recordingTask(() => 1, 'inner');
      const outer: SyncTask = { run: () => 1, onFailure: () => worker.enqueue(inner.task) };
      expect(worker.enqueue(outer)).toBe(false);
      expect(failureOf(inner.fates)).toBeInstanceOf(BreakerOpenError);
      expect(worker.stats().refused).toBe(2);
    });

    it('fails waiting tasks fast when the breaker opens, after the task that opened it hears', async () => {
      const { worker } = simulatedWorker({ breaker: { failureThreshold: 1 } });
      const heard: string[] = [];
      const a = controlledTask('a');
      a.task.onFailure = () => heard.push('a');
      worker.enqueue(a.task);
      for (const name of ['b', 'c']) {
        worker.enqueue({
          name,
          run: () => heard.push(`${name} ran`),
          onFailure: (e) => heard.push(`${name}: ${e.name}`),
        });
      }
      await a.started;
      a.reject(new Error('remote down'));
      await worker.onIdle();
      expect(heard).toEqual(['a', 'b: BreakerOpenError', 'c: BreakerOpenError']);
      expect(worker.breaker?.state).toBe('open');
      expect(worker.stats()).toMatchObject({ failed: 3, completed: 0, queued: 0 });
    });

    it('in half_open runs exactly one task as the probe; a good probe lets the rest through', async () => {
      const { worker, clock } = simulatedWorker({
        breaker: { failureThreshold: 1, probeIntervalMs: 1_000 },
      });
      worker.breaker?.recordFailure();
      clock.increment(1_000);
      expect(worker.breaker?.state).toBe('half_open');
      const probe = controlledTask('probe');
      const next = controlledTask('next');
      worker.enqueue(probe.task);
      worker.enqueue(next.task);
      await probe.started;
      await settled();
      expect(next.hasStarted).toBe(false);
      probe.resolve('ok');
      await next.started;
      expect(worker.breaker?.state).toBe('closed');
      next.resolve('ok');
      await worker.onIdle();
      expect(next.fates).toEqual([{ kind: 'success', value: 'ok' }]);
    });

    it('a failed probe re-opens the breaker and fails the tasks behind it', async () => {
      const { worker, clock } = simulatedWorker({
        breaker: { failureThreshold: 1, probeIntervalMs: 1_000 },
      });
      worker.breaker?.recordFailure();
      clock.increment(1_000);
      const probe = controlledTask('probe');
      const next = recordingTask(() => 'never', 'next');
      worker.enqueue(probe.task);
      worker.enqueue(next.task);
      await probe.started;
      probe.reject(new Error('still down'));
      await worker.onIdle();
      expect(worker.breaker?.state).toBe('open');
      expect(failureOf(next.fates)).toBeInstanceOf(BreakerOpenError);
    });
  });

  it('throws a TypeError naming the field for a malformed task', () => {
    const { worker } = simulatedWorker();
    expect(() => worker.enqueue(undefined as never)).toThrow(TypeError);
    expect(() => worker.enqueue({} as never)).toThrow(/needs run\(\).*or handler/);
    expect(() => worker.enqueue({ run: 5 } as never)).toThrow(/task\.run must be a function/);
    expect(() => worker.enqueue({ run: () => 1, name: 5 } as never)).toThrow(/task\.name/);
    expect(() => worker.enqueue({ run: () => 1, onSuccess: 'x' } as never)).toThrow(
      /task\.onSuccess/,
    );
    expect(() => worker.enqueue({ run: () => 1, onFailure: 1 } as never)).toThrow(
      /task\.onFailure/,
    );
    expect(worker.size).toBe(0);
  });
});
