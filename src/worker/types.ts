import type { ActorRefFrom } from 'xstate';
import type { systemMachine } from '../../machines/system.machine.js';
import type { BacklogStore } from '../backlog/types.js';
import type {
  BreakerState,
  BreakerStateChange,
  CircuitBreaker,
  CircuitBreakerOptions,
} from '../CircuitBreaker.js';
import type { Clock } from '../clock.js';
import type { RetryOptions } from '../durable/retry.js';
import type { QueueOverflowError } from '../errors/QueueOverflowError.js';
import type { TaskTimeoutError } from '../errors/TaskTimeoutError.js';
import type { Inspect } from '../inspect.js';
import type { LatencyTracker, LatencyTrackerOptions } from '../LatencyTracker.js';
import type { Logger } from '../logger.js';
import type { SharedBacklogStore } from '../shared/types.js';
import type { SharedWorkerOptions } from '../shared/workerOptions.js';
import type { DurableHandlers, DurableTask, SyncTask } from '../task.js';
import type { HealthOptions } from './health.js';

/** The task timeout when the worker has no latency tracker (`latencyTracker: false`). */
export const DEFAULT_TASK_TIMEOUT_MS = 30_000;

/**
 * Options of {@link SyncWorker}. `H` is the type of `handlers`, inferred from
 * it: `enqueue` then checks a durable task's handler name and payload type.
 */
export interface SyncWorkerOptions<H extends DurableHandlers = DurableHandlers>
  extends SharedWorkerOptions {
  /**
   * Most closure tasks that may wait (those running not counted), and about
   * the most durable tasks held in memory; `Infinity` for unbounded. Default 64.
   */
  maxQueue?: number;
  /**
   * Most tasks in flight at once, and never more than one per ordering key
   * (a task's `key`): keys run side by side, each key in order. Tasks without
   * a key share one key, so they stay one at a time whatever this says.
   * Closure and durable tasks have separate keys. An integer from 1 to 1024. Default 1.
   */
  concurrency?: number;
  /**
   * A tracker you built (connected by reference, keeps its own actor), options
   * for one the worker creates as its child (the default), or `false` for none
   * (every task then gets {@link DEFAULT_TASK_TIMEOUT_MS}).
   */
  latencyTracker?: LatencyTracker | Omit<LatencyTrackerOptions, 'inspect'> | false;
  /**
   * A breaker you built (connected by reference, keeps its own actor and
   * clock), options for one the worker creates as its child (the default), or
   * `false` for none.
   */
  breaker?: CircuitBreaker | Omit<CircuitBreakerOptions, 'clock' | 'inspect' | 'logger'> | false;
  /** The root actor's id, shown by the inspector. Default `"sync-worker"`. */
  name?: string;
  /** Time source of task timeouts, the shutdown deadline and owned actors. Default: monotonic, unref'd. */
  clock?: Clock;
  /** An XState inspector; it sees the worker, and the breaker and tracker the worker owns. */
  inspect?: Inspect;
  /**
   * Which task errors count against the breaker. Default: all. An excluded
   * error still fails its task, but counts as a breaker success: the remote answered.
   */
  countsAsFailure?: (error: Error) => boolean;
  /** Receives swallowed callback/listener errors and breaker changes. Default: quiet. */
  logger?: Logger;
  /** Sends per-task `trace.*` events to the worker actor for the inspector: about 5 µs per task with an inspector attached. Default false. */
  trace?: boolean;
  /**
   * Handlers of durable tasks, by name. A durable task (`{ handler, payload,
   * key?, id? }`) is data, so it can be kept in `backlog` and delivered after
   * an outage or a restart. Each handler is a function of one payload, or
   * `{ batch: { maxSize }, run(payloads, context) }` to take up to `maxSize`
   * consecutive tasks of one key in one call. Needs `backlog`. A handler
   * whose payload parameter has a type makes `enqueue` check the payloads
   * given to it (`(payload: Message, context) => …`).
   */
  handlers?: H;
  /**
   * Where durable tasks are kept from the moment they are accepted until
   * delivered: `lmdbBacklog({ path })` from `xstate-sync-worker/lmdb`, or
   * `memoryBacklog()`. The worker opens it in the constructor (which throws a
   * `BacklogError`, such as `BacklogLockedError`, when it cannot) and owns it
   * until shutdown. Needs `handlers`.
   *
   * Or a store a fleet shares: `postgresBacklog()` (`xstate-sync-worker/postgres`),
   * `redisBacklog()` (`xstate-sync-worker/redis`) or `memorySharedBacklog()`.
   * The worker connects in the background (tasks accepted meanwhile wait in
   * memory) and claims up to `concurrency` keys at a time under leases; see
   * `unavailableMs`, `leaseMs`, `producerOnly` and `retry.maxLostLeases`.
   */
  backlog?: BacklogStore | SharedBacklogStore;
  /** How durable tasks are retried. See {@link RetryOptions}. */
  retry?: RetryOptions;
  /** Called once for a durable task that went to the dead letters (its fate), with the final error. */
  onDeadLetter?: (task: DurableTask, error: Error) => void;
  /**
   * How long the lifecycle stays `draining` after the queue empties before it
   * goes `idle`, in ms on the worker's clock. Work arriving meanwhile costs no
   * state change, so steady traffic does not pay two XState transitions (about
   * 4 µs each) per burst. `onIdle()` resolves as soon as the queue is empty
   * either way. `0` goes idle at once. Default 1.
   */
  idleAfterMs?: number;
  /** The thresholds of {@link SyncWorker.health}'s verdict. See {@link HealthOptions}. */
  health?: HealthOptions;
}

