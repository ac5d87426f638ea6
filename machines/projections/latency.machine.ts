import { setup } from 'xstate';

/** Events the latency tracker's machine accepts; each marks a change of regime, never a single sample. */
export type LatencyEvent =
  | { type: 'WARMED_UP' }
  | { type: 'CEILING_REACHED' }
  | { type: 'BELOW_CEILING' }
  | { type: 'RESET' };

/**
 * A projection: it records the regime `LatencyTracker` tells it and decides
 * nothing (the tracker computes the p95 and the timeout in plain code).
 *
 * Latency tracker: `warming` (the default timeout applies) until enough samples
 * arrive, then `adaptive`, where the timeout follows the rolling p95. Inside
 * `adaptive`, `saturated` means the timeout is pinned at its ceiling: the remote
 * is slower than the ceiling allows for.
 *
 * Samples themselves never reach the machine; the tracker sends an event only
 * when one of these regimes changes.
 */
export const latencyMachine = setup({
  types: {
    events: {} as LatencyEvent,
  },
}).createMachine({
  id: 'tracker',
  initial: 'warming',
  on: {
    RESET: '.warming',
  },
  states: {
    warming: {
      on: { WARMED_UP: 'adaptive' },
    },
    adaptive: {
      initial: 'tracking',
      states: {
        tracking: { on: { CEILING_REACHED: 'saturated' } },
        saturated: { on: { BELOW_CEILING: 'tracking' } },
      },
    },
  },
});
