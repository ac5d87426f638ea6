/** What the crash loop's parent and child agree on. */

/** How many ordering keys the tasks are spread over. */
export const KEYS = 5;

/** The ordering key of task n: the parent checks per-key order against it. */
export function keyOf(n: number): string {
  return `k${n % KEYS}`;
}

/** How one life's worker delivers: its `concurrency`, and the handler's batch size (0: one task a call). */
export interface Delivery {
  concurrency: number;
  batch: number;
}

/**
 * Lines a child writes about its runs in flight, as its handler sees them (a
 * run is in flight from its call until it returns or its signal is aborted):
 * `OVERLAP <key> <n>` when task n's run of `key` began while another run of
 * that key was in flight, `OVER <count>` when a run began with `concurrency`
 * others in flight, `PEAK <count>` each time the most runs in flight at once
 * grows.
 */
export const IN_FLIGHT_LINES = ['OVERLAP', 'OVER', 'PEAK'] as const;
