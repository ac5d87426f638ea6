/**
 * What `instrument()` promises besides the outage story: bounded attribute
 * values, one histogram sample per run (a batch is one), detaching, and
 * validation. Every point is read through the real SDK.
 */
import type { Meter } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { memoryBacklog, SyncWorker } from '../../src/index.js';
import {
  instrument,
  SYNC_WORKER_METRICS as M,
  MAX_ERROR_TYPES,
  OTHER_TASK_NAME,
} from '../../src/otel/index.js';
import { countOf, otelHarness, pointsWhere, pointValue } from '../support/otel.js';
import { recordingTask } from '../support/tasks.js';
import { simulatedWorker } from '../support/worker.js';

const otel = otelHarness();

/** Enqueues one task that succeeds under each name, and waits for them. */
async function runNamed(worker: SyncWorker, names: readonly string[]): Promise<void> {
  for (const name of names) worker.enqueue({ name, run: () => 'ok' });
  await worker.onIdle();
}

describe('instrument(): bounded names', () => {
  it('gives the first maxNames names their own value and counts the rest as _OTHER', async () => {
    const { worker } = simulatedWorker({ maxQueue: 100 });
    const { meter, collect } = otel();
    instrument(worker, { meter, maxNames: 3 });
    const names = Array.from({ length: 10 }, (_, i) => `user-${i}`);
    await runNamed(worker, [...names, ...names]);
    const points = await collect();
    const succeeded = pointsWhere(points, M.tasks, { 'sync_worker.task.fate': 'succeeded' });
    const byName = Object.fromEntries(
      succeeded.map((p) => [p.attributes['messaging.destination.name'], p.value]),
    );
    expect(byName).toEqual({ 'user-0': 2, 'user-1': 2, 'user-2': 2, [OTHER_TASK_NAME]: 14 });
    const runs = pointsWhere(points, M.runDuration).map(
      (p) => p.attributes['messaging.destination.name'],
    );
    expect(new Set(runs)).toEqual(new Set(['user-0', 'user-1', 'user-2', OTHER_TASK_NAME]));
    expect(countOf(points, M.runDuration, { 'messaging.destination.name': OTHER_TASK_NAME })).toBe(
      14,
    );
    await worker.shutdown();
  });

  it('bounds error.type too: past MAX_ERROR_TYPES error names, a failed run is _OTHER', async () => {
    const { worker } = simulatedWorker({ maxQueue: 100, breaker: false });
    const { meter, collect } = otel();
    instrument(worker, { meter });
    const total = MAX_ERROR_TYPES + 5;
    for (let i = 0; i < total; i++) {
      const error = new Error('failed');
      error.name = `Error${i}`;
      worker.enqueue({ name: 'call', run: () => Promise.reject(error) });
    }
    await worker.onIdle();
    const types = pointsWhere(await collect(), M.runDuration).map(
      (p) => p.attributes['error.type'],
    );
    expect(types).toHaveLength(MAX_ERROR_TYPES + 1);
    expect(types).toContain(OTHER_TASK_NAME);
    await worker.shutdown();
  });

  it('counts only what happens after instrument(): the counters start there', async () => {
    const { worker } = simulatedWorker();
    await runNamed(worker, ['before']);
    const { meter, collect } = otel();
    instrument(worker, { meter });
    await runNamed(worker, ['after']);
    const points = await collect();
    expect(pointsWhere(points, M.tasks, { 'messaging.destination.name': 'before' })).toEqual([]);
    expect(
      pointValue(points, M.tasks, {
        'messaging.destination.name': 'after',
        'sync_worker.task.fate': 'succeeded',
      }),
    ).toBe(1);
    await worker.shutdown();
  });
});

