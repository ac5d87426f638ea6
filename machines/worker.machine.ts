import { assign, emit, setup } from 'xstate';

/** Events the worker lifecycle accepts. Sent only when the lifecycle changes, never per task. */
export type WorkerEvent =
  /** Work arrived at an idle worker. */
  | { type: 'WORK_QUEUED' }
  /** Nothing is running and nothing can run: the queue is empty (durable tasks may stay kept in the backlog). */
  | { type: 'QUEUE_DRAINED' }
  /** The breaker refused the next task while half-open (its one permit is taken elsewhere). */
  | { type: 'PERMIT_DENIED' }
  /** The breaker moved on, so the waiting task may try again. */
  | { type: 'BREAKER_CHANGED' }
  /** Only durable tasks remain, and each waits out a retry backoff. */
  | { type: 'RETRY_WAIT' }
  /** A backoff ended, or new work arrived during one. */
  | { type: 'WORK_READY' }
  | { type: 'SHUTDOWN'; timeoutMs: number }
  /** Sent only with the worker's `trace` option; no state handles them, the inspector records them. */
  | { type: 'trace.taskStarted'; name: string }
  | { type: 'trace.taskSettled'; name: string; outcome: 'succeeded' | 'failed' | 'timedOut' };

/** Events the worker lifecycle emits to the runtime that drives it. */
export type WorkerEmitted = { type: 'deadlineReached' };

/** The lifecycle's context: the deadline of a shutdown in progress. */
export interface WorkerContext {
  shutdownTimeoutMs: number;
}

/**
 * Worker lifecycle: `idle` until work arrives, `draining` while tasks run
 * (`blocked` while the breaker refuses the next task: open with durable tasks
 * kept, or half-open with its one permit held elsewhere; `backoff` while every
 * remaining durable task waits out a retry delay), then
 * `stopping` on shutdown, which drains until the deadline, and `shutdown`.
 */
export const workerMachine = setup({
  types: {
    context: {} as WorkerContext,
    events: {} as WorkerEvent,
    emitted: {} as WorkerEmitted,
  },
  actions: {
    rememberDeadline: assign({
      shutdownTimeoutMs: ({ context, event }) =>
        event.type === 'SHUTDOWN' ? event.timeoutMs : context.shutdownTimeoutMs,
    }),
    announceDeadline: emit({ type: 'deadlineReached' }),
  },
  delays: {
    shutdownDeadline: ({ context }) => context.shutdownTimeoutMs,
  },
}).createMachine({
  id: 'worker',
  context: { shutdownTimeoutMs: 0 },
  initial: 'idle',
  states: {
    idle: {
      on: {
        WORK_QUEUED: 'draining',
        SHUTDOWN: 'shutdown',
      },
    },
    draining: {
      initial: 'running',
      on: {
        QUEUE_DRAINED: 'idle',
        SHUTDOWN: { target: 'stopping', actions: 'rememberDeadline' },
      },
      states: {
        running: { on: { PERMIT_DENIED: 'blocked', RETRY_WAIT: 'backoff' } },
        blocked: { on: { BREAKER_CHANGED: 'running' } },
        backoff: { on: { WORK_READY: 'running' } },
      },
    },
    stopping: {
      on: { QUEUE_DRAINED: 'shutdown' },
      after: { shutdownDeadline: { target: 'shutdown', actions: 'announceDeadline' } },
    },
    shutdown: { type: 'final' },
  },
});
