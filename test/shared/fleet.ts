/**
 * Workers on one shared store, in this process: each delivery is logged with
 * the worker that made it, and a test waits for a number of deliveries (a
 * promise, not a sleep).
 */

import { expect } from 'vitest';
import {
  type DurableContext,
  type DurableTask,
  SyncWorker,
  type SyncWorkerOptions,
} from '../../src/index.js';
import type { SharedBacklogStore } from '../../src/shared/types.js';

/** One handler call. */
export interface Delivery {
  worker: string;
  id: string;
  key: string;
  attempt: number;
}

/** The log every worker of a fleet writes to, and waits on. */
export class DeliveryLog {
  readonly entries: Delivery[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  add(entry: Delivery): void {
    this.entries.push(entry);
    this.waiters = this.waiters.filter((w) => {
      if (this.entries.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `count` deliveries are logged. */
  reached(count: number): Promise<void> {
    if (this.entries.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** The ids delivered for `key`, in delivery order. */
  idsOf(key: string): string[] {
    return this.entries.filter((e) => e.key === key).map((e) => e.id);
  }
}

/** What a handler of a fleet worker does with one payload: resolve, throw, or hold. */
export type Respond = (payload: unknown, context: DurableContext) => unknown;

/** A worker on `store` whose `send` handler logs to `log` before `respond` decides. */
export function fleetWorker(
  name: string,
  store: SharedBacklogStore,
  log: DeliveryLog,
  respond: Respond = () => undefined,
  options: SyncWorkerOptions = {},
): { worker: SyncWorker; deadLetters: { task: DurableTask; error: Error }[] } {
  const deadLetters: { task: DurableTask; error: Error }[] = [];
  const worker = new SyncWorker({
    name,
    backlog: store,
    leaseMs: 60_000,
    handlers: {
      send: async (payload: unknown, context: DurableContext) => {
        const outcome = await respond(payload, context);
        log.add({ worker: name, id: context.id, key: context.key, attempt: context.attempt });
        return outcome;
      },
    },
    onDeadLetter: (task, error) => deadLetters.push({ task, error }),
    ...options,
  });
  return { worker, deadLetters };
}

/**
 * The "connections cut mid-run" check both network stores run: a worker at
 * concurrency 2 delivers 100 tasks over 4 keys while `cut` ends its
 * connections from the server side under the 50th task's handler. Nothing
 * accepted may be lost: every task is delivered, duplicates come only under
 * the same id (an ack the cut swallowed), first deliveries per key keep
 * enqueue order, and `reopen` (a fresh store on the same location) shows
 * nothing pending. `started` hears the worker at once, so the caller shuts
 * it down even when a check fails.
 */
export async function expectCutLosesNothing(
  store: SharedBacklogStore,
  cut: () => Promise<number>,
  reopen: () => SharedBacklogStore,
  started: (worker: SyncWorker) => void,
): Promise<void> {
  const log = new DeliveryLog();
  let cutDone: Promise<number> | undefined;
  const { worker } = fleetWorker(
    'w1',
    store,
    log,
    (_payload, context) => {
      if (context.id === 't50' && cutDone === undefined) cutDone = cut();
    },
    { concurrency: 2 },
  );
  started(worker);
  for (let i = 0; i < 100; i++) {
    worker.enqueue({ handler: 'send', key: `k${i % 4}`, id: `t${i}`, payload: { i } });
  }
  await worker.flush();
  const delivered = new Set<string>();
  while (delivered.size < 100) {
    await log.reached(log.entries.length + 1);
    for (const entry of log.entries) delivered.add(entry.id);
  }
  expect(await cutDone).toBeGreaterThan(0);
  await worker.onIdle();
  for (let k = 0; k < 4; k++) {
    const firsts = [...new Set(log.idsOf(`k${k}`))];
    expect(firsts).toEqual(Array.from({ length: 25 }, (_, n) => `t${n * 4 + k}`));
  }
  const session = await reopen().open();
  expect(await session.stats()).toMatchObject({ pending: 0 });
  await session.close();
}

/**
 * The fleet check both network stores run: a producer-only worker enqueues
 * 200 tasks over 10 keys, two workers at concurrency 2 deliver them, each
 * exactly once and per key in enqueue order, and a fresh session on the
 * store shows nothing pending or leased. `started` hears each worker at
 * once, so the caller shuts them down even when a check fails.
 */
export async function expectFleetKeepsOrder(
  store: () => SharedBacklogStore,
  started: (worker: SyncWorker) => void,
): Promise<void> {
  const log = new DeliveryLog();
  const producer = fleetWorker('api', store(), log, () => undefined, { producerOnly: true });
  const w1 = fleetWorker('w1', store(), log, () => undefined, { concurrency: 2 });
  const w2 = fleetWorker('w2', store(), log, () => undefined, { concurrency: 2 });
  for (const member of [producer, w1, w2]) started(member.worker);
  for (let i = 0; i < 200; i++) {
    producer.worker.enqueue({ handler: 'send', key: `k${i % 10}`, id: `t${i}`, payload: { i } });
  }
  await producer.worker.flush();
  await log.reached(200);
  await Promise.all([w1.worker.onIdle(), w2.worker.onIdle()]);
  expect(new Set(log.entries.map((e) => e.id)).size).toBe(200);
  for (let k = 0; k < 10; k++) {
    expect(log.idsOf(`k${k}`)).toEqual(Array.from({ length: 20 }, (_, n) => `t${n * 10 + k}`));
  }
  const session = await store().open();
  expect(await session.stats()).toMatchObject({ pending: 0, leased: 0 });
  await session.close();
}
