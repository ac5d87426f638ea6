/**
 * xstate-sync-worker: keeps writes to a remote service off the user-facing
 * path, with a bounded queue, an adaptive timeout and a circuit breaker whose
 * control logic is explicit XState v5 statecharts.
 *
 * @packageDocumentation
 */
export {
  type BacklogEvent,
  type BreakerContext,
  type BreakerEvent,
  type BreakerInput,
  type BreakerStart,
  backlogMachine,
  breakerMachine,
  type LatencyEvent,
  latencyMachine,
  type Provision,
  type SystemInput,
  systemMachine,
  type WorkerContext,
  type WorkerEvent,
  workerMachine,
} from '../machines/index.js';
export {
  assertPlainJson,
  type JsonCompatible,
  type JsonValue,
  type NotPlainJson,
} from './backlog/json.js';
export { memoryBacklog } from './backlog/memoryBacklog.js';
export { decodeRecord, encodeRecord, RECORD_FORMAT } from './backlog/record.js';
export type {
  BacklogHooks,
  BacklogOpened,
  BacklogRecord,
  BacklogStats,
  BacklogStore,
  DeadLetter,
} from './backlog/types.js';
export {
  type BreakerSnapshot,
  type BreakerState,
  type BreakerStateChange,
  CircuitBreaker,
  type CircuitBreakerActor,
  type CircuitBreakerEvents,
  type CircuitBreakerOptions,
} from './CircuitBreaker.js';
export { type Clock, systemClock } from './clock.js';
export type { RetryOptions } from './durable/retry.js';
export type { Unsubscribe } from './Emitter.js';
export {
  BacklogError,
  BacklogFullError,
  BacklogLockedError,
  BacklogUnavailableError,
  BreakerHalfOpenError,
  BreakerOpenError,
  NonRetryableError,
  QueueOverflowError,
  SyncWorkerError,
  TaskTimeoutError,
  WorkerShutdownError,
} from './errors/index.js';
export type { Inspect } from './inspect.js';
export {
  LatencyTracker,
  type LatencyTrackerActor,
  type LatencyTrackerOptions,
  MIN_TIMEOUT_MS,
} from './LatencyTracker.js';
export type { Logger } from './logger.js';
export { SyncWorker } from './SyncWorker.js';
export {
  type MemorySharedBacklogOptions,
  memorySharedBacklog,
} from './shared/memorySharedBacklog.js';
export {
  type ClaimRequest,
  isSharedStore,
  type NewRecord,
  type SharedBacklog,
  type SharedBacklogStats,
  type SharedBacklogStore,
  type SharedClaim,
  type SharedLease,
  type SharedOpenOptions,
  type SharedRecord,
} from './shared/types.js';
export type {
  BatchHandler,
  BatchOptions,
  DurableBatchContext,
  DurableContext,
  DurableHandler,
  DurableHandlerEntry,
  DurableHandlers,
  DurableTask,
  DurableTaskFor,
  DurableTaskInput,
  PayloadOf,
  SyncTask,
  TaskContext,
} from './task.js';
export { MAX_KEY_LENGTH } from './taskValidation.js';
export { MAX_DELAY_MS } from './validate.js';
export { MAX_BATCH_SIZE } from './worker/handlerOptions.js';
export type {
  HealthOptions,
  HealthReason,
  HealthStatus,
  WorkerHealth,
} from './worker/health.js';
export { MAX_CONCURRENCY } from './worker/options.js';
export {
  DEFAULT_TASK_TIMEOUT_MS,
  type DrainState,
  type SyncWorkerActor,
  type SyncWorkerEvents,
  type SyncWorkerOptions,
  type SyncWorkerStats,
  type WorkerState,
} from './worker/types.js';
