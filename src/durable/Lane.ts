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

  constructor(readonly key: string) {}

  /** Whether the lane still has work, in memory or in the store. */
  get hasWork(): boolean {
    return this.cache.size > 0 || this.stored;
  }

  get head(): BacklogRecord | undefined {
    return this.cache.peek();
  }

  /**
   * Puts into the cache, in seq order, a record that arrived after a newer
   * one of its key (see `DurableQueue.admit`). A head that is running or
   * waiting for its retry stays first: it has started.
   */
  insert(record: BacklogRecord): void {
    const all = this.cache.takeAll();
    const started = this.state === 'running' || this.state === 'backoff';
    if (started && all.length > 0) this.cache.push(all.shift() as BacklogRecord);
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
