import type { ActorRefFrom } from 'xstate';
import type { breakerMachine } from '../../machines/breaker.machine.js';
import type { backlogMachine } from '../../machines/projections/backlog.machine.js';
import type { latencyMachine } from '../../machines/projections/latency.machine.js';
import type { BacklogOpened, BacklogStore, DeadLetter } from '../backlog/types.js';
import type { BreakerSnapshot } from '../breakerSnapshot.js';
import { CircuitBreaker } from '../CircuitBreaker.js';
import { DurableQueue, type DurableQueueHost } from '../durable/DurableQueue.js';
import { BacklogError } from '../errors/BacklogError.js';
import { LatencyTracker, type LatencyTrackerOptions } from '../LatencyTracker.js';
import type { Logger } from '../logger.js';
import { type FleetParts, sharedSourceFor } from '../shared/sharedSource.js';
import { isSharedStore } from '../shared/types.js';
import { BreakerGate } from './breakerGate.js';
import { keepBreakerState } from './breakerResume.js';
import type { ClosureSource } from './closureSource.js';
import { DrainLoop } from './drainLoop.js';
import { DurableSource } from './durableSource.js';
import type { Fates } from './fates.js';
import type { LifecycleBridge } from './lifecycle.js';
import type { WorkerSettings } from './options.js';
import { Runner } from './runner.js';
import type { SyncWorkerActor } from './types.js';

/**
 * The breaker a worker uses: the one the user gave, a facade over the
 * system's own `breaker` child, or none.
 */
export function connectBreaker(
  settings: WorkerSettings,
  root: SyncWorkerActor,
  resumedFrom: BreakerSnapshot | undefined,
): CircuitBreaker | undefined {
  if (settings.system.breaker === 'none') return undefined;
  if (settings.breaker !== undefined) return settings.breaker;
  const actor = root.system.get('breaker') as ActorRefFrom<typeof breakerMachine>;
  const breaker = new CircuitBreaker({ logger: settings.logger, initialState: resumedFrom }, actor);
  keepBreakerState(breaker, settings);
  return breaker;
}

/** The tracker a worker uses: the one the user gave, a facade over the system's own `tracker` child, or none. */
export function connectTracker(
  settings: WorkerSettings,
  root: SyncWorkerActor,
): LatencyTracker | undefined {
  if (settings.tracker === undefined) return undefined;
  if (settings.tracker instanceof LatencyTracker) return settings.tracker;
  const actor = root.system.get('tracker') as ActorRefFrom<typeof latencyMachine>;
  return new LatencyTracker(settings.tracker as LatencyTrackerOptions, actor);
}

/**
 * The single-owner store the worker opens itself, in its constructor; none
 * for a shared store, which its queue opens in the background (it is a server).
 */
export function openOwnStore(settings: WorkerSettings): BacklogStore | undefined {
  const store = settings.durable?.store;
  return isSharedStore(store) ? undefined : store;
}

/**
 * The durable tasks' source over the store the worker opened, or none without
 * a backlog; over a shared store (which it opens in the background), the
 * fleet's source, whose claims `fleet` (the worker's breaker and lifecycle) decides.
 */
export function durableSourceFor(
  settings: WorkerSettings,
  opened: BacklogOpened | undefined,
  root: SyncWorkerActor,
  fates: Fates,
  fleet: FleetParts,
  host: DurableQueueHost,
): DurableSource | undefined {
  const durable = settings.durable;
  if (durable === undefined) return undefined;
  if (isSharedStore(durable.store)) {
    return sharedSourceFor(settings, durable.store, fates, host, fleet);
  }
  if (opened === undefined) return undefined;
  const queue = new DurableQueue({
    store: durable.store,
    nextSeq: opened.nextSeq,
    pendingByKey: opened.pendingByKey,
    maxCached: settings.maxQueue,
    clock: settings.clock,
    actor: root.system.get('backlog') as ActorRefFrom<typeof backlogMachine>,
    host,
  });
  return new DurableSource(queue, durable.handlers, fates, durable.retry);
}

/** The parts a worker is built from before its drain: they exist before the runner does. */
export interface CoreParts {
  closures: ClosureSource;
  durable: DurableSource | undefined;
  fates: Fates;
  lifecycle: LifecycleBridge;
  breaker: CircuitBreaker | undefined;
  tracker: LatencyTracker | undefined;
}

/** Every part of a worker. */
export interface WorkerParts extends CoreParts {
  gate: BreakerGate;
  runner: Runner;
  drain: DrainLoop;
}

/** Adds the breaker gate, the runner and the drain loop (each tells the other through its own interface). */
export function withDrain(settings: WorkerSettings, core: CoreParts): WorkerParts {
  const { closures, durable, lifecycle, tracker } = core;
  const gate = new BreakerGate(core.breaker, settings.countsAsFailure, settings.logger);
  const trace = settings.trace ? lifecycle.tracer() : undefined;
  const runner = new Runner(settings.clock, gate, tracker, trace, settings.concurrency);
  const drain = new DrainLoop(closures, durable, runner, gate, lifecycle, tracker);
  runner.connect(drain);
  return { ...core, gate, runner, drain };
}

/**
 * A stored record could not be read: the store buried it; it is told like any
 * dead letter. During `open()` the queue does not exist yet, and the record
 * was never counted as pending.
 */
export function reportCorrupt(
  letter: DeadLetter,
  location: string,
  logger: Logger,
  fates: Fates,
  durable: DurableSource | undefined,
): void {
  logger.error?.(
    `SyncWorker: ${letter.reason} (key ${JSON.stringify(letter.key)}, seq ${letter.seq}); moved to the dead letters`,
  );
  const error = new BacklogError(location, letter.reason);
  if (durable === undefined) fates.buried(letter, error);
  else durable.corrupt(letter, error);
}
