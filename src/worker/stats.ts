import type { CircuitBreaker } from '../CircuitBreaker.js';
import type { LatencyTracker } from '../LatencyTracker.js';
import type { ClosureSource } from './closureSource.js';
import type { DurableSource } from './durableSource.js';
import type { Fates } from './fates.js';
import type { LifecycleBridge } from './lifecycle.js';
import type { Runner } from './runner.js';
import { DEFAULT_TASK_TIMEOUT_MS, type SyncWorkerStats } from './types.js';

/** The parts a worker's stats are read from. */
export interface StatsSources {
  closures: ClosureSource;
  durable: DurableSource | undefined;
  runner: Runner;
  fates: Fates;
  lifecycle: LifecycleBridge;
  breaker: CircuitBreaker | undefined;
  tracker: LatencyTracker | undefined;
}

/** A snapshot of a worker's counters and states; reading it changes nothing. */
export function workerStats(parts: StatsSources): SyncWorkerStats {
  const { fates, lifecycle } = parts;
  const queue = parts.durable?.queue;
  return {
    queued: parts.closures.waiting,
    running: parts.runner.running,
    completed: fates.completed,
    failed: fates.failedCount,
    timedOut: fates.timedOutRuns,
    backlog: queue?.pending ?? 0,
    backlogInMemory: queue?.inMemory ?? 0,
    retried: fates.retriedCount,
    deadLettered: fates.deadLetteredCount,
    dropped: fates.droppedCount,
    refused: fates.refusedCount,
    breakerState: parts.breaker?.state ?? 'none',
    timeoutMs: parts.tracker?.timeout() ?? DEFAULT_TASK_TIMEOUT_MS,
    state: lifecycle.state,
    drain: lifecycle.drain,
    persisting: queue?.isPersisting ?? false,
    replaying: queue?.isReplaying ?? false,
  };
}