/** The worker's lifecycle state. */
export type WorkerState = 'idle' | 'draining' | 'blocked' | 'backoff' | 'stopping' | 'shutdown';

/** What {@link SyncWorker.stats} returns. */
export interface SyncWorkerStats {
  /** Closure tasks waiting (those running not counted). */
  queued: number;
  /** Runs in flight: 0 to `concurrency` (a batch is one run). */
  running: number;
  /** Tasks that succeeded. */
  completed: number;
  /** Accepted tasks that failed: errors, timeouts, breaker fail-fast, shutdown, dead letters (drops not included). */
  failed: number;
  /** Runs that timed out (for durable tasks, retried runs included). */
  timedOut: number;
  /** Durable tasks accepted and not yet delivered or dead: in memory or in the backlog. */
  backlog: number;
  /** Of `backlog`, the tasks held in memory waiting to run (about `maxQueue` at most); the rest wait only in the store. */
  backlogInMemory: number;
  /** Failed runs of durable tasks that were scheduled to run again. */
  retried: number;
  /** Durable tasks moved to the dead letters (also counted in `failed`). */
  deadLettered: number;
  /** Waiting tasks dropped by overflow. */
  dropped: number;
  /** Tasks `enqueue` refused (breaker open or shut down). */
  refused: number;
  /** The breaker's state, or `"none"` without a breaker. */
  breakerState: BreakerState | 'none';
  /** The timeout the next task would get, in ms. */
  timeoutMs: number;
  /** The lifecycle state. */
  state: WorkerState;
  /**
   * The lifecycle machine's drain region, which `state` hides while
   * `stopping`: `running` while tasks run or can start, `blocked` while the
   * breaker refuses the next one, `backoff` while only retries wait, and
   * `done` after shutdown.
   */
  drain: DrainState;
  /** Whether a group commit of durable tasks is in flight (the backlog machine's `persisting`). */
  persisting: boolean;
  /** Whether some durable tasks are kept only in the store and read back as their keys reach them (`replaying`). */
  replaying: boolean;
}

/** The lifecycle machine's drain region, as {@link SyncWorkerStats.drain} reports it. */
export type DrainState = 'idle' | 'running' | 'blocked' | 'backoff' | 'done';

/**
 * The events of {@link SyncWorker}. Every closure task gets exactly one of
 * `taskSucceeded`, `taskFailed`, `taskTimedOut` and `taskDropped`. A durable
 * task gets `taskSucceeded` when delivered or `taskFailed` when it goes to the
 * dead letters (or its store refuses it); while it stays kept it gets none.
 * Tell the kinds apart with `'handler' in task`.
 */
export interface SyncWorkerEvents {
  /** `durationMs`: how long the run took, in ms on the worker's clock. */
  taskSucceeded: { task: SyncTask | DurableTask; result: unknown; durationMs: number };
  /**
   * Any failure other than a timeout or a drop: an error, a refusal, breaker
   * fail-fast, shutdown, a dead letter. `durationMs`: how long its last run
   * took (to its error, or to the shutdown deadline that cut it off), in ms on
   * the worker's clock; `undefined` when it failed without running (refused,
   * failed fast or at shutdown while waiting, not kept by the store, no handler).
   */
  taskFailed: { task: SyncTask | DurableTask; error: Error; durationMs: number | undefined };
  /** `durationMs`: from the run's start to its deadline, as measured (about `timeoutMs`). */
  taskTimedOut: { task: SyncTask; error: TaskTimeoutError; timeoutMs: number; durationMs: number };
  taskDropped: { task: SyncTask; error: QueueOverflowError };
  /** A durable task's run failed and it will run again after `delayMs`. */
  taskRetried: { task: DurableTask; error: Error; attempt: number; delayMs: number };
  breakerStateChange: BreakerStateChange;
  stateChange: { from: WorkerState; to: WorkerState };
}

/** Every event name of {@link SyncWorkerEvents}, for the emitter's check of `on()`. */
export const SYNC_WORKER_EVENTS: readonly (keyof SyncWorkerEvents)[] = [
  'taskSucceeded',
  'taskFailed',
  'taskTimedOut',
  'taskDropped',
  'taskRetried',
  'breakerStateChange',
  'stateChange',
];

/** The root actor of a worker, for `.actor`. */
export type SyncWorkerActor = ActorRefFrom<typeof systemMachine>;
