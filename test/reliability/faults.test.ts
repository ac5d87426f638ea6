/**
 * Fault injection: a named catalogue of the ways tasks, callbacks, listeners
 * and clocks misbehave, each with the outcome the worker promises. Some of
 * these are also covered by the behaviour tests; here they are in one place.
 * Closure tasks only.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SimulatedClock } from 'xstate';
import {
  BreakerOpenError,
  CircuitBreaker,
  type Clock,
  MAX_DELAY_MS,
  QueueOverflowError,
  type SyncTask,
  SyncWorker,
  type SyncWorkerEvents,
  type SyncWorkerOptions,
  TaskTimeoutError,
  WorkerShutdownError,
} from '../../src/index.js';
import {
  controlledTask,
  type Fate,
  failureOf,
  recordingLogger,
  recordingTask,
  settled,
} from '../support/tasks.js';
import { simulatedWorker } from '../support/worker.js';

/** Records unhandled rejections and uncaught exceptions while a test runs. */
function watchProcessErrors() {
  const seen: unknown[] = [];
  const record = (error: unknown) => seen.push(error);
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  return {
    seen,
    stop() {
      process.off('unhandledRejection', record);
      process.off('uncaughtException', record);
    },
  };
}

/** A thenable that is not a Promise and never calls back. */
function neverSettlingThenable(): PromiseLike<never> {
  // biome-ignore lint/suspicious/noThenProperty: a thenable that never calls back, on purpose
  return { then: () => neverSettlingThenable() as never };
}

describe('fault: a task that throws synchronously', () => {
  it.each<[string, unknown]>([
    ['an Error', new Error('sync boom')],
    ['a string', 'sync boom'],
    ['undefined', undefined],
    ['null', null],
    ['an object', { code: 500 }],
  ])(
    'throwing %s fails that task only; enqueue never throws; the next task runs',
    async (_, thrown) => {
      const { worker } = simulatedWorker();
      const bad = recordingTask(() => {
        throw thrown;
      }, 'bad');
      const next = recordingTask(() => 'next', 'next');
      expect(() => worker.enqueue(bad.task)).not.toThrow();
      worker.enqueue(next.task);
      await worker.onIdle();
      const error = failureOf(bad.fates);
      expect(bad.fates).toHaveLength(1);
      if (thrown instanceof Error) expect(error).toBe(thrown);
      else expect(error?.cause).toBe(thrown);
      expect(next.fates).toEqual([{ kind: 'success', value: 'next' }]);
      expect(worker.stats()).toMatchObject({ completed: 1, failed: 1, queued: 0, running: 0 });
    },
  );
});

describe('fault: a task that never settles', () => {
  it.each([
    ['a thenable that never calls back', neverSettlingThenable],
    ['a promise that never settles', () => new Promise<never>(() => {})],
  ])(
    '%s: at the deadline the signal aborts and onFailure gets a TaskTimeoutError; the worker proceeds',
    async (_, make) => {
      const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 100 } });
      let signal: AbortSignal | undefined;
      const hang = recordingTask((context) => {
        signal = context.signal;
        return make();
      }, 'hang');
      const next = recordingTask(() => 'next', 'next');
      worker.enqueue(hang.task);
      worker.enqueue(next.task);
      await settled();
      clock.increment(99);
      expect(hang.fates).toEqual([]);
      expect(next.fates).toEqual([]);
      clock.increment(1);
      const error = failureOf(hang.fates);
      expect(error).toBeInstanceOf(TaskTimeoutError);
      expect((error as TaskTimeoutError).timeoutMs).toBe(100);
      expect(signal?.aborted).toBe(true);
      expect(signal?.reason).toBe(error);
      await worker.onIdle();
      expect(next.fates).toEqual([{ kind: 'success', value: 'next' }]);
      expect(worker.stats()).toMatchObject({ completed: 1, failed: 1, timedOut: 1 });
    },
  );
});

