import type { BacklogStore } from '../backlog/types.js';
import { refuseUnknownOptions } from '../optionNames.js';
import { isSharedStore } from '../shared/types.js';
import type { DurableBatchContext, DurableContext } from '../task.js';
import { positiveInteger } from '../validate.js';

const OWNER = 'SyncWorker';
/** Largest `batch.maxSize`: one call's payloads stay a bounded amount of memory. */
export const MAX_BATCH_SIZE = 10_000;

/** A registered handler as the worker calls it. */
export type RegisteredHandler =
  | { batchSize: undefined; run: (payload: unknown, context: DurableContext) => unknown }
  | { batchSize: number; run: (payloads: unknown[], context: DurableBatchContext) => unknown };

/**
 * The `handlers` option, checked and normalised: each entry a function of
 * one payload, or `{ run, batch: { maxSize } }`. Needs a `backlog`.
 *
 * @throws TypeError or RangeError naming the handler and its field.
 */
export function handlersOption(
  handlers: unknown,
  backlog: unknown,
): Readonly<Record<string, RegisteredHandler>> | undefined {
  if (handlers === undefined && backlog === undefined) return undefined;
  if (handlers === null || typeof handlers !== 'object' || Array.isArray(handlers)) {
    throw new TypeError(
      `${OWNER}: handlers must be an object of handlers by name, as durable tasks need them with a backlog`,
    );
  }
  // No prototype: a stored record naming `toString` or `__proto__` must not find a handler.
  const registered: Record<string, RegisteredHandler> = Object.create(null);
  for (const [name, handler] of Object.entries(handlers)) {
    registered[name] = registeredHandler(name, handler);
  }
  requireBacklog(backlog);
  return registered;
}

function registeredHandler(name: string, handler: unknown): RegisteredHandler {
  const where = `handlers.${name}`;
  if (typeof handler === 'function') {
    return { batchSize: undefined, run: handler as RegisteredHandler['run'] } as RegisteredHandler;
  }
  if (handler === null || typeof handler !== 'object' || Array.isArray(handler)) {
    throw new TypeError(
      `${OWNER}: ${where} must be a function of one payload, or { run, batch: { maxSize } }`,
    );
  }
  const spec = handler as { run?: unknown; batch?: unknown };
  refuseUnknownOptions(`${OWNER}: ${where}`, spec, ['run', 'batch']);
  if (typeof spec.run !== 'function') {
    throw new TypeError(`${OWNER}: ${where}.run must be a function`);
  }
  const run = spec.run as (...args: never[]) => unknown;
  if (spec.batch === undefined) {
    return { batchSize: undefined, run } as RegisteredHandler;
  }
  if (spec.batch === null || typeof spec.batch !== 'object' || Array.isArray(spec.batch)) {
    throw new TypeError(`${OWNER}: ${where}.batch must be an object such as { maxSize: 100 }`);
  }
  const batch = spec.batch as { maxSize?: unknown };
  refuseUnknownOptions(`${OWNER}: ${where}.batch`, batch, ['maxSize']);
  if (batch.maxSize === undefined) {
    throw new TypeError(`${OWNER}: ${where}.batch.maxSize is required`);
  }
  const batchSize = positiveInteger(
    OWNER,
    `${where}.batch.maxSize`,
    batch.maxSize,
    1,
    false,
    MAX_BATCH_SIZE,
  );
  return { batchSize, run } as RegisteredHandler;
}

function requireBacklog(backlog: unknown): void {
  if (isSharedStore(backlog)) return;
  const store = backlog as Partial<BacklogStore> | null | undefined;
  if (
    store === null ||
    typeof store !== 'object' ||
    typeof store.open !== 'function' ||
    typeof store.append !== 'function'
  ) {
    throw new TypeError(
      `${OWNER}: handlers need a backlog: lmdbBacklog({ path }) from 'xstate-sync-worker/lmdb', or memoryBacklog()`,
    );
  }
  if (store.readOnly === true) {
    throw new TypeError(
      `${OWNER}: backlog must be a writable store, and ${store.location} was opened with readOnly: true: a worker must own its store to keep, deliver and remove tasks (readOnly is for looking at a store beside the worker that owns it)`,
    );
  }
}
