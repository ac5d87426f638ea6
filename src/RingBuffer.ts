/**
 * A FIFO on a power-of-two ring: O(1) push and shift with no per-item
 * allocation, unlike an array that is shifted (O(n)) or spread per event.
 * It grows by doubling, so an unbounded queue costs only what it holds.
 */
export class RingBuffer<T> {
  private items: (T | undefined)[];
  private head = 0;
  private length = 0;
  private mask: number;

  constructor(initialCapacity = 16) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(2, initialCapacity)));
    this.items = new Array(capacity);
    this.mask = capacity - 1;
  }

  /** How many items are held. */
  get size(): number {
    return this.length;
  }

  push(item: T): void {
    if (this.length === this.items.length) this.grow();
    this.items[(this.head + this.length) & this.mask] = item;
    this.length++;
  }

  /** Puts an item back in front, as the oldest. */
  unshift(item: T): void {
    if (this.length === this.items.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.items[this.head] = item;
    this.length++;
  }

  /** The oldest item, left in place, or `undefined` when empty. */
  peek(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head];
  }

  /** The item `index` places from the oldest (0 is the oldest), left in place. */
  at(index: number): T | undefined {
    return index < 0 || index >= this.length
      ? undefined
      : this.items[(this.head + index) & this.mask];
  }

  /** Removes and returns the oldest item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined; // let the task be collected
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return item;
  }

  /** Removes every item and returns them oldest first. */
  takeAll(): T[] {
    const all: T[] = new Array(this.length);
    for (let i = 0; i < all.length; i++) all[i] = this.shift() as T;
    return all;
  }

  private grow(): void {
    const old = this.items;
    const grown: (T | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.length; i++) grown[i] = old[(this.head + i) & this.mask];
    this.items = grown;
    this.head = 0;
    this.mask = grown.length - 1;
  }
}
