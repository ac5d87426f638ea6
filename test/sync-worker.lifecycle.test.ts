import { describe, expect, it } from 'vitest';
import { type InspectionEvent, SimulatedClock } from 'xstate';
import {
  CircuitBreaker,
  LatencyTracker,
  type SyncTask,
  SyncWorker,
  type SyncWorkerEvents,
  WorkerShutdownError,
} from '../src/index.js';
import {
  controlledTask,
  failureOf,
  recordingLogger,
  recordingTask,
  settled,
} from './support/tasks.js';
import { simulatedWorker } from './support/worker.js';

describe('SyncWorker shutdown', () => {
  it('is idempotent and refuses later tasks with a WorkerShutdownError', async () => {
    const { worker } = simulatedWorker();
    const first = worker.shutdown();
    expect(worker.shutdown()).toBe(first);
    await first;
    const late = recordingTask(() => 1);
    expect(worker.enqueue(late.task)).toBe(false);
    expect(failureOf(late.fates)).toBeInstanceOf(WorkerShutdownError);
    expect(worker.isRunning).toBe(false);
    expect(worker.state).toBe('shutdown');
  });

  it('drains queued tasks that finish before the deadline, then stops its actors', async () => {
    const { worker } = simulatedWorker();
    const a = controlledTask('a');
    const b = recordingTask(async () => 'b');
    worker.enqueue(a.task);
    worker.enqueue(b.task);
    await a.started;
    const done = worker.shutdown({ timeoutMs: 1_000 });
    expect(worker.state).toBe('stopping');
    expect(worker.enqueue({ run: () => 1 })).toBe(false);
    a.resolve('a');
    await done;
    expect(a.fates).toEqual([{ kind: 'success', value: 'a' }]);
    expect(b.fates).toEqual([{ kind: 'success', value: 'b' }]);
    expect(worker.isRunning).toBe(false);
    expect(worker.actor.getSnapshot().status).not.toBe('active');
    expect(worker.breaker?.actor.getSnapshot().status).toBe('stopped');
  });

  it('at the deadline aborts the running task and fails the rest with WorkerShutdownError', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 60_000 } });
    const running = controlledTask('running');
    const waiting = [recordingTask(() => 1, 'w1'), recordingTask(() => 2, 'w2')];
    worker.enqueue(running.task);
    for (const w of waiting) worker.enqueue(w.task);
    const { signal } = await running.started;
    const done = worker.shutdown({ timeoutMs: 500 });
    let resolved = false;
    done.then(() => (resolved = true));
    clock.increment(499);
    await settled();
    expect(resolved).toBe(false);
    clock.increment(1);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(WorkerShutdownError);
    await done;
    expect(failureOf(running.fates)).toBeInstanceOf(WorkerShutdownError);
    for (const w of waiting) expect(failureOf(w.fates)).toBeInstanceOf(WorkerShutdownError);
    // The running task settles after shutdown: still exactly one fate.
    running.resolve('late');
    await settled();
    expect(running.fates).toHaveLength(1);
    expect(worker.isRunning).toBe(false);
    expect(worker.stats()).toMatchObject({ failed: 3, queued: 0, running: 0, state: 'shutdown' });
  });

  it('resolves at once when nothing was ever enqueued', async () => {
    const { worker } = simulatedWorker();
    await worker.shutdown();
    expect(worker.actor.getSnapshot().status).not.toBe('active');
  });

  it('does not stop a breaker or tracker the user passed in', async () => {
    const clock = new SimulatedClock();
    const breaker = new CircuitBreaker({ clock });
    const tracker = new LatencyTracker();
    const worker = new SyncWorker({ clock, breaker, latencyTracker: tracker });
    await worker.shutdown();
    expect(breaker.actor.getSnapshot().status).toBe('active');
    expect(tracker.actor.getSnapshot().status).toBe('active');
    breaker.dispose();
    tracker.dispose();
  });

  it('rejects an invalid shutdown timeout', () => {
    const { worker } = simulatedWorker();
    expect(() => worker.shutdown({ timeoutMs: -1 })).toThrow(RangeError);
    expect(() => worker.shutdown({ timeoutMs: 2 ** 31 })).toThrow(/timeoutMs/);
  });
});