describe('fault: a task that settles after its abort', () => {
  it('resolving in its abort listener is still a timeout, and does not settle the next task', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 100 } });
    const late = recordingTask(
      ({ signal }) =>
        new Promise((resolve) => signal.addEventListener('abort', () => resolve('too late'))),
      'late',
    );
    const next = controlledTask('next');
    worker.enqueue(late.task);
    worker.enqueue(next.task);
    await settled();
    clock.increment(100);
    await next.started;
    await settled(); // the late resolution has arrived while `next` runs
    expect(late.fates).toHaveLength(1);
    expect(failureOf(late.fates)).toBeInstanceOf(TaskTimeoutError);
    expect(next.fates).toEqual([]);
    expect(worker.stats()).toMatchObject({ completed: 0, failed: 1, timedOut: 1, running: 1 });
    expect(worker.latencyTracker?.sampleCount).toBe(1); // the censored sample only
    next.resolve('next');
    await worker.onIdle();
    expect(next.fates).toEqual([{ kind: 'success', value: 'next' }]);
  });

  it('rejecting in its abort listener is one failure: the breaker counts it once', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 100 } });
    const late = recordingTask(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted'))),
        ),
      'late',
    );
    worker.enqueue(late.task);
    await settled();
    clock.increment(100);
    await settled();
    expect(late.fates).toHaveLength(1);
    expect(failureOf(late.fates)).toBeInstanceOf(TaskTimeoutError);
    expect(worker.breaker?.consecutiveFailures).toBe(1);
  });

  it('resolving after the shutdown deadline aborted it leaves its WorkerShutdownError as its only fate', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 60_000 } });
    const running = controlledTask('running');
    worker.enqueue(running.task);
    const { signal } = await running.started;
    const done = worker.shutdown({ timeoutMs: 100 });
    clock.increment(100);
    await done;
    expect(signal.reason).toBeInstanceOf(WorkerShutdownError);
    running.resolve('after shutdown');
    await settled();
    expect(running.fates).toHaveLength(1);
    expect(failureOf(running.fates)).toBeInstanceOf(WorkerShutdownError);
    expect(worker.stats()).toMatchObject({ completed: 0, failed: 1 });
  });
});

describe('fault: enqueue called re-entrantly from inside run', () => {
  it('is accepted and runs after the running task and after the tasks already waiting', async () => {
    const { worker } = simulatedWorker();
    const order: string[] = [];
    const c = recordingTask(() => order.push('c runs'), 'c');
    let accepted: boolean | undefined;
    const a = recordingTask(() => {
      order.push('a runs');
      accepted = worker.enqueue(c.task);
      order.push('a returns');
      return 'a';
    }, 'a');
    const b = recordingTask(() => order.push('b runs'), 'b');
    worker.enqueue(a.task);
    worker.enqueue(b.task);
    await worker.onIdle();
    expect(accepted).toBe(true);
    expect(order).toEqual(['a runs', 'a returns', 'b runs', 'c runs']);
    for (const t of [a, b, c]) expect(t.fates).toHaveLength(1);
  });

  it('a task that re-enqueues itself 1,000 times runs 1,000 times, never nested', async () => {
    const { worker } = simulatedWorker();
    let runs = 0;
    let depth = 0;
    let deepest = 0;
    const task: SyncTask = {
      name: 'again',
      run: () => {
        depth++;
        deepest = Math.max(deepest, depth);
        runs++;
        if (runs < 1_000) worker.enqueue(task);
        depth--;
      },
    };
    worker.enqueue(task);
    await worker.onIdle();
    expect(runs).toBe(1_000);
    expect(deepest).toBe(1);
    expect(worker.stats()).toMatchObject({ completed: 1_000, queued: 0 });
  });
});

/**
 * Each way a task can fail: how to bring it about for `task`, and what an
 * `enqueue` from inside its `onFailure` gets (accepted, or refused with an error).
 */
