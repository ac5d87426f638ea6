import { describe, expect, it } from 'vitest';
import type { Actor } from 'xstate';
import { type SystemInput, systemMachine } from '../../machines/system.machine.js';
import {
  assertFullCoverage,
  definedTransitions,
  edgeCoveringPaths,
  replayPath,
} from '../support/transition-coverage.js';

// The root's `always` branches depend on its input only: one input per branch, both
// regions at once.
const inputs: Record<string, SystemInput> = {
  owned: {
    breaker: 'owned',
    breakerInput: { failureThreshold: 2, probeIntervalMs: 1000, probeTimeoutMs: 500 },
    tracker: 'owned',
  },
  external: { breaker: 'external', tracker: 'external' },
  none: { breaker: 'none', tracker: 'none' },
};

// The root ends when its lifecycle child does: drive the child to its final state.
const drivers = {
  'xstate.done.actor.worker': (actor: Actor<typeof systemMachine>) =>
    actor.system.get('worker')?.send({ type: 'SHUTDOWN', timeoutMs: 0 }),
};

const defined = definedTransitions(systemMachine);
const traversed = new Set<string>();

describe('system machine: generated transition paths', () => {
  for (const [name, input] of Object.entries(inputs)) {
    const paths = edgeCoveringPaths(systemMachine, { input });

    it(`generates paths for ${name} collaborators`, () => {
      expect(paths.length).toBeGreaterThan(0);
    });

    for (const path of paths) {
      it(`${name} collaborators: ${path.description}`, () => {
        for (const id of replayPath(systemMachine, path, { input, drivers })) traversed.add(id);
      });
    }
  }

  it('traverses every defined transition', () => {
    assertFullCoverage('system', defined, traversed);
  });
});
