import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import {
  DEFAULT_TASK_TIMEOUT_MS,
  LatencyTracker,
  SyncWorker,
  TaskTimeoutError,
} from '../src/index.js';
import {
  controlledTask,
  failureOf,
  recordingLogger,
  recordingTask,
  settled,
} from './support/tasks.js';
import { simulatedWorker } from './support/worker.js';

describe('SyncWorker timeouts', () => {
  it("gives each task { signal, timeoutMs } with the tracker's current timeout", async () => {
    const { worker } = simulatedWorker({ latencyTracker: { defaultMs: 1_234 } });
    const a = controlledTask();
    worker.enqueue(a.task);
    const context = await a.started;
    expect(context.timeoutMs).toBe(1_234);
    expect(context.signal).toBeInstanceOf(AbortSignal);
    expect(context.signal.aborted).toBe(false);
  });

  it('gives 30 s without a tracker', async () => {
    const { worker } = simulatedWorker({ latencyTracker: false });
    const a = controlledTask();
    worker.enqueue(a.task);
    expect((await a.started).timeoutMs).toBe(DEFAULT_TASK_TIMEOUT_MS);
    expect(worker.latencyTracker).toBeUndefined();
  });

  it('at the deadline aborts the signal with a TaskTimeoutError, fails the task and counts a breaker failure', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 100 } });
    const a = controlledTask();
    worker.enqueue(a.task);
    const { signal } = await a.started;
    clock.increment(99);
    expect(signal.aborted).toBe(false);
    clock.increment(1);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(TaskTimeoutError);
    const error = failureOf(a.fates);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect((error as TaskTimeoutError).timeoutMs).toBe(100);
    expect(worker.breaker?.consecutiveFailures).toBe(1);
    expect(worker.stats()).toMatchObject({ failed: 1, timedOut: 1, running: 0 });
  });

  it('a signal first read after the deadline is already aborted', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 100 } });
    let context!: { signal: AbortSignal };
    worker.enqueue({
      run: (c) => {
        context = c;
        return new Promise(() => {});
      },
    });
    await settled();
    clock.increment(100);
    expect(context.signal.aborted).toBe(true);
  });

  it('a task that resolves after its timeout is not a success', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 100 } });
    const a = controlledTask();
    worker.enqueue(a.task);
    await a.started;
    clock.increment(100);
    a.resolve('too late');
    await settled();
    expect(a.fates).toHaveLength(1);
    expect(a.fates[0]?.kind).toBe('failure');
    expect(worker.stats().completed).toBe(0);
    expect(worker.latencyTracker?.sampleCount).toBe(1); // only the censored sample
  });

  it('a late outcome of a timed-out task does not settle the task running after it', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 100 } });
    const a = controlledTask('a');
    const b = controlledTask('b');
    worker.enqueue(a.task);
    worker.enqueue(b.task);
    await a.started;
    clock.increment(100);
    await b.started;
    a.resolve('late a');
    await settled();
    expect(b.fates).toEqual([]);
    expect(worker.stats().running).toBe(1);
    b.resolve('b');
    await worker.onIdle();
    expect(b.fates).toEqual([{ kind: 'success', value: 'b' }]);
    expect(a.fates).toHaveLength(1);
  });

  it('records a censored sample per timeout, so the timeout rises during a slowdown up to the ceiling', async () => {
    const { worker, clock } = simulatedWorker({
      breaker: false,
      latencyTracker: {
        defaultMs: 100,
        warmupSamples: 1,
        floorMs: 0,
        headroom: 2,
        ceilingMs: 1_000,
      },
    });
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const hang = controlledTask(`hang ${i}`);
      worker.enqueue(hang.task);
      const { timeoutMs } = await hang.started;
      seen.push(timeoutMs);
      clock.increment(timeoutMs);
    }
    expect(seen).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(worker.latencyTracker?.actor.getSnapshot().value).toEqual({ adaptive: 'saturated' });
  });

  it('measures latency on the clock and feeds it to the tracker', async () => {
    const tracker = new LatencyTracker({ warmupSamples: 1, floorMs: 0, headroom: 1 });
    const { worker, clock } = simulatedWorker({ latencyTracker: tracker });
    const a = controlledTask();
    worker.enqueue(a.task);
    await a.started;
    clock.increment(250);
    a.resolve(undefined);
    await worker.onIdle();
    expect(tracker.p95).toBe(250);
    expect(tracker.timeout()).toBe(250);
  });

  it('starts the next task only after the timed-out one was aborted (order for tasks that honour the signal)', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 100 } });
    const events: string[] = [];
    worker.enqueue({
      run: ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            events.push('first aborted');
            reject(signal.reason);
          }),
        ),
    });
    worker.enqueue({ run: () => events.push('second started') });
    await settled();
    clock.increment(100);
    await worker.onIdle();
    expect(events).toEqual(['first aborted', 'second started']);
  });

  it('one deadline timer serves many tasks: it re-arms to the running task when it fires', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 100 } });
    const a = controlledTask('a');
    const b = controlledTask('b');
    worker.enqueue(a.task);
    worker.enqueue(b.task);
    await a.started;
    clock.increment(60);
    a.resolve(undefined);
    const { signal } = await b.started; // b's deadline is 160
    clock.increment(40); // the timer armed for a fires at 100, and re-arms for b
    expect(signal.aborted).toBe(false);
    clock.increment(59);
    expect(signal.aborted).toBe(false);
    clock.increment(1);
    expect(signal.aborted).toBe(true);
    expect(failureOf(b.fates)).toBeInstanceOf(TaskTimeoutError);
  });
});