interface FailurePath {
  name: string;
  error: new (...args: never[]) => Error;
  options: SyncWorkerOptions;
  /** Makes `task` fail this way; resolves when its onFailure has run. */
  fail(worker: SyncWorker, clock: SimulatedClock, task: SyncTask): Promise<void>;
  /** What enqueue returns when called from that onFailure. */
  reentrant: { accepted: true } | { accepted: false; error: new (...args: never[]) => Error };
  /** After the failure: lets the worker take work again (e.g. waits out an open breaker). */
  recover?(clock: SimulatedClock): void;
}

const BREAKER = { breaker: { failureThreshold: 1, probeIntervalMs: 1_000 } };

const FAILURE_PATHS: FailurePath[] = [
  {
    name: 'run rejects',
    error: Error,
    options: {},
    async fail(worker, _clock, task) {
      task.run = () => Promise.reject(new Error('remote down'));
      worker.enqueue(task);
      await worker.onIdle();
    },
    reentrant: { accepted: true },
  },
  {
    name: 'the task times out',
    error: TaskTimeoutError,
    options: { latencyTracker: { defaultMs: 100 } },
    async fail(worker, clock, task) {
      task.run = () => new Promise(() => {});
      worker.enqueue(task);
      await settled();
      clock.increment(100);
    },
    reentrant: { accepted: true },
  },
  {
    name: 'the task is dropped from a full queue',
    error: QueueOverflowError,
    options: { maxQueue: 1 },
    async fail(worker, _clock, task) {
      const running = controlledTask('running');
      worker.enqueue(running.task);
      await running.started;
      worker.enqueue(task);
      worker.enqueue({ name: 'newer', run: () => 'newer' }); // drops task
      running.resolve('done');
      await worker.onIdle();
    },
    reentrant: { accepted: true },
  },
  {
    name: 'enqueue is refused: the breaker is open',
    error: BreakerOpenError,
    options: BREAKER,
    async fail(worker, _clock, task) {
      worker.breaker?.recordFailure();
      worker.enqueue(task);
    },
    reentrant: { accepted: false, error: BreakerOpenError },
    recover: (clock) => clock.increment(1_000),
  },
  {
    name: 'the breaker opens while the task waits (fail-fast)',
    error: BreakerOpenError,
    options: BREAKER,
    async fail(worker, _clock, task) {
      const running = controlledTask('running');
      worker.enqueue(running.task);
      worker.enqueue(task);
      await running.started;
      running.reject(new Error('remote down'));
      await worker.onIdle();
    },
    reentrant: { accepted: false, error: BreakerOpenError },
    recover: (clock) => clock.increment(1_000),
  },
  {
    name: 'enqueue is refused: the worker is shutting down',
    error: WorkerShutdownError,
    options: {},
    async fail(worker, _clock, task) {
      await worker.shutdown();
      worker.enqueue(task);
    },
    reentrant: { accepted: false, error: WorkerShutdownError },
  },
  {
    name: 'the shutdown deadline passes while the task waits',
    error: WorkerShutdownError,
    options: {},
    async fail(worker, clock, task) {
      worker.enqueue({ name: 'hang', run: () => new Promise(() => {}) });
      worker.enqueue(task);
      await settled();
      const done = worker.shutdown({ timeoutMs: 100 });
      clock.increment(100);
      await done;
    },
    reentrant: { accepted: false, error: WorkerShutdownError },
  },
];

describe('fault: enqueue called re-entrantly from inside onFailure', () => {
  it.each(FAILURE_PATHS)('$name: the inner enqueue is handled like any other', async (path) => {
    const { worker, clock } = simulatedWorker(path.options);
    const inner = recordingTask(() => 'inner', 'inner');
    const results: boolean[] = [];
    const outer: SyncTask = {
      name: 'outer',
      run: () => 'never',
      onFailure: () => results.push(worker.enqueue(inner.task)),
    };
    await path.fail(worker, clock, outer);
    expect(results).toHaveLength(1);
    expect(results[0]).toBe(path.reentrant.accepted);
    if (path.reentrant.accepted) {
      await worker.onIdle();
      expect(inner.fates).toEqual([{ kind: 'success', value: 'inner' }]);
    } else {
      expect(inner.fates).toHaveLength(1);
      expect(failureOf(inner.fates)).toBeInstanceOf(path.reentrant.error);
    }
  });
});

