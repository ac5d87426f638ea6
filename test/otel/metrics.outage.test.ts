/**
 * The OpenTelemetry instrumentation, read through the real SDK (MeterProvider,
 * periodic reader, in-memory exporter): a worker with closure tasks and
 * durable tasks on an LMDB backlog goes through an overflow, a timeout, a dead
 * letter, an outage that opens the breaker, and the recovery.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { NonRetryableError, SyncWorker } from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { instrument, SYNC_WORKER_METRICS as M } from '../../src/otel/index.js';
import { advance } from '../support/durable.js';
import { countOf, otelHarness, type Point, pointsWhere, pointValue } from '../support/otel.js';
import { controlledTask, settled } from '../support/tasks.js';
import { tempDirs } from '../support/temp-dirs.js';

const newDir = tempDirs('otel-outage-');
const otel = otelHarness();
const T0 = Date.UTC(2026, 0, 1);

beforeEach(() => {
  // Only Date: ages are wall-clock; every timer of the worker runs on its SimulatedClock.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

function outageWorker() {
  const clock = new SimulatedClock();
  const remote = { down: false };
  const worker = new SyncWorker({
    name: 'writes',
    clock,
    maxQueue: 2,
    breaker: { failureThreshold: 2, probeIntervalMs: 1_000 },
    // Never warm in this test, so every run gets the same 100 ms timeout.
    latencyTracker: { defaultMs: 100, warmupSamples: 20 },
    countsAsFailure: (error) => !(error instanceof NonRetryableError),
    backlog: lmdbBacklog({ path: newDir() }),
    handlers: {
      write: (payload) => {
        if (payload === 'poison') throw new NonRetryableError('the service rejects this payload');
        if (remote.down) throw new Error('connection refused');
      },
    },
    retry: { maxAttempts: 5, baseMs: 10, maxMs: 10 },
  });
  return { worker, clock, remote };
}

const fate = (name: string, value: string) => ({
  'messaging.destination.name': name,
  'sync_worker.task.fate': value,
});
const run = (name: string, errorType?: string) => ({
  'messaging.destination.name': name,
  'error.type': errorType,
});

/** Closure tasks that succeed at once. */
function track(worker: SyncWorker, count: number): boolean[] {
  return Array.from({ length: count }, () => worker.enqueue({ name: 'track', run: () => 'ok' }));
}

