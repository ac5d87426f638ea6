/**
 * Workers on one shared store, in this process: each delivery is logged with
 * the worker that made it, and a test waits for a number of deliveries (a
 * promise, not a sleep).
 */
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
