import { SyncWorkerError } from './SyncWorkerError.js';

/**
 * The message of a timeout of `timeoutMs`, rounded to 0.1 ms: an adaptive
 * timeout is `headroom × p95`, whose float noise (`254.15923500000005`) says
 * nothing. `error.timeoutMs` keeps the exact value.
 */
export function timeoutMessage(timeoutMs: number): string {
  return `task timed out after ${Math.round(timeoutMs * 10) / 10} ms`;
}

/** The task did not settle within its timeout; its signal was aborted with this error. */
export class TaskTimeoutError extends SyncWorkerError {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    TaskTimeoutError.prototype.name = 'TaskTimeoutError';
  }
  /** The timeout the task ran under, in milliseconds. */
  declare timeoutMs: number;
  constructor(timeoutMs = 0, message = timeoutMessage(timeoutMs)) {
    super(message);
    this.timeoutMs = timeoutMs;
  }
}
