import type { CircuitBreaker } from '../CircuitBreaker.js';
import { randomId } from '../durable/randomId.js';
import { DurableSource } from '../worker/durableSource.js';
import type { Fates } from '../worker/fates.js';
import type { LifecycleBridge } from '../worker/lifecycle.js';
import type { WorkerSettings } from '../worker/options.js';
import type { SharedQueueHost } from './queueSettings.js';
import { SharedQueue } from './SharedQueue.js';
import type { SharedBacklogStore } from './types.js';

/** Records a claim asks for at least: per key they still run one at a time, in order. */
const RECORDS_PER_CLAIM = 4;

/** What a worker on a shared store decides with: its own breaker and lifecycle. */
export interface FleetParts {
  breaker: CircuitBreaker | undefined;
  lifecycle: LifecycleBridge;
}

/**
 * The durable tasks' source of a worker on a shared store: the same source
 * as over a single-owner store, over a {@link SharedQueue}. The worker's own
 * breaker decides whether it claims: while it is open the worker claims
 * nothing and gives back the keys it holds and is not running.
 */
export function sharedSourceFor(
  settings: WorkerSettings,
  store: SharedBacklogStore,
  fates: Fates,
  host: SharedQueueHost,
  parts: FleetParts,
): DurableSource {
  const durable = settings.durable as NonNullable<WorkerSettings['durable']>;
  const shared = settings.shared as NonNullable<WorkerSettings['shared']>;
  const batchSizes = Object.values(durable.handlers).map((h) => h.batchSize ?? 1);
  // A few records per claim even for one-task handlers: one claim then serves several tasks.
  const { breaker, lifecycle } = parts;
  const queue = new SharedQueue({
    store,
    owner: `${settings.name}-${randomId()}`,
    producerOnly: shared.producerOnly,
    concurrency: settings.concurrency,
    claimLimit: Math.max(RECORDS_PER_CLAIM, ...batchSizes),
    leaseMs: shared.leaseMs,
    unavailableMs: shared.unavailableMs,
    maxQueue: settings.maxQueue,
    clock: settings.clock,
    logger: settings.logger,
    host,
    mayClaim: () => lifecycle.admissionOpen && breaker?.state !== 'open',
    onClosed: breaker?.on('stateChange', (change) => queue.breakerChanged(change.to)),
  });
  queue.start();
  return new DurableSource(queue, durable.handlers, fates, durable.retry);
}