describe('fault: an onFailure that throws', () => {
  it.each(FAILURE_PATHS)(
    '$name: the throw is logged, the worker carries on, nothing goes unhandled',
    async (path) => {
      const processErrors = watchProcessErrors();
      try {
        const { logger, lines } = recordingLogger();
        const { worker, clock } = simulatedWorker({ ...path.options, logger });
        const thrown = new Error('onFailure bug');
        const errors: Error[] = [];
        const loud: SyncTask = {
          name: 'loud',
          run: () => 'never',
          onFailure: (error) => {
            errors.push(error);
            throw thrown;
          },
        };
        await path.fail(worker, clock, loud);
        expect(errors).toHaveLength(1);
        expect(errors[0]).toBeInstanceOf(path.error);
        const logged = lines.filter((l) => l.level === 'error');
        expect(logged.map((l) => l.message)).toEqual([
          'SyncWorker: onFailure of task "loud" threw',
        ]);
        expect(logged[0]?.details).toEqual([thrown]);

        // The worker carries on: a later task runs, or the shutdown completes.
        if (worker.state === 'shutdown') {
          expect(worker.isRunning).toBe(false);
        } else {
          path.recover?.(clock);
          const next = recordingTask(() => 'next', 'next');
          expect(worker.enqueue(next.task)).toBe(true);
          await worker.onIdle();
          expect(next.fates).toEqual([{ kind: 'success', value: 'next' }]);
        }
        await settled();
        expect(processErrors.seen).toEqual([]);
      } finally {
        processErrors.stop();
      }
    },
  );

  it('throwing a non-Error (a string) is logged the same way', async () => {
    const { logger, lines } = recordingLogger();
    const { worker } = simulatedWorker({ logger });
    worker.enqueue({
      name: 'loud',
      run: () => Promise.reject(new Error('x')),
      onFailure: () => {
        throw 'not an Error';
      },
    });
    const next = recordingTask(() => 'next');
    worker.enqueue(next.task);
    await worker.onIdle();
    // A thrown primitive is told in the message, where every logger keeps it.
    expect(lines.filter((l) => l.level === 'error').map((l) => [l.message, l.details])).toEqual([
      ['SyncWorker: onFailure of task "loud" threw: "not an Error"', []],
    ]);
    expect(next.fates).toEqual([{ kind: 'success', value: 'next' }]);
  });
});

