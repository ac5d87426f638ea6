import { afterEach, describe, expect, it } from 'vitest';
import { BacklogUnavailableError, type SyncWorker } from '../../src/index.js';
import { memorySharedBacklog } from '../../src/shared/memorySharedBacklog.js';
import { DeliveryLog, fleetWorker } from './fleet.js';
import { switchable } from './outage.js';

const started: SyncWorker[] = [];
afterEach(async () => {
  for (const worker of started.splice(0)) await worker.shutdown({ timeoutMs: 100 });
});

describe('a worker whose shared store is unreachable', () => {
  it('keeps accepted tasks in memory, and delivers them all once the store answers again', async () => {
    const cut = switchable(memorySharedBacklog());
    cut.down = true;
    const log = new DeliveryLog();
    const { worker } = fleetWorker('w1', cut.store, log, () => undefined, {
      unavailableMs: 60_000,
    });
    started.push(worker);
    const failures: Error[] = [];
    worker.on('taskFailed', ({ error }) => failures.push(error));
    for (let i = 0; i < 5; i++) {
      expect(worker.enqueue({ handler: 'send', key: 'k', id: `t${i}`, payload: {} })).toBe(true);
    }
    let flushed = false;
    const flushing = worker.flush().then(() => {
      flushed = true;
    });
    await cut.nextRefusal();
    expect(flushed).toBe(false);
    expect(worker.stats().backlogInMemory).toBe(5);
    cut.down = false;
    await flushing;
    await log.reached(5);
    expect(log.idsOf('k')).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect(failures).toEqual([]);
  });

  it('fails what waits with a BacklogUnavailableError after unavailableMs, and refuses until it is back', async () => {
    const cut = switchable(memorySharedBacklog());
    cut.down = true;
    const log = new DeliveryLog();
    const { worker } = fleetWorker('w1', cut.store, log, () => undefined, {
      unavailableMs: 50,
      maxQueue: 3,
    });
    started.push(worker);
    const failures: Error[] = [];
    const allFailed = new Promise<void>((resolve) =>
      worker.on('taskFailed', ({ error }) => {
        failures.push(error);
        if (failures.length === 2) resolve();
      }),
    );
    worker.enqueue({ handler: 'send', key: 'k', id: 'a', payload: {} });
    worker.enqueue({ handler: 'send', key: 'k', id: 'b', payload: {} });
    const flushing = worker.flush();
    await allFailed;
    await expect(flushing).rejects.toBeInstanceOf(BacklogUnavailableError);
    expect(failures.every((e) => e instanceof BacklogUnavailableError)).toBe(true);
    expect(failures[0]?.message).toMatch(/unreachable for 50 ms \(unavailableMs\)/);
    expect(worker.enqueue({ handler: 'send', key: 'k', id: 'c', payload: {} })).toBe(false);
    expect(worker.health().reasons.map((r) => r.kind)).toContain('storeRefusing');
    cut.down = false;
    // The store's answers (its reconnection, then a claim) bring the worker back.
    while (worker.health().reasons.some((r) => r.kind === 'storeRefusing')) await cut.nextAnswer();
    expect(worker.enqueue({ handler: 'send', key: 'k', id: 'd', payload: {} })).toBe(true);
    await log.reached(1);
    expect(log.idsOf('k')).toEqual(['d']);
  });

  it('refuses past maxQueue while the store is known unreachable', async () => {
    const cut = switchable(memorySharedBacklog());
    cut.down = true;
    const log = new DeliveryLog();
    const { worker } = fleetWorker('w1', cut.store, log, () => undefined, { maxQueue: 2 });
    started.push(worker);
    await cut.nextRefusal();
    expect(worker.enqueue({ handler: 'send', key: 'k', payload: {} })).toBe(true);
    expect(worker.enqueue({ handler: 'send', key: 'k', payload: {} })).toBe(true);
    const refused = new Promise<Error>((resolve) =>
      worker.on('taskFailed', ({ error }) => resolve(error)),
    );
    expect(worker.enqueue({ handler: 'send', key: 'k', payload: {} })).toBe(false);
    expect(await refused).toBeInstanceOf(BacklogUnavailableError);
  });

  it('fails the tasks still in memory when it shuts down with the store unreachable', async () => {
    const cut = switchable(memorySharedBacklog());
    cut.down = true;
    const { worker } = fleetWorker('w1', cut.store, new DeliveryLog());
    const failed = new Promise<Error>((resolve) =>
      worker.on('taskFailed', ({ error }) => resolve(error)),
    );
    worker.enqueue({ handler: 'send', key: 'k', payload: {} });
    await cut.nextRefusal();
    await worker.shutdown({ timeoutMs: 10 });
    const error = await failed;
    expect(error).toBeInstanceOf(BacklogUnavailableError);
    expect(error.message).toMatch(/shut down while backlog memory was unreachable/);
  });
});
