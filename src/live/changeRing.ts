import type { ActorState } from './liveState.js';

/** One state change of one actor, numbered in the order the live view heard it. */
export interface StateChange {
  /** 1, 2, 3, … with no gap: a viewer that misses a number knows it missed a change. */
  seq: number;
  /** Wall-clock ms (`Date.now()` by default), for display. */
  t: number;
  /** The machine's id, which is also its diagram's: `breaker`, `worker`, `tracker`, … */
  machine: string;
  /**
   * The leaves left, as a label under the machine's root (`closed`,
   * `half_open.probing`, `active.drain.running`): in a parallel machine only
   * the regions that changed.
   */
  from: string;
  /** The leaves entered. */
  to: string;
  /** The whole state after the change, as {@link ActorState.label} gives it. */
  label: string;
  /** The state ids of the active leaves after the change, e.g. `['breaker.half_open.probing']`. */
  ids: string[];
}

/** What a viewer that has seen up to some sequence number gets next. */
export interface ChangesSince {
  changes: StateChange[];
  /**
   * How many changes fell out of the ring before the viewer got them: 0 when
   * `changes` continues exactly where the viewer stopped.
   */
  missed: number;
}

/**
 * The last `capacity` state changes, oldest first, each with the next
 * sequence number. Pushing is O(1) and allocates only the change itself.
 */
export class ChangeRing {
  readonly #items: (StateChange | undefined)[];
  #start = 0;
  #size = 0;
  #lastSeq = 0;

  constructor(readonly capacity: number) {
    this.#items = new Array(capacity);
  }

  /** The sequence number of the newest change, 0 before any. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The sequence number of the oldest change still held (`lastSeq + 1` when empty). */
  get firstSeq(): number {
    return this.#lastSeq - this.#size + 1;
  }

  /** Numbers the change, keeps it (pushing the oldest out when full) and returns it. */
  push(change: Omit<StateChange, 'seq'>): StateChange {
    const numbered: StateChange = { seq: ++this.#lastSeq, ...change };
    const end = (this.#start + this.#size) % this.capacity;
    this.#items[end] = numbered;
    if (this.#size < this.capacity) this.#size++;
    else this.#start = (this.#start + 1) % this.capacity;
    return numbered;
  }

  /** Every change held, oldest first. */
  all(): StateChange[] {
    const out: StateChange[] = new Array(this.#size);
    for (let i = 0; i < this.#size; i++) {
      out[i] = this.#items[(this.#start + i) % this.capacity] as StateChange;
    }
    return out;
  }

  /**
   * The changes after `seenSeq`. When some of them have already been pushed
   * out, returns every change held and says how many were lost in between.
   */
  since(seenSeq: number): ChangesSince {
    const first = this.firstSeq;
    if (seenSeq >= this.#lastSeq) return { changes: [], missed: 0 };
    if (seenSeq < first - 1) return { changes: this.all(), missed: first - 1 - seenSeq };
    const skip = seenSeq - first + 1;
    const out: StateChange[] = new Array(this.#size - skip);
    for (let i = 0; i < out.length; i++) {
      out[i] = this.#items[(this.#start + skip + i) % this.capacity] as StateChange;
    }
    return { changes: out, missed: 0 };
  }
}