describe('fault: the SimulatedClock jumps hours forward', () => {
  const HOURS = 5 * 3_600_000;

  it('the running task times out once; the next one starts with its own full timeout', async () => {
    const { worker, clock } = simulatedWorker({
      breaker: false,
      latencyTracker: { defaultMs: 100 },
    });
    const first = controlledTask('first');
    const second = controlledTask('second');
    worker.enqueue(first.task);
    worker.enqueue(second.task);
    await first.started;
    clock.increment(HOURS);
    expect(failureOf(first.fates)).toBeInstanceOf(TaskTimeoutError);
    const { timeoutMs, signal } = await second.started;
    expect(timeoutMs).toBe(100);
    expect(second.fates).toEqual([]);
    expect(signal.aborted).toBe(false);
    clock.increment(99);
    expect(second.fates).toEqual([]);
    clock.increment(1);
    expect(failureOf(second.fates)).toBeInstanceOf(TaskTimeoutError);
    expect(worker.stats()).toMatchObject({ timedOut: 2, failed: 2 });
  });

  it('an open breaker turns half-open once and lets exactly one probe through', async () => {
    const { worker, clock } = simulatedWorker({
      breaker: { failureThreshold: 1, probeIntervalMs: 60_000 },
    });
    const changes: string[] = [];
    worker.on('breakerStateChange', ({ from, to }) => changes.push(`${from}→${to}`));
    worker.breaker?.recordFailure();
    clock.increment(HOURS);
    expect(changes).toEqual(['closed→open', 'open→half_open']);
    const probe = controlledTask('probe');
    const next = controlledTask('next');
    worker.enqueue(probe.task);
    worker.enqueue(next.task);
    await probe.started;
    await settled();
    expect(next.hasStarted).toBe(false);
    probe.resolve('ok');
    await next.started;
    next.resolve('ok');
    await worker.onIdle();
    expect(changes).toEqual(['closed→open', 'open→half_open', 'half_open→closed']);
  });

  it('a latency of days pins the timeout at its ceiling, never above 2³¹−1 ms', async () => {
    const { worker, clock } = simulatedWorker({
      breaker: false,
      latencyTracker: {
        defaultMs: MAX_DELAY_MS,
        ceilingMs: MAX_DELAY_MS,
        warmupSamples: 1,
        headroom: 3,
      },
    });
    const slow = controlledTask('slow');
    worker.enqueue(slow.task);
    await slow.started;
    clock.increment(10 * 24 * 3_600_000); // 10 days: 3 × that is above 2³¹−1
    slow.resolve('finally');
    await worker.onIdle();
    expect(slow.fates).toEqual([{ kind: 'success', value: 'finally' }]);
    expect(worker.latencyTracker?.p95).toBe(10 * 24 * 3_600_000);
    expect(worker.stats().timeoutMs).toBe(MAX_DELAY_MS);
    const next = controlledTask('next');
    worker.enqueue(next.task);
    const { timeoutMs } = await next.started;
    expect(timeoutMs).toBe(MAX_DELAY_MS);
    clock.increment(MAX_DELAY_MS - 1);
    expect(next.fates).toEqual([]);
    clock.increment(1);
    expect(failureOf(next.fates)).toBeInstanceOf(TaskTimeoutError);
  });

  it('a jump past the shutdown deadline fails what is left with WorkerShutdownError and resolves', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 2 * HOURS } });
    const running = controlledTask('running');
    const waiting = recordingTask(() => 'never', 'waiting');
    worker.enqueue(running.task);
    worker.enqueue(waiting.task);
    await running.started;
    const done = worker.shutdown({ timeoutMs: 60_000 });
    clock.increment(HOURS);
    await done;
    expect(failureOf(running.fates)).toBeInstanceOf(WorkerShutdownError);
    expect(failureOf(waiting.fates)).toBeInstanceOf(WorkerShutdownError);
    expect(worker.stats()).toMatchObject({ failed: 2, timedOut: 0, state: 'shutdown' });
  });
});

