import type { AnyActorRef, InspectionEvent, Subscription } from 'xstate';
import { guardedInspect } from '../inspect.js';
import type { Logger } from '../logger.js';
import type { SyncWorker } from '../SyncWorker.js';
import type { LiveState, StateValue } from './liveState.js';

/** The `systemId`s of the actors a worker's root hosts. */
const SYSTEM_IDS = ['worker', 'breaker', 'tracker', 'backlog'] as const;

/** What a machine actor's snapshot holds that the live view reads. */
interface MachineSnapshot {
  value: StateValue;
  status: string;
  machine?: { id: string };
}

/** The numbers the page charts, sampled at each send (never per task). */
export interface MetricSample {
  /** Wall-clock ms. */
  t: number;
  /** Tasks waiting in memory: closure tasks plus the durable ones held there. */
  queued: number;
  running: number;
  /** Durable tasks kept, not yet delivered or dead. */
  backlog: number;
  timeoutMs: number;
  /** `null` until the tracker has a sample (or without a tracker). */
  p95Ms: number | null;
}

/** Reads the worker's counters for one chart point. */
export function sampleMetrics(worker: SyncWorker, now: () => number = Date.now): MetricSample {
  const stats = worker.stats();
  return {
    t: now(),
    queued: stats.queued + stats.backlogInMemory,
    running: stats.running,
    backlog: stats.backlog,
    timeoutMs: stats.timeoutMs,
    p95Ms: worker.latencyTracker?.p95 ?? null,
  };
}

/**
 * The machine actors of a worker whose machine has a diagram, by machine id:
 * the root, its hosted children, and a breaker or tracker the user built
 * (which runs in an actor system of its own).
 */
export function watchedActors(
  worker: SyncWorker,
  hasDiagram: (machine: string) => boolean,
): Map<AnyActorRef, string> {
  const system = worker.actor.system;
  const candidates: (AnyActorRef | undefined)[] = [
    worker.actor,
    ...SYSTEM_IDS.map((id) => system.get(id) as AnyActorRef | undefined),
    worker.breaker?.actor,
    worker.latencyTracker?.actor,
  ];
  const watched = new Map<AnyActorRef, string>();
  for (const ref of candidates) {
    const machine = (ref?.getSnapshot() as MachineSnapshot | undefined)?.machine?.id;
    if (ref !== undefined && machine !== undefined && hasDiagram(machine)) {
      watched.set(ref, machine);
    }
  }
  return watched;
}

/**
 * Feeds `state` from the worker's actors: their current snapshots first,
 * then each `@xstate.snapshot` inspection event, through XState's
 * `system.inspect` on every actor system involved, so the worker needs no
 * inspector at construction. Inspection events come per event an actor
 * handles; on the happy path the worker sends none per task, so this costs
 * nothing per task. Returns a function that detaches.
 */
export function feedLiveState(
  watched: ReadonlyMap<AnyActorRef, string>,
  state: LiveState,
  logger: Logger,
): () => void {
  for (const [ref, machine] of watched) {
    const snapshot = ref.getSnapshot() as MachineSnapshot;
    state.seed(machine, snapshot.value, snapshot.status);
  }
  const observe = (event: InspectionEvent) => {
    if (event.type !== '@xstate.snapshot') return;
    const machine = watched.get(event.actorRef as AnyActorRef);
    if (machine === undefined) return;
    const snapshot = event.snapshot as unknown as MachineSnapshot;
    state.see(machine, snapshot.value, snapshot.status);
  };
  // A bug here must never reach the worker: XState would throw it into the actor's event.
  const guarded = guardedInspect(observe, (error) =>
    logger.error?.('live view: stopped following the actors after an error', error),
  ) as (event: InspectionEvent) => void;
  const systems = new Set([...watched.keys()].map((ref) => ref.system));
  const subscriptions: Subscription[] = [...systems].map((system) => system.inspect(guarded));
  return () => {
    for (const subscription of subscriptions) subscription.unsubscribe();
  };
}
