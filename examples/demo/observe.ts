/**
 * Watches the worker's four actors (found by `systemId`) for the status
 * display and the report: each one's state as a short label, every change,
 * and every state each machine visited.
 */
import type { AnyActorRef, StateValue } from 'xstate';
import type { SyncWorker } from '../../src/index.js';
import type { ActorStates, StateChange } from './types.js';

/** The actors, by `systemId`, with the stem of the machine file each one runs (see `REPORT_MACHINES`). */
const WATCHED = [
  { actor: 'breaker', systemId: 'breaker', stem: 'breaker' },
  { actor: 'worker', systemId: 'worker', stem: 'worker' },
  { actor: 'tracker', systemId: 'tracker', stem: 'latency' },
  { actor: 'backlog', systemId: 'backlog', stem: 'backlog' },
] as const;

type ActorName = keyof ActorStates;

/** Leaf state ids of a state value: `{ active: { drain: 'blocked' } }` → `['worker.active.drain.blocked']`. */
export function leafStateIds(machineId: string, value: StateValue): string[] {
  if (typeof value === 'string') return [`${machineId}.${value}`];
  return Object.entries(value).flatMap(([key, child]) =>
    child === undefined ? [`${machineId}.${key}`] : leafStateIds(`${machineId}.${key}`, child),
  );
}

/** A value as one short label: `{ adaptive: 'tracking' }` → `adaptive.tracking`. */
function dotted(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([key, child]) => (child === undefined ? key : `${key}.${dotted(child)}`))
    .join(' ');
}

/** The backlog's label is its reads region: `live` or `replaying` (or `closed`). */
function backlogLabel(value: StateValue): string {
  if (typeof value === 'string') return value;
  const open = value.open;
  if (typeof open === 'object' && typeof open.reads === 'string') return open.reads;
  return dotted(value);
}

/**
 * The lifecycle as `SyncWorker.state` names it: `stopping` while admission is
 * closed, else the drain region's state, with `running` as `draining`.
 */
function workerLabel(value: StateValue): string {
  if (typeof value === 'string') return value;
  const active = value.active;
  if (typeof active !== 'object') return dotted(value);
  if (active.admission === 'closed') return 'stopping';
  const drain = active.drain;
  if (typeof drain !== 'string') return dotted(value);
  return drain === 'running' ? 'draining' : drain;
}

/** Whether the backlog is writing a group commit right now. */
export function isPersisting(worker: SyncWorker): boolean {
  const value = worker.actor.system.get('backlog')?.getSnapshot().value as StateValue | undefined;
  return typeof value === 'object' && JSON.stringify(value).includes('"persisting"');
}

/** Follows the actors of one worker. */
export class ActorWatch {
  /** State ids each machine visited, by machine file stem. */
  readonly visited: Record<string, Set<string>> = {};
  readonly changes: StateChange[] = [];
  private readonly labels: Record<ActorName, string>;
  private readonly listeners: ((change: StateChange) => void)[] = [];
  private readonly subscriptions: { unsubscribe(): void }[] = [];

  constructor(
    private readonly worker: SyncWorker,
    private readonly now: () => number,
  ) {
    this.labels = { breaker: 'none', worker: 'idle', tracker: 'none', backlog: 'none' };
    for (const { actor, systemId, stem } of WATCHED) {
      const ref = worker.actor.system.get(systemId) as AnyActorRef | undefined;
      if (ref === undefined) continue;
      this.visited[stem] = new Set();
      // State ids start with the machine's id, which is not always the actor's.
      const machineId = (ref.getSnapshot() as { machine?: { id: string } }).machine?.id ?? ref.id;
      const see = (snapshot: { value: StateValue }) =>
        this.see(actor, stem, machineId, snapshot.value);
      see(ref.getSnapshot());
      this.subscriptions.push(ref.subscribe({ next: see, error: () => {} }));
    }
  }

  /** The actors' current labels. */
  states(): ActorStates {
    return {
      breaker: this.worker.stats().breakerState,
      worker: this.labels.worker as ActorStates['worker'],
      tracker: this.labels.tracker,
      backlog: this.labels.backlog,
    };
  }

  /** Calls `listener` on each change of an actor's label. */
  onChange(listener: (change: StateChange) => void): void {
    this.listeners.push(listener);
  }

  stop(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }

  private see(actor: ActorName, stem: string, machineId: string, value: StateValue): void {
    const visited = this.visited[stem] as Set<string>;
    for (const id of leafStateIds(machineId, value)) visited.add(id);
    const label = this.labelOf(actor, value);
    const from = this.labels[actor];
    // Snapshots arrive on every event, most of which change nothing.
    if (label === from) return;
    this.labels[actor] = label;
    const change: StateChange = { t: this.now(), actor, from, to: label };
    this.changes.push(change);
    for (const listener of this.listeners) listener(change);
  }

  private labelOf(actor: ActorName, value: StateValue): string {
    if (actor === 'backlog') return backlogLabel(value);
    if (actor === 'worker') return workerLabel(value);
    // `half_open.probing` is a detail of half_open: the display and the report name the three states.
    if (actor === 'breaker')
      return typeof value === 'string' ? value : Object.keys(value).join(' ');
    return dotted(value);
  }
}