describe('fault: the wall clock jumps (timers run on monotonic time)', () => {
  const HOUR = 3_600_000;
  beforeEach(() => {
    // performance.now and the timers follow the fake clock; vi.setSystemTime moves Date alone.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a task times out after exactly its timeout, with the wall clock jumping back and forth', async () => {
    const worker = new SyncWorker({ breaker: false, latencyTracker: { defaultMs: 1_000 } });
    const hang = controlledTask('hang');
    worker.enqueue(hang.task);
    await hang.started;
    vi.setSystemTime(Date.now() + HOUR);
    vi.advanceTimersByTime(999);
    expect(hang.fates).toEqual([]);
    vi.setSystemTime(Date.now() - 2 * HOUR); // a clock read from Date would now be an hour early
    vi.advanceTimersByTime(1);
    expect(failureOf(hang.fates)).toBeInstanceOf(TaskTimeoutError);
    await worker.shutdown();
  });

  it('latency is measured on monotonic time', async () => {
    const worker = new SyncWorker({
      breaker: false,
      latencyTracker: { warmupSamples: 1, floorMs: 0, headroom: 1 },
    });
    const task = controlledTask('measured');
    worker.enqueue(task.task);
    await task.started;
    vi.advanceTimersByTime(100);
    vi.setSystemTime(Date.now() + HOUR);
    vi.advanceTimersByTime(150);
    task.resolve('ok');
    await worker.onIdle();
    expect(worker.latencyTracker?.p95).toBe(250);
    expect(worker.stats().timeoutMs).toBe(250);
    await worker.shutdown();
  });

  it("the breaker's open spell and probe permit last exactly their intervals", () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      probeIntervalMs: 1_000,
      probeTimeoutMs: 500,
    });
    breaker.recordFailure();
    vi.setSystemTime(Date.now() + HOUR);
    vi.advanceTimersByTime(999);
    expect(breaker.state).toBe('open');
    vi.setSystemTime(Date.now() - 2 * HOUR);
    vi.advanceTimersByTime(1);
    expect(breaker.state).toBe('half_open');
    expect(breaker.allow()).toBe(true);
    vi.setSystemTime(Date.now() + 5 * HOUR);
    vi.advanceTimersByTime(499);
    expect(breaker.state).toBe('half_open');
    vi.advanceTimersByTime(1);
    expect(breaker.state).toBe('open'); // the unreported permit counted as a failed probe
    breaker.dispose();
  });

  it("a worker's own breaker waits exactly probeIntervalMs, whatever the wall clock does", () => {
    const worker = new SyncWorker({ breaker: { failureThreshold: 1, probeIntervalMs: 1_000 } });
    worker.breaker?.recordFailure();
    vi.setSystemTime(Date.now() - 3 * HOUR);
    vi.advanceTimersByTime(999);
    expect(worker.breaker?.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(worker.breaker?.state).toBe('half_open');
    return worker.shutdown();
  });

  it('control: a clock built on Date.now is derailed by the same jump (so these tests can fail)', async () => {
    const wallClock: Clock = {
      now: () => Date.now(),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (id) => clearTimeout(id as Parameters<typeof clearTimeout>[0]),
    };
    const worker = new SyncWorker({
      clock: wallClock,
      breaker: false,
      latencyTracker: { defaultMs: 1_000 },
    });
    const hang = controlledTask('hang');
    worker.enqueue(hang.task);
    await hang.started;
    vi.setSystemTime(Date.now() - HOUR);
    vi.advanceTimersByTime(1_000);
    expect(hang.fates).toEqual([]); // an hour late: the deadline is now an hour away
    vi.advanceTimersByTime(HOUR);
    expect(failureOf(hang.fates)).toBeInstanceOf(TaskTimeoutError);
    await worker.shutdown();
  });
});

