import type { SystemInput } from '../../machines/system.machine.js';
import type { BacklogOpened } from '../backlog/types.js';
import { type BreakerSnapshot, breakerSnapshotOption, breakerStart } from '../breakerSnapshot.js';
import type { CircuitBreaker } from '../CircuitBreaker.js';
import type { Logger } from '../logger.js';
import { isSharedStore } from '../shared/types.js';
import type { WorkerSettings } from './options.js';

/** Where the worker's own breaker starts, and the snapshot that says so (for its `toJSON`). */
export interface BreakerResume {
  system: SystemInput;
  from: BreakerSnapshot | undefined;
}

/**
 * Where the worker's own breaker starts: from the state its store kept (the
 * last one a worker on this store saved), else from the `breaker.initialState`
 * option, else `closed`. A breaker the user passed in is theirs to restore,
 * and may be shared, so nothing is kept for it. A kept state that does not
 * check out is logged and ignored: a bad record must not stop the worker.
 */
export function resumeBreaker(
  settings: WorkerSettings,
  options: { breaker?: unknown } | undefined,
  opened: BacklogOpened | undefined,
  logger: Logger,
): BreakerResume {
  const system = settings.system;
  if (system.breaker !== 'owned') return { system, from: undefined };
  const given = (options?.breaker as { initialState?: BreakerSnapshot } | undefined)?.initialState;
  const kept = keptState(opened?.breaker, settings.durable?.store, logger);
  if (kept === undefined) return { system, from: given };
  const { breakerInput } = system;
  const start = breakerStart(kept, breakerInput.probeIntervalMs, Date.now());
  return { system: { ...system, breakerInput: { ...breakerInput, start } }, from: kept };
}

function keptState(
  stored: unknown,
  store: { readonly location: string } | undefined,
  logger: Logger,
): BreakerSnapshot | undefined {
  if (stored === undefined) return undefined;
  try {
    return breakerSnapshotOption('SyncWorker: the breaker state kept in the backlog', stored);
  } catch (error) {
    logger.warn?.(
      `SyncWorker: ignoring the breaker state kept in backlog ${store?.location}: ${(error as Error).message}`,
    );
    return undefined;
  }
}

/**
 * Keeps the worker's own breaker's state in its store at each state change
 * (never per task), so that the next worker on the store resumes it.
 */
export function keepBreakerState(breaker: CircuitBreaker, settings: WorkerSettings): void {
  // A shared store serves a fleet, and each worker's breaker is its own: none is kept there.
  const own = settings.durable?.store;
  const store = isSharedStore(own) ? undefined : own;
  if (settings.system.breaker !== 'owned' || store?.saveBreaker === undefined) return;
  breaker.on('stateChange', () => store.saveBreaker?.(breaker.toJSON()));
}
