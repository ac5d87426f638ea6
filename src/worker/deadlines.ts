/** What a {@link DeadlineHeap} holds: anything with a deadline and a place in the heap. */
export interface Deadlined {
  /** When it is due, on the worker's clock. */
  deadline: number;
  /** Its index in the heap, `-1` when it is not in one; only the heap writes it. */
  heapIndex: number;
}

/**
 * A binary min-heap by deadline, with each item's index kept on the item so
 * that a run which ends before its deadline leaves the heap in O(log n). The
 * runner arms one timer for the heap's earliest deadline instead of one per run.
 */
export class DeadlineHeap<T extends Deadlined> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The item due first, left in place. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  /** Takes out `item`, wherever it is; nothing happens if it is not in the heap. */
  remove(item: T): void {
    const index = item.heapIndex;
    if (index < 0) return;
    item.heapIndex = -1;
    const last = this.items.pop() as T;
    if (last === item) return;
    this.items[index] = last;
    last.heapIndex = index;
    this.down(index);
    this.up(last.heapIndex);
  }

  /** Takes out and returns the item due first. */
  pop(): T | undefined {
    const first = this.items[0];
    if (first !== undefined) this.remove(first);
    return first;
  }

  private up(index: number): void {
    const items = this.items;
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as T).deadline <= (items[i] as T).deadline) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(index: number): void {
    const items = this.items;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < items.length && (items[left] as T).deadline < (items[least] as T).deadline)
        least = left;
      if (right < items.length && (items[right] as T).deadline < (items[least] as T).deadline)
        least = right;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }

  private swap(a: number, b: number): void {
    const items = this.items;
    const x = items[a] as T;
    const y = items[b] as T;
    items[a] = y;
    items[b] = x;
    x.heapIndex = b;
    y.heapIndex = a;
  }
}
