import { and, assign, setup, stateIn } from 'xstate';

/**
 * Events the worker lifecycle accepts. The runtime sends one when the drain
 * loop meets a fact it cannot get past, never per task; each carries the facts
 * the runtime has in hand, and the machine's guards choose the target.
 */
export type WorkerEvent =
  /** Work arrived at an idle worker. */
  | { type: 'WORK_QUEUED' }
  /**
   * Nothing is running, nothing can start, and no accepted task is still
   * being written (a commit in flight is waited for like a running task).
   * `retryPending`: some durable task waits out a retry backoff.
   */
  | { type: 'NOTHING_RUNNABLE'; retryPending: boolean }
  /**
   * The breaker refused the next task: open with durable tasks kept, or
   * half-open with its one permit held elsewhere. `closureWaiting`: closure
   * tasks wait too (otherwise only kept durable work is left).
   */
  | { type: 'PERMIT_DENIED'; closureWaiting: boolean }
  /** The breaker moved on, so the refused task may try again. */
  | { type: 'BREAKER_CHANGED' }
  /** A retry backoff ended, or new work arrived during one. */
  | { type: 'WORK_READY' }
  /**
   * `shutdown()` was called. `nothingToDrain`: nothing runs, no closure task
   * waits, and no durable task can start now or is being written, so there is
   * nothing to wait for (kept durable tasks stay kept).
   */
  | { type: 'SHUTDOWN'; timeoutMs: number; nothingToDrain: boolean }
  /** Sent only with the worker's `trace` option; no state handles them, the inspector records them. */
  | { type: 'trace.taskStarted'; name: string }
  | { type: 'trace.taskSettled'; name: string; outcome: 'succeeded' | 'failed' | 'timedOut' };

/** The lifecycle's context: the deadline of a shutdown in progress. */
export interface WorkerContext {
  shutdownTimeoutMs: number;
}

/**
 * The effects the lifecycle asks for. Each is a no-op here; the runtime
 * supplies the real one with `workerMachine.provide({ actions })`.
 */
const effects = {
  /** Look for the next task to start (the drain loop runs in a microtask). */
  startDraining: () => {},
  /** The shutdown deadline passed: abort the running task and fail what waits. */
  abandonRemaining: () => {},
  /** The worker is done: stop its timers and release the backlog. */
  release: () => {},
};

/**
 * The worker's lifecycle, the one writer of its control state. Two regions
 * run side by side while the worker is `active`:
 *
 * - `admission` is `open` until `shutdown()` is called, then `closed` until
 *   the shutdown deadline, which abandons what is left;
 * - `drain` is `idle` with nothing to do, `running` while tasks run or can
 *   start, `blocked` while the breaker refuses the next task, and `backoff`
 *   while every remaining durable task waits out a retry delay.
 *
 * The worker ends in `shutdown` once admission is closed and the drain has
 * nothing left it may run (kept durable tasks stay in the backlog), or at
 * the deadline. The public `worker.state` is `stopping` while admission is
 * closed, whatever the drain does, and otherwise names the drain's state
 * (`running` is `draining`).
 */
export const workerMachine = setup({
  types: {
    context: {} as WorkerContext,
    events: {} as WorkerEvent,
  },
  guards: {
    admissionClosed: stateIn('#worker.active.admission.closed'),
    retryPending: ({ event }) => event.type === 'NOTHING_RUNNABLE' && event.retryPending,
    onlyKeptWorkLeft: ({ event }) => event.type === 'PERMIT_DENIED' && !event.closureWaiting,
    nothingToDrain: ({ event }) => event.type === 'SHUTDOWN' && event.nothingToDrain,
  },
  actions: {
    ...effects,
    rememberDeadline: assign({
      shutdownTimeoutMs: ({ context, event }) =>
        event.type === 'SHUTDOWN' ? event.timeoutMs : context.shutdownTimeoutMs,
    }),
  },
  delays: {
    shutdownDeadline: ({ context }) => context.shutdownTimeoutMs,
  },
}).createMachine({
  id: 'worker',
  context: { shutdownTimeoutMs: 0 },
  initial: 'active',
  states: {
    active: {
      type: 'parallel',
      states: {
        admission: {
          initial: 'open',
          states: {
            open: {
              on: {
                SHUTDOWN: [
                  { guard: 'nothingToDrain', target: '#worker.shutdown' },
                  { target: 'closed', actions: 'rememberDeadline' },
                ],
              },
            },
            closed: {
              after: {
                shutdownDeadline: { target: '#worker.shutdown', actions: 'abandonRemaining' },
              },
            },
          },
        },
        drain: {
          initial: 'idle',
          states: {
            idle: {
              on: { WORK_QUEUED: 'running' },
            },
            running: {
              entry: 'startDraining',
              on: {
                NOTHING_RUNNABLE: [
                  // Kept tasks stay kept: a shutdown does not wait out their backoff.
                  { guard: 'admissionClosed', target: '#worker.shutdown' },
                  { guard: 'retryPending', target: 'backoff' },
                  { target: 'idle' },
                ],
                PERMIT_DENIED: [
                  // Only kept tasks wait for the breaker: a shutdown leaves them kept.
                  {
                    guard: and(['onlyKeptWorkLeft', 'admissionClosed']),
                    target: '#worker.shutdown',
                  },
                  { target: 'blocked' },
                ],
              },
            },
            blocked: {
              on: { BREAKER_CHANGED: 'running' },
            },
            backoff: {
              on: { WORK_READY: 'running' },
            },
          },
        },
      },
    },
    shutdown: { type: 'final', entry: 'release' },
  },
});
