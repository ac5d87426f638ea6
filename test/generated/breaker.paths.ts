/**
 * The breaker's generated paths and what replaying them needs, shared by the machine-level
 * test (`breaker.transitions.test.ts`) and the one through `CircuitBreaker`
 * (`test/runtime/breaker.runtime.test.ts`), so both walk exactly the same paths.
 */

import type { EventObject } from 'xstate';
import { type BreakerInput, breakerMachine } from '../../machines/breaker.machine.js';
import { edgeCoveringPaths, lastEventField } from '../support/transition-coverage.js';

/** Threshold 2 reaches both branches of the `failureThresholdReached` guard. */
export const breakerInput: BreakerInput = {
  failureThreshold: 2,
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
};

/** A probe permit with its own deadline, shorter than the default one. */
export const overriddenPermitMs = 250;

/**
 * How long the probe permit now in flight may go unreported, computed from the events, not
 * read back from the machine: the last PROBE's `timeoutMs`, else the input's default.
 */
export function permitTimeoutMs(history: readonly EventObject[]): number {
  return lastEventField(history, 'PROBE', 'timeoutMs') ?? breakerInput.probeTimeoutMs;
}

/** Edge-covering paths of the breaker for {@link breakerInput}. */
export const breakerPaths = edgeCoveringPaths(breakerMachine, {
  input: breakerInput,
  samples: { PROBE: [{ type: 'PROBE' }, { type: 'PROBE', timeoutMs: overriddenPermitMs }] },
  // The failure count keeps growing while probes fail: past the threshold every count
  // behaves alike. The permit deadline only matters while a probe is in flight.
  serializeState: (snapshot) =>
    JSON.stringify({
      value: snapshot.value,
      failures: Math.min(snapshot.context.consecutiveFailures, breakerInput.failureThreshold),
      permitMs: snapshot.matches({ half_open: 'probing' })
        ? snapshot.context.permitTimeoutMs
        : null,
    }),
});
