import { setup } from 'xstate';

/** Events the backlog's machine accepts: one per group commit or change of read mode, never per task. */
export type BacklogEvent =
  /** A group commit of newly accepted durable tasks began. */
  | { type: 'BATCH_STARTED'; size: number }
  /** The group commit is durable. */
  | { type: 'BATCH_COMMITTED' }
  /** The store refused the group commit; its tasks failed visibly. */
  | { type: 'BATCH_FAILED' }
  /** Some pending tasks are kept only in the store (memory is full, or they were found at open). */
  | { type: 'SPILLED' }
  /** Every pending task is in memory again. */
  | { type: 'CAUGHT_UP' }
  /** The worker released the store. */
  | { type: 'CLOSE' };

/**
 * A projection: it records what `DurableQueue` tells it (a group commit in
 * flight, tasks kept only in the store) and decides nothing.
 *
 * The durable backlog's control flow. Two regions run side by side while the
 * store is open: `writes` is `persisting` while a group commit is in flight
 * (at most one at a time; tasks accepted meanwhile wait for the next), and
 * `reads` is `replaying` while tasks kept only in the store are being read
 * back, key by key, in order. `closed` is final.
 */
export const backlogMachine = setup({
  types: {
    events: {} as BacklogEvent,
  },
}).createMachine({
  id: 'backlog',
  initial: 'open',
  states: {
    open: {
      type: 'parallel',
      on: { CLOSE: 'closed' },
      states: {
        writes: {
          initial: 'idle',
          states: {
            idle: { on: { BATCH_STARTED: 'persisting' } },
            persisting: { on: { BATCH_COMMITTED: 'idle', BATCH_FAILED: 'idle' } },
          },
        },
        reads: {
          initial: 'live',
          states: {
            live: { on: { SPILLED: 'replaying' } },
            replaying: { on: { CAUGHT_UP: 'live' } },
          },
        },
      },
    },
    closed: { type: 'final' },
  },
});