describe('instrument(): a worker through an outage, as the SDK exports it', () => {
  it('counts every fate per name, records each run, and follows the breaker, backlog and lifecycle', async () => {
    const { worker, clock, remote } = outageWorker();
    const { meter, collect } = otel();
    instrument(worker, { meter });

    // Healthy: closure and durable deliveries, one dead letter, one timeout, one overflow.
    track(worker, 2);
    worker.enqueue({ handler: 'write', payload: 'd1', key: 'session-1', id: 'id-d1' });
    worker.enqueue({ handler: 'write', payload: 'd2', key: 'session-1', id: 'id-d2' });
    worker.enqueue({ handler: 'write', payload: 'poison', key: 'session-2', id: 'id-poison' });
    await worker.flush();
    await worker.onIdle();
    const slow = controlledTask('slow');
    worker.enqueue(slow.task);
    await slow.started;
    await advance(clock, 100); // its timeout
    const hold = controlledTask('hold');
    worker.enqueue(hold.task);
    await hold.started;
    track(worker, 3); // maxQueue 2: the oldest waiting one is dropped
    clock.increment(30);
    hold.resolve('done');
    await worker.onIdle();

    // The outage: a closure failure and a durable failure open the breaker.
    remote.down = true;
    worker.enqueue({ name: 'track', run: () => Promise.reject(new Error('connection refused')) });
    await worker.onIdle();
    worker.enqueue({ handler: 'write', payload: 'd3', key: 'session-1', id: 'id-d3' });
    await worker.flush();
    await settled();
    expect(worker.breaker?.state).toBe('open');
    expect(track(worker, 1)).toEqual([false]); // refused while open
    worker.enqueue({ handler: 'write', payload: 'd4', key: 'session-3', id: 'id-d4' });
    await worker.flush();
    vi.setSystemTime(T0 + 30_000);

    const during = await collect();
    expect(pointValue(during, M.tasks, fate('track', 'succeeded'))).toBe(4);
    expect(pointValue(during, M.tasks, fate('track', 'dropped'))).toBe(1);
    expect(pointValue(during, M.tasks, fate('track', 'failed'))).toBe(1);
    expect(pointValue(during, M.tasks, fate('track', 'refused'))).toBe(1);
    expect(pointValue(during, M.tasks, fate('slow', 'timed_out'))).toBe(1);
    expect(pointValue(during, M.tasks, fate('hold', 'succeeded'))).toBe(1);
    expect(pointValue(during, M.tasks, fate('write', 'succeeded'))).toBe(2);
    expect(pointValue(during, M.tasks, fate('write', 'dead_lettered'))).toBe(1);
    expect(pointValue(during, M.tasks, fate('write', 'failed'))).toBe(0);
    expect(pointValue(during, M.retries, { 'messaging.destination.name': 'write' })).toBe(1);

    // One histogram point per name and error type: a run, never a task id or key.
    expect(countOf(during, M.runDuration, run('track'))).toBe(4);
    expect(countOf(during, M.runDuration, run('track', 'Error'))).toBe(1);
    expect(countOf(during, M.runDuration, run('write'))).toBe(2);
    expect(countOf(during, M.runDuration, run('write', 'NonRetryableError'))).toBe(1);
    expect(countOf(during, M.runDuration, run('write', 'Error'))).toBe(1);
    const timedOut = pointValue(during, M.runDuration, run('slow', 'TaskTimeoutError'));
    expect(timedOut).toMatchObject({ count: 1, sum: 0.1 });
    expect(pointValue(during, M.runDuration, run('hold'))).toMatchObject({ count: 1, sum: 0.03 });
    expect(pointsWhere(during, M.runDuration)[0]?.attributes).toMatchObject({
      'messaging.system': 'xstate-sync-worker',
      'messaging.operation.name': 'process',
      'sync_worker.name': 'writes',
    });

    expect(pointValue(during, M.breakerState, { 'sync_worker.breaker.state': 'open' })).toBe(1);
    expect(pointValue(during, M.breakerState, { 'sync_worker.breaker.state': 'closed' })).toBe(0);
    expect(pointValue(during, M.lifecycleState, { 'sync_worker.lifecycle.state': 'blocked' })).toBe(
      1,
    );
    expect(pointValue(during, M.backlogSize)).toBe(2);
    expect(pointValue(during, M.backlogOldestAge)).toBe(30);
    expect(pointValue(during, M.queueSize, { 'sync_worker.task.kind': 'durable' })).toBe(
      worker.stats().backlogInMemory,
    );
    expect(pointValue(during, M.queueSize, { 'sync_worker.task.kind': 'closure' })).toBe(0);
    expect(pointValue(during, M.runsActive)).toBe(0);
    expect(pointValue(during, M.timeout)).toBe(0.1);
    expect(pointValue(during, M.latencyP95)).toBe((worker.latencyTracker?.p95 as number) / 1_000);
    expectNoIdOrKey(during);

    // Recovery: the probe delivers the oldest kept task, the breaker closes, the backlog drains.
    remote.down = false;
    await advance(clock, 1_000);
    await worker.onIdle();
    await advance(clock, 1); // idleAfterMs
    const after = await collect();
    expect(pointValue(after, M.breakerState, { 'sync_worker.breaker.state': 'closed' })).toBe(1);
    expect(pointValue(after, M.breakerState, { 'sync_worker.breaker.state': 'open' })).toBe(0);
    expect(pointValue(after, M.tasks, fate('write', 'succeeded'))).toBe(4);
    expect(pointValue(after, M.backlogSize)).toBe(0);
    expect(pointValue(after, M.backlogOldestAge)).toBe(0);
    expect(pointValue(after, M.lifecycleState, { 'sync_worker.lifecycle.state': 'idle' })).toBe(1);

    await worker.shutdown();
    const stopped = await collect();
    expect(
      pointValue(stopped, M.lifecycleState, { 'sync_worker.lifecycle.state': 'shutdown' }),
    ).toBe(1);
    expect(pointValue(stopped, M.lifecycleState, { 'sync_worker.lifecycle.state': 'idle' })).toBe(
      0,
    );
  });

  it('reports the instruments with their units', async () => {
    const { worker } = outageWorker();
    const { meter, collect } = otel();
    instrument(worker, { meter });
    track(worker, 1);
    await worker.onIdle();
    const units = Object.fromEntries((await collect()).map((point) => [point.metric, point.unit]));
    expect(units).toEqual({
      [M.tasks]: '{task}',
      [M.retries]: '{retry}',
      [M.runDuration]: 's',
      [M.queueSize]: '{task}',
      [M.runsActive]: '{run}',
      [M.backlogSize]: '{task}',
      [M.backlogOldestAge]: 's',
      [M.timeout]: 's',
      [M.breakerState]: '1',
      [M.lifecycleState]: '1',
      [M.latencyP95]: 's',
    });
    await worker.shutdown();
  });
});

/** No attribute of any point carries a task's id or key. */
function expectNoIdOrKey(points: readonly Point[]): void {
  const values = new Set(points.flatMap((point) => Object.values(point.attributes)));
  for (const secret of ['id-d1', 'id-d3', 'id-poison', 'session-1', 'session-2', 'session-3']) {
    expect(values.has(secret)).toBe(false);
  }
}
