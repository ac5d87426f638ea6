import { assign, emit, setup } from 'xstate';

/** Events the worker lifecycle accepts. Sent only when the lifecycle changes, never per task. */
export type WorkerEvent =
  /** Work arrived at an idle worker. */
  | { type: 'WORK_QUEUED' }
  /** The queue is empty and nothing is running. */
  | { type: 'QUEUE_DRAINED' }
  /** The breaker refused the next task while half-open (its one permit is taken elsewhere). */
  | { type: 'PERMIT_DENIED' }
  /** The breaker moved on, so the waiting task may try again. */
  | { type: 'BREAKER_CHANGED' }
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
 * (`blocked` when a half-open breaker's permit is held by someone else), then
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
        running: { on: { PERMIT_DENIED: 'blocked' } },
        blocked: { on: { BREAKER_CHANGED: 'running' } },
      },
    },
    stopping: {
      on: { QUEUE_DRAINED: 'shutdown' },
      after: { shutdownDeadline: { target: 'shutdown', actions: 'announceDeadline' } },
    },
    shutdown: { type: 'final' },
  },
});
