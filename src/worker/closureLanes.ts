import { RingBuffer } from '../RingBuffer.js';
import type { SyncTask } from '../task.js';

/** One ordering key's closure tasks waiting, oldest first. */
export class ClosureLane {
  readonly queue = new RingBuffer<SyncTask>(4);
  /** A task of this key is in flight; set by {@link ClosureLanes.take}, cleared by {@link ClosureLanes.finished}. */
  running = false;
  /** The lane is in the rotation; only {@link ClosureLanes} writes it. */
  ready = false;
  /**
   * Tasks taken from the front whose entries are still in the arrival order
   * (they are the lane's oldest entries there); only {@link ClosureLanes} writes it.
   */
  skips = 0;

  constructor(readonly key: string | undefined) {}
}

/**
 * The closure tasks waiting, one FIFO lane per ordering key, round robin
 * across the keys with nothing in flight. Tasks without a key share one
 * default lane, so a worker whose tasks carry no keys runs them one at a time.
 *
 * Overflow drops the oldest waiting task of all keys. Until a task with a key
 * arrives only the default lane exists and its front is the oldest; after
 * that an arrival-order ring names each queued task's lane (a task taken from
 * the front of its lane leaves a stale entry there, counted in the lane's
 * `skips`), which keeps finding the oldest O(1) amortised without a node per task.
 */
export class ClosureLanes {
  private readonly defaultLane = new ClosureLane(undefined);
  private readonly keyed = new Map<string, ClosureLane>();
  // Lanes with waiting tasks and nothing in flight, in turn order; used once a keyed task arrived.
  private readonly rotation = new RingBuffer<ClosureLane>(4);
  // Each queued task's lane in arrival order, plus stale entries; undefined until a keyed task arrived.
  private order: RingBuffer<ClosureLane> | undefined;
  /** Tasks queued in all lanes. */
  queued = 0;

  /** The lane of `task`'s key (its key is read here, once, at enqueue). */
  laneFor(task: SyncTask): ClosureLane {
    const key = task.key;
    return key === undefined ? this.defaultLane : this.laneOf(key);
  }

  /** Queues `task` at the back of its key's lane. */
  push(task: SyncTask): void {
    const lane = this.laneFor(task);
    lane.queue.push(task);
    this.queued++;
    const order = this.order;
    if (order !== undefined) {
      order.push(lane);
      this.makeReady(lane);
    }
  }

  /**
   * Puts `task` back in front of `lane`, as the oldest task of all: a task set
   * apart that must wait after all, so the lane no longer counts as running.
   */
  pushFront(task: SyncTask, lane: ClosureLane): void {
    lane.running = false;
    lane.queue.unshift(task);
    this.queued++;
    if (this.order !== undefined) {
      this.order.unshift(lane);
      this.makeReady(lane);
    }
  }

  /** Whether some lane with nothing in flight has a task waiting. */
  hasStartable(): boolean {
    if (this.order === undefined) {
      return !this.defaultLane.running && this.defaultLane.queue.size > 0;
    }
    const rotation = this.rotation;
    for (let lane = rotation.peek(); lane !== undefined; lane = rotation.peek()) {
      if (lane.queue.size > 0 && !lane.running) return true;
      rotation.shift();
      lane.ready = false;
      this.forgetIfEmpty(lane);
    }
    return false;
  }

  /** The lane {@link hasStartable} found first, or the default lane before any keyed task. */
  front(): ClosureLane {
    return this.order === undefined ? this.defaultLane : (this.rotation.peek() as ClosureLane);
  }

  /** Takes the front task of `lane` and marks the lane as running. */
  take(lane: ClosureLane): SyncTask {
    if (this.order !== undefined) {
      this.rotation.shift();
      lane.ready = false;
      lane.skips++;
    }
    lane.running = true;
    this.queued--;
    const task = lane.queue.shift() as SyncTask;
    if (this.order !== undefined) this.compact();
    return task;
  }

  /**
   * Marks `lane` as running a task that never waited in it (one set apart to
   * run next), from the moment it is set apart: later tasks of its key wait
   * for it without taking a place in the rotation. {@link finished} ends it,
   * also when the task set apart does not run after all.
   */
  occupy(lane: ClosureLane): void {
    lane.running = true;
  }

  /** The task of `lane` in flight ended: the lane takes its turn again at the back. */
  finished(lane: ClosureLane): void {
    lane.running = false;
    if (this.order === undefined) return;
    if (lane.queue.size > 0) this.makeReady(lane);
    else this.forgetIfEmpty(lane);
  }

  /** Removes and returns the oldest waiting task of all lanes. Call only when {@link queued} > 0. */
  dropOldest(): SyncTask {
    this.queued--;
    const order = this.order;
    if (order === undefined) return this.defaultLane.queue.shift() as SyncTask;
    for (;;) {
      const lane = order.shift() as ClosureLane;
      if (lane.skips > 0) {
        lane.skips--;
        continue;
      }
      const task = lane.queue.shift() as SyncTask;
      this.compact();
      return task;
    }
  }

  /** Empties every lane; returns the tasks that waited, oldest first. */
  takeAll(): SyncTask[] {
    const order = this.order;
    this.queued = 0;
    if (order === undefined) return this.defaultLane.queue.takeAll();
    const tasks: SyncTask[] = [];
    for (let lane = order.shift(); lane !== undefined; lane = order.shift()) {
      if (lane.skips > 0) lane.skips--;
      else tasks.push(lane.queue.shift() as SyncTask);
    }
    for (let lane = this.rotation.shift(); lane !== undefined; lane = this.rotation.shift()) {
      lane.ready = false;
      this.forgetIfEmpty(lane);
    }
    return tasks;
  }

  private laneOf(key: string): ClosureLane {
    let lane = this.keyed.get(key);
    if (lane === undefined) {
      lane = new ClosureLane(key);
      this.keyed.set(key, lane);
      if (this.order === undefined) this.startOrdering();
    }
    return lane;
  }

  /** The first keyed task arrived: the default lane's waiting tasks are the oldest, in order. */
  private startOrdering(): void {
    const order = new RingBuffer<ClosureLane>(16);
    const lane = this.defaultLane;
    for (let i = 0; i < lane.queue.size; i++) order.push(lane);
    this.order = order;
    if (lane.queue.size > 0) this.makeReady(lane);
  }

  private makeReady(lane: ClosureLane): void {
    if (lane.ready || lane.running) return;
    lane.ready = true;
    this.rotation.push(lane);
  }

  private forgetIfEmpty(lane: ClosureLane): void {
    if (lane.key === undefined || lane.running || lane.ready || lane.queue.size > 0) return;
    if (this.keyed.get(lane.key) === lane) this.keyed.delete(lane.key);
  }

  /** Rewrites the arrival order without its stale entries once they outnumber the live ones. */
  private compact(): void {
    const order = this.order as RingBuffer<ClosureLane>;
    if (order.size <= 2 * this.queued + 16) return;
    const live = order.size;
    for (let i = 0; i < live; i++) {
      const lane = order.shift() as ClosureLane;
      if (lane.skips > 0) lane.skips--;
      else order.push(lane);
    }
  }
}
