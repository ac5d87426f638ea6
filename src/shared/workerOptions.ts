import { delayMs } from '../validate.js';
import { isSharedStore } from './types.js';

/** The worker options that apply to a shared backlog (`postgresBacklog`, `redisBacklog`, `memorySharedBacklog`). */
export interface SharedWorkerOptions {
  /**
   * With a shared backlog: how long the store may stay unreachable, in ms on
   * the worker's clock, before the accepted tasks waiting in memory fail with
   * a `BacklogUnavailableError` and `enqueue` refuses until it answers again.
   * Until then tasks wait (within `maxQueue`) and delivery pauses. Default 30 000.
   */
  unavailableMs?: number;
  /**
   * With a shared backlog: how long a claimed key stays this worker's unless
   * renewed, in ms on the store's clock. The worker renews each third of it
   * while it holds the key; a worker that dies gives its keys back after
   * this long. Default 30 000.
   */
  leaseMs?: number;
  /**
   * With a shared backlog: only enqueue, never claim (an API instance that
   * runs no handlers; other instances deliver). Default false.
   */
  producerOnly?: boolean;
}

/** {@link SharedWorkerOptions}, checked, with defaults. */
export interface SharedWorkerSettings {
  unavailableMs: number;
  leaseMs: number;
  producerOnly: boolean;
}

const OWNER = 'SyncWorker';
const NAMES = ['unavailableMs', 'leaseMs', 'producerOnly'] as const;

/**
 * Checks the shared-backlog options; `undefined` when the backlog is not
 * shared, in which case giving any of them is refused: they would do nothing.
 *
 * @throws TypeError or RangeError naming the option.
 */
export function sharedWorkerSettings(
  o: SharedWorkerOptions & { backlog?: unknown; retry?: unknown },
): SharedWorkerSettings | undefined {
  if (!isSharedStore(o.backlog)) {
    for (const name of NAMES) {
      if (o[name] === undefined) continue;
      throw new TypeError(
        `${OWNER}: ${name} does nothing without a shared backlog (postgresBacklog, redisBacklog, memorySharedBacklog)`,
      );
    }
    const retry = o.retry as { maxLostLeases?: unknown } | undefined;
    if (retry?.maxLostLeases !== undefined) {
      throw new TypeError(
        `${OWNER}: retry.maxLostLeases does nothing without a shared backlog: only a shared store's leases can be lost`,
      );
    }
    return undefined;
  }
  if (o.producerOnly !== undefined && typeof o.producerOnly !== 'boolean') {
    throw new TypeError(`${OWNER}: producerOnly must be a boolean`);
  }
  return {
    unavailableMs: delayMs(OWNER, 'unavailableMs', o.unavailableMs, 30_000),
    leaseMs: delayMs(OWNER, 'leaseMs', o.leaseMs, 30_000, false),
    producerOnly: o.producerOnly === true,
  };
}
