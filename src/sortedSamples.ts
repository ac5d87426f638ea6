/**
 * The sorted copy of a latency window, kept in a `Float64Array`: the
 * {@link LatencyTracker}'s p95 is one index into it. Plain functions over the
 * array's first `n` elements, with no allocation.
 */

/** Inserts `value` into the sorted `s[0..n)`, which has room for one more: O(n) moves at most. */
export function insertSorted(s: Float64Array, value: number, n: number): void {
  let i = n;
  while (i > 0 && (s[i - 1] as number) > value) {
    s[i] = s[i - 1] as number;
    i--;
  }
  s[i] = value;
}

/**
 * Puts `value` where the sample `old` was in the sorted `s[0..n)`, then
 * slides it to its place: one pass over only the samples between the two
 * values. Steady latencies barely move, so this is close to O(log n).
 */
export function replaceSorted(s: Float64Array, old: number, value: number, n: number): void {
  let i = 0;
  let hi = n - 1;
  while (i < hi) {
    const mid = (i + hi) >> 1;
    if ((s[mid] as number) < old) i = mid + 1;
    else hi = mid;
  }
  if (value > old) {
    while (i + 1 < n && (s[i + 1] as number) < value) {
      s[i] = s[i + 1] as number;
      i++;
    }
  } else {
    while (i > 0 && (s[i - 1] as number) > value) {
      s[i] = s[i - 1] as number;
      i--;
    }
  }
  s[i] = value;
}

/** Fills `s[0..n)` with the first `n` samples of `ring` (the window's order does not matter), sorted. */
export function sortFrom(s: Float64Array, ring: Float64Array, n: number): void {
  s.set(n === ring.length ? ring : ring.subarray(0, n));
  s.subarray(0, n).sort();
}

/** The index of the nearest-rank p95 among `n` sorted samples: `ceil(0.95 × n) − 1`, in integers (0.95 has no exact binary form). */
export function p95Index(n: number): number {
  return Math.floor((95 * n + 99) / 100) - 1;
}
