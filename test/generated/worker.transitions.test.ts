import { describe, expect, it } from 'vitest';
import type { EventObject } from 'xstate';
import { workerMachine } from '../../machines/worker.machine.js';
import {
  assertFullCoverage,
  definedTransitions,
  edgeCoveringPaths,
  replayPath,
} from '../support/transition-coverage.js';

/** Two shutdown deadlines, so a wrong deadline cannot pass by coincidence. */
const deadlinesMs = [3000, 250] as const;

/** The deadline in force: the last SHUTDOWN's `timeoutMs`. */
function deadlineMs(history: readonly EventObject[]): number {
  const shutdown = [...history].reverse().find((event) => event.type === 'SHUTDOWN');
  const timeoutMs = shutdown && 'timeoutMs' in shutdown ? shutdown.timeoutMs : undefined;
  if (typeof timeoutMs !== 'number') throw new Error('deadline reached with no SHUTDOWN sent');
  return timeoutMs;
}

const paths = edgeCoveringPaths(workerMachine, {
  samples: { SHUTDOWN: deadlinesMs.map((timeoutMs) => ({ type: 'SHUTDOWN', timeoutMs })) },
  // Context is only the deadline; it stays in the default serialization (bounded).
});
const defined = definedTransitions(workerMachine);
const traversed = new Set<string>();

describe('worker machine: generated transition paths', () => {
  it('generates paths', () => {
    expect(paths.length).toBeGreaterThan(0);
  });

  for (const path of paths) {
    it(path.description, () => {
      const taken = replayPath(workerMachine, path, {
        // Computed from the events, not read back from the machine's context.
        delays: { shutdownDeadline: (_, history) => deadlineMs(history) },
      });
      for (const id of taken) traversed.add(id);
    });
  }

  it('traverses every defined transition', () => {
    assertFullCoverage('worker', defined, traversed);
  });
});
