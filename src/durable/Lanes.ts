import { ownPayload } from '../backlog/record.js';
import type { BacklogRecord, BacklogStore } from '../backlog/types.js';
import { Lane } from './Lane.js';
import { earlier, RestoredKeys } from './RestoredKeys.js';
import { Rotation } from './Rotation.js';
import { Spill } from './Spill.js';

// Bounds one synchronous read from the store, so replay never stalls the event loop for long.
const READ_CHUNK = 512;

/** What {@link Lanes} needs from the queue that owns it. */
export interface LanesSettings {
  store: BacklogStore;
  /** Most records held in memory (see `admit` for the one exception). */
  maxCached: number;
  /** The newest seq a read-back may take: below every commit and requeue that has not ended. */
  readableThrough(): number;
  /** Whether a commit or requeue is in flight. */
  writesInFlight(): boolean;
  /** The oldest record still being written, not yet in a lane. */
  oldestWriting(): BacklogRecord | undefined;
  /** Some lane's records now wait in the store (`true`), or none does any more (`false`). */
  onSpill(spilled: boolean): void;
  /** The first seq of this life: records below it were kept by an earlier one. */
  restoredBelow: number;
  /** How many records an earlier life left (none: there are no restored keys to walk). */
  restoredPending: number;
}

/**
 * The per-key lanes of a durable queue and their rotation: each key delivers
 * in seq order, one task at a time, round robin across keys. A lane holds a
 * prefix of its key's records in memory and reads the rest back from the
 * store when it runs dry.
 */
export class Lanes {
  private readonly lanes = new Map<string, Lane>();
  private readonly ready: Rotation;
  private cachedCount = 0;
  private readonly spill: Spill;
  // The keys an earlier life left: not held, but walked in front of the rotation.
  private readonly restored: RestoredKeys;

  // A read-back takes no record beyond `readableThrough`. A lane whose read
  // stopped there waits here, still `stored`, for the next end to make it ready.
  private readonly parked = new Set<Lane>();

  // Lanes that ran dry while a commit or requeue was in flight. They keep their
  // cursor until it ends: a fresh lane (cursor 0) reading back could take a
  // delivered record whose removal the store has not written yet.
  private retiredDuringWrite: Lane[] = [];

  constructor(private readonly settings: LanesSettings) {
    this.restored = new RestoredKeys(
      settings.store,
      settings.restoredBelow,
      settings.restoredPending,
    );
    this.spill = new Spill(() => this.restored.walking, settings.onSpill);
    this.ready = new Rotation(this.restored, {
      hasLane: this.hasLane,
      restoredLane: (key) => {
        const lane = this.lane(key);
        this.spill.stored(lane);
        return lane;
      },
      loadHead: (lane) => this.loadHead(lane),
      walkEnded: () => this.spill.changed(),
    });
    this.spill.changed();
  }

  /** Records held in memory. */
  get cached(): number {
    return this.cachedCount;
  }

  /** Whether some key can deliver now. */
  get hasReady(): boolean {
    return this.ready.hasReady;
  }

  /** Whether some lane has records kept only in the store. */
  get isReplaying(): boolean {
    return this.spill.isSpilled;
  }

  /** The head of the lane in front of the rotation, left in place. */
  peek(): BacklogRecord | undefined {
    return this.ready.peek()?.head;
  }

  /**
   * The wall-clock enqueue time of the oldest pending task, if any: the
   * oldest of the keys' heads and of the records still being written. A
   * key's head is in memory, or first after its cursor in the store (one
   * read of one record; nothing is taken). The restored keys still waiting
   * for their first turn are read once, at the first call (see
   * {@link RestoredKeys.oldestEnqueuedAt}). O(keys with a lane): for gauges
   * and health checks, not for the hot path.
   */
  oldestEnqueuedAt(): number | undefined {
    const { store } = this.settings;
    let oldest = earlier(
      this.restored.oldestEnqueuedAt(this.hasLane),
      this.settings.oldestWriting(),
    );
    for (const lane of this.lanes.values()) {
      oldest = earlier(
        oldest,
        lane.head ?? (lane.stored ? store.read(lane.key, lane.cursor, 1)[0] : undefined),
      );
    }
    return oldest;
  }

  /**
   * Whether a task can run now, putting the key that goes next in front: with
   * `oldest` the key whose head waited longest, otherwise the next key in
   * round-robin order. Keys found empty on reading back are dropped here.
   */
  prepare(oldest: boolean): boolean {
    if (oldest) this.ready.rotateToOldest();
    for (;;) {
      const lane = oldest ? this.ready.peek() : this.ready.front();
      if (lane === undefined) return false;
      if (this.loadHead(lane) !== undefined) return true;
      this.ready.leaveFront();
    }
  }

  private readonly hasLane = (key: string): boolean => this.lanes.has(key);

  /** Takes the task {@link prepare} put in front, and marks its key as running. */
  take(): BacklogRecord {
    const lane = this.ready.leaveFront();
    lane.state = 'running';
    lane.inFlight = 1;
    return lane.head as BacklogRecord;
  }

