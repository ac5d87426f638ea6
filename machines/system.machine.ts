import { setup } from 'xstate';
import { type BreakerInput, breakerMachine } from './breaker.machine.js';
import { backlogMachine } from './projections/backlog.machine.js';
import { latencyMachine } from './projections/latency.machine.js';
import { workerMachine } from './worker.machine.js';

/**
 * Who provides one of the worker's collaborators: the system itself (`owned`,
 * an invoked child), the user (`external`, a `CircuitBreaker` or
 * `LatencyTracker` with its own actor, connected by reference), or nobody.
 */
export type Provision = 'owned' | 'external' | 'none';

/**
 * What the root machine is started with. An owned breaker needs its settings;
 * a backlog is always the worker's own (`owned`) when durable tasks are on.
 */
export type SystemInput = { tracker: Provision; backlog?: 'owned' | 'none' } & (
  | { breaker: 'owned'; breakerInput: BreakerInput }
  | { breaker: 'external' | 'none'; breakerInput?: undefined }
);

/**
 * The root of a `SyncWorker`: it hosts the worker lifecycle and, when the
 * worker owns them, the breaker and the latency tracker as invoked children
 * with `systemId`s `worker`, `breaker` and `tracker`, and the durable
 * backlog's control flow (`backlog`) when the worker keeps durable tasks. One clock and one
 * inspector passed to the root therefore cover every actor of the worker.
 * When the lifecycle reaches its final `shutdown` state, its region ends; the
 * breaker, tracker and backlog stay up until the worker has released the
 * store, and then the runtime stops the root, and with it every child it
 * owns (and their timers).
 */
export const systemMachine = setup({
  types: {
    context: {} as SystemInput,
    input: {} as SystemInput,
  },
  actors: {
    worker: workerMachine,
    breaker: breakerMachine,
    tracker: latencyMachine,
    backlog: backlogMachine,
  },
  guards: {
    breakerIsOwned: ({ context }) => context.breaker === 'owned',
    breakerIsExternal: ({ context }) => context.breaker === 'external',
    trackerIsOwned: ({ context }) => context.tracker === 'owned',
    trackerIsExternal: ({ context }) => context.tracker === 'external',
    backlogIsOwned: ({ context }) => context.backlog === 'owned',
  },
}).createMachine({
  id: 'syncWorker',
  context: ({ input }) => input,
  initial: 'running',
  states: {
    running: {
      type: 'parallel',
      states: {
        lifecycle: {
          initial: 'active',
          states: {
            active: {
              invoke: { src: 'worker', id: 'worker', systemId: 'worker', onDone: 'ended' },
            },
            // The collaborators stay up while the runtime releases the backlog; it then stops the root.
            ended: { type: 'final' },
          },
        },
        breaker: {
          initial: 'connecting',
          states: {
            connecting: {
              always: [
                { guard: 'breakerIsOwned', target: 'owned' },
                { guard: 'breakerIsExternal', target: 'external' },
                { target: 'none' },
              ],
            },
            owned: {
              invoke: {
                src: 'breaker',
                id: 'breaker',
                systemId: 'breaker',
                input: ({ context }) => context.breakerInput as BreakerInput,
              },
            },
            external: {},
            none: {},
          },
        },
        tracker: {
          initial: 'connecting',
          states: {
            connecting: {
              always: [
                { guard: 'trackerIsOwned', target: 'owned' },
                { guard: 'trackerIsExternal', target: 'external' },
                { target: 'none' },
              ],
            },
            owned: {
              invoke: { src: 'tracker', id: 'tracker', systemId: 'tracker' },
            },
            external: {},
            none: {},
          },
        },
        backlog: {
          initial: 'connecting',
          states: {
            connecting: {
              always: [{ guard: 'backlogIsOwned', target: 'owned' }, { target: 'none' }],
            },
            owned: {
              invoke: { src: 'backlog', id: 'backlog', systemId: 'backlog' },
            },
            none: {},
          },
        },
      },
    },
  },
});
