import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import {
  CircuitBreaker,
  QueueOverflowError,
  type SyncTask,
  SyncWorker,
  TaskTimeoutError,
  WorkerShutdownError,
} from '../../src/index.js';
import { type ControlledTask, controlledTask, failureOf, settled } from '../support/tasks.js';
import { simulatedWorker } from '../support/worker.js';

/** A controlled task with `key`, named `name`. */
function keyed(name: string, key?: string): ControlledTask {
  const c = controlledTask(name);
  if (key !== undefined) (c.task as SyncTask).key = key;
  return c;
}

/** The names of the tasks that have started. */
function startedOf(tasks: readonly ControlledTask[]): string[] {
  return tasks.filter((t) => t.hasStarted).map((t) => t.task.name as string);
}

describe('concurrency across keys (closure tasks)', () => {
  it('runs tasks of different keys side by side, at most one per key and at most `concurrency`', async () => {
    const { worker } = simulatedWorker({ concurrency: 3 });
    const tasks = [
      keyed('a1', 'a'),
      keyed('a2', 'a'),
      keyed('b1', 'b'),
      keyed('c1', 'c'),
      keyed('d1', 'd'),
    ];
    for (const t of tasks) worker.enqueue(t.task);
    await settled();
    expect(startedOf(tasks)).toEqual(['a1', 'b1', 'c1']);
    expect(worker.stats()).toMatchObject({ running: 3, queued: 2 });
    expect(worker.state).toBe('draining');
    tasks[0]?.resolve('ok');
    await settled();
    // a's next waits behind a1 only; the free slot goes round robin: d1 before a2.
    expect(startedOf(tasks)).toEqual(['a1', 'b1', 'c1', 'd1']);
    tasks[2]?.resolve('ok');
    await settled();
    expect(startedOf(tasks)).toEqual(['a1', 'a2', 'b1', 'c1', 'd1']);
    for (const t of tasks) if (t.fates.length === 0) t.resolve('ok');
    await worker.onIdle();
    expect(worker.stats()).toMatchObject({ running: 0, queued: 0, completed: 5 });
    for (const t of tasks) expect(t.fates).toEqual([{ kind: 'success', value: 'ok' }]);
  });

  it('keeps tasks without a key serial whatever `concurrency` says', async () => {
    const { worker } = simulatedWorker({ concurrency: 8 });
    const tasks = [keyed('x1'), keyed('x2'), keyed('x3')];
    for (const t of tasks) worker.enqueue(t.task);
    await settled();
    expect(startedOf(tasks)).toEqual(['x1']);
    expect(worker.stats().running).toBe(1);
    tasks[0]?.resolve(1);
    await settled();
    expect(startedOf(tasks)).toEqual(['x1', 'x2']);
    tasks[1]?.resolve(2);
    await settled();
    tasks[2]?.resolve(3);
    await worker.onIdle();
    expect(worker.stats().completed).toBe(3);
  });

  it('with the default concurrency of 1 runs keyed tasks one at a time', async () => {
    const { worker } = simulatedWorker();
    const tasks = [keyed('a1', 'a'), keyed('b1', 'b')];
    for (const t of tasks) worker.enqueue(t.task);
    await settled();
    expect(startedOf(tasks)).toEqual(['a1']);
    tasks[0]?.resolve('ok');
    await settled();
    expect(startedOf(tasks)).toEqual(['a1', 'b1']);
    tasks[1]?.resolve('ok');
    await worker.onIdle();
  });

  it('reads a task key once, at enqueue: changing it afterwards changes nothing', async () => {
    const { worker } = simulatedWorker({ concurrency: 2 });
    const a1 = keyed('a1', 'a');
    const a2 = keyed('a2', 'a');
    worker.enqueue(a1.task);
    worker.enqueue(a2.task);
    (a2.task as SyncTask).key = 'elsewhere';
    await settled();
    expect(startedOf([a1, a2])).toEqual(['a1']);
    a1.resolve('ok');
    await settled();
    a2.resolve('ok');
    await worker.onIdle();
    expect(a2.fates).toHaveLength(1);
  });

  it('drops the oldest waiting task of all keys on overflow, never one in flight', async () => {
    const { worker } = simulatedWorker({ concurrency: 2, maxQueue: 2 });
    const a1 = keyed('a1', 'a');
    const b1 = keyed('b1', 'b');
    worker.enqueue(a1.task);
    worker.enqueue(b1.task);
    await settled();
    const dropped: string[] = [];
    worker.on('taskDropped', ({ task }) => dropped.push((task as SyncTask).name as string));
    const waiting = [keyed('a2', 'a'), keyed('b2', 'b'), keyed('a3', 'a'), keyed('c1', 'c')];
    for (const t of waiting) worker.enqueue(t.task);
    expect(dropped).toEqual(['a2', 'b2']);
    await settled();
    // Both slots are taken by a1 and b1, so a2 and b2 were the oldest waiting.
    expect(waiting[0]?.fates[0]).toMatchObject({ kind: 'failure' });
    expect(failureOf(waiting[0]?.fates ?? [])).toBeInstanceOf(QueueOverflowError);
    expect(waiting[1]?.fates[0]).toMatchObject({ kind: 'failure' });
    expect(waiting[2]?.fates).toEqual([]);
    expect(waiting[3]?.fates).toEqual([]);
    expect(a1.fates).toEqual([]);
    expect(worker.stats()).toMatchObject({ running: 2, queued: 2, dropped: 2 });
    a1.resolve('ok');
    b1.resolve('ok');
    await settled();
    expect(startedOf(waiting)).toEqual(['a3', 'c1']);
    waiting[2]?.resolve('ok');
    waiting[3]?.resolve('ok');
    await worker.onIdle();
  });

  it('holds each run to its own deadline with one timer, and feeds every sample to the one tracker', async () => {
    const { worker, clock } = simulatedWorker({
      concurrency: 2,
      latencyTracker: { defaultMs: 100 },
      breaker: false,
    });
    const a = keyed('a', 'a');
    const b = keyed('b', 'b');
    worker.enqueue(a.task);
    await settled();
    clock.increment(40);
    worker.enqueue(b.task);
    await settled();
    const [contextA, contextB] = await Promise.all([a.started, b.started]);
    clock.increment(60); // a's deadline
    await settled();
    expect(contextA.signal.aborted).toBe(true);
    expect(contextB.signal.aborted).toBe(false);
    expect(failureOf(a.fates)).toBeInstanceOf(TaskTimeoutError);
    expect(b.fates).toEqual([]);
    clock.increment(40); // b's deadline, 100 ms after it started
    await settled();
    expect(contextB.signal.aborted).toBe(true);
    expect(failureOf(b.fates)).toBeInstanceOf(TaskTimeoutError);
    expect(worker.stats()).toMatchObject({ timedOut: 2, running: 0 });
  });

  it('lets exactly one probe through a half-open breaker; the other keys wait for its outcome', async () => {
    const clock = new SimulatedClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, probeIntervalMs: 1_000, clock });
    const worker = new SyncWorker({ clock, concurrency: 4, breaker });
    breaker.recordFailure();
    clock.increment(1_000);
    expect(breaker.state).toBe('half_open');
    const tasks = [keyed('a', 'a'), keyed('b', 'b'), keyed('c', 'c')];
    for (const t of tasks) worker.enqueue(t.task);
    await settled();
    expect(startedOf(tasks)).toEqual(['a']);
    expect(worker.stats().running).toBe(1);
    // The probe is in flight: the worker is still draining, not blocked.
    expect(worker.state).toBe('draining');
    tasks[0]?.resolve('ok');
    await settled();
    expect(breaker.state).toBe('closed');
    expect(startedOf(tasks)).toEqual(['a', 'b', 'c']);
    tasks[1]?.resolve('ok');
    tasks[2]?.resolve('ok');
    await worker.onIdle();
  });

  it('lets runs in flight finish when the breaker opens, and starts nothing new', async () => {
    const clock = new SimulatedClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, probeIntervalMs: 1_000, clock });
    const worker = new SyncWorker({ clock, concurrency: 3, breaker });
    const tasks = [keyed('a', 'a'), keyed('b', 'b'), keyed('c1', 'c'), keyed('c2', 'c')];
    for (const t of tasks) worker.enqueue(t.task);
    await settled();
    expect(startedOf(tasks)).toEqual(['a', 'b', 'c1']);
    tasks[0]?.reject(new Error('503'));
    await settled();
    expect(breaker.state).toBe('open');
    // c2 waited: failed fast. b and c1 are in flight: they finish.
    expect(failureOf(tasks[3]?.fates ?? [])?.name).toBe('BreakerOpenError');
    expect(worker.stats().running).toBe(2);
    tasks[1]?.resolve('late but fine');
    tasks[2]?.resolve('late but fine');
    await settled();
    expect(tasks[1]?.fates).toEqual([{ kind: 'success', value: 'late but fine' }]);
    expect(worker.stats().running).toBe(0);
    clock.increment(1); // idleAfterMs
    expect(worker.state).toBe('idle');
  });

  it('waits for every run in flight at shutdown, and aborts each at the deadline with its own error', async () => {
    const { worker, clock } = simulatedWorker({
      concurrency: 3,
      latencyTracker: { defaultMs: 60_000 },
    });
    const tasks = [keyed('a', 'a'), keyed('b', 'b'), keyed('c', 'c')];
    for (const t of tasks) worker.enqueue(t.task);
    await settled();
    expect(worker.stats().running).toBe(3);
    const done = worker.shutdown({ timeoutMs: 500 });
    tasks[0]?.resolve('ok');
    await settled();
    expect(worker.state).toBe('stopping');
    clock.increment(500);
    await done;
    expect(tasks[0]?.fates).toEqual([{ kind: 'success', value: 'ok' }]);
    const errors = tasks.slice(1).map((t) => failureOf(t.fates));
    for (const error of errors) expect(error).toBeInstanceOf(WorkerShutdownError);
    expect(errors[0]).not.toBe(errors[1]);
    expect(worker.state).toBe('shutdown');
  });

  it('resolves onIdle only when every run in flight has ended', async () => {
    const { worker } = simulatedWorker({ concurrency: 2 });
    const a = keyed('a', 'a');
    const b = keyed('b', 'b');
    worker.enqueue(a.task);
    worker.enqueue(b.task);
    let idle = false;
    void worker.onIdle().then(() => {
      idle = true;
    });
    await settled();
    a.resolve('ok');
    await settled();
    expect(idle).toBe(false);
    b.resolve('ok');
    await settled();
    expect(idle).toBe(true);
  });
});
