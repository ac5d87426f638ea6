import type { Actor } from 'xstate';
import { type SystemInput, systemMachine } from '../../machines/system.machine.js';
import { describeGeneratedPaths, edgeCoveringPaths } from '../support/transition-coverage.js';

// The root's `always` branches depend on its input only: one input per branch, both
// regions at once.
const inputs: Record<string, SystemInput> = {
  'owned collaborators': {
    breaker: 'owned',
    breakerInput: { failureThreshold: 2, probeIntervalMs: 1000, probeTimeoutMs: 500 },
    tracker: 'owned',
    backlog: 'owned',
  },
  'external collaborators': { breaker: 'external', tracker: 'external' },
  'no collaborators': { breaker: 'none', tracker: 'none', backlog: 'none' },
};

// The root ends when its lifecycle child does: drive the child to its final state.
const drivers = {
  'xstate.done.actor.worker': (actor: Actor<typeof systemMachine>) =>
    actor.system.get('worker')?.send({ type: 'SHUTDOWN', timeoutMs: 0, nothingToDrain: true }),
};

describeGeneratedPaths(
  'system',
  systemMachine,
  Object.entries(inputs).map(([label, input]) => ({
    label,
    paths: edgeCoveringPaths(systemMachine, { input }),
    replay: { input, drivers },
  })),
);
