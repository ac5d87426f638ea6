import type { BacklogRecord } from '../backlog/types.js';
import { RingBuffer } from '../RingBuffer.js';
import type { Lane } from './Lane.js';
import type { RestoredKeys } from './RestoredKeys.js';

/** What a {@link Rotation} asks of the lanes it turns. */
export interface RotationLanes {
  /** Whether `key` has a lane (and so a turn of its own). */
  hasLane(key: string): boolean;
  /** The lane of a restored key, made with its records all in the store. */
  restoredLane(key: string): Lane;
  /** The lane's head, read back if need be; a lane found empty is retired. */
  loadHead(lane: Lane): BacklogRecord | undefined;
  /** The walk of the restored keys ended. */
  walkEnded(): void;
}

/**
 * The order in which keys take turns: a ring of the ready lanes, behind the
 * restored keys still waiting for their first turn. Those all became ready
 * when the store opened, before any lane in the ring, so while the walk of
 * {@link RestoredKeys} lasts, the next of them goes first; each is made a
 * lane only then, and rotates like the others after its turn.
 */
export class Rotation {
  private readonly ring = new RingBuffer<Lane>(16);
  // The lane the walk last put in front, while it has not left the front.
  private walkFront: Lane | undefined;

  constructor(
    readonly restored: RestoredKeys,
    private readonly lanes: RotationLanes,
  ) {}

  /** Whether some key can take a turn: a lane in the ring, or a restored key still waiting. */
  get hasReady(): boolean {
    return this.ring.size > 0 || this.restored.walking;
  }

  /** The lane in front, after the walk has put the next restored key there if it goes next. */
  front(): Lane | undefined {
    this.walkOn();
    return this.ring.peek();
  }

  /** The lane in front as it stands, the walk left as it is. */
  peek(): Lane | undefined {
    return this.ring.peek();
  }

  /** Puts a ready lane at the back. */
  push(lane: Lane): void {
    this.ring.push(lane);
  }

  /** Takes the lane in front out of the rotation; the walk may put the next restored key there. */
  leaveFront(): Lane {
    const lane = this.ring.shift() as Lane;
    if (lane === this.walkFront) this.walkFront = undefined;
    return lane;
  }

  /**
   * Puts the ready key with the oldest head first, a restored one still
   * waiting included: a probe should replay what waited longest. O(lanes in
   * the rotation), plus one read of every waiting restored key at the first probe.
   */
  rotateToOldest(): void {
    const bestSeq = this.rotateRingToOldest();
    const waiting = this.restored.oldest(this.lanes.hasLane);
    if (waiting !== undefined && waiting.seq < bestSeq) {
      this.restored.takeOutOfTurn(waiting.key);
      this.putInFront(waiting.key);
    }
  }

  /** Unless the restored key the walk put in front has not run yet, the walk puts the next one there. */
  private walkOn(): void {
    if (!this.restored.walking || this.walkFront !== undefined) return;
    const key = this.restored.next(this.lanes.hasLane);
    if (key === undefined) this.lanes.walkEnded();
    else this.walkFront = this.putInFront(key);
  }

  private putInFront(key: string): Lane {
    const lane = this.lanes.restoredLane(key);
    lane.state = 'ready';
    this.ring.unshift(lane);
    return lane;
  }

  /** Puts the ring's lane with the oldest head first, dropping lanes found empty; returns that head's seq. */
  private rotateRingToOldest(): number {
    let best = 0;
    let bestSeq = Number.POSITIVE_INFINITY;
    let kept = 0;
    const count = this.ring.size;
    for (let i = 0; i < count; i++) {
      const lane = this.ring.shift() as Lane;
      const head = this.lanes.loadHead(lane);
      if (head === undefined) {
        if (lane === this.walkFront) this.walkFront = undefined;
        continue;
      }
      if (head.seq < bestSeq) {
        bestSeq = head.seq;
        best = kept;
      }
      this.ring.push(lane);
      kept++;
    }
    for (let i = 0; i < best; i++) this.ring.push(this.ring.shift() as Lane);
    return bestSeq;
  }
}
