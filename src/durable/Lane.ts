import type { BacklogRecord } from '../backlog/types.js';
import { RingBuffer } from '../RingBuffer.js';

/** Where a key's lane stands in the scheduler. */
export type LaneState = 'ready' | 'running' | 'backoff' | 'idle';

/**
 * One ordering key's pending tasks. `cache` holds a prefix of them, oldest
 * first; when `stored` is set, more follow in the store after `cursor` (the
 * newest seq that has been in the cache), to be read back when the cache
 * runs dry. The head stays in the cache while it runs or waits for a retry,
 * so nothing behind it in the same key can overtake it.
 */
export class Lane {
  readonly cache = new RingBuffer<BacklogRecord>(4);
  cursor = 0;
  stored = false;
  state: LaneState = 'idle';
  retryAt = 0;
  /**
   * While a failed batch is being split to find its bad task: the sizes of
   * the batches its tasks run in next, front first (each a prefix of the
   * lane). `undefined` when not splitting. Written by {@link split} and
   * {@link delivered} only.
   */
  segments: number[] | undefined;
  /** How many records from the head are in flight while `running` (a batch's size); set by `Lanes`. */
  inFlight = 0;

  constructor(readonly key: string) {}

  /** Whether the lane still has work, in memory or in the store. */
  get hasWork(): boolean {
    return this.cache.size > 0 || this.stored;
  }

  get head(): BacklogRecord | undefined {
    return this.cache.peek();
  }

  /** The most tasks the next batch of this lane may take: `maxSize`, or the front segment of a split. */
  batchLimit(maxSize: number): number {
    const segments = this.segments;
    return segments === undefined ? maxSize : Math.min(maxSize, segments[0] as number);
  }

  /** A batch of `size` from the head failed for its data: it runs again as two halves, in order. */
  split(size: number): void {
    const first = Math.ceil(size / 2);
    const halves = [first, size - first];
    const segments = this.segments;
    if (segments === undefined) this.segments = halves;
    else segments.splice(0, 1, ...halves);
  }

  /** `count` tasks from the head were delivered or buried: a split moves on, and ends when done. */
  delivered(count: number): void {
    const segments = this.segments;
    if (segments === undefined) return;
    let left = count;
    while (left > 0 && segments.length > 0) {
      const front = segments[0] as number;
      if (front > left) {
        segments[0] = front - left;
        break;
      }
      left -= front;
      segments.shift();
    }
    if (segments.length === 0) this.segments = undefined;
  }

  /**
   * Puts into the cache, in seq order, a record that arrived after a newer
   * one of its key (see `DurableQueue.admit`). A head that is running or
   * waiting for its retry stays first: it has started.
   */
  insert(record: BacklogRecord): void {
    const all = this.cache.takeAll();
    // What is in flight stays in front, in place: its outcome removes exactly those records.
    const started = this.state === 'running' ? this.inFlight : this.state === 'backoff' ? 1 : 0;
    for (let i = 0; i < started && all.length > 0; i++) {
      this.cache.push(all.shift() as BacklogRecord);
    }
    let placed = false;
    for (const other of all) {
      if (!placed && record.seq < other.seq) {
        this.cache.push(record);
        placed = true;
      }
      this.cache.push(other);
    }
    if (!placed) this.cache.push(record);
  }
}