describe('instrument(): runs and batches', () => {
  it('records a batch as one run, and counts the fate of each of its tasks', async () => {
    const worker = new SyncWorker({
      backlog: memoryBacklog(),
      handlers: { addMessages: { batch: { maxSize: 10 }, run: () => undefined } },
    });
    const { meter, collect } = otel();
    instrument(worker, { meter });
    for (let i = 0; i < 5; i++) {
      worker.enqueue({ handler: 'addMessages', payload: i, key: 'session-7' });
    }
    await worker.flush();
    await worker.onIdle();
    const points = await collect();
    expect(countOf(points, M.runDuration, { 'messaging.destination.name': 'addMessages' })).toBe(1);
    const succeeded = {
      'messaging.destination.name': 'addMessages',
      'sync_worker.task.fate': 'succeeded',
    };
    expect(pointValue(points, M.tasks, succeeded)).toBe(5);
    await worker.shutdown();
  });

  it('durations: false records no run, and still counts every fate', async () => {
    const { worker } = simulatedWorker();
    const { meter, collect } = otel();
    instrument(worker, { meter, durations: false });
    await runNamed(worker, ['write', 'write']);
    const points = await collect();
    expect(pointsWhere(points, M.runDuration)).toEqual([]);
    const succeeded = {
      'messaging.destination.name': 'write',
      'sync_worker.task.fate': 'succeeded',
    };
    expect(pointValue(points, M.tasks, succeeded)).toBe(2);
    await worker.shutdown();
  });

  it('a meter whose histogram throws costs no task its fate', async () => {
    const { meter } = otel();
    const throwing: Meter = Object.assign(Object.create(meter) as Meter, {
      createHistogram: () => ({
        record: () => {
          throw new Error('exporter broke');
        },
      }),
    });
    const { worker } = simulatedWorker();
    instrument(worker, { meter: throwing });
    const { task, fates } = recordingTask(() => 'ok');
    worker.enqueue(task);
    await worker.onIdle();
    expect(fates).toEqual([{ kind: 'success', value: 'ok' }]);
    await worker.shutdown();
  });
});

describe('instrument(): detaching', () => {
  it('stop() ends observations and recording; the worker can be instrumented again', async () => {
    const { worker } = simulatedWorker();
    const first = otel();
    const instrumentation = instrument(worker, { meter: first.meter });
    await runNamed(worker, ['a']);
    const before = await first.collect();
    instrumentation.stop();
    instrumentation.stop(); // idempotent
    await runNamed(worker, ['a', 'a']);
    const after = await first.collect();
    // Cumulative points keep their last value: nothing more was observed or recorded.
    expect(countOf(after, M.runDuration, { 'messaging.destination.name': 'a' })).toBe(1);
    expect(pointsWhere(after, M.tasks)).toEqual(pointsWhere(before, M.tasks));

    const second = otel();
    instrument(worker, { meter: second.meter });
    await runNamed(worker, ['a']);
    const again = await second.collect();
    expect(countOf(again, M.runDuration, { 'messaging.destination.name': 'a' })).toBe(1);
    await worker.shutdown();
  });

  it('refuses a second instrumentation while the first is attached', () => {
    const { worker } = simulatedWorker();
    instrument(worker, { meter: otel().meter });
    expect(() => instrument(worker, { meter: otel().meter })).toThrow(
      /instrument: the worker is instrumented already/,
    );
  });
});

describe('instrument(): bad input', () => {
  const meter = () => otel().meter;
  it.each([
    [
      'a plain object',
      () => instrument({} as SyncWorker, { meter: meter() }),
      TypeError,
      /worker must be a SyncWorker/,
    ],
    [
      'no options',
      () => instrument(simulatedWorker().worker, undefined as never),
      TypeError,
      /options with a meter/,
    ],
    [
      'no meter',
      () => instrument(simulatedWorker().worker, {} as never),
      TypeError,
      /meter must be an OpenTelemetry Meter/,
    ],
    [
      'a meter without methods',
      () => instrument(simulatedWorker().worker, { meter: {} as Meter }),
      TypeError,
      /meter must be/,
    ],
    [
      'an unknown option',
      () => instrument(simulatedWorker().worker, { meter: meter(), maxName: 3 } as never),
      TypeError,
      /unknown option "maxName"/,
    ],
    [
      'maxNames 0',
      () => instrument(simulatedWorker().worker, { meter: meter(), maxNames: 0 }),
      RangeError,
      /maxNames/,
    ],
    [
      'maxNames 1001',
      () => instrument(simulatedWorker().worker, { meter: meter(), maxNames: 1001 }),
      RangeError,
      /maxNames/,
    ],
    [
      'maxNames "5"',
      () => instrument(simulatedWorker().worker, { meter: meter(), maxNames: '5' as never }),
      TypeError,
      /maxNames/,
    ],
    [
      'durations "no"',
      () => instrument(simulatedWorker().worker, { meter: meter(), durations: 'no' as never }),
      TypeError,
      /durations must be a boolean/,
    ],
  ])('refuses %s', (_, call, ErrorClass, message) => {
    expect(call).toThrow(ErrorClass);
    expect(call).toThrow(message);
  });
});