describe('fault: listeners that throw inside event handlers', () => {
  const TASK_EVENTS = ['taskSucceeded', 'taskFailed', 'taskTimedOut', 'taskDropped'] as const;
  const ALL_EVENTS = [...TASK_EVENTS, 'breakerStateChange', 'stateChange'] as const;

  it('a throwing listener on every worker event is logged; other listeners and every task are unaffected', async () => {
    const processErrors = watchProcessErrors();
    try {
      const { logger, lines } = recordingLogger();
      const { worker, clock } = simulatedWorker({
        logger,
        maxQueue: 1,
        breaker: { failureThreshold: 2, probeIntervalMs: 1_000 },
        latencyTracker: { defaultMs: 100 },
      });
      const heard: string[] = [];
      for (const type of ALL_EVENTS) {
        worker.on(type, () => {
          throw new Error(`${type} listener bug`);
        });
        worker.on(type, (event: SyncWorkerEvents[typeof type]) => {
          heard.push('task' in event ? `${type}:${(event.task as SyncTask).name}` : type);
        });
      }
      const hang = controlledTask('hang');
      const dropped = recordingTask(() => 'never', 'dropped');
      const bad = recordingTask(() => Promise.reject(new Error('remote down')), 'bad');
      worker.enqueue(hang.task);
      await hang.started;
      worker.enqueue(dropped.task);
      worker.enqueue(bad.task); // drops `dropped`
      clock.increment(100); // `hang` times out (failure 1), then `bad` fails (failure 2): open
      await worker.onIdle();
      expect(worker.breaker?.state).toBe('open');
      clock.increment(1_000);
      const probe = recordingTask(() => 'probe', 'probe');
      worker.enqueue(probe.task);
      await worker.onIdle();

      expect(failureOf(hang.fates)).toBeInstanceOf(TaskTimeoutError);
      expect(failureOf(dropped.fates)).toBeInstanceOf(QueueOverflowError);
      expect(bad.fates).toHaveLength(1);
      expect(probe.fates).toEqual([{ kind: 'success', value: 'probe' }]);
      // Every emission reached the second listener although the first one threw:
      // per event type, as many heard as logged.
      const threwPerType = new Map<string, number>();
      for (const line of lines.filter((l) => l.level === 'error')) {
        const type = /a "(\w+)" listener threw/.exec(line.message)?.[1] ?? line.message;
        threwPerType.set(type, (threwPerType.get(type) ?? 0) + 1);
      }
      const heardPerType = new Map<string, number>();
      for (const h of heard) {
        const type = h.split(':')[0] as string;
        heardPerType.set(type, (heardPerType.get(type) ?? 0) + 1);
      }
      expect(threwPerType).toEqual(heardPerType);
      expect([...heardPerType.keys()].sort()).toEqual([...ALL_EVENTS].sort());
      expect(heard.filter((h) => h.includes(':')).sort()).toEqual(
        [
          'taskDropped:dropped',
          'taskTimedOut:hang',
          'taskFailed:bad',
          'taskSucceeded:probe',
        ].sort(),
      );
      expect(heardPerType.get('breakerStateChange')).toBe(3); // closed→open→half_open→closed
      expect(worker.breaker?.state).toBe('closed');
      await settled();
      expect(processErrors.seen).toEqual([]);
    } finally {
      processErrors.stop();
    }
  });

  it('listeners throwing non-Errors while the shutdown deadline fails tasks are logged; every task gets its fate', async () => {
    const { logger, lines } = recordingLogger();
    const { worker, clock } = simulatedWorker({ logger, latencyTracker: { defaultMs: 60_000 } });
    worker.on('taskFailed', () => {
      throw 'taskFailed listener bug';
    });
    worker.on('stateChange', () => {
      throw undefined;
    });
    const running = controlledTask('running');
    const waiting = recordingTask(() => 'never', 'waiting');
    worker.enqueue(running.task);
    worker.enqueue(waiting.task);
    await running.started;
    const done = worker.shutdown({ timeoutMs: 100 });
    clock.increment(100);
    await done;
    for (const fates of [running.fates, waiting.fates] as Fate[][]) {
      expect(fates).toHaveLength(1);
      expect(failureOf(fates)).toBeInstanceOf(WorkerShutdownError);
    }
    // Thrown primitives are told in the message, where every logger keeps them.
    const messages = lines.filter((l) => l.level === 'error').map((l) => l.message);
    expect(
      messages.filter((m) => m.endsWith('listener threw: "taskFailed listener bug"')),
    ).toHaveLength(2);
    expect(messages).toContain('SyncWorker: a "stateChange" listener threw: undefined');
    expect(worker.state).toBe('shutdown');
  });

  it("a throwing stateChange listener on the worker's own breaker does not stop waiting tasks failing fast", async () => {
    const { logger, lines } = recordingLogger();
    const { worker } = simulatedWorker({ logger, breaker: { failureThreshold: 1 } });
    worker.breaker?.on('stateChange', () => {
      throw new Error('breaker listener bug');
    });
    const running = controlledTask('running');
    const waiting = recordingTask(() => 'never', 'waiting');
    worker.enqueue(running.task);
    worker.enqueue(waiting.task);
    await running.started;
    running.reject(new Error('remote down'));
    await worker.onIdle();
    expect(failureOf(waiting.fates)).toBeInstanceOf(BreakerOpenError);
    expect(lines.some((l) => l.message === 'CircuitBreaker: a "stateChange" listener threw')).toBe(
      true,
    );
  });
});