describe('monotonic time', () => {
  it('a wall-clock jump during a task changes neither its latency nor its fate', async () => {
    // The default clock: performance.now, which a wall-clock change cannot move.
    const worker = new SyncWorker({ breaker: false, latencyTracker: { warmupSamples: 1 } });
    const wallClock = Date.now;
    const jump = vi.spyOn(Date, 'now').mockImplementation(() => wallClock() + 3_600_000);
    const t = recordingTask(async () => {
      jump.mockImplementation(() => wallClock() + 7_200_000); // and again, mid-task
      return 'ok';
    });
    try {
      worker.enqueue(t.task);
      await worker.onIdle();
    } finally {
      jump.mockRestore();
    }
    expect(t.fates).toEqual([{ kind: 'success', value: 'ok' }]);
    expect(worker.latencyTracker?.p95).toBeLessThan(1_000);
    await worker.shutdown();
  });
});

describe('README recipe: simulated time', () => {
  it('times a task out when the clock passes its deadline, with no sleep', async () => {
    const clock = new SimulatedClock();
    const errors: Error[] = [];
    const worker = new SyncWorker({ clock, latencyTracker: { defaultMs: 100 } });
    worker.enqueue({ run: () => new Promise(() => {}), onFailure: (e) => errors.push(e) });
    await Promise.resolve();
    clock.increment(100);
    expect(errors.map((e) => e.name)).toEqual(['TaskTimeoutError']);
  });
});

describe('SyncWorker outcomes', () => {
  it('a success records the latency and a breaker success before onSuccess', async () => {
    const { worker } = simulatedWorker();
    worker.breaker?.recordFailure();
    let seen: unknown[] = [];
    worker.enqueue({
      run: async () => 'value',
      onSuccess: (result) => {
        seen = [result, worker.latencyTracker?.sampleCount, worker.breaker?.consecutiveFailures];
      },
    });
    await worker.onIdle();
    expect(seen).toEqual(['value', 1, 0]);
  });

  it('a failure records a breaker failure before onFailure', async () => {
    const { worker } = simulatedWorker();
    let failuresSeen: number | undefined;
    const boom = new Error('boom');
    worker.enqueue({
      run: () => Promise.reject(boom),
      onFailure: (error) => {
        expect(error).toBe(boom);
        failuresSeen = worker.breaker?.consecutiveFailures;
      },
    });
    await worker.onIdle();
    expect(failuresSeen).toBe(1);
  });

  it('countsAsFailure excludes errors from the breaker; the task still fails', async () => {
    class ClientError extends Error {}
    const { worker } = simulatedWorker({
      breaker: { failureThreshold: 1 },
      countsAsFailure: (error) => !(error instanceof ClientError),
    });
    const t = recordingTask(() => Promise.reject(new ClientError('400')));
    worker.enqueue(t.task);
    await worker.onIdle();
    expect(failureOf(t.fates)).toBeInstanceOf(ClientError);
    expect(worker.breaker?.state).toBe('closed');
    expect(worker.breaker?.consecutiveFailures).toBe(0);
  });

  it('a countsAsFailure that throws counts the error and is logged', async () => {
    const { logger, lines } = recordingLogger();
    const { worker } = simulatedWorker({
      logger,
      countsAsFailure: () => {
        throw new Error('bug');
      },
    });
    worker.enqueue({ run: () => Promise.reject(new Error('x')) });
    await worker.onIdle();
    expect(worker.breaker?.consecutiveFailures).toBe(1);
    expect(lines.some((l) => l.message.includes('countsAsFailure threw'))).toBe(true);
  });

  it.each([
    ['a string', 'oops'],
    ['undefined', undefined],
    ['null', null],
    ['an object', { code: 42 }],
  ])('wraps %s thrown by run in an Error whose cause holds it', async (_, thrown) => {
    const { worker } = simulatedWorker();
    const rejected = recordingTask(() => Promise.reject(thrown));
    const sync = recordingTask(() => {
      throw thrown;
    });
    worker.enqueue(rejected.task);
    worker.enqueue(sync.task);
    await worker.onIdle();
    for (const { fates } of [rejected, sync]) {
      const error = failureOf(fates);
      expect(error).toBeInstanceOf(Error);
      expect(error?.cause).toBe(thrown);
    }
  });

  it('a synchronous result is a success', async () => {
    const { worker } = simulatedWorker();
    const t = recordingTask(() => 7);
    worker.enqueue(t.task);
    await worker.onIdle();
    expect(t.fates).toEqual([{ kind: 'success', value: 7 }]);
  });
});