describe('SyncWorker: exactly one fate', () => {
  it('holds when callbacks throw: the error goes to the logger and the worker carries on', async () => {
    const { logger, lines } = recordingLogger();
    const { worker } = simulatedWorker({ logger, breaker: { failureThreshold: 1 } });
    let failures = 0;
    worker.enqueue({
      name: 'loud',
      run: () => 1,
      onSuccess: () => {
        throw new Error('onSuccess bug');
      },
      onFailure: () => failures++,
    });
    const next = recordingTask(() => 2);
    worker.enqueue(next.task);
    await worker.onIdle();
    expect(failures).toBe(0);
    expect(next.fates).toEqual([{ kind: 'success', value: 2 }]);
    worker.breaker?.recordFailure();
    const refused: SyncTask = {
      run: () => 1,
      onFailure: () => {
        throw new Error('onFailure bug');
      },
    };
    expect(worker.enqueue(refused)).toBe(false);
    const messages = lines.filter((l) => l.level === 'error').map((l) => l.message);
    expect(messages).toEqual([
      'SyncWorker: onSuccess of task "loud" threw',
      'SyncWorker: onFailure of task "sync" threw',
    ]);
  });

  it('holds for a task that calls back twice through a misbehaving thenable', async () => {
    const { worker } = simulatedWorker();
    const t = recordingTask(() => ({
      // biome-ignore lint/suspicious/noThenProperty: a deliberately broken thenable
      then(ok: (v: unknown) => void, fail: (e: unknown) => void) {
        ok('first');
        fail(new Error('second'));
        ok('third');
      },
    }));
    worker.enqueue(t.task);
    await worker.onIdle();
    expect(t.fates).toEqual([{ kind: 'success', value: 'first' }]);
  });
});

describe('SyncWorker events and stats', () => {
  it('emits exactly one task event per task, matching its callback', async () => {
    const { worker, clock } = simulatedWorker({ maxQueue: 1, latencyTracker: { defaultMs: 100 } });
    const seen: string[] = [];
    for (const type of ['taskSucceeded', 'taskFailed', 'taskTimedOut', 'taskDropped'] as const) {
      worker.on(type, (event: SyncWorkerEvents[typeof type]) =>
        seen.push(`${type}:${'handler' in event.task ? event.task.handler : event.task.name}`),
      );
    }
    const hang = controlledTask('hang');
    worker.enqueue(hang.task);
    await hang.started;
    worker.enqueue({ name: 'dropped', run: () => 1 });
    worker.enqueue({ name: 'ok', run: () => 1 });
    clock.increment(100);
    await worker.onIdle();
    worker.enqueue({ name: 'bad', run: () => Promise.reject(new Error('x')) });
    await worker.onIdle();
    expect(seen).toEqual([
      'taskDropped:dropped',
      'taskTimedOut:hang',
      'taskSucceeded:ok',
      'taskFailed:bad',
    ]);
  });

  it('emits breaker and lifecycle state changes', async () => {
    const { worker, clock } = simulatedWorker({ breaker: { failureThreshold: 1 } });
    const breakerChanges: string[] = [];
    const lifecycle: string[] = [];
    worker.on('breakerStateChange', ({ from, to }) => breakerChanges.push(`${from}→${to}`));
    worker.on('stateChange', ({ from, to }) => lifecycle.push(`${from}→${to}`));
    worker.enqueue({ run: () => Promise.reject(new Error('x')) });
    await worker.onIdle();
    clock.increment(1); // idleAfterMs: the lifecycle goes idle once no work came for 1 ms
    await worker.shutdown();
    expect(breakerChanges).toEqual(['closed→open']);
    expect(lifecycle).toEqual(['idle→draining', 'draining→idle', 'idle→shutdown']);
  });

  it('on() refuses an unknown event name instead of never firing', () => {
    const { worker } = simulatedWorker();
    expect(() => worker.on('taskSucceded' as never, () => {})).toThrow(
      /unknown event "taskSucceded"/,
    );
    expect(() => worker.breaker?.on('open' as never, () => {})).toThrow(TypeError);
    expect(() => worker.on('taskFailed', 'not a function' as never)).toThrow(TypeError);
  });

  it('stats() reports every counter', async () => {
    const { worker, clock } = simulatedWorker({ maxQueue: 1 });
    const hang = controlledTask();
    worker.enqueue(hang.task);
    await hang.started;
    worker.enqueue({ run: () => 1 });
    worker.enqueue({ run: () => Promise.reject(new Error('x')) });
    expect(worker.stats()).toEqual({
      queued: 1,
      running: 1,
      completed: 0,
      failed: 0,
      timedOut: 0,
      backlog: 0,
      backlogInMemory: 0,
      retried: 0,
      deadLettered: 0,
      dropped: 1,
      refused: 0,
      breakerState: 'closed',
      timeoutMs: 30_000,
      state: 'draining',
      drain: 'running',
      persisting: false,
      replaying: false,
    });
    hang.resolve(undefined);
    await worker.onIdle();
    clock.increment(1);
    expect(worker.stats()).toMatchObject({
      queued: 0,
      running: 0,
      completed: 1,
      failed: 1,
      state: 'idle',
    });
  });
});

