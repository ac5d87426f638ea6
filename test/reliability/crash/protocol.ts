/** What the crash loop's parent and child agree on. */

/** How many ordering keys the tasks are spread over. */
export const KEYS = 5;

/** The ordering key of task n: the parent checks per-key order against it. */
export function keyOf(n: number): string {
  return `k${n % KEYS}`;
}
