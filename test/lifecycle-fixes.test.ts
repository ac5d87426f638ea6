/**
 * Behaviour fixes that came with the lifecycle rewrite, each shown failing on
 * the code before it (the burst, the fail-fast order, the handler-less
 * record, the throwing inspector).
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { CircuitBreaker, memoryBacklog, NonRetryableError, SyncWorker } from '../src/index.js';
import { durableWorker } from './support/durable.js';
import { controlledTask, recordingLogger, recordingTask, settled } from './support/tasks.js';
import { simulatedWorker } from './support/worker.js';

describe('a burst into an idle worker', () => {
  it('keeps its first task: maxQueue + 1 synchronous enqueues drop nothing', async () => {
    const { worker } = simulatedWorker({ maxQueue: 3 });
    const tasks = [0, 1, 2, 3].map((i) => recordingTask(() => i));
    for (const t of tasks) expect(worker.enqueue(t.task)).toBe(true);
    expect(worker.stats().running).toBe(0); // nothing runs inside enqueue
    expect(worker.dropped).toBe(0);
    await worker.onIdle();
    expect(tasks.map((t) => t.fates)).toEqual(
      [0, 1, 2, 3].map((value) => [{ kind: 'success', value }]),
    );
  });

  it('still drops the oldest beyond maxQueue + 1, and once a task runs, beyond maxQueue', async () => {
    const { worker } = simulatedWorker({ maxQueue: 2 });
    const first = controlledTask();
    const tasks = [1, 2, 3].map((i) => recordingTask(() => i));
    worker.enqueue(first.task);
    for (const t of tasks) worker.enqueue(t.task);
    // first + 2 waiting fit; the fourth pushed out the oldest waiting one (task 1).
    expect(worker.dropped).toBe(1);
    expect(tasks[0]?.fates[0]?.kind).toBe('failure');
    await first.started;
    expect(worker.stats()).toMatchObject({ running: 1, queued: 2 });
    first.resolve('done');
    await worker.onIdle();
    expect(tasks.slice(1).map((t) => t.fates[0]?.kind)).toEqual(['success', 'success']);
  });
});

describe('fail-fast order across workers sharing one breaker', () => {
  it('the task whose failed probe reopens the breaker hears its fate before any waiting task fails', async () => {
    const clock = new SimulatedClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, probeIntervalMs: 1_000, clock });
    const heard: string[] = [];
    const record = (label: string) => ({
      onSuccess: () => heard.push(`${label} succeeded`),
      onFailure: (error: Error) => heard.push(`${label} ${error.name}`),
    });
    const a = new SyncWorker({ breaker, clock, idleAfterMs: 0 });
    const b = new SyncWorker({ breaker, clock, idleAfterMs: 0 });
    breaker.recordFailure();
    clock.increment(1_000); // half-open: one probe may go
    let failProbe: (error: Error) => void = () => {};
    a.enqueue({
      run: () => new Promise((_resolve, reject) => (failProbe = reject)),
      ...record('probe'),
    });
    await settled();
    // b's task waits: the one permit is a's.
    b.enqueue({ run: () => 'never', ...record('waiting in b') });
    await settled();
    expect(b.state).toBe('blocked');
    failProbe(new Error('still down'));
    await settled();
    expect(breaker.state).toBe('open');
    expect(heard).toEqual(['probe Error', 'waiting in b BreakerOpenError']);
    await Promise.all([a.shutdown(), b.shutdown()]);
    breaker.dispose();
  });
});

describe('a stored record whose handler is no longer registered', () => {
  it('goes to the dead letters without a run and without counting as a breaker failure', async () => {
    const backlog = memoryBacklog();
    // Keep three tasks of the old handler: an open breaker holds them back. It is one passed
    // in, which the store does not keep, so the next life's breaker starts closed.
    const holdBack = new CircuitBreaker();
    for (let i = 0; i < 3; i++) holdBack.recordFailure();
    const before = durableWorker(
      { handlers: { write: () => 'ok', gone: () => 'ok' }, breaker: holdBack },
      backlog,
    );
    for (let i = 0; i < 3; i++) {
      // @ts-expect-error a handler this worker lacks, on purpose: the compiler refuses it too.
      before.worker.enqueue({ handler: 'gone', payload: i, key: 'k' });
    }
    await before.worker.flush();
    await before.worker.shutdown({ timeoutMs: 0 });
    holdBack.dispose();

    const after = durableWorker({ breaker: { failureThreshold: 2 } }, backlog);
    await after.worker.onIdle();
    expect(after.deadLetters.map((d) => d.task.payload)).toEqual([0, 1, 2]);
    expect(after.deadLetters[0]?.error).toBeInstanceOf(NonRetryableError);
    expect(after.deadLetters[0]?.error.message).toMatch(/no handler is registered as "gone"/);
    expect(after.worker.breaker?.state).toBe('closed');
    expect(after.worker.breaker?.consecutiveFailures).toBe(0);
    expect(after.worker.stats()).toMatchObject({ deadLettered: 3, backlog: 0 });
    await after.worker.shutdown();
  });
});

describe('an inspector that throws', () => {
  it('at the first event: the worker is built, logs it once, detaches it and works', async () => {
    const { lines, logger } = recordingLogger();
    let calls = 0;
    const worker = new SyncWorker({
      logger,
      inspect: () => {
        calls++;
        throw new Error('inspector bug');
      },
    });
    const t = recordingTask(() => 'ran');
    worker.enqueue(t.task);
    await worker.onIdle();
    expect(t.fates).toEqual([{ kind: 'success', value: 'ran' }]);
    expect(calls).toBe(1);
    expect(lines.filter((l) => /inspector threw/.test(l.message))).toHaveLength(1);
    await worker.shutdown();
  });

  it('later, with a backlog: it never kills the worker and the store is released at shutdown', async () => {
    const backlog = memoryBacklog();
    let events = 0;
    const { worker, remote } = durableWorker(
      {
        inspect: () => {
          if (++events > 20) throw new Error('inspector bug');
        },
      },
      backlog,
    );
    for (let i = 0; i < 10; i++) worker.enqueue({ handler: 'write', payload: i, key: 'k' });
    await worker.flush();
    await worker.onIdle();
    expect(remote.deliveredOf('k')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await worker.shutdown();
    // Released: a new owner can open the same store.
    const next = durableWorker({}, backlog);
    await next.worker.shutdown();
  });
});
