import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { BacklogRecord } from '../../src/backlog/types.js';
import { NonRetryableError, type SyncWorker } from '../../src/index.js';
import { memorySharedBacklog } from '../../src/shared/memorySharedBacklog.js';
import { DeliveryLog, fleetWorker } from './fleet.js';

const started: SyncWorker[] = [];
afterEach(async () => {
  for (const worker of started.splice(0)) await worker.shutdown({ timeoutMs: 100 });
});
function track<T extends { worker: SyncWorker }>(made: T): T {
  started.push(made.worker);
  return made;
}

/** A held promise: the handler waits on it until the test settles it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe('workers on a shared store (memory)', () => {
  it('deliver every task once, each key in the order it was enqueued, across two workers', async () => {
    const store = memorySharedBacklog();
    const log = new DeliveryLog();
    const producer = track(fleetWorker('api', store, log, () => undefined, { producerOnly: true }));
    const w1 = track(fleetWorker('w1', store, log, () => undefined, { concurrency: 2 }));
    const w2 = track(fleetWorker('w2', store, log, () => undefined, { concurrency: 2 }));
    const keys = ['a', 'b', 'c', 'd', 'e'];
    for (let i = 0; i < 100; i++) {
      producer.worker.enqueue({ handler: 'send', key: keys[i % 5], id: `t${i}`, payload: { i } });
    }
    await producer.worker.flush();
    await log.reached(100);
    // Idle once the last acks are answered.
    await Promise.all([w1.worker.onIdle(), w2.worker.onIdle()]);
    expect(new Set(log.entries.map((e) => e.id)).size).toBe(100);
    for (const [k, key] of keys.entries()) {
      const expected = Array.from({ length: 20 }, (_, n) => `t${n * 5 + k}`);
      expect(log.idsOf(key as string)).toEqual(expected);
    }
    expect(log.entries.some((e) => e.worker === 'api')).toBe(false);
    const session = await store.open();
    expect(await session.stats()).toMatchObject({ pending: 0, leased: 0 });
  });

  it('keeps a retry in the store: the key waits, then resumes in order', async () => {
    const store = memorySharedBacklog();
    const log = new DeliveryLog();
    let failedOnce = false;
    const { worker } = track(
      fleetWorker(
        'w1',
        store,
        log,
        (_payload, context) => {
          if (context.id === 'x1' && !failedOnce) {
            failedOnce = true;
            throw new Error('remote hiccup');
          }
        },
        { retry: { baseMs: 5, maxMs: 10 } },
      ),
    );
    for (const id of ['x1', 'x2', 'x3'])
      worker.enqueue({ handler: 'send', key: 'k', id, payload: {} });
    await log.reached(3);
    expect(log.idsOf('k')).toEqual(['x1', 'x2', 'x3']);
    expect(log.entries[0]).toMatchObject({ id: 'x1', attempt: 2 });
  });

  it('changes nothing with the late outcome of a worker whose lease expired', async () => {
    let now = 1_000_000;
    const store = memorySharedBacklog({ now: () => now });
    const log = new DeliveryLog();
    const held = gate();
    let reachedHandler!: () => void;
    const inHandler = new Promise<void>((resolve) => {
      reachedHandler = resolve;
    });
    const warnings: string[] = [];
    const zombie = track(
      fleetWorker(
        'zombie',
        store,
        log,
        async () => {
          reachedHandler();
          await held.opened;
        },
        { logger: { warn: (message: string) => warnings.push(message) } },
      ),
    );
    zombie.worker.enqueue({ handler: 'send', key: 'k', id: 'only', payload: {} });
    await inHandler;
    now += 120_000; // past the zombie's lease, on the store's clock
    const heir = track(fleetWorker('heir', store, log));
    await log.reached(1);
    await heir.worker.onIdle();
    expect(log.entries[0]).toMatchObject({ worker: 'heir', id: 'only' });
    const session = await store.open();
    expect((await session.stats()).pending).toBe(0);
    held.open();
    await log.reached(2);
    await zombie.worker.onIdle();
    expect(warnings.join('\n')).toMatch(/lost the lease on key "k"/);
    expect(await session.stats()).toMatchObject({ pending: 0, deadLetters: 0 });
  });

  it('buries a task whose claims ended by lease expiry retry.maxLostLeases times', async () => {
    let now = 1_000_000;
    const store = memorySharedBacklog({ now: () => now });
    const killer = await store.open({ owner: 'doomed' });
    await killer.append([
      { id: 'poison', key: 'k', handler: 'send', payload: {}, attempts: 0, enqueuedAt: 1 },
      { id: 'fine', key: 'k', handler: 'send', payload: {}, attempts: 0, enqueuedAt: 2 },
    ]);
    for (let lost = 0; lost < 2; lost++) {
      await killer.claim({ limit: 1, leaseMs: 1_000 });
      now += 5_000;
    }
    const log = new DeliveryLog();
    const { worker, deadLetters } = track(
      fleetWorker('w1', store, log, () => undefined, { retry: { maxLostLeases: 2 } }),
    );
    await log.reached(1);
    expect(log.idsOf('k')).toEqual(['fine']);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]?.task.id).toBe('poison');
    expect(deadLetters[0]?.error).toBeInstanceOf(NonRetryableError);
    expect(deadLetters[0]?.error.message).toMatch(/lease was lost 2 times.*maxLostLeases 2/);
    expect((await killer.deadLetters())[0]?.id).toBe('poison');
    // Requeued, it starts a fresh life: no lost leases, and this time it is delivered.
    expect(await worker.requeueDeadLetters()).toBe(1);
    await log.reached(2);
    expect(log.idsOf('k')).toEqual(['fine', 'poison']);
  });

  it('starts nothing more on a key whose lease ran out by its own clock with no renewal answered', async () => {
    const inner = memorySharedBacklog({ now: () => 0 });
    // Renewals are never answered (a paused process, a cut network): the store's side is frozen.
    const store = {
      ...inner,
      open: async (options?: Parameters<typeof inner.open>[0]) => ({
        ...(await inner.open(options)),
        renew: () => new Promise<boolean>(() => {}),
      }),
    };
    const clock = new SimulatedClock();
    const log = new DeliveryLog();
    const first = gate();
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const warnings: string[] = [];
    const { worker } = track(
      fleetWorker(
        'paused',
        store,
        log,
        async (_payload, context) => {
          if (context.id !== 'first') return;
          started();
          await first.opened;
        },
        { clock, leaseMs: 300, logger: { warn: (message: string) => warnings.push(message) } },
      ),
    );
    worker.enqueue({ handler: 'send', key: 'k', id: 'first', payload: {} });
    worker.enqueue({ handler: 'send', key: 'k', id: 'second', payload: {} });
    await running;
    clock.increment(300);
    first.open();
    await log.reached(1);
    await worker.onIdle();
    expect(log.idsOf('k')).toEqual(['first']);
    expect(warnings.join('\n')).toMatch(/lost the lease on key "k" \(expired here\)/);
    const session = await inner.open();
    expect((await session.list()).map((r) => r.id)).toEqual(['second']);
  });

  it('renews its lease while a handler runs longer than the lease', async () => {
    let now = 1_000_000;
    const inner = memorySharedBacklog({ now: () => now });
    const leaseMs = 300;
    // Each renewal the worker sends moves the store's clock on by half a lease, before it lands.
    let renewals = 0;
    let renewedEnough!: () => void;
    const enough = new Promise<void>((resolve) => {
      renewedEnough = resolve;
    });
    const store = {
      ...inner,
      open: async (options?: Parameters<typeof inner.open>[0]) => {
        const session = await inner.open(options);
        return {
          ...session,
          renew: (lease: Parameters<typeof session.renew>[0], ms: number) => {
            now += leaseMs / 2;
            const took = session.renew(lease, ms);
            if (++renewals === 6) renewedEnough();
            return took;
          },
        };
      },
    };
    const log = new DeliveryLog();
    const warnings: string[] = [];
    const { worker } = track(
      fleetWorker('slow', store, log, () => enough, {
        leaseMs,
        logger: { warn: (message: string) => warnings.push(message) },
      }),
    );
    worker.enqueue({ handler: 'send', key: 'k', id: 'long', payload: {} });
    await enough; // three leases' time has passed on the store's clock
    const other = await inner.open();
    expect(await other.claim({ limit: 1, leaseMs })).toBeUndefined();
    await log.reached(1);
    await worker.onIdle();
    expect(await other.stats()).toMatchObject({ pending: 0 });
    expect(warnings).toEqual([]);
  });

  it('gives back what it holds and claims nothing while its own breaker is open', async () => {
    const store = memorySharedBacklog();
    const log = new DeliveryLog();
    let sickCalls = 0;
    const sick = track(
      fleetWorker(
        'sick',
        store,
        log,
        () => {
          sickCalls++;
          throw new Error('remote down from here');
        },
        { concurrency: 2, breaker: { failureThreshold: 1, probeIntervalMs: 60_000 } },
      ),
    );
    const opened = new Promise<void>((resolve) =>
      sick.worker.on('breakerStateChange', (c) => c.to === 'open' && resolve()),
    );
    for (let i = 0; i < 6; i++) {
      sick.worker.enqueue({ handler: 'send', key: `k${i % 3}`, id: `t${i}`, payload: {} });
    }
    await sick.worker.flush();
    await opened;
    // A commit wakes its claims: with the breaker open it must still claim nothing.
    sick.worker.enqueue({ handler: 'send', key: 'k0', id: 't6', payload: {} });
    await sick.worker.flush();
    track(fleetWorker('healthy', store, log));
    await log.reached(7);
    expect(log.entries.every((e) => e.worker === 'healthy')).toBe(true);
    expect(sickCalls).toBe(1);
    for (const key of ['k0', 'k1', 'k2']) {
      const ids = log.idsOf(key);
      expect(ids).toEqual([...ids].sort());
    }
  });

  it('gives its key back after the run in flight when it stops, for another worker to go on', async () => {
    const store = memorySharedBacklog();
    const log = new DeliveryLog();
    const first = gate();
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const { worker } = fleetWorker('leaving', store, log, async (_payload, context) => {
      if (context.id !== 't0') return;
      started();
      await first.opened;
    });
    for (let i = 0; i < 4; i++)
      worker.enqueue({ handler: 'send', key: 'k', id: `t${i}`, payload: {} });
    await running; // t0 runs; t1 to t3 came with the same claim
    const stopped = worker.shutdown({ timeoutMs: 60_000 });
    first.open();
    await stopped;
    expect(log.entries.map((e) => e.id)).toEqual(['t0']);
    track(fleetWorker('staying', store, log));
    await log.reached(4);
    expect(log.entries.map((e) => `${e.worker}:${e.id}`)).toEqual([
      'leaving:t0',
      'staying:t1',
      'staying:t2',
      'staying:t3',
    ]);
  });

  it('buries a record no handler can read: the key moves on', async () => {
    const store = memorySharedBacklog();
    const session = await store.open();
    const stored: BacklogRecord[] = await session.append([
      { id: 'old', key: 'k', handler: 'gone', payload: {}, attempts: 0, enqueuedAt: 1 },
      { id: 'new', key: 'k', handler: 'send', payload: {}, attempts: 0, enqueuedAt: 2 },
    ]);
    expect(stored).toHaveLength(2);
    const log = new DeliveryLog();
    const { deadLetters } = track(fleetWorker('w1', store, log));
    await log.reached(1);
    expect(log.idsOf('k')).toEqual(['new']);
    expect(deadLetters.map((d) => d.task.id)).toEqual(['old']);
  });
});
