import { compareKeys } from '../backlog/keys.js';
import type { BacklogRecord, BacklogStore } from '../backlog/types.js';
import { type WaitingHead, WaitingHeads } from './WaitingHeads.js';

/** The earlier of an enqueue time and a record's, either possibly missing. */
export function earlier(
  at: number | undefined,
  record: BacklogRecord | undefined,
): number | undefined {
  if (record === undefined) return at;
  return at === undefined || record.enqueuedAt < at ? record.enqueuedAt : at;
}

/**
 * The keys an earlier life left in the store, walked in the store's key
 * order without being held: the walk keeps only where it is. They all
 * became ready together when the store opened, so they share the front of
 * the rotation, and each is visited once, when its turn comes; after that
 * its lane rotates like any other.
 *
 * A key is restored when its oldest record is older than the open (its seq
 * is below `below`, the first seq this life hands out). Any other key the
 * walk passes (one whose records this life wrote) has a lane of its own, or
 * holds only delivered records whose removal is not written yet.
 */
export class RestoredKeys {
  private after: string | undefined;
  private done = false;
  // Restored keys a probe took out of turn: the walk passes them when it gets there.
  private readonly taken = new Set<string>();
  // The waiting keys' heads, read at the first question about the oldest of them; dropped when the walk ends.
  private heads: WaitingHeads | undefined;

  constructor(
    private readonly store: BacklogStore,
    private readonly below: number,
    pending: number,
  ) {
    this.done = pending === 0;
  }

  /** Whether some restored key may still wait for its first turn. */
  get walking(): boolean {
    return !this.done;
  }

  /**
   * The next restored key the walk reaches that `skip` does not pass over
   * (a key with a lane already has its own turn); the walk moves past it.
   * `undefined` when the walk has ended.
   */
  next(skip: (key: string) => boolean): string | undefined {
    while (!this.done) {
      const key = this.store.keyAfter(this.after);
      if (key === undefined) {
        this.done = true;
        this.taken.clear();
        this.heads = undefined;
        return undefined;
      }
      this.after = key;
      if (!skip(key) && !this.taken.has(key) && this.isRestored(key)) return key;
    }
    return undefined;
  }

  /** Whether `key`, which has no lane, still waits for its first turn: records kept before the open, not visited yet. */
  waits(key: string): boolean {
    if (this.done || this.taken.has(key)) return false;
    if (this.after !== undefined && compareKeys(key, this.after) <= 0) return false;
    return this.isRestored(key);
  }

  /**
   * The restored key, still waiting, whose oldest record is the oldest of
   * them all, with that record's seq. The first question reads every waiting
   * key's head (O(keys)); later ones are O(1) amortised (see {@link WaitingHeads}).
   */
  oldest(skip: (key: string) => boolean): { key: string; seq: number } | undefined {
    if (this.done) return undefined;
    return this.headsOf(skip).oldest((key) => this.stillWaits(key, skip));
  }

  /** The wall-clock enqueue time of the oldest head of the restored keys still waiting; costs as {@link oldest}. */
  oldestEnqueuedAt(skip: (key: string) => boolean): number | undefined {
    if (this.done) return undefined;
    return this.headsOf(skip).oldestEnqueuedAt((key) => this.stillWaits(key, skip));
  }

  /** A probe takes `key` before the walk reaches it: the walk will pass it. */
  takeOutOfTurn(key: string): void {
    this.taken.add(key);
  }

  private headsOf(skip: (key: string) => boolean): WaitingHeads {
    this.heads ??= new WaitingHeads(this.readHeads(skip));
    return this.heads;
  }

  /**
   * The head of each restored key still waiting, in key order: one jump to
   * the next key and one read of its head per key. The head read also tells
   * whether the key is restored (its seq is below the open's), so no
   * separate `firstSeq` is asked.
   */
  private *readHeads(skip: (key: string) => boolean): Generator<WaitingHead> {
    for (let key = this.store.keyAfter(this.after); key !== undefined; ) {
      if (!skip(key) && !this.taken.has(key)) {
        const head = this.store.read(key, 0, 1)[0];
        if (head !== undefined && head.seq < this.below) {
          yield { key, seq: head.seq, enqueuedAt: head.enqueuedAt };
        }
      }
      key = this.store.keyAfter(key);
    }
  }

  /**
   * Whether `key`, waiting when the heads were read, waits still: the walk
   * has not reached it, no probe took it, and it has no lane. No store read.
   */
  private stillWaits(key: string, skip: (key: string) => boolean): boolean {
    if (this.taken.has(key) || skip(key)) return false;
    return this.after === undefined || compareKeys(key, this.after) > 0;
  }

  private isRestored(key: string): boolean {
    const seq = this.store.firstSeq(key);
    return seq !== undefined && seq < this.below;
  }
}