describe('SyncWorker actors', () => {
  it('creates breaker and tracker as invoked children with systemIds', () => {
    const { worker } = simulatedWorker();
    const system = worker.actor.system;
    expect(system.get('worker')).toBeDefined();
    expect(system.get('breaker')).toBe(worker.breaker?.actor);
    expect(system.get('tracker')).toBe(worker.latencyTracker?.actor);
    expect(worker.actor.getSnapshot().value).toEqual({
      running: { lifecycle: 'active', breaker: 'owned', tracker: 'owned', backlog: 'none' },
    });
  });

  it("dispose() on the worker's own breaker and tracker leaves them working: the worker owns them", async () => {
    const { worker } = simulatedWorker({ breaker: { failureThreshold: 1 } });
    worker.breaker?.dispose();
    worker.latencyTracker?.dispose();
    worker.enqueue({ run: () => Promise.reject(new Error('down')) });
    await worker.onIdle();
    expect(worker.breaker?.state).toBe('open');
    expect(worker.breaker?.actor.getSnapshot().status).toBe('active');
    expect(worker.enqueue({ run: () => 1 })).toBe(false);
  });

  it('connects to a breaker and tracker passed in by reference', () => {
    const breaker = new CircuitBreaker({ clock: new SimulatedClock() });
    const tracker = new LatencyTracker();
    const { worker } = simulatedWorker({ breaker, latencyTracker: tracker });
    expect(worker.breaker).toBe(breaker);
    expect(worker.latencyTracker).toBe(tracker);
    expect(worker.actor.system.get('breaker')).toBeUndefined();
    expect(worker.actor.getSnapshot().value).toMatchObject({
      running: { breaker: 'external', tracker: 'external' },
    });
  });

  it('one callback inspector hears the worker, breaker and tracker actors', async () => {
    const heard = new Map<string, string[]>();
    const inspect = (event: InspectionEvent) => {
      if (event.type !== '@xstate.event') return;
      const id = (event.actorRef as { id?: string }).id ?? '?';
      heard.set(id, [...(heard.get(id) ?? []), event.event.type]);
    };
    const { worker } = simulatedWorker({
      inspect,
      breaker: { failureThreshold: 1 },
      latencyTracker: { warmupSamples: 1 },
      idleAfterMs: 0,
    });
    worker.enqueue({ run: () => 1 });
    await worker.onIdle();
    worker.enqueue({ run: () => Promise.reject(new Error('x')) });
    await worker.onIdle();
    expect(heard.get('worker')).toEqual(
      expect.arrayContaining(['WORK_QUEUED', 'NOTHING_RUNNABLE']),
    );
    expect(heard.get('tracker')).toEqual(expect.arrayContaining(['WARMED_UP']));
    expect(heard.get('breaker')).toEqual(expect.arrayContaining(['FAILURE']));
  });

  it('sends no XState event per task on the happy path', async () => {
    let events = 0;
    const { worker, clock } = simulatedWorker({
      inspect: (e) => {
        if (e.type === '@xstate.event') events++;
      },
      latencyTracker: { warmupSamples: 1 },
    });
    worker.enqueue({ run: () => 1 });
    await worker.onIdle();
    clock.increment(1);
    const afterWarmUp = events;
    for (let i = 0; i < 1_000; i++) worker.enqueue({ run: () => i });
    await worker.onIdle();
    clock.increment(1);
    // One burst is one idle → draining → idle round trip: two events, whatever its size.
    expect(events - afterWarmUp).toBe(2);
  });

  it('bursts closer together than idleAfterMs cost no lifecycle event at all', async () => {
    let events = 0;
    const { worker, clock } = simulatedWorker({
      inspect: (e) => {
        if (e.type === '@xstate.event' && e.event.type.startsWith('WORK_')) events++;
        if (e.type === '@xstate.event' && e.event.type === 'NOTHING_RUNNABLE') events++;
      },
      idleAfterMs: 5,
    });
    worker.enqueue({ run: () => 0 });
    await worker.onIdle(); // resolves as soon as the queue is empty…
    expect(worker.state).toBe('draining'); // …while the lifecycle lingers
    for (let burst = 1; burst <= 3; burst++) {
      clock.increment(4);
      worker.enqueue({ run: () => burst });
      await worker.onIdle();
    }
    expect(events).toBe(1); // the first WORK_QUEUED only
    clock.increment(4);
    expect(worker.state).toBe('draining');
    clock.increment(1);
    expect(worker.state).toBe('idle');
    expect(events).toBe(2);
  });

  it('with trace: true sends per-task trace events for the inspector', async () => {
    const traced: string[] = [];
    const { worker } = simulatedWorker({
      trace: true,
      inspect: (e) => {
        if (e.type === '@xstate.event' && e.event.type.startsWith('trace.'))
          traced.push(e.event.type);
      },
    });
    worker.enqueue({ name: 't', run: () => 1 });
    await worker.onIdle();
    expect(traced).toEqual(['trace.taskStarted', 'trace.taskSettled']);
  });

  it('with an external breaker whose permit is taken elsewhere, blocks until it moves on', async () => {
    const clock = new SimulatedClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, probeIntervalMs: 1_000, clock });
    const { worker } = simulatedWorker({ breaker, idleAfterMs: 0 });
    breaker.recordFailure();
    clock.increment(1_000);
    expect(breaker.allow()).toBe(true); // another caller holds the probe
    const t = recordingTask(() => 'ran');
    expect(worker.enqueue(t.task)).toBe(true);
    await settled();
    expect(worker.state).toBe('blocked');
    breaker.recordSuccess(); // the other caller's probe succeeds
    await worker.onIdle();
    expect(t.fates).toEqual([{ kind: 'success', value: 'ran' }]);
    expect(worker.state).toBe('idle');
  });

  it('fails waiting tasks when an external breaker is opened by someone else', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock: new SimulatedClock() });
    const { worker } = simulatedWorker({ breaker });
    const running = controlledTask();
    const waiting = recordingTask(() => 1);
    worker.enqueue(running.task);
    worker.enqueue(waiting.task);
    await running.started;
    breaker.recordFailure();
    // Waiting tasks fail fast one microtask after the breaker opens, so the task whose
    // failure opened it (in any worker sharing the breaker) hears its own fate first.
    await settled();
    expect(failureOf(waiting.fates)?.name).toBe('BreakerOpenError');
    running.resolve('fine');
    await worker.onIdle();
    expect(running.fates).toEqual([{ kind: 'success', value: 'fine' }]);
    expect(breaker.state).toBe('open'); // the success began before it opened: ignored
  });
});
