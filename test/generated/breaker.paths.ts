/**
 * The breaker's generated paths and what replaying them needs, shared by the machine-level
 * test (`breaker.transitions.test.ts`) and the one through `CircuitBreaker`
 * (`test/runtime/breaker.runtime.test.ts`), so both walk exactly the same paths.
 *
 * Three inputs: a fresh breaker, and two resumed ones (a restart during an outage): still
 * `open` for part of an interval, and `half_open` because the interval ran out meanwhile.
 * Only together do they take every transition out of `starting`.
 */

import type { EventObject } from 'xstate';
import {
  type BreakerInput,
  type BreakerStart,
  breakerMachine,
} from '../../machines/breaker.machine.js';
import {
  edgeCoveringPaths,
  lastEventField,
  type TransitionPath,
} from '../support/transition-coverage.js';

/** Threshold 2 reaches both branches of the `failureThresholdReached` guard. */
export const breakerInput: BreakerInput = {
  failureThreshold: 2,
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
};

/** What is left of the open period a resumed-open breaker starts in: shorter than an interval. */
export const resumedOpenMs = 400;

/** A probe permit with its own deadline, shorter than the default one. */
export const overriddenPermitMs = 250;

/**
 * How long the probe permit now in flight may go unreported, computed from the events, not
 * read back from the machine: the last PROBE's `timeoutMs`, else the input's default.
 */
export function permitTimeoutMs(history: readonly EventObject[]): number {
  return lastEventField(history, 'PROBE', 'timeoutMs') ?? breakerInput.probeTimeoutMs;
}

/** One input's paths, and how long its open periods last. */
export interface BreakerSuite {
  label: string;
  input: BreakerInput;
  paths: TransitionPath[];
  /** The length of the open period that ends with the next `probeInterval` step, from the events so far. */
  openPeriodMs(history: readonly EventObject[]): number;
}

/** Whether an open period has ended yet (by its timer, or a reset): only the first can be a resumed one. */
function leftFirstOpenPeriod(history: readonly EventObject[]): boolean {
  return history.some(
    (event) => event.type === 'RESET' || event.type.startsWith('xstate.after.probeInterval.'),
  );
}

function suite(
  label: string,
  start: BreakerStart | undefined,
  firstOpenMs = breakerInput.probeIntervalMs,
): BreakerSuite {
  const input = start === undefined ? breakerInput : { ...breakerInput, start };
  return {
    label,
    input,
    paths: edgeCoveringPaths(breakerMachine, {
      input,
      samples: { PROBE: [{ type: 'PROBE' }, { type: 'PROBE', timeoutMs: overriddenPermitMs }] },
      // The failure count keeps growing while probes fail: past the threshold every count
      // behaves alike. The permit deadline only matters while a probe is in flight, and the
      // open period's length only while open.
      serializeState: (snapshot) =>
        JSON.stringify({
          value: snapshot.value,
          failures: Math.min(snapshot.context.consecutiveFailures, breakerInput.failureThreshold),
          permitMs: snapshot.matches({ half_open: 'probing' })
            ? snapshot.context.permitTimeoutMs
            : null,
          openForMs: snapshot.matches('open') ? snapshot.context.openForMs : null,
        }),
    }),
    openPeriodMs: (history) =>
      leftFirstOpenPeriod(history) ? breakerInput.probeIntervalMs : firstOpenMs,
  };
}

/** Edge-covering paths of the breaker for each input. */
export const breakerSuites: readonly BreakerSuite[] = [
  suite('fresh', undefined),
  suite(
    'resumed open',
    { state: 'open', consecutiveFailures: 2, openForMs: resumedOpenMs },
    resumedOpenMs,
  ),
  suite('resumed half_open', { state: 'half_open', consecutiveFailures: 2 }),
];
