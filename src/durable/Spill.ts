import type { Lane } from './Lane.js';

/**
 * Whether some pending records wait only in the store: a lane's beyond its
 * cache, or a restored key's not visited yet. Tells `onSpill` each time that
 * changes (the backlog machine's `replaying`).
 */
export class Spill {
  private storedLanes = 0;
  private spilled = false;

  constructor(
    private readonly walking: () => boolean,
    private readonly onSpill: (spilled: boolean) => void,
  ) {}

  /** Whether records wait only in the store. */
  get isSpilled(): boolean {
    return this.storedLanes > 0 || this.walking();
  }

  /** More of `lane`'s records follow in the store. */
  stored(lane: Lane): void {
    if (lane.stored) return;
    lane.stored = true;
    this.storedLanes++;
    this.changed();
  }

  /** `lane` has read back all its key has. */
  caughtUp(lane: Lane): void {
    if (!lane.stored) return;
    lane.stored = false;
    this.storedLanes--;
    this.changed();
  }

  /** Tells the owner if records started or stopped waiting in the store. */
  changed(): void {
    const spilled = this.isSpilled;
    if (spilled === this.spilled) return;
    this.spilled = spilled;
    this.onSpill(spilled);
  }
}
