/**
 * Failed and timed-out runs carry their duration, as successes do, and a
 * timeout's message shows the timeout rounded while the error keeps it exact.
 */
import { describe, expect, it } from 'vitest';
import {
  memoryBacklog,
  NonRetryableError,
  type SyncWorker,
  type SyncWorkerEvents,
  TaskTimeoutError,
} from '../src/index.js';
import { advance } from './support/durable.js';
import { controlledTask, settled } from './support/tasks.js';
import { simulatedWorker } from './support/worker.js';

/** Every event of `type` the worker emits from now on. */
function heard<K extends keyof SyncWorkerEvents>(worker: SyncWorker, type: K) {
  const events: SyncWorkerEvents[K][] = [];
  worker.on(type, (event) => events.push(event));
  return events;
}

describe('taskFailed and taskTimedOut carry durationMs', () => {
  it('a run that fails after 40 ms reports 40 ms', async () => {
    const { worker, clock } = simulatedWorker();
    const failed = heard(worker, 'taskFailed');
    const task = controlledTask('fails');
    worker.enqueue(task.task);
    await task.started;
    clock.increment(40);
    task.reject(new Error('remote said no'));
    await settled();
    expect(failed.map((e) => [e.error.message, e.durationMs])).toEqual([['remote said no', 40]]);
  });

  it('a run that times out reports how long it ran', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 250 } });
    const timedOut = heard(worker, 'taskTimedOut');
    const task = controlledTask('hangs');
    worker.enqueue(task.task);
    await task.started;
    clock.increment(250);
    await settled();
    expect(timedOut.map((e) => [e.timeoutMs, e.durationMs])).toEqual([[250, 250]]);
  });

  it('a run cut off by the shutdown deadline reports its time up to the deadline', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 60_000 } });
    const failed = heard(worker, 'taskFailed');
    const running = controlledTask('running');
    const waiting = controlledTask('waiting');
    worker.enqueue(running.task);
    worker.enqueue(waiting.task);
    await running.started;
    clock.increment(30);
    const done = worker.shutdown({ timeoutMs: 100 });
    clock.increment(100);
    await done;
    // The waiting task never ran: it has no duration.
    expect(failed.map((e) => [e.task, e.durationMs])).toEqual([
      [running.task, 130],
      [waiting.task, undefined],
    ]);
  });

  it('a task refused by enqueue has no duration', async () => {
    const { worker } = simulatedWorker();
    const failed = heard(worker, 'taskFailed');
    await worker.shutdown();
    expect(worker.enqueue({ run: () => 'late' })).toBe(false);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toHaveProperty('durationMs', undefined);
  });

  it("a durable task's dead letter reports its last run's duration", async () => {
    const { worker, clock } = simulatedWorker({
      backlog: memoryBacklog(),
      handlers: {
        refuse: async () => {
          await new Promise<void>((resolve) => clock.setTimeout(resolve, 30));
          throw new NonRetryableError('bad data');
        },
      },
    });
    const failed = heard(worker, 'taskFailed');
    worker.enqueue({ handler: 'refuse', payload: 1 });
    await settled();
    await advance(clock, 30);
    expect(failed.map((e) => [e.error.message, e.durationMs])).toEqual([['bad data', 30]]);
    await worker.shutdown();
  });
});

describe('TaskTimeoutError messages', () => {
  it('round an adaptive timeout to 0.1 ms; the error keeps it exact', async () => {
    // One sample of 7 ms with headroom 1.1: a timeout of 1.1 × 7 = 7.700000000000001 ms.
    const { worker, clock } = simulatedWorker({
      breaker: false,
      latencyTracker: { window: 1, warmupSamples: 1, headroom: 1.1, floorMs: 0 },
    });
    const timedOut = heard(worker, 'taskTimedOut');
    const first = controlledTask('seven ms');
    worker.enqueue(first.task);
    await first.started;
    clock.increment(7);
    first.resolve('ok');
    await settled();
    const slow = controlledTask('slow');
    worker.enqueue(slow.task);
    await slow.started;
    clock.increment(8);
    await settled();
    const error = timedOut[0]?.error as TaskTimeoutError;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error.timeoutMs).toBe(1.1 * 7);
    expect(error.timeoutMs).not.toBe(7.7);
    expect(error.message).toBe('task timed out after 7.7 ms');
  });

  it('show a whole number of ms as it is, also from the constructor', () => {
    expect(new TaskTimeoutError(250).message).toBe('task timed out after 250 ms');
    expect(new TaskTimeoutError(254.15923500000005).message).toBe('task timed out after 254.2 ms');
  });
});
