import { describe, expect, it } from 'vitest';
import type { EventObject } from 'xstate';
import { type BreakerInput, breakerMachine } from '../../machines/breaker.machine.js';
import {
  assertFullCoverage,
  definedTransitions,
  edgeCoveringPaths,
  replayPath,
} from '../support/transition-coverage.js';

// Threshold 2 reaches both branches of the `failureThresholdReached` guard.
const input: BreakerInput = { failureThreshold: 2, probeIntervalMs: 1000, probeTimeoutMs: 500 };
/** A probe permit with its own deadline, shorter than the default one. */
const overriddenPermitMs = 250;

/** The permit deadline in force: the last PROBE's `timeoutMs`, else the input's default. */
function permitMs(history: readonly EventObject[]): number {
  const probe = [...history].reverse().find((event) => event.type === 'PROBE');
  const timeoutMs = probe && 'timeoutMs' in probe ? probe.timeoutMs : undefined;
  return typeof timeoutMs === 'number' ? timeoutMs : input.probeTimeoutMs;
}

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
const defined = definedTransitions(breakerMachine);
const traversed = new Set<string>();

describe('breaker machine: generated transition paths', () => {
  it('generates paths', () => {
    expect(paths.length).toBeGreaterThan(0);
  });

  for (const path of paths) {
    it(path.description, () => {
      const taken = replayPath(breakerMachine, path, {
        input,
        // Computed from the events, not read back from the machine's context.
        delays: {
          probeInterval: input.probeIntervalMs,
          probeTimeout: (_, history) => permitMs(history),
        },
      });
      for (const id of taken) traversed.add(id);
    });
  }

  it('traverses every defined transition', () => {
    assertFullCoverage('breaker', defined, traversed);
  });
});
