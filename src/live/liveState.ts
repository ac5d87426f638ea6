import { ChangeRing, type StateChange } from './changeRing.js';

/** A state value as XState gives it: a leaf name, or an object of child values. */
export type StateValue = string | { [key: string]: StateValue | undefined };

/** The latest state of one actor, as the page shows it. */
export interface ActorState {
  /** The machine's id (and its diagram's). */
  machine: string;
  /** One short label: the active leaves' paths under the root, `+` between parallel regions. */
  label: string;
  /** The active leaves' state ids, e.g. `['worker.active.admission.open', 'worker.active.drain.idle']`. */
  ids: string[];
}

/** Leaf state ids of a value: `{ half_open: 'probing' }` in `breaker` → `['breaker.half_open.probing']`. */
export function leafStateIds(machine: string, value: StateValue): string[] {
  if (typeof value === 'string') return [`${machine}.${value}`];
  return Object.entries(value).flatMap(([key, child]) =>
    child === undefined ? [`${machine}.${key}`] : leafStateIds(`${machine}.${key}`, child),
  );
}

/** Leaf ids as one label: the ids without the machine's prefix, `+` between them. */
function leavesLabel(machine: string, ids: readonly string[]): string {
  return ids.map((id) => id.slice(machine.length + 1)).join(' + ');
}

function labelOf(machine: string, ids: readonly string[], status: string): string {
  const label = leavesLabel(machine, ids);
  // A stopped or finished actor keeps its last value; say that it no longer runs.
  return status === 'active' ? label : `${label} (${status})`;
}

/**
 * What a change says it changed: only the leaves that differ, so that in a
 * parallel machine `writes.idle → writes.persisting` does not repeat the
 * regions that stayed. A change of status alone shows the whole labels.
 */
function changedLabels(machine: string, before: ActorState, after: ActorState) {
  const left = before.ids.filter((id) => !after.ids.includes(id));
  const entered = after.ids.filter((id) => !before.ids.includes(id));
  if (entered.length === 0) return { from: before.label, to: after.label };
  return { from: leavesLabel(machine, left), to: leavesLabel(machine, entered) };
}

/**
 * The latest state of each actor and the bounded ring of changes. It is told
 * every snapshot of a watched actor and records one change only when the
 * active leaves (or the actor's status) differ from the last ones, since
 * most events change nothing.
 */
export class LiveState {
  readonly ring: ChangeRing;
  readonly #actors = new Map<string, ActorState>();
  readonly #now: () => number;

  /**
   * @param capacity how many changes the ring keeps
   * @param now wall-clock ms for each change's `t`
   */
  constructor(capacity: number, now: () => number = Date.now) {
    this.ring = new ChangeRing(capacity);
    this.#now = now;
  }

  /** The first state of an actor, recorded without a change. */
  seed(machine: string, value: StateValue, status = 'active'): void {
    const ids = leafStateIds(machine, value);
    this.#actors.set(machine, { machine, ids, label: labelOf(machine, ids, status) });
  }

  /** A snapshot of a watched actor; returns the change it made, if any. */
  see(machine: string, value: StateValue, status = 'active'): StateChange | undefined {
    const ids = leafStateIds(machine, value);
    const label = labelOf(machine, ids, status);
    const before = this.#actors.get(machine);
    if (before?.label === label) return undefined;
    const after: ActorState = { machine, ids, label };
    this.#actors.set(machine, after);
    const labels = before ? changedLabels(machine, before, after) : { from: '', to: label };
    return this.ring.push({ t: this.#now(), machine, ...labels, label, ids });
  }

  /** Every actor's latest state, in the order they were first seen. */
  actors(): ActorState[] {
    return [...this.#actors.values()];
  }
}
