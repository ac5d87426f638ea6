import type { BacklogRecord } from '../backlog/types.js';
import type { Clock } from '../clock.js';
import type { BacklogError } from '../errors/BacklogError.js';
import type { Logger } from '../logger.js';
import type { SharedBacklogStore } from './types.js';

/** What the shared queue tells the worker that drives it. */
export interface SharedQueueHost {
  /** Durable work became runnable: a key was claimed, or a retry's time came. */
  onRunnable(): void;
  /** These accepted tasks will not be kept (the store stayed unreachable, or refused them). */
  onNotKept(records: readonly BacklogRecord[], error: BacklogError): void;
  /** A write or claim ended either way: whatever waited for it can look again. */
  onWriteSettled(): void;
}

/** Settings of a {@link SharedQueue}. */
export interface SharedQueueSettings {
  store: SharedBacklogStore;
  /** The session's owner id (the worker's name and a random part). */
  owner: string;
  /** Only append: never claim (an instance that enqueues and runs no handlers). */
  producerOnly: boolean;
  /** Most keys held at once (the worker's `concurrency`). */
  concurrency: number;
  /** Most records claimed with a key (the largest `batchSize`, else 1). */
  claimLimit: number;
  leaseMs: number;
  unavailableMs: number;
  /** Most accepted tasks kept in memory while the store is unreachable. */
  maxQueue: number;
  clock: Clock;
  logger: Logger;
  host: SharedQueueHost;
  /** Whether the worker may take more keys: its breaker lets calls through, and it is not stopping. */
  mayClaim(): boolean;
  /** Called once the queue has closed (to stop listening to the breaker). */
  onClosed?: (() => void) | undefined;
}
