import { setup } from 'xstate';

/** Events the shared store's machine accepts: one per change of reachability, never per task. */
export type SharedStoreEvent =
  /** An operation on the store succeeded. */
  | { type: 'STORE_ANSWERED' }
  /** An operation failed because the store could not be reached. */
  | { type: 'STORE_UNREACHABLE' }
  /** The worker released the store. */
  | { type: 'CLOSE' };

/** What the machine is started with. */
export interface SharedStoreInput {
  /** How long the store may stay unreachable before waiting tasks fail. */
  unavailableMs: number;
}

/**
 * Whether a worker's shared store (PostgreSQL, Redis) can be used. While it
 * is `connecting` or `unreachable`, accepted tasks wait in memory and
 * delivery pauses; if that lasts `unavailableMs`, the machine moves to
 * `refusing`, whose entry fails the waiting tasks (`failWaiting`, a
 * `BacklogUnavailableError` each) and in which `enqueue` refuses. The first
 * answer from the store makes it `available` again. `closed` is final.
 */
export const sharedStoreMachine = setup({
  types: {
    input: {} as SharedStoreInput,
    context: {} as SharedStoreInput,
    events: {} as SharedStoreEvent,
  },
  actions: {
    // Provided by the runtime (src/shared/SharedQueue.ts).
    failWaiting: () => {},
  },
  delays: {
    unavailableMs: ({ context }) => context.unavailableMs,
  },
}).createMachine({
  id: 'sharedStore',
  initial: 'connecting',
  context: ({ input }) => ({ unavailableMs: input.unavailableMs }),
  on: { CLOSE: '.closed' },
  states: {
    connecting: {
      on: { STORE_ANSWERED: 'available', STORE_UNREACHABLE: 'unreachable' },
      after: { unavailableMs: 'refusing' },
    },
    available: {
      on: { STORE_UNREACHABLE: 'unreachable' },
    },
    unreachable: {
      on: { STORE_ANSWERED: 'available' },
      after: { unavailableMs: 'refusing' },
    },
    refusing: {
      entry: 'failWaiting',
      on: { STORE_ANSWERED: 'available' },
    },
    closed: { type: 'final' },
  },
});
