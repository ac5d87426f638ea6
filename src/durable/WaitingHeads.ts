/** One restored key still waiting for its first turn, with its head record's seq and enqueue time. */
export interface WaitingHead {
  key: string;
  seq: number;
  /** The head's wall-clock enqueue time. */
  enqueuedAt: number;
}

/**
 * The heads of the restored keys that waited when it was built, in two
 * orders: by seq (the probe replays the oldest kept task) and by enqueue time
 * (the backlog's age, for health and gauges). Building it costs one pass over
 * those keys; every answer after that is O(1) amortised, because of two facts
 * {@link RestoredKeys} keeps: a waiting key's head cannot change (records of
 * this life follow it in the store, and only its first turn or a probe takes
 * it), and a key that stopped waiting never waits again. So an answer only
 * drops, from the front of an order, the keys that no longer wait.
 *
 * It holds one string and two numbers per key, until the walk ends.
 */
export class WaitingHeads {
  private readonly keys: string[] = [];
  // Typed arrays, so no enqueue time is a boxed number of its own.
  private readonly seqs: Float64Array;
  private readonly times: Float64Array;
  private readonly bySeq: Int32Array;
  private readonly byTime: Int32Array;
  // How many entries of each order are known not to wait any more.
  private seqFront = 0;
  private timeFront = 0;

  constructor(heads: Iterable<WaitingHead>) {
    const seqs: number[] = [];
    const times: number[] = [];
    for (const head of heads) {
      this.keys.push(head.key);
      seqs.push(head.seq);
      times.push(head.enqueuedAt);
    }
    this.seqs = Float64Array.from(seqs);
    this.times = Float64Array.from(times);
    this.bySeq = this.indexes().sort((a, b) => (seqs[a] as number) - (seqs[b] as number));
    this.byTime = this.indexes().sort((a, b) => (times[a] as number) - (times[b] as number));
  }

  /** The waiting key with the lowest head seq, and that seq; `waits` tells whether a key still waits. */
  oldest(waits: (key: string) => boolean): { key: string; seq: number } | undefined {
    this.seqFront = this.skipGone(this.bySeq, this.seqFront, waits);
    const i = this.bySeq[this.seqFront];
    if (i === undefined) return undefined;
    return { key: this.keys[i] as string, seq: this.seqs[i] as number };
  }

  /** The earliest enqueue time of a waiting key's head, or `undefined` when none waits. */
  oldestEnqueuedAt(waits: (key: string) => boolean): number | undefined {
    this.timeFront = this.skipGone(this.byTime, this.timeFront, waits);
    const i = this.byTime[this.timeFront];
    return i === undefined ? undefined : this.times[i];
  }

  private indexes(): Int32Array {
    return Int32Array.from(this.keys, (_, i) => i);
  }

  /** The first position from `front` on whose key still waits. */
  private skipGone(order: Int32Array, front: number, waits: (key: string) => boolean): number {
    let at = front;
    while (at < order.length && !waits(this.keys[order[at] as number] as string)) at++;
    return at;
  }
}
