import { type BreakerInput, breakerMachine } from '../../machines/breaker.machine.js';
import {
  describeGeneratedPaths,
  edgeCoveringPaths,
  lastEventField,
} from '../support/transition-coverage.js';

// Threshold 2 reaches both branches of the `failureThresholdReached` guard.
const input: BreakerInput = { failureThreshold: 2, probeIntervalMs: 1000, probeTimeoutMs: 500 };
/** A probe permit with its own deadline, shorter than the default one. */
const overriddenPermitMs = 250;

const paths = edgeCoveringPaths(breakerMachine, {
  input,
  samples: { PROBE: [{ type: 'PROBE' }, { type: 'PROBE', timeoutMs: overriddenPermitMs }] },
  // The failure count keeps growing while probes fail: past the threshold every count
  // behaves alike. The permit deadline only matters while a probe is in flight.
  serializeState: (snapshot) =>
    JSON.stringify({
      value: snapshot.value,
      failures: Math.min(snapshot.context.consecutiveFailures, input.failureThreshold),
      permitMs: snapshot.matches({ half_open: 'probing' })
        ? snapshot.context.permitTimeoutMs
        : null,
    }),
});

describeGeneratedPaths('breaker', breakerMachine, [
  {
    paths,
    replay: {
      input,
      // Computed from the events, not read back from the machine's context: the permit
      // deadline is the last PROBE's `timeoutMs`, else the input's default.
      delays: {
        probeInterval: input.probeIntervalMs,
        probeTimeout: (_, history) =>
          lastEventField(history, 'PROBE', 'timeoutMs') ?? input.probeTimeoutMs,
      },
    },
  },
]);
