/**
 * Helpers the runtime drivers share for durable tasks: a memory store whose group commits
 * the test holds, dead letters left by an earlier worker, and a later worker that opens a
 * store again and delivers what was kept. Public API only, as every file of this folder.
 */
import { expect } from 'vitest';
import {
  BacklogFullError,
  type BacklogRecord,
  type BacklogStore,
  NonRetryableError,
  SyncWorker,
} from '../../src/index.js';
import { settled } from '../support/tasks.js';

/** Lets commits, callbacks and the drain loop run. */
export async function quiet(): Promise<void> {
  await settled();
  await settled();
}

/** Appends `value` to the list kept for `key`. */
export function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

/**
 * What `flush()`'s promise has done so far: `pending`, `resolved`, `rejected` (with a
 * `BacklogFullError`, the one reason it may give), or else the reason itself.
 */
export function flushOutcome(flushed: Promise<void>): { readonly now: string } {
  const outcome = { now: 'pending' };
  flushed.then(
    () => {
      outcome.now = 'resolved';
    },
    (error: unknown) => {
      outcome.now = error instanceof BacklogFullError ? 'rejected' : String(error);
    },
  );
  return outcome;
}

/** A group commit the store holds until the test settles it. */
export interface HeldCommit {
  readonly records: readonly BacklogRecord[];
  readonly settled: boolean;
  /** The commit lands: the records are written, then `append()` resolves. */
  release(): void;
  /** The store refuses the commit: nothing is written, `append()` rejects. */
  refuse(error: Error): void;
}

/**
 * `inner` with its group commits held: each `append()` waits for the test (see
 * {@link HeldCommit}); every other method is `inner`'s own, on `inner`.
 */
export function holdingStore(inner: BacklogStore): { store: BacklogStore; commits: HeldCommit[] } {
  const commits: HeldCommit[] = [];
  const append = (records: readonly BacklogRecord[]) =>
    new Promise<void>((resolve, reject) => {
      let done = false;
      commits.push({
        records: [...records],
        get settled() {
          return done;
        },
        release: () => {
          done = true;
          inner.append(records).then(resolve, reject);
        },
        refuse: (error) => {
          done = true;
          reject(error);
        },
      });
    });
  const store = new Proxy(inner, {
    get: (target, name) => {
      if (name === 'append') return append;
      const value: unknown = Reflect.get(target, name);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store, commits };
}

/**
 * An earlier worker on `store`, whose remote refuses the tasks for good: they go to the dead
 * letters, oldest first, and the worker releases the store.
 */
export async function buryDeadLetters(
  store: BacklogStore,
  key: string,
  payloads: readonly string[],
): Promise<void> {
  const refusing = () => {
    throw new NonRetryableError('refused by the remote');
  };
  const earlier = new SyncWorker({ breaker: false, backlog: store, handlers: { write: refusing } });
  for (const payload of payloads) earlier.enqueue({ handler: 'write', payload, key });
  await earlier.flush();
  await earlier.onIdle();
  await earlier.shutdown();
  expect(store.deadLetters().map((letter) => letter.payload)).toEqual(payloads);
}

/**
 * A later worker opens `store` (it throws if the store is still held), delivers every task
 * kept there, and shuts down. Returns what it delivered, per key, in order.
 */
export async function deliverKept(store: BacklogStore): Promise<Map<string, unknown[]>> {
  const delivered = new Map<string, unknown[]>();
  const next = new SyncWorker({
    breaker: false,
    backlog: store,
    handlers: { write: (payload, { key }) => push(delivered, key, payload) },
  });
  await next.onIdle();
  await next.shutdown();
  expect(store.stats().pending, 'tasks left in the store once delivered').toBe(0);
  return delivered;
}