  /**
   * Takes up to `maxSize` consecutive tasks of the lane {@link prepare} put
   * in front that share its head's handler (its split's front segment at
   * most), and marks the key as running. A batch may read past `maxCached`
   * by up to its own size: the records it holds are in flight, not waiting.
   */
  takeBatch(maxSize: number): BacklogRecord[] {
    const lane = this.ready.leaveFront();
    lane.state = 'running';
    const limit = lane.batchLimit(maxSize);
    if (lane.cache.size < limit && lane.stored) this.readBack(lane, limit - lane.cache.size);
    const head = lane.head as BacklogRecord;
    const batch = [head];
    for (let i = 1; i < limit; i++) {
      const record = lane.cache.at(i);
      if (record === undefined || record.handler !== head.handler) break;
      batch.push(record);
    }
    lane.inFlight = batch.length;
    return batch;
  }

  /** The key's lane, now running, runs its head again at once (a batch being split). */
  again(key: string): void {
    const lane = this.lane(key);
    lane.state = 'idle';
    this.makeReady(lane);
  }

  /**
   * Durable records join their keys' lanes: cached while memory allows (a
   * new record with its own payload, parsed from `payloadJson`), else left in
   * the store. Returns whether a lane became ready.
   *
   * Commits and requeues can end out of seq order: a requeue hands out seqs
   * above a commit still in flight and may end first. A record below its
   * lane's cursor arrives after a newer one of its key, so a read-back (which
   * starts after the cursor) would never find it: it is held in memory, in
   * seq order, even past `maxCached`, which only this race can exceed.
   */
  admit(records: readonly BacklogRecord[], payloadJson?: readonly string[]): boolean {
    let runnable = false;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as BacklogRecord;
      // A key still waiting for its first turn has older records in the store: this one follows them there.
      if (!this.lanes.has(record.key) && this.restored.waits(record.key)) continue;
      const lane = this.lane(record.key);
      if (record.seq <= lane.cursor) {
        lane.insert(ownPayload(record, payloadJson?.[i]));
        this.cachedCount++;
      } else if (lane.stored || this.cachedCount >= this.settings.maxCached) {
        this.spill.stored(lane);
      } else {
        lane.cache.push(ownPayload(record, payloadJson?.[i]));
        lane.cursor = record.seq;
        this.cachedCount++;
      }
      if (lane.state === 'idle') runnable = this.makeReady(lane) || runnable;
    }
    return runnable;
  }

  /** Makes the lanes whose read-back stopped at `readableThrough` ready again; returns whether one became ready. */
  unpark(): boolean {
    let runnable = false;
    for (const lane of this.parked) {
      if (lane.state === 'idle' && lane.hasWork) runnable = this.makeReady(lane) || runnable;
    }
    this.parked.clear();
    return runnable;
  }

  /** The lane's head, reading the next chunk from the store when the cache is dry. */
  private loadHead(lane: Lane): BacklogRecord | undefined {
    if (lane.cache.size === 0 && lane.stored) this.readBack(lane);
    const head = lane.head;
    if (head === undefined) this.retire(lane);
    return head;
  }

  private readBack(lane: Lane, atLeast = 1): void {
    const room = Math.max(
      atLeast,
      Math.min(READ_CHUNK, this.settings.maxCached - this.cachedCount),
    );
    const through = this.settings.readableThrough();
    const records = this.settings.store.read(lane.key, lane.cursor, room);
    let taken = 0;
    for (const record of records) {
      if (record.seq > through) break;
      lane.cache.push(record);
      lane.cursor = record.seq;
      taken++;
    }
    this.cachedCount += taken;
    if (taken < records.length) this.parked.add(lane);
    else if (records.length < room) this.spill.caughtUp(lane);
  }

  /** The running head of `record`'s key is done (delivered or dead), or `count` tasks from it: the next one moves up. */
  finishHead(record: BacklogRecord, count = 1): void {
    const lane = this.lane(record.key);
    for (let i = 0; i < count; i++) lane.cache.shift();
    this.cachedCount -= count;
    lane.delivered(count);
    lane.state = 'idle';
    // A read that filled its room exactly cannot tell it reached the end, and a lane
    // with nothing left must leave the rotation, not hold a turn: read the next chunk
    // now while memory has room; without room, only look whether one is there, and
    // read it at the lane's turn, so memory holds `maxCached` records, not one per key.
    if (lane.cache.size === 0 && lane.stored) {
      if (this.cachedCount < this.settings.maxCached) this.readBack(lane);
      else if (this.settings.store.firstSeq(lane.key, lane.cursor) === undefined) {
        this.spill.caughtUp(lane);
      }
    }
    if (lane.hasWork) this.makeReady(lane);
    else this.retire(lane);
  }

  /** Puts `lane` in the rotation unless it is there or running; returns whether it was put. */
  makeReady(lane: Lane): boolean {
    if (lane.state === 'ready' || lane.state === 'running') return false;
    lane.state = 'ready';
    this.ready.push(lane);
    return true;
  }

  private retire(lane: Lane): void {
    lane.state = 'idle';
    if (lane.hasWork) return;
    if (this.settings.writesInFlight()) this.retiredDuringWrite.push(lane);
    else this.lanes.delete(lane.key);
  }

  /** After a commit or requeue ends, lanes that ran dry during it can go (if still dry). */
  forgetRetired(): void {
    if (this.settings.writesInFlight()) return;
    for (const lane of this.retiredDuringWrite) {
      if (lane.state === 'idle' && !lane.hasWork && this.lanes.get(lane.key) === lane) {
        this.lanes.delete(lane.key);
      }
    }
    this.retiredDuringWrite = [];
  }

  /** The lane of `key`, made if it has none. */
  lane(key: string): Lane {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = new Lane(key);
      this.lanes.set(key, lane);
    }
    return lane;
  }
}
