/** `worker.health()`: one test per reason and status, the thresholds, and their validation. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type BacklogRecord,
  type HealthReason,
  memoryBacklog,
  SyncWorker,
  type WorkerHealth,
} from '../src/index.js';
import { advance, durableWorker, failingStore } from './support/durable.js';
import { controlledTask, settled } from './support/tasks.js';
import { simulatedWorker } from './support/worker.js';

const T0 = Date.UTC(2026, 0, 1);
const hooks = { onCorrupt() {}, onWriteError() {} };

afterEach(() => {
  vi.useRealTimers();
});

/** Fakes only Date (the wall clock that enqueue times use) and sets it to `at`. */
function wallClockAt(at: number): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at);
}

const kinds = (health: WorkerHealth) => health.reasons.map((reason) => reason.kind);

/** A worker whose breaker opens on its first failure, opened. */
async function openBreaker(options = {}) {
  const { worker, clock } = simulatedWorker({
    breaker: { failureThreshold: 1, probeIntervalMs: 1_000 },
    ...options,
  });
  worker.enqueue({ run: () => Promise.reject(new Error('down')) });
  await worker.onIdle();
  return { worker, clock };
}

describe('worker.health(): ok', () => {
  it('a fresh worker, and one that delivered, are ok with no reasons', async () => {
    const { worker } = simulatedWorker();
    expect(worker.health()).toEqual({ status: 'ok', reasons: [] });
    worker.enqueue({ run: () => 'done' });
    await worker.onIdle();
    expect(worker.health()).toEqual({ status: 'ok', reasons: [] });
  });
});

describe('worker.health(): degraded', () => {
  it('breakerOpen while the breaker is open, then half_open, until it closes', async () => {
    const { worker, clock } = await openBreaker();
    expect(worker.health()).toEqual({
      status: 'degraded',
      reasons: [
        {
          kind: 'breakerOpen',
          status: 'degraded',
          state: 'open',
          message: 'the circuit breaker is open',
        },
      ],
    });
    await advance(clock, 1_000);
    expect(worker.breaker?.state).toBe('half_open');
    expect(worker.health().reasons).toMatchObject([{ kind: 'breakerOpen', state: 'half_open' }]);
    worker.enqueue({ run: () => 'probe' });
    await worker.onIdle();
    expect(worker.health().status).toBe('ok');
  });

  it('backlogStale once the oldest pending durable task is older than backlogAgeMs', async () => {
    wallClockAt(T0);
    const { worker, remote } = durableWorker({
      breaker: { failureThreshold: 1, probeIntervalMs: 60_000 },
      health: { backlogAgeMs: 10_000 },
    });
    remote.answer(() => {
      throw new Error('down');
    });
    worker.enqueue({ handler: 'write', payload: 'first', key: 'a' });
    await worker.flush();
    await settled();
    vi.setSystemTime(T0 + 5_000);
    worker.enqueue({ handler: 'write', payload: 'second', key: 'b' });
    await worker.flush();
    expect(kinds(worker.health())).toEqual(['breakerOpen']);
    vi.setSystemTime(T0 + 10_001);
    const stale = worker.health().reasons.find((reason) => reason.kind === 'backlogStale');
    expect(stale).toEqual({
      kind: 'backlogStale',
      status: 'degraded',
      oldestAgeMs: 10_001,
      thresholdMs: 10_000,
      message: 'the oldest pending durable task was enqueued 10001 ms ago (threshold 10000 ms)',
    });
    // Per call, over the worker's own threshold; Infinity turns the check off.
    expect(kinds(worker.health({ backlogAgeMs: 20_000 }))).toEqual(['breakerOpen']);
    expect(kinds(worker.health({ backlogAgeMs: Number.POSITIVE_INFINITY }))).toEqual([
      'breakerOpen',
    ]);
    expect(worker.health({ backlogAgeMs: 0 }).reasons[1]).toMatchObject({ oldestAgeMs: 10_001 });
  });

  it('backlogStale reads the oldest task of a key kept only in the store', async () => {
    wallClockAt(T0);
    const backlog = memoryBacklog();
    // An earlier life left a (young) task of key a and an old one of key b.
    const kept = (seq: number, key: string, enqueuedAt: number): BacklogRecord => ({
      seq,
      id: `id-${seq}`,
      key,
      handler: 'write',
      payload: key,
      attempts: 0,
      enqueuedAt,
    });
    backlog.open(hooks);
    await backlog.append([kept(1, 'a', T0 - 1_000), kept(2, 'b', T0 - 90_000)]);
    await backlog.close();
    // maxQueue 1: key a's task is read back and runs (and hangs); key b's stays in the store.
    const { worker, remote } = durableWorker({ maxQueue: 1 }, backlog);
    remote.answer(() => new Promise(() => {}));
    await settled();
    expect(remote.calls.map((call) => call.key)).toEqual(['a']);
    expect(worker.health().reasons).toMatchObject([{ kind: 'backlogStale', oldestAgeMs: 90_000 }]);
  });

  it('queueSaturated when the waiting closure tasks reach queueSaturation × maxQueue', async () => {
    const { worker } = simulatedWorker({ maxQueue: 4 });
    const running = controlledTask();
    worker.enqueue(running.task);
    await running.started;
    for (let i = 0; i < 3; i++) worker.enqueue({ run: () => 'ok' });
    expect(worker.health().status).toBe('ok');
    worker.enqueue({ run: () => 'ok' });
    expect(worker.health()).toEqual({
      status: 'degraded',
      reasons: [
        {
          kind: 'queueSaturated',
          status: 'degraded',
          queued: 4,
          maxQueue: 4,
          message: '4 closure tasks wait, of at most 4',
        },
      ],
    });
    expect(kinds(worker.health({ queueSaturation: 0.5 }))).toEqual(['queueSaturated']);
    expect(worker.health({ queueSaturation: Number.POSITIVE_INFINITY }).status).toBe('ok');
    running.resolve('done');
    await worker.onIdle();
    expect(worker.health().status).toBe('ok');
  });

  it('the worker option queueSaturation applies to every call', async () => {
    const { worker } = simulatedWorker({ maxQueue: 4, health: { queueSaturation: 0.5 } });
    const running = controlledTask();
    worker.enqueue(running.task);
    await running.started;
    worker.enqueue({ run: () => 'ok' });
    expect(worker.health().status).toBe('ok');
    worker.enqueue({ run: () => 'ok' });
    expect(kinds(worker.health())).toEqual(['queueSaturated']);
  });
});

