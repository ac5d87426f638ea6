import type { BacklogRecord } from '../backlog/types.js';
import type { SharedClaim, SharedLease, SharedRecord } from './types.js';

/** One key this worker holds a lease on, with the claimed records it has not finished. */
export interface HeldKey {
  readonly lease: SharedLease;
  /** Claimed records not yet taken, in seq order. */
  readonly records: SharedRecord[];
  /** Taken and not yet ended: 0, or the size of the task or batch running. */
  running: number;
  /** The lease's operations, one after another (an ack that releases must not pass an earlier one). */
  chain: Promise<void>;
  /** Worker-clock ms of the claim or last renewal the store confirmed. */
  confirmedAt: number;
}

/**
 * The keys a worker holds: at most one run per key, keys handed out in the
 * order they became ready (round robin over what this worker holds; the
 * store's rotation decides which keys it holds).
 */
export class HeldKeys {
  private readonly byKey = new Map<string, HeldKey>();
  private ready: HeldKey[] = [];
  private front: HeldKey | undefined;
  /** Claimed records held here and not yet ended (running ones included). */
  count = 0;

  get size(): number {
    return this.byKey.size;
  }

  /** The held key of `key`, if this worker holds it. */
  get(key: string): HeldKey | undefined {
    return this.byKey.get(key);
  }

  /** Every held key. */
  all(): HeldKey[] {
    return [...this.byKey.values()];
  }

  /** Keeps a new claim; it is ready at once. */
  add(claim: SharedClaim, now: number): HeldKey {
    const held: HeldKey = {
      lease: claim.lease,
      records: [...claim.records],
      running: 0,
      chain: Promise.resolve(),
      confirmedAt: now,
    };
    this.byKey.set(claim.lease.key, held);
    this.count += held.records.length;
    this.ready.push(held);
    return held;
  }

  /** Forgets a held key (its lease ended or was lost): its records not ended are no longer here. */
  drop(held: HeldKey): void {
    if (this.byKey.get(held.lease.key) !== held) return;
    this.byKey.delete(held.lease.key);
    this.count -= held.records.length + held.running;
    held.records.length = 0;
    held.running = 0;
    if (this.front === held) this.front = undefined;
  }

  /** Whether `held` is still held (not dropped). */
  holds(held: HeldKey): boolean {
    return this.byKey.get(held.lease.key) === held;
  }

  /**
   * Held keys not running whose lease has run out by this worker's clock
   * since the store last confirmed it (the process was paused, or renewals
   * went unanswered): starting their records could run them beside their
   * next holder.
   */
  expired(now: number, leaseMs: number): HeldKey[] {
    const out: HeldKey[] = [];
    for (const held of this.byKey.values()) {
      if (held.running === 0 && now - held.confirmedAt >= leaseMs) out.push(held);
    }
    return out;
  }

  /** Whether some held key has a record to start. */
  get hasReady(): boolean {
    // The front key was taken out of the ready order by `prepare`, and is still ready.
    if (this.front !== undefined && this.startable(this.front)) return true;
    return this.ready.some((held) => this.startable(held));
  }

  /** Puts the next held key with a record to start in front; false when none has one. */
  prepare(): boolean {
    if (this.front !== undefined && this.startable(this.front)) return true;
    while (this.ready.length > 0) {
      const held = this.ready.shift() as HeldKey;
      if (this.startable(held)) {
        this.front = held;
        return true;
      }
    }
    this.front = undefined;
    return false;
  }

  /** The record {@link prepare} put in front. */
  peek(): SharedRecord | undefined {
    return this.front?.records[0];
  }

  /**
   * Takes up to `maxSize` records from the front key: consecutive ones of the
   * head's handler. A head that has run before (a failure, or a lost lease)
   * runs alone, so a task that fails or kills its worker is found by itself.
   */
  take(maxSize: number): BacklogRecord[] {
    const held = this.front as HeldKey;
    this.front = undefined;
    const head = held.records[0] as SharedRecord;
    let size = 1;
    if (head.attempts === 0 && head.lostLeases === 0) {
      while (size < maxSize && held.records[size]?.handler === head.handler) size++;
    }
    held.running = size;
    return held.records.splice(0, size);
  }

  /**
   * The run on `held` ended with `count` records settled; true when the key
   * has records left, and it goes to the back of the ready order.
   */
  ended(held: HeldKey): boolean {
    this.count -= held.running;
    held.running = 0;
    if (held.records.length === 0) return false;
    this.ready.push(held);
    return true;
  }

  /** The oldest `enqueuedAt` of the records held. */
  oldestEnqueuedAt(): number | undefined {
    let oldest: number | undefined;
    for (const held of this.byKey.values()) {
      const at = held.records[0]?.enqueuedAt;
      if (at !== undefined) oldest = Math.min(oldest ?? at, at);
    }
    return oldest;
  }

  private startable(held: HeldKey): boolean {
    return held.running === 0 && held.records.length > 0 && this.holds(held);
  }
}
