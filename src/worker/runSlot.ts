import type { TaskRun } from '../task.js';
import type { Deadlined } from './deadlines.js';
import type { TaskSource } from './taskSource.js';

/** How a slot's run reports its outcome to the runner: `seq` names the run it is for. */
export type SettleRun = (slot: RunSlot, seq: number, ok: boolean, value: unknown) => void;

/**
 * The callbacks a run's native promise settles through, made once per slot
 * and reused run after run: a native promise calls one of them at most once,
 * so once a run's outcome has arrived the next run may use them, and the hot
 * path allocates no closures. A run that ends without its outcome (timed
 * out, abandoned) retires them with {@link retireSettlers}, because its
 * promise may still settle and must reach nothing.
 */
export interface Settlers {
  /** False once retired; only {@link retireSettlers} writes it. */
  live: boolean;
  readonly fulfilled: (value: unknown) => void;
  readonly rejected: (error: unknown) => void;
}

/**
 * One place for a run in flight. Its fields are plain, on the hot path: the
 * runner alone writes them, and `seq` tells a late outcome from the current one.
 */
export interface RunSlot extends Deadlined {
  seq: number;
  source: TaskSource<unknown> | undefined;
  task: unknown;
  run: TaskRun | undefined;
  startedAt: number;
  /** The breaker's generation when the run was admitted. */
  generation: number;
  /** Whether the run holds the breaker's half-open probe permit (its outcome always reaches the breaker). */
  probe: boolean;
  /** The next slot not in use, while this one is not in use either: the runner's free list. */
  nextIdle: RunSlot | undefined;
  /** How the current run's native promise reports back: made at the first such run, so an idle worker holds none. */
  settlers: Settlers | undefined;
  /** What the settlers call. */
  readonly settle: SettleRun;
}

/** A slot with nothing in flight, whose outcomes go to `settle`. */
export function emptySlot(settle: SettleRun): RunSlot {
  return {
    seq: 0,
    source: undefined,
    task: undefined,
    run: undefined,
    startedAt: 0,
    deadline: 0,
    heapIndex: -1,
    generation: 0,
    probe: false,
    nextIdle: undefined,
    settlers: undefined,
    settle,
  };
}

/** The settlers of `slot`'s run, made now if the slot has none. */
export function settlersOf(slot: RunSlot): Settlers {
  if (slot.settlers === undefined) slot.settlers = settlersFor(slot);
  return slot.settlers;
}

/** The run in `slot` ended without its outcome: its promise may still settle, and must reach nothing. */
export function retireSettlers(slot: RunSlot): void {
  const settlers = slot.settlers;
  if (settlers === undefined) return;
  settlers.live = false;
  slot.settlers = undefined;
}

function settlersFor(slot: RunSlot): Settlers {
  const settlers: Settlers = {
    live: true,
    fulfilled: (value) => {
      if (settlers.live) slot.settle(slot, slot.seq, true, value);
    },
    rejected: (error) => {
      if (settlers.live) slot.settle(slot, slot.seq, false, error);
    },
  };
  return settlers;
}