describe('worker.health(): down', () => {
  it('storeRefusing after the store refused a commit, until the refusal lapses', async () => {
    const { worker, clock } = durableWorker({}, failingStore(memoryBacklog(), 'disk full'));
    worker.enqueue({ handler: 'write', payload: 'lost' });
    await expect(worker.flush()).rejects.toThrow(/disk full/);
    const health = worker.health();
    expect(health.status).toBe('down');
    expect(health.reasons).toEqual([
      {
        kind: 'storeRefusing',
        status: 'down',
        location: 'memory',
        message: expect.stringContaining('disk full'),
      },
    ]);
    await advance(clock, 1_000); // new durable tasks are refused for 1 s after a refused commit
    expect(worker.health()).toEqual({ status: 'ok', reasons: [] });
  });

  it('shuttingDown while stopping and once shut down', async () => {
    const { worker } = simulatedWorker();
    const running = controlledTask();
    worker.enqueue(running.task);
    await running.started;
    const stopped = worker.shutdown({ timeoutMs: 1_000 });
    expect(worker.health()).toEqual({
      status: 'down',
      reasons: [
        {
          kind: 'shuttingDown',
          status: 'down',
          state: 'stopping',
          message: 'the worker is stopping',
        },
      ],
    });
    running.resolve('done');
    await stopped;
    expect(worker.health().reasons).toMatchObject([{ kind: 'shuttingDown', state: 'shutdown' }]);
  });

  it('down wins over degraded, and the down reasons come first', async () => {
    const { worker } = await openBreaker();
    await worker.shutdown();
    const health = worker.health();
    expect(health.status).toBe('down');
    expect(kinds(health)).toEqual(['shuttingDown', 'breakerOpen']);
  });

  it('a shut-down durable worker reads nothing from its released store', async () => {
    wallClockAt(T0);
    const { worker, remote } = durableWorker({
      breaker: { failureThreshold: 1, probeIntervalMs: 60_000 },
      health: { backlogAgeMs: 0 },
    });
    remote.answer(() => {
      throw new Error('down');
    });
    worker.enqueue({ handler: 'write', payload: 'kept' });
    await worker.flush();
    await settled();
    vi.setSystemTime(T0 + 1);
    expect(kinds(worker.health())).toEqual(['breakerOpen', 'backlogStale']);
    await worker.shutdown();
    expect(kinds(worker.health())).toEqual(['shuttingDown', 'breakerOpen']);
  });
});

describe('worker.health(): plain data', () => {
  it('survives JSON, for a probe to send', async () => {
    const { worker } = await openBreaker();
    const health = worker.health();
    expect(JSON.parse(JSON.stringify(health))).toEqual(health);
    const reason: HealthReason = health.reasons[0] as HealthReason;
    expect(reason.kind === 'breakerOpen' && reason.state).toBe('open');
  });
});

describe('health thresholds: bad input', () => {
  it.each([
    [
      { health: { backlogAgeMS: 5 } },
      TypeError,
      /SyncWorker: health: an unknown option "backlogAgeMS"/,
    ],
    [{ health: 5 }, TypeError, /SyncWorker: health: options must be an object/],
    [{ health: { backlogAgeMs: '5' } }, TypeError, /backlogAgeMs must be a number/],
    [{ health: { backlogAgeMs: -1 } }, RangeError, /backlogAgeMs must be a finite number ≥ 0/],
    [{ health: { backlogAgeMs: Number.NaN } }, RangeError, /backlogAgeMs/],
    [{ health: { queueSaturation: 0 } }, RangeError, /queueSaturation must be greater than 0/],
    [{ health: { queueSaturation: 1.5 } }, RangeError, /queueSaturation/],
  ])('the worker option %j', (options, ErrorClass, message) => {
    const build = () => new SyncWorker(options as never);
    expect(build).toThrow(ErrorClass);
    expect(build).toThrow(message);
  });

  it('refuses the same per call, naming health()', () => {
    const { worker } = simulatedWorker();
    expect(() => worker.health({ queueSaturation: 2 })).toThrow(RangeError);
    expect(() => worker.health({ queueSaturation: 2 })).toThrow(
      /SyncWorker.health: queueSaturation/,
    );
    expect(() => worker.health({ maxAge: 1 } as never)).toThrow(/unknown option "maxAge"/);
  });
});
